//! `#[capture_args]` on an `impl` block: the block's methods that carry
//! `#[capture_args(..)]` are expanded here, and their replay adapters are
//! placed in a sibling inherent `impl` of the same type.
//!
//! An attribute on a method cannot see the `impl` around it, and an
//! `impl Trait for X` block may hold nothing but the trait's items, so a
//! method of a trait impl needs this to be captured and replayed (replay
//! entries name it `<X as Trait>::method`). On an inherent `impl` it is
//! optional; it makes `assoc` unnecessary.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::visit_mut::VisitMut;
use syn::{ImplItem, ItemFn, ItemImpl, Meta, Path, Type};

/// Associated items, for re-parsing an expanded method.
struct Items(Vec<ImplItem>);

impl Parse for Items {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut items = Vec::new();
        while !input.is_empty() {
            items.push(input.parse()?);
        }
        Ok(Items(items))
    }
}

fn is_capture_args(attr: &syn::Attribute) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == "capture_args")
}

pub(super) fn expand(attr: TokenStream, mut block: ItemImpl, shims: bool) -> TokenStream {
    let mut errors = Vec::new();
    if !attr.is_empty() {
        errors.push(syn::Error::new_spanned(
            &attr,
            "on an `impl` block, #[capture_args] takes no options: put them on each method's #[capture_args(..)]",
        ));
    }
    if let Some((Some(bang), ..)) = &block.trait_ {
        errors.push(syn::Error::new_spanned(
            bang,
            "a negative impl has no methods to capture",
        ));
    }
    let trait_path: Option<Path> = block.trait_.as_ref().map(|(_, p, _)| p.clone());
    let mut items = Vec::new();
    let mut companions = Vec::new();
    for item in std::mem::take(&mut block.items) {
        let ImplItem::Fn(mut m) = item else {
            items.push(item);
            continue;
        };
        let Some(pos) = m.attrs.iter().position(is_capture_args) else {
            items.push(ImplItem::Fn(m));
            continue;
        };
        let args = match m.attrs.remove(pos).meta {
            Meta::Path(_) => TokenStream::new(),
            Meta::List(l) => l.tokens,
            Meta::NameValue(nv) => {
                errors.push(syn::Error::new_spanned(
                    nv,
                    "write #[capture_args] or #[capture_args(option, ..)]",
                ));
                TokenStream::new()
            }
        };
        let func = ItemFn {
            attrs: m.attrs,
            vis: m.vis,
            sig: m.sig,
            block: Box::new(m.block),
        };
        let tokens = func.to_token_stream();
        let (out, companion) = super::function(args, func, tokens, Some(trait_path.clone()), shims);
        match syn::parse2::<Items>(out.clone()) {
            Ok(Items(expanded)) => items.extend(expanded),
            Err(e) => errors.push(e),
        }
        companions.push(companion);
    }
    block.items = items;
    let mut out = TokenStream::new();
    for e in errors {
        out.extend(e.to_compile_error());
    }
    if companions.is_empty() || !can_host_inherent(&block.self_ty, &block.generics) {
        // A trait implemented for a type that cannot have an inherent `impl`
        // here (`str`, `&T`, a blanket `impl<T> Tr for T`, a std type): the
        // methods are captured, but there is nowhere to put their replay
        // adapters, so replay entries cannot name them (docs/replay.md).
        out.extend(block.into_token_stream());
        return out;
    }
    let cfgs: Vec<_> = block.attrs.iter().filter(|a| a.path().is_ident("cfg")).collect();
    let (impl_generics, _, where_clause) = block.generics.split_for_impl();
    let self_ty = &block.self_ty;
    let sibling = quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(clippy::all)]
        impl #impl_generics #self_ty #where_clause {
            #(#companions)*
        }
    };
    out.extend(block.to_token_stream());
    out.extend(sibling);
    out
}

