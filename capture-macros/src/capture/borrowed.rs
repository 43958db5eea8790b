//! Arguments that hold borrowed data below their outermost reference:
//! `&[&str]`, `Vec<&str>`, `Option<&str>`, `(&str, u32)`, `&Option<&str>`,
//! `&[&T]`, ...
//!
//! Serde cannot rebuild borrowed data from a stored value (`Vec<&str>` is not
//! `DeserializeOwned`), so the replay adapter rebuilds *owned storage* of the
//! same shape (`Vec<String>`, `Option<String>`, `(String, u32)`), then builds
//! the borrowed view the function takes from it (`Vec<&str>` pointing into
//! the `Vec<String>`) and passes that (`&view[..]` for a slice).
//!
//! The shapes rebuilt: `&str`, `&Path`, `&OsStr`, `&CStr`, `&[T]` and `&T`
//! (with `T` holding no borrows) inside `Option`, `Vec`, `Box`, tuples and
//! arrays, nested freely. Parts without references (`u32`, `Cow<'a, str>`) are copied out
//! of the storage (`Clone`). Anything else that borrows (a `&mut` inside a
//! value, `&'static` data, a reference to data that itself borrows, a
//! reference inside another type, such as a map keyed by `&str`) is still
//! captured, and replay skips the call saying which argument and why.

use proc_macro2::TokenStream;
use quote::quote;
use syn::visit::Visit;
use syn::{parse_quote, GenericArgument, PathArguments, Type};

/// The expression, inside view code, for the storage (`&O`).
pub(crate) const STORAGE: &str = "__capture_storage";

/// Whether `ty` holds a reference anywhere. Lifetime parameters alone
/// (`Cow<'a, str>`, `Msg<'a>`) do not count: such types are often
/// `DeserializeOwned` and are rebuilt as they are.
pub(crate) fn borrows(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'a> Visit<'a> for Finder {
        fn visit_type_reference(&mut self, _: &'a syn::TypeReference) {
            self.0 = true;
        }
    }
    let mut f = Finder(false);
    f.visit_type(ty);
    f.0
}

/// Whether `ty` holds a map or set (`HashMap`, `BTreeMap`, `HashSet`,
/// `BTreeSet`, `IndexMap`, `IndexSet`) and borrowed data.
pub(crate) fn keyed_by_borrow(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'a> Visit<'a> for Finder {
        fn visit_path_segment(&mut self, s: &'a syn::PathSegment) {
            let name = s.ident.to_string();
            if matches!(
                name.as_str(),
                "HashMap" | "BTreeMap" | "HashSet" | "BTreeSet" | "IndexMap" | "IndexSet"
            ) && matches!(&s.arguments, PathArguments::AngleBracketed(a) if a.args.iter().any(|g| match g {
                GenericArgument::Type(t) => borrows(t),
                _ => false,
            })) {
                self.0 = true;
            }
            syn::visit::visit_path_segment(self, s);
        }
    }
    let mut f = Finder(false);
    f.visit_type(ty);
    f.0
}

/// Whether `ty` holds a `&'static` reference somewhere (checked before
/// lifetimes are erased): data rebuilt at replay cannot live that long.
pub(crate) fn borrows_static(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'a> Visit<'a> for Finder {
        fn visit_type_reference(&mut self, r: &'a syn::TypeReference) {
            if r.lifetime.as_ref().is_some_and(|l| l.ident == "static") {
                self.0 = true;
            }
            syn::visit::visit_type_reference(self, r);
        }
    }
    let mut f = Finder(false);
    f.visit_type(ty);
    f.0
}

/// `Some(T)` when `ty` is `Name<T>` (one type argument) with the last path
/// segment `name`.
fn single_arg<'t>(ty: &'t Type, name: &str) -> Option<&'t Type> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    let first = types.next()?;
    types.next().is_none().then_some(first)
}

