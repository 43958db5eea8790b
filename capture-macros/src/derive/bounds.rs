//! The `where` clause of the generated impl, inferred from the fields as
//! serde does, and which field types may use the run-time registry.
//!
//! - A type parameter used by a field that goes through the capture chain
//!   gets `T: Reducible + 'static`. Parameters used only by skipped, `with`
//!   or `placeholder` fields, or only inside `PhantomData`, get nothing, so
//!   `Tagged<AnyType>` is `Reducible` whatever `AnyType` is.
//! - A field rebuilt from `Default::default()` whose type mentions a type
//!   parameter gets `FieldType: Default`.
//! - `#[reduce(bound = "...")]` replaces all of this.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;
use syn::visit::Visit;
use syn::{parse_quote, Generics, Type, WherePredicate};

use super::ast::{Body, Container, Field};
use super::attr::DefaultAttr;

/// The predicates to add to the impl's `where` clause.
pub(crate) fn predicates(c: &Container, pv: &TokenStream) -> Vec<WherePredicate> {
    if let Some((_, preds)) = &c.attrs.bound {
        return preds.clone();
    }
    let params: Vec<syn::Ident> = c.input.generics.type_params().map(|t| t.ident.clone()).collect();
    if params.is_empty() {
        return Vec::new();
    }
    // Reduced through a proxy type: every parameter, as the proxy decides.
    if c.attrs.into.is_some() || c.attrs.from.is_some() {
        return params
            .iter()
            .map(|p| parse_quote!(#p: #pv::Reducible + 'static))
            .collect();
    }
    let fields: Vec<&Field> = match &c.body {
        Body::Struct(_, fields) => fields.iter().collect(),
        Body::Enum(variants) => variants.iter().flat_map(|v| v.fields.iter()).collect(),
        Body::Union(_) => Vec::new(),
    };
    let mut used = Used {
        params: &params,
        found: BTreeSet::new(),
        assoc: Vec::new(),
    };
    let mut out: Vec<WherePredicate> = Vec::new();
    let mut defaults: Vec<&Type> = Vec::new();
    let mut sampled: Vec<&Type> = Vec::new();
    for f in &fields {
        let a = &f.attrs;
        if f.is_stored() && a.sampled().is_some() && mentions(f.ty, &params) && !sampled.contains(&f.ty) {
            sampled.push(f.ty);
        }
        let through_chain = f.is_stored() && a.with.is_none() && a.placeholder.is_none();
        if through_chain {
            used.visit_type(f.ty);
        }
        let from_default_trait = match &a.default {
            Some(DefaultAttr::Trait(_)) => true,
            Some(DefaultAttr::Path(_)) => false,
            None => !f.is_stored(),
        };
        if from_default_trait && mentions(f.ty, &params) && !defaults.contains(&f.ty) {
            defaults.push(f.ty);
        }
    }
    for p in &params {
        if used.found.contains(&p.to_string()) {
            out.push(parse_quote!(#p: #pv::Reducible + 'static));
        }
    }
    for ty in used.assoc {
        out.push(parse_quote!(#ty: #pv::Reducible + 'static));
    }
    for ty in defaults {
        out.push(parse_quote!(#ty: ::core::default::Default));
    }
    // `hash = sampled`: a cache key takes the field's sampled id.
    for ty in sampled {
        out.push(parse_quote!(#ty: #pv::derive::NumericBuffer));
    }
    out
}

/// Type parameters used by a field type, outside `PhantomData`; associated
/// types (`T::Item`) are collected whole.
struct Used<'p> {
    params: &'p [syn::Ident],
    found: BTreeSet<String>,
    assoc: Vec<Type>,
}

impl<'a> Visit<'a> for Used<'_> {
    fn visit_type_path(&mut self, tp: &'a syn::TypePath) {
        let segs = &tp.path.segments;
        if tp.qself.is_none() && segs.last().is_some_and(|s| s.ident == "PhantomData") {
            return;
        }
        if let (None, Some(first)) = (&tp.qself, segs.first()) {
            if self.params.contains(&first.ident) && tp.path.leading_colon.is_none() {
                if segs.len() == 1 {
                    self.found.insert(first.ident.to_string());
                } else {
                    let ty = Type::Path(tp.clone());
                    if !self.assoc.contains(&ty) {
                        self.assoc.push(ty);
                    }
                }
                return;
            }
        }
        syn::visit::visit_type_path(self, tp);
    }

    fn visit_type_macro(&mut self, _: &'a syn::TypeMacro) {}
}

/// Whether `ty` mentions one of the type parameters.
fn mentions(ty: &Type, params: &[syn::Ident]) -> bool {
    struct Find<'p>(&'p [syn::Ident], bool);
    impl<'a> Visit<'a> for Find<'_> {
        fn visit_ident(&mut self, i: &'a proc_macro2::Ident) {
            if self.0.iter().any(|p| p == i) {
                self.1 = true;
            }
        }
    }
    let mut f = Find(params, false);
    f.visit_type(ty);
    f.1
}

/// Whether `ty` is surely concrete and `'static`: no type parameter, no
/// `Self` of a generic type, no lifetime but `'static`, no trait object or
/// `impl Trait`. Only such field types may select the registry layers (they
/// need `T: 'static`, which trait selection does not check: a registry layer
/// picked for a borrowed or generic type would fail to compile).
pub(crate) fn is_concrete(ty: &Type, generics: &Generics) -> bool {
    struct Check {
        params: Vec<syn::Ident>,
        generic: bool,
        ok: bool,
    }
    impl<'a> Visit<'a> for Check {
        fn visit_type_impl_trait(&mut self, _: &'a syn::TypeImplTrait) {
            self.ok = false;
        }
        fn visit_type_trait_object(&mut self, _: &'a syn::TypeTraitObject) {
            self.ok = false;
        }
        fn visit_type_reference(&mut self, r: &'a syn::TypeReference) {
            if r.lifetime.as_ref().is_none_or(|l| l.ident != "static") {
                self.ok = false;
            }
            syn::visit::visit_type_reference(self, r);
        }
        fn visit_lifetime(&mut self, l: &'a syn::Lifetime) {
            if l.ident != "static" {
                self.ok = false;
            }
        }
        fn visit_type_path(&mut self, p: &'a syn::TypePath) {
            if p.qself.is_some() {
                self.ok = false;
            }
            if let Some(first) = p.path.segments.first() {
                if p.path.leading_colon.is_none()
                    && (self.params.contains(&first.ident) || (first.ident == "Self" && self.generic))
                {
                    self.ok = false;
                }
            }
            syn::visit::visit_type_path(self, p);
        }
        fn visit_type_macro(&mut self, _: &'a syn::TypeMacro) {
            self.ok = false;
        }
        fn visit_expr_path(&mut self, e: &'a syn::ExprPath) {
            // An array length naming a const parameter makes the type generic.
            if let Some(first) = e.path.segments.first() {
                if self.params.contains(&first.ident) {
                    self.ok = false;
                }
            }
        }
    }
    let params: Vec<syn::Ident> = generics
        .type_params()
        .map(|t| t.ident.clone())
        .chain(generics.const_params().map(|c| c.ident.clone()))
        .collect();
    let mut c = Check {
        generic: !generics.params.is_empty(),
        params,
        ok: true,
    };
    c.visit_type(ty);
    c.ok
}

/// The registry layers to bring into scope for a part of type `ty` (none
/// when the type is not surely concrete and `'static`).
pub(crate) fn registry_layers(ty: &Type, generics: &Generics, encode: bool) -> TokenStream {
    match (is_concrete(ty, generics), encode) {
        (false, _) => quote!(),
        (true, true) => quote!(ViaRegistry as _, ViaRegistryDebug as _,),
        (true, false) => quote!(RebuildViaRegistry as _,),
    }
}
