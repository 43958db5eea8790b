//! What the macro needs to know about the annotated function.

use proc_macro2::Span;
use syn::{FnArg, Ident, ItemFn, Pat, ReturnType, Type};

/// How a parameter is passed, which decides how it is borrowed for capture
/// and rebuilt for replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParamKind {
    /// `x: &T` (also `&str`, `&[T]`).
    Ref,
    /// `x: &mut T`: captured before the call and, with `ret`, after it.
    RefMut,
    /// `x: T`.
    Owned,
}

/// One non-receiver parameter.
pub(crate) struct Param {
    /// Stable name used in the store: the identifier, or the identifiers a
    /// pattern binds joined by `_`, or `argN`.
    pub name: String,
    /// The identifier the value is reachable by inside the body.
    pub ident: Ident,
    /// Whether the parameter is a pattern that the expansion must rename and
    /// destructure in the body.
    pub pattern: Option<Box<Pat>>,
    pub kind: ParamKind,
    pub span: Span,
}

/// The receiver, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Receiver {
    None,
    Ref,
    RefMut,
    Value,
}

pub(crate) struct Function {
    pub params: Vec<Param>,
    pub receiver: Receiver,
    pub is_async: bool,
    /// The declared return type, `None` for `()`.
    pub ret: Option<Box<Type>>,
    pub ret_has_impl_trait: bool,
}

pub(crate) fn analyse(func: &ItemFn, errors: &mut Vec<syn::Error>) -> Function {
    let mut params = Vec::new();
    let mut receiver = Receiver::None;
    for (index, input) in func.sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) => {
                receiver = match (&r.reference, r.mutability) {
                    (Some(_), Some(_)) => Receiver::RefMut,
                    (Some(_), None) => Receiver::Ref,
                    (None, _) => Receiver::Value,
                };
            }
            FnArg::Typed(pt) => {
                let kind = match pt.ty.as_ref() {
                    Type::Reference(r) if r.mutability.is_some() => ParamKind::RefMut,
                    Type::Reference(_) => ParamKind::Ref,
                    _ => ParamKind::Owned,
                };
                let span = syn::spanned::Spanned::span(&pt.pat);
                match pt.pat.as_ref() {
                    Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => params.push(Param {
                        name: pi.ident.to_string().trim_start_matches("r#").to_string(),
                        ident: pi.ident.clone(),
                        pattern: None,

                        kind,
                        span,
                    }),
                    Pat::Wild(_) => params.push(Param {
                        name: format!("arg{index}"),
                        ident: Ident::new(&format!("__capture_arg{index}"), span),
                        pattern: Some(pt.pat.clone()),

                        kind,
                        span,
                    }),
                    other => {
                        let mut names = Vec::new();
                        bound_idents(other, &mut names);
                        let name = if names.is_empty() {
                            format!("arg{index}")
                        } else {
                            names.join("_")
                        };
                        params.push(Param {
                            name,
                            ident: Ident::new(&format!("__capture_arg{index}"), span),
                            pattern: Some(pt.pat.clone()),

                            kind,
                            span,
                        });
                    }
                }
            }
        }
    }
    let _ = errors;
    let (ret, ret_has_impl_trait) = match &func.sig.output {
        ReturnType::Default => (None, false),
        ReturnType::Type(_, ty) => (Some(ty.clone()), contains_impl_trait(ty)),
    };
    Function {
        params,
        receiver,
        is_async: func.sig.asyncness.is_some(),
        ret,
        ret_has_impl_trait,
    }
}

fn bound_idents(pat: &Pat, out: &mut Vec<String>) {
    match pat {
        Pat::Ident(pi) => {
            out.push(pi.ident.to_string());
            if let Some((_, sub)) = &pi.subpat {
                bound_idents(sub, out);
            }
        }
        Pat::Tuple(t) => t.elems.iter().for_each(|p| bound_idents(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| bound_idents(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| bound_idents(&f.pat, out)),
        Pat::Reference(r) => bound_idents(&r.pat, out),
        Pat::Slice(s) => s.elems.iter().for_each(|p| bound_idents(p, out)),
        Pat::Paren(p) => bound_idents(&p.pat, out),
        Pat::Type(t) => bound_idents(&t.pat, out),
        _ => {}
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'a> syn::visit::Visit<'a> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'a syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut f = Finder(false);
    syn::visit::Visit::visit_type(&mut f, ty);
    f.0
}