/// The owned counterpart of an unsized borrowed target (`str` -> `String`).
pub(crate) fn owned_unsized(target: &Type) -> Option<Type> {
    match target {
        Type::Slice(s) => {
            let elem = &s.elem;
            Some(parse_quote!(::std::vec::Vec<#elem>))
        }
        Type::Path(p) if p.qself.is_none() => match p.path.segments.last().map(|s| s.ident.to_string()).as_deref() {
            Some("str") if p.path.segments.len() == 1 => Some(parse_quote!(::std::string::String)),
            Some("Path") => Some(parse_quote!(::std::path::PathBuf)),
            Some("OsStr") => Some(parse_quote!(::std::ffi::OsString)),
            Some("CStr") => Some(parse_quote!(::std::ffi::CString)),
            _ => None,
        },
        _ => None,
    }
}

/// For a value type `ty` (lifetimes erased): its owned storage type `O`, and
/// an expression of type `ty` built from `e: &O`.
pub(crate) fn element(ty: &Type, e: TokenStream, pv: &TokenStream) -> Result<(Type, TokenStream), String> {
    let shown = || {
        quote!(#ty)
            .to_string()
            .replace(" < ", "<")
            .replace(" >", ">")
            .replace("& ", "&")
    };
    if !borrows(ty) {
        return Ok((ty.clone(), quote!(#pv::replay::owned_beside_borrowed::<#ty>(#e))));
    }
    let x = quote!(__capture_x);
    match ty {
        Type::Paren(p) => element(&p.elem, e, pv),
        Type::Group(g) => element(&g.elem, e, pv),
        Type::Reference(r) => {
            if r.mutability.is_some() {
                return Err(format!(
                    "`{}` holds a `&mut` reference inside it, which replay cannot rebuild; take the data by value or as one outer `&mut`",
                    shown()
                ));
            }
            if r.lifetime.as_ref().is_some_and(|l| l.ident == "static") {
                return Err(format!(
                    "`{}` borrows for `'static`, which data rebuilt at replay cannot; take an owned type (`String`, `Vec<T>`) or a shorter borrow",
                    shown()
                ));
            }
            let target = r.elem.as_ref();
            if let Some(owned) = owned_unsized(target) {
                if !borrows(target) {
                    return Ok((owned, quote!(&**#e)));
                }
            } else if !borrows(target) {
                return Ok((target.clone(), quote!(#e)));
            }
            Err(format!(
                "`{}` is a reference to data that itself borrows; replay rebuilds one level of borrowing inside a value (`Vec<&str>`, `Option<&[u8]>`); pass owned data (`Vec<String>`) inside",
                shown()
            ))
        }
        Type::Tuple(t) => {
            let mut owned = Vec::new();
            let mut views = Vec::new();
            for (i, elem) in t.elems.iter().enumerate() {
                let i = syn::Index::from(i);
                let (o, v) = element(elem, quote!(&(#e).#i), pv)?;
                owned.push(o);
                views.push(v);
            }
            Ok((parse_quote!((#(#owned,)*)), quote!((#(#views,)*))))
        }
        Type::Array(a) => {
            let (o, v) = element(&a.elem, x.clone(), pv)?;
            let len = &a.len;
            Ok((parse_quote!([#o; #len]), quote!((#e).each_ref().map(|#x| #v))))
        }
        _ => {
            if let Some(inner) = single_arg(ty, "Option") {
                let (o, v) = element(inner, x.clone(), pv)?;
                return Ok((
                    parse_quote!(::core::option::Option<#o>),
                    quote!((#e).as_ref().map(|#x| #v)),
                ));
            }
            if let Some(inner) = single_arg(ty, "Vec") {
                let (o, v) = element(inner, x.clone(), pv)?;
                return Ok((
                    parse_quote!(::std::vec::Vec<#o>),
                    quote!((#e).iter().map(|#x| #v).collect::<::std::vec::Vec<_>>()),
                ));
            }
            if let Some(inner) = single_arg(ty, "Box") {
                let (o, v) = element(inner, quote!(&**#e), pv)?;
                return Ok((parse_quote!(::std::boxed::Box<#o>), quote!(::std::boxed::Box::new(#v))));
            }
            Err(format!(
                "`{}` holds borrowed data that replay cannot rebuild (it rebuilds `&str`, `&[T]`, `&T` inside `Option`, `Vec`, `Box`, tuples and arrays); take an owned type, e.g. with `String` for `&str`",
                shown()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(ty: &str) -> Result<String, String> {
        let ty: Type = syn::parse_str(ty).unwrap();
        element(&ty, quote!(s), &quote!(pv)).map(|(o, _)| quote!(#o).to_string().replace(' ', ""))
    }

    #[test]
    fn owned_storage_mirrors_the_shape() {
        assert_eq!(owned("Vec<&'_ str>").unwrap(), "::std::vec::Vec<::std::string::String>");
        assert_eq!(
            owned("Option<&'_ [u8]>").unwrap(),
            "::core::option::Option<::std::vec::Vec<u8>>"
        );
        assert_eq!(owned("(&'_ str, u32)").unwrap(), "(::std::string::String,u32,)");
        assert_eq!(owned("[&'_ Order; 2]").unwrap(), "[Order;2]");
        assert!(owned("Vec<&'_ mut u32>").unwrap_err().contains("`&mut`"));
        assert!(owned("Vec<&'static str>").unwrap_err().contains("'static"));
        assert!(owned("Vec<&'_ [&'_ str]>").unwrap_err().contains("itself borrows"));
        assert!(owned("HashMap<&'_ str, u32>").unwrap_err().contains("cannot rebuild"));
        assert!(owned("Foo<&'_ str>").unwrap_err().contains("cannot rebuild"));
        // Lifetime parameters alone are no borrow to rebuild: copied as they are.
        assert_eq!(
            owned("(&'_ str, Cow<'_, str>)").unwrap(),
            "(::std::string::String,Cow<'_,str>,)"
        );
    }
}
