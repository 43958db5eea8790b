//! Parse `#[reduce(...)]` attributes on the container, its fields and variants.
//! Every error is collected (with its span) and parsing goes on.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, LitStr, Path, Type, WherePredicate};

/// `#[reduce(...)]` on the struct or enum.
#[derive(Default)]
pub(crate) struct ContainerAttrs {
    pub bound: Option<(Span, Vec<WherePredicate>)>,
    pub krate: Option<Path>,
    pub from: Option<(Span, Type)>,
    pub into: Option<(Span, Type)>,
    pub constructor: Option<Constructor>,
}

/// `constructor = "Self::new(a, b)"` or `constructor = Self::new`.
pub(crate) struct Constructor {
    pub span: Span,
    pub func: Path,
    /// The fields passed, in order; `None`: every stored field in declaration order.
    pub args: Option<Vec<Ident>>,
}

/// How a field without a stored value is rebuilt.
#[derive(Clone)]
pub(crate) enum DefaultAttr {
    /// `default`: `Default::default()`.
    Trait(Span),
    /// `default = path`: `path()`.
    Path(Path),
}

/// `#[reduce(...)]` on a field.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub skip: Option<Span>,
    pub default: Option<DefaultAttr>,
    pub with: Option<Path>,
    pub placeholder: Option<Span>,
    pub rename: Option<LitStr>,
    /// `hash = exact | sampled`, with the span of the value.
    pub hash: Option<(Span, FieldHash)>,
}

/// How a field enters a cache key (`hash = ..`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldHash {
    /// Every byte (the default).
    Exact,
    /// The sampled id of a numeric buffer.
    Sampled,
}

impl FieldAttrs {
    /// The span of `hash = sampled`, if the field says so.
    pub fn sampled(&self) -> Option<Span> {
        match self.hash {
            Some((span, FieldHash::Sampled)) => Some(span),
            _ => None,
        }
    }
}

/// `#[reduce(...)]` on an enum variant.
#[derive(Default)]
pub(crate) struct VariantAttrs {
    pub rename: Option<LitStr>,
}

const CONTAINER_KEYS: &str = "bound, crate, from, into, constructor";
const FIELD_KEYS: &str = "skip, default, with, placeholder, rename, hash";

fn reduce_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("reduce"))
}

/// Run `one` on every option of every `#[reduce(..)]`, collecting errors and
/// rejecting repeated keys.
fn each_option(
    attrs: &[Attribute],
    errors: &mut Vec<syn::Error>,
    mut one: impl FnMut(&str, &ParseNestedMeta) -> syn::Result<()>,
) {
    let mut seen: Vec<String> = Vec::new();
    for attr in reduce_attrs(attrs) {
        let res = attr.parse_nested_meta(|meta| {
            let key = if meta.path.is_ident("crate") {
                "crate".to_owned()
            } else {
                meta.path
                    .get_ident()
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "?".to_owned())
            };
            let result = if seen.contains(&key) {
                Err(meta.error(format!("duplicate option `{key}`: give it once")))
            } else {
                seen.push(key.clone());
                one(&key, &meta)
            };
            if let Err(e) = result {
                errors.push(e);
                // Skip the option's value so the others still parse.
                if meta.input.peek(syn::Token![=]) {
                    let _ = meta.value().and_then(|v| v.parse::<Expr>());
                } else if meta.input.peek(syn::token::Paren) {
                    let _ = meta.parse_nested_meta(|_| Ok(()));
                }
            }
            Ok(())
        });
        if let Err(e) = res {
            errors.push(e);
        }
    }
}

/// A path given bare (`with = my_mod`) or as a string (`with = "my_mod"`).
fn path_value(meta: &ParseNestedMeta, example: &str) -> syn::Result<Path> {
    let expr: Expr = meta.value()?.parse()?;
    expr_path(&expr).ok_or_else(|| syn::Error::new(expr.span(), format!("expected a path, e.g. {example}")))
}

fn expr_path(expr: &Expr) -> Option<Path> {
    match expr {
        Expr::Path(p) if p.qself.is_none() => Some(p.path.clone()),
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s), ..
        }) => s.parse::<Path>().ok(),
        _ => None,
    }
}

fn type_value(meta: &ParseNestedMeta, key: &str) -> syn::Result<(Span, Type)> {
    let expr: Expr = meta.value()?.parse()?;
    let ty = match &expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s), ..
        }) => s.parse::<Type>().ok(),
        Expr::Path(p) if p.qself.is_none() => Some(Type::Path(syn::TypePath {
            qself: None,
            path: p.path.clone(),
        })),
        _ => None,
    };
    ty.map(|t| (expr.span(), t))
        .ok_or_else(|| syn::Error::new(expr.span(), format!("expected a type, e.g. {key} = \"OrderProxy\"")))
}

