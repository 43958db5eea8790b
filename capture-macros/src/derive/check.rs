//! Validate the parsed derive input: every problem at its tokens, with the fix.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::spanned::Spanned;

use super::ast::{Body, Container, Field, Style};

pub(crate) fn validate(c: &Container, errors: &mut Vec<syn::Error>) {
    let a = &c.attrs;
    if let Body::Union(span) = c.body {
        errors.push(syn::Error::new(
            span,
            "#[derive(Reducible)] supports structs and enums, not unions: implement capture_runtime::Reducible by hand",
        ));
        return;
    }
    match (&a.from, &a.into) {
        (Some((span, _)), None) => errors.push(syn::Error::new(
            *span,
            "`from` without `into`: the value must be reduced through the same proxy it is rebuilt from; add into = \"<the same type>\"",
        )),
        (None, Some((span, _))) => errors.push(syn::Error::new(
            *span,
            "`into` without `from`: a value reduced through a proxy must be rebuilt from it; add from = \"<the same type>\"",
        )),
        _ => {}
    }
    let proxy = a.into.as_ref().or(a.from.as_ref()).map(|(s, _)| *s);
    if let (Some(ctor), Some(_)) = (&a.constructor, proxy) {
        errors.push(syn::Error::new(
            ctor.span,
            "`constructor` and `from`/`into` both say how to rebuild: keep one",
        ));
    }
    match &c.body {
        Body::Struct(style, fields) => {
            if proxy.is_some() {
                no_field_options(fields, errors);
            }
            check_fields(fields, errors);
            if let Some(ctor) = &a.constructor {
                check_constructor(ctor, *style, fields, errors);
            }
        }
        Body::Enum(variants) => {
            if let Some(ctor) = &a.constructor {
                errors.push(syn::Error::new(
                    ctor.span,
                    "`constructor` works on structs only: an enum is rebuilt variant by variant",
                ));
            }
            let mut names: HashMap<String, Span> = HashMap::new();
            for v in variants {
                let name = v.stored_name();
                let span = v.attrs.rename.as_ref().map(|r| r.span()).unwrap_or(v.ident.span());
                if names.insert(name.clone(), span).is_some() {
                    errors.push(syn::Error::new(
                        span,
                        format!("two variants are stored as `{name}`: rename one of them"),
                    ));
                }
                if proxy.is_some() {
                    no_field_options(&v.fields, errors);
                }
                check_fields(&v.fields, errors);
            }
        }
        Body::Union(_) => {}
    }
}

fn no_field_options(fields: &[Field], errors: &mut Vec<syn::Error>) {
    for f in fields {
        let fa = &f.attrs;
        let span = fa
            .skip
            .or(fa.placeholder)
            .or(fa.with.as_ref().map(|p| p.span()))
            .or(fa.rename.as_ref().map(|r| r.span()))
            .or(fa.hash.map(|(s, _)| s))
            .or(match &fa.default {
                Some(super::attr::DefaultAttr::Trait(s)) => Some(*s),
                Some(super::attr::DefaultAttr::Path(p)) => Some(p.span()),
                None => None,
            });
        if let Some(span) = span {
            errors.push(syn::Error::new(
                span,
                "field options have no effect when the type is reduced through `into`: the proxy type decides; remove them",
            ));
        }
    }
}

fn check_fields(fields: &[Field], errors: &mut Vec<syn::Error>) {
    let mut names: HashMap<String, Span> = HashMap::new();
    for f in fields {
        let fa = &f.attrs;
        if let (Some(_), Some(p)) = (fa.skip, fa.placeholder) {
            errors.push(syn::Error::new(
                p,
                "`skip` and `placeholder` conflict: `skip` stores nothing, `placeholder` stores a description; keep one",
            ));
        }
        if let (Some(_), Some(w)) = (fa.skip, &fa.with) {
            errors.push(syn::Error::new(
                w.span(),
                "`skip` and `with` conflict: a skipped field is not reduced at all; keep one",
            ));
        }
        if let (Some(p), Some(_)) = (fa.placeholder, &fa.with) {
            errors.push(syn::Error::new(
                p,
                "`placeholder` and `with` conflict: `with` stores the value through a module, `placeholder` only describes it; keep one",
            ));
        }
        if let (Some(h), Some(_)) = (fa.sampled(), fa.skip) {
            errors.push(syn::Error::new(
                h,
                "`hash = sampled` has no effect on a skipped field (it is neither stored nor part of cache keys); remove one",
            ));
        }
        if let (Some(r), Some(_)) = (&fa.rename, fa.skip) {
            errors.push(syn::Error::new(
                r.span(),
                "`rename` has no effect on a skipped field (nothing is stored); remove it",
            ));
        }
        if let (Some(r), None) = (&fa.rename, f.ident) {
            errors.push(syn::Error::new(
                r.span(),
                "`rename` applies to named fields; tuple fields are stored by position",
            ));
        }
        if f.is_stored() && f.ident.is_some() {
            let name = f.stored_name();
            let span = fa.rename.as_ref().map(|r| r.span()).unwrap_or(f.span);
            if names.insert(name.clone(), span).is_some() {
                errors.push(syn::Error::new(
                    span,
                    format!("two fields are stored as `{name}`: rename one of them"),
                ));
            }
        }
    }
}

fn check_constructor(ctor: &super::attr::Constructor, style: Style, fields: &[Field], errors: &mut Vec<syn::Error>) {
    let Some(args) = &ctor.args else { return };
    if style != Style::Named {
        errors.push(syn::Error::new(
            ctor.span,
            "naming constructor arguments needs named fields; for a tuple struct give the path only (constructor = \"Self::new\") to pass every stored field in order",
        ));
        return;
    }
    let mut used: Vec<String> = Vec::new();
    for a in args {
        let name = a.to_string();
        match fields.iter().find(|f| f.ident.is_some_and(|i| *i == name)) {
            None => {
                let known: Vec<String> = fields.iter().filter_map(|f| f.ident.map(|i| i.to_string())).collect();
                errors.push(syn::Error::new(
                    a.span(),
                    format!("no field named `{name}`; fields are: {}", known.join(", ")),
                ));
            }
            Some(f) if !f.is_stored() => errors.push(syn::Error::new(
                a.span(),
                format!("field `{name}` is #[reduce(skip)], so the capture has no value to pass; remove `skip` or the argument"),
            )),
            Some(_) => {}
        }
        if used.contains(&name) {
            errors.push(syn::Error::new(a.span(), format!("field `{name}` is passed twice")));
        }
        used.push(name);
    }
    for f in fields {
        if let Some(i) = f.ident {
            if f.is_stored() && !used.contains(&i.to_string()) {
                errors.push(syn::Error::new(
                    i.span(),
                    format!("field `{i}` is stored but not passed to the constructor, so replay would lose it: add it to the constructor call or mark it #[reduce(skip)]"),
                ));
            }
        }
    }
}