/// Whether this crate may write `impl #self_ty { .. }`: not for primitive
/// types, references, slices, tuples and the like, not for a type parameter
/// of the `impl` (a blanket impl), and not for the standard library's types
/// (recognised by a `std`/`core`/`alloc` path or by names crates do not
/// reuse for their own types: `String`, `Vec`, `HashMap`, ...; not
/// `Duration` or `Path`, which crates do). Other crates' types written
/// through a `use` cannot be told apart from local ones and are assumed local.
fn can_host_inherent(self_ty: &Type, generics: &syn::Generics) -> bool {
    const PRIMITIVES: &[&str] = &[
        "str", "bool", "char", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
        "f32", "f64",
    ];
    const STD_TYPES: &[&str] = &[
        "String",
        "Vec",
        "Box",
        "Option",
        "Result",
        "Rc",
        "Arc",
        "Cow",
        "HashMap",
        "HashSet",
        "BTreeMap",
        "BTreeSet",
        "VecDeque",
        "BinaryHeap",
        "LinkedList",
        "PathBuf",
        "OsString",
        "OsStr",
        "Cell",
        "RefCell",
        "Mutex",
        "RwLock",
    ];
    match self_ty {
        Type::Paren(p) => can_host_inherent(&p.elem, generics),
        Type::Group(g) => can_host_inherent(&g.elem, generics),
        Type::Path(p) if p.qself.is_none() => {
            let segs = &p.path.segments;
            let (Some(first), Some(last)) = (segs.first(), segs.last()) else {
                return false;
            };
            let first = first.ident.to_string();
            let last = last.ident.to_string();
            let blanket = segs.len() == 1 && generics.type_params().any(|t| t.ident == last);
            let std = ["std", "core", "alloc"].contains(&first.as_str());
            let known =
                (segs.len() == 1 || std) && (PRIMITIVES.contains(&last.as_str()) || STD_TYPES.contains(&last.as_str()));
            !(blanket || std || known)
        }
        // `dyn LocalTrait` may have inherent methods, but whether the trait
        // is local cannot be told here.
        _ => false,
    }
}

/// `func` with `Self::Assoc` types written `<Self as Trait>::Assoc`, for the
/// adapter that lives in an inherent `impl` where the short form is ambiguous.
pub(super) fn qualify_self(func: &ItemFn, trait_path: &Path) -> ItemFn {
    struct Qualify<'a>(&'a Path);
    impl VisitMut for Qualify<'_> {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::Path(tp) = ty {
                if tp.qself.is_none()
                    && tp.path.segments.len() >= 2
                    && tp.path.segments[0].ident == "Self"
                    && tp.path.segments[0].arguments.is_none()
                {
                    let rest: Vec<_> = tp.path.segments.iter().skip(1).collect();
                    let t = self.0;
                    *ty = syn::parse_quote!(<Self as #t>::#(#rest)::*);
                }
            }
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
    let mut f = func.clone();
    Qualify(trait_path).visit_signature_mut(&mut f.sig);
    f
}

#[cfg(test)]
mod tests {
    use super::{can_host_inherent, qualify_self};

    #[test]
    fn trait_impls_get_adapters_only_where_an_inherent_impl_is_allowed() {
        let host = |block: &str| {
            let b: syn::ItemImpl = syn::parse_str(block).unwrap();
            can_host_inherent(&b.self_ty, &b.generics)
        };
        // humantime has its own `Duration` (found by `cargo xtask realworld`).
        for yes in [
            "impl Tr for Duration {}",
            "impl Tr for Cart {}",
            "impl<T> Tr for Wrap<T> {}",
            "impl Tr for crate::m::Cart {}",
        ] {
            assert!(host(yes), "{yes}");
        }
        for no in [
            "impl Tr for str {}",
            "impl<T: ?Sized> Tr for T {}",
            "impl Tr for &'static str {}",
            "impl Tr for [u8] {}",
            "impl Tr for (u8, u8) {}",
            "impl Tr for String {}",
            "impl<T> Tr for Vec<T> {}",
            "impl Tr for std::time::Duration {}",
        ] {
            assert!(!host(no), "{no}");
        }
    }
    use quote::ToTokens;

    #[test]
    fn associated_types_of_self_are_qualified_with_the_trait() {
        let f: syn::ItemFn = syn::parse_quote! {
            fn get(&self, k: Self::Key) -> Option<Vec<Self::Item>> { None }
        };
        let t: syn::Path = syn::parse_quote!(Store<u8>);
        let q = qualify_self(&f, &t).sig.to_token_stream().to_string();
        assert_eq!(
            q,
            "fn get (& self , k : < Self as Store < u8 > > :: Key) -> Option < Vec < < Self as Store < u8 > > :: Item > >"
        );
    }
}