pub(crate) fn container(attrs: &[Attribute], errors: &mut Vec<syn::Error>) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    each_option(attrs, errors, |key, meta| {
        match key {
            "bound" => {
                let s: LitStr = meta.value()?.parse()?;
                let preds = s
                    .parse_with(syn::punctuated::Punctuated::<WherePredicate, syn::Token![,]>::parse_terminated)
                    .map_err(|e| {
                        syn::Error::new(
                            s.span(),
                            format!(
                                "`bound` takes where-clause predicates, e.g. bound = \"T: Clone + Reducible\": {e}"
                            ),
                        )
                    })?;
                out.bound = Some((s.span(), preds.into_iter().collect()));
            }
            "crate" => out.krate = Some(path_value(meta, "crate = \"my_reexport::capture_runtime\"")?),
            "from" => out.from = Some(type_value(meta, "from")?),
            "into" => out.into = Some(type_value(meta, "into")?),
            "constructor" => {
                let expr: Expr = meta.value()?.parse()?;
                out.constructor = Some(constructor(&expr)?);
            }
            "skip" | "default" | "with" | "placeholder" | "rename" | "hash" => {
                return Err(meta.error(format!(
                    "`{key}` is a field option: put #[reduce({key})] on a field (container options: {CONTAINER_KEYS})"
                )))
            }
            _ => return Err(meta.error(format!("unknown container option; expected one of: {CONTAINER_KEYS}"))),
        }
        Ok(())
    });
    out
}

fn constructor(expr: &Expr) -> syn::Result<Constructor> {
    let expr = match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s), ..
        }) => s.parse::<Expr>().map_err(|e| {
            syn::Error::new(
                s.span(),
                format!("`constructor` must look like \"Self::new(field_a, field_b)\": {e}"),
            )
        })?,
        other => other.clone(),
    };
    let bad = || {
        syn::Error::new(
            expr.span(),
            "`constructor` must be a path (`Self::new`, called with every stored field in order) or a call naming the fields (`Self::new(host, port)`)",
        )
    };
    match &expr {
        Expr::Path(p) if p.qself.is_none() => Ok(Constructor {
            span: expr.span(),
            func: p.path.clone(),
            args: None,
        }),
        Expr::Call(call) => {
            let Expr::Path(func) = call.func.as_ref() else {
                return Err(bad());
            };
            let mut args = Vec::new();
            for a in &call.args {
                match a {
                    Expr::Path(p) if p.path.get_ident().is_some() => {
                        args.push(p.path.get_ident().expect("checked").clone())
                    }
                    other => {
                        return Err(syn::Error::new(
                            other.span(),
                            "constructor arguments must be field names (each is rebuilt from the capture and passed in this order)",
                        ))
                    }
                }
            }
            Ok(Constructor {
                span: expr.span(),
                func: func.path.clone(),
                args: Some(args),
            })
        }
        _ => Err(bad()),
    }
}

pub(crate) fn field(attrs: &[Attribute], errors: &mut Vec<syn::Error>) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    each_option(attrs, errors, |key, meta| {
        match key {
            "skip" => out.skip = Some(meta.path.span()),
            "placeholder" => out.placeholder = Some(meta.path.span()),
            "default" => {
                out.default = Some(if meta.input.peek(syn::Token![=]) {
                    DefaultAttr::Path(path_value(meta, "default = \"make_default\"")?)
                } else {
                    DefaultAttr::Trait(meta.path.span())
                })
            }
            "with" => out.with = Some(path_value(meta, "with = regex_reducer")?),
            "rename" => {
                let s: LitStr = meta.value()?.parse()?;
                if s.value().is_empty() {
                    return Err(syn::Error::new(s.span(), "`rename` needs a non-empty name"));
                }
                out.rename = Some(s);
            }
            "hash" => out.hash = Some(field_hash(meta)?),
            "bound" | "crate" | "from" | "into" | "constructor" => {
                return Err(meta.error(format!(
                    "`{key}` is a container option: put #[reduce({key} = ..)] on the struct or enum (field options: {FIELD_KEYS})"
                )))
            }
            _ => return Err(meta.error(format!("unknown field option; expected one of: {FIELD_KEYS}"))),
        }
        Ok(())
    });
    out
}

/// `hash = exact | sampled` (bare or as a string).
fn field_hash(meta: &ParseNestedMeta) -> syn::Result<(Span, FieldHash)> {
    let expr: Expr = meta.value()?.parse()?;
    let name = match &expr {
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(|i| i.to_string()),
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s), ..
        }) => Some(s.value()),
        _ => None,
    };
    match name.as_deref() {
        Some("exact") => Ok((expr.span(), FieldHash::Exact)),
        Some("sampled") => Ok((expr.span(), FieldHash::Sampled)),
        Some(other) => Err(syn::Error::new(
            expr.span(),
            format!("unknown hash strategy `{other}`; expected `exact` (every byte, the default) or `sampled` (a large numeric buffer: slices, Vecs, arrays of numbers, enter cache keys by a sample)"),
        )),
        None => Err(syn::Error::new(
            expr.span(),
            "expected a hash strategy: hash = exact or hash = sampled",
        )),
    }
}

pub(crate) fn variant(attrs: &[Attribute], errors: &mut Vec<syn::Error>) -> VariantAttrs {
    let mut out = VariantAttrs::default();
    each_option(attrs, errors, |key, meta| {
        match key {
            "rename" => out.rename = Some(meta.value()?.parse()?),
            _ => {
                return Err(meta.error(
                    "unknown variant option; a variant takes only `rename = \"..\"` (field options go on its fields)",
                ))
            }
        }
        Ok(())
    });
    out
}
