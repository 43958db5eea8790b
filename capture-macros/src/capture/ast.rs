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
    /// `f: &mut fmt::Formatter` (any spelling ending in `Formatter`, with or
    /// without its lifetime): never recorded (a formatter is a borrowed sink,
    /// not data); replay calls the function with a fresh formatter writing
    /// into a `String`, and shows checks the text written.
    Formatter,
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
    /// Whether the type is plainly concrete and `'static` (then the run-time
    /// reducer registry, keyed by `TypeId`, can be consulted). Types that
    /// mention generic parameters, `impl Trait`, `Self` or non-`'static`
    /// lifetimes skip that layer: lifetimes take no part in method selection,
    /// so the `'static` bound could not be checked until too late.
    pub concrete: bool,
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
    /// See [`Param::concrete`].
    pub ret_concrete: bool,
    /// Where the function sits: decided by the attribute on the `impl` block,
    /// else guessed from a receiver, a `Self` or the `assoc` option.
    pub place: Place,
}

/// Where the annotated function is defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// At module (or block) level, as far as the attribute can tell.
    Free,
    /// In an `impl` block, guessed from the function (a receiver, `Self`, `assoc`);
    /// the kind of `impl` is unknown.
    Impl,
    /// In an `impl` block carrying `#[capture_args]` itself: the trait
    /// implemented, if any, is known.
    KnownImpl { trait_path: Option<syn::Path> },
}

impl Place {
    /// Whether `Self` names the type the function belongs to.
    pub fn in_impl(&self) -> bool {
        !matches!(self, Place::Free)
    }

    /// The trait implemented by the `impl` block, when known.
    pub fn trait_path(&self) -> Option<&syn::Path> {
        match self {
            Place::KnownImpl { trait_path } => trait_path.as_ref(),
            _ => None,
        }
    }
}

/// How a trait reads in function ids: its last path segment with generic
/// arguments, spaces kept only between words (`Store<usize>`,
/// `From<&'static str>`), whatever path the `impl` spelled it with.
pub(crate) fn trait_label(path: &syn::Path) -> String {
    let Some(last) = path.segments.last() else {
        return String::new();
    };
    compact(&quote::ToTokens::to_token_stream(last).to_string())
}

/// Token text without the spaces `to_string` puts between punctuation.
pub(crate) fn compact(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let prev = out.chars().last();
            let next = chars.get(i + 1).copied();
            if !(prev.is_some_and(word) && next.is_some_and(word)) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

pub(crate) fn analyse(func: &ItemFn, errors: &mut Vec<syn::Error>) -> Function {
    let generics: Vec<String> = func.sig.generics.type_params().map(|t| t.ident.to_string()).collect();
    let concrete = |ty: &Type| is_concrete(ty, &generics);
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
                    Type::Reference(r) if r.mutability.is_some() && is_formatter(&r.elem) => ParamKind::Formatter,
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
                        concrete: concrete(&pt.ty),
                    }),
                    Pat::Wild(_) => params.push(Param {
                        name: format!("arg{index}"),
                        ident: Ident::new(&format!("__capture_arg{index}"), span),
                        pattern: Some(pt.pat.clone()),

                        kind,
                        span,
                        concrete: concrete(&pt.ty),
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
                            concrete: concrete(&pt.ty),
                        });
                    }
                }
            }
        }
    }
    let _ = errors;
    unique_pattern_names(&mut params);
    let (ret, ret_has_impl_trait, ret_concrete) = match &func.sig.output {
        ReturnType::Default => (None, false, true),
        ReturnType::Type(_, ty) => (Some(ty.clone()), contains_impl_trait(ty), concrete(ty)),
    };
    // A lifetime the function does not declare is its `impl`'s: free
    // functions cannot name one.
    let place = if receiver != Receiver::None || mentions_self(func) || names_undeclared_lifetime(func) {
        Place::Impl
    } else {
        Place::Free
    };
    Function {
        params,
        receiver,
        is_async: func.sig.asyncness.is_some(),
        ret,
        ret_has_impl_trait,
        ret_concrete,
        place,
    }
}

/// `fmt::Formatter`, `std::fmt::Formatter<'_>`, `Formatter`, ...: the type
/// of `Display::fmt`'s second parameter, however it is spelled.
pub(crate) fn is_formatter(ty: &Type) -> bool {
    let Type::Path(p) = ty else { return false };
    if p.qself.is_some() {
        return false;
    }
    let segs: Vec<_> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segs.as_slice() {
        [.., last] if last != "Formatter" => false,
        [_] => true,
        [.., module, _] => module == "fmt",
        [] => false,
    }
}

/// A pattern's generated name (`a_b`, `arg2`) may equal a real parameter's
/// name (`a_b: u8`, `arg2: u8`) or another pattern's: such a name gets the
/// parameter's position appended (`a_b_0`, `arg2_2`) until it is unique.
/// Real parameter names never change.
fn unique_pattern_names(params: &mut [Param]) {
    for i in 0..params.len() {
        if params[i].pattern.is_none() {
            continue;
        }
        // The position is the one in the `__capture_argN` identifier.
        let position = params[i]
            .ident
            .to_string()
            .trim_start_matches("__capture_arg")
            .to_string();
        while params
            .iter()
            .enumerate()
            .any(|(j, p)| j != i && p.name == params[i].name)
        {
            params[i].name = format!("{}_{position}", params[i].name);
        }
    }
}

/// Whether the signature names a lifetime the function does not declare
/// (nor `'static`/`'_`): then it lives in an `impl` that declares it.
fn names_undeclared_lifetime(func: &ItemFn) -> bool {
    let declared = super::adapter_body::declared_lifetimes(func);
    func.sig.inputs.iter().any(|i| match i {
        FnArg::Typed(pt) => super::adapter_body::borrows_impl_lifetime(&pt.ty, &declared),
        FnArg::Receiver(_) => false,
    }) || matches!(&func.sig.output, ReturnType::Type(_, t) if super::adapter_body::borrows_impl_lifetime(t, &declared))
}

/// Whether the function names `Self` (then it lives in an `impl`).
fn mentions_self(func: &ItemFn) -> bool {
    struct Finder(bool);
    impl<'a> syn::visit::Visit<'a> for Finder {
        fn visit_ident(&mut self, i: &'a proc_macro2::Ident) {
            if i == "Self" {
                self.0 = true;
            }
        }
    }
    let mut f = Finder(false);
    syn::visit::Visit::visit_signature(&mut f, &func.sig);
    syn::visit::Visit::visit_block(&mut f, &func.block);
    f.0
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

/// Whether `ty` (behind its outermost reference) is surely concrete and
/// `'static`. Conservative: when unsure, say no.
fn is_concrete(ty: &Type, generics: &[String]) -> bool {
    let inner = match ty {
        Type::Reference(r) => r.elem.as_ref(),
        other => other,
    };
    struct Check<'g> {
        generics: &'g [String],
        ok: bool,
    }
    impl<'a> syn::visit::Visit<'a> for Check<'_> {
        fn visit_type_impl_trait(&mut self, _: &'a syn::TypeImplTrait) {
            self.ok = false;
        }
        fn visit_type_reference(&mut self, r: &'a syn::TypeReference) {
            // A nested reference is 'static only when it says so.
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
        fn visit_type_trait_object(&mut self, _: &'a syn::TypeTraitObject) {
            self.ok = false;
        }
        fn visit_type_path(&mut self, p: &'a syn::TypePath) {
            if p.qself.is_some() {
                self.ok = false;
            }
            if let Some(first) = p.path.segments.first() {
                let name = first.ident.to_string();
                let looks_generic = p.path.segments.len() == 1
                    && first.arguments.is_none()
                    && name.len() <= 2
                    && name.chars().next().is_some_and(|c| c.is_ascii_uppercase());
                // `impl<T> Svc<T>` generics are invisible to an attribute on one
                // of its functions (methods or not): short upper-case names
                // without arguments (`T`, `K`, but not `Rc<..>`) are taken as
                // generic parameters, which at worst leaves a concrete
                // type named `A` without the registry layers.
                if name == "Self" || self.generics.contains(&name) || looks_generic {
                    self.ok = false;
                }
            }
            syn::visit::visit_type_path(self, p);
        }
    }
    let mut c = Check { generics, ok: true };
    syn::visit::Visit::visit_type(&mut c, inner);
    c.ok
}

#[cfg(test)]
mod tests {
    #[test]
    fn trait_labels_read_as_written_without_the_path() {
        let label = |t: &str| super::trait_label(&syn::parse_str(t).unwrap());
        assert_eq!(label("Pricing"), "Pricing");
        assert_eq!(label("shop::Store<usize>"), "Store<usize>");
        assert_eq!(label("From<&'static str>"), "From<&'static str>");
        assert_eq!(
            label("Convert<std::vec::Vec<(u8, u16)>>"),
            "Convert<std::vec::Vec<(u8,u16)>>"
        );
    }
}
