//! The autoref-dispatch closures shared by the capture prelude and the
//! replay adapter.
//!
//! The registry layers need `T: 'static`. Trait selection ignores lifetimes,
//! so for a type built from generic parameters (or `Self`) a registry layer
//! would be *selected* and then fail to compile; those layers are only put in
//! scope for types known to be concrete and `'static`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Type;

/// `|ctx: &mut EncodeCtx| -> Encoded` for the value `expr` (a reference).
pub(crate) fn encode(pv: &TokenStream, expr: TokenStream, concrete: bool) -> TokenStream {
    encode_with_layers(pv, expr, concrete, true)
}

/// [`encode`], for an argument of type `ty`: a map or set keyed by borrowed
/// data (`HashMap<&str, u32>`) skips the `Reducible` layer, whose map impls
/// need owned keys (`K: DeserializeOwned`) and, lifetimes taking no part in
/// trait selection, would be selected and then fail to compile.
///
/// A value written as `Result<..>`, `Option<..>` or a tuple whose type has no
/// whole-value path is captured part by part (see `capture_runtime`'s
/// `capture::parts`): only the part that cannot be captured is a placeholder.
pub(crate) fn encode_arg(pv: &TokenStream, expr: TokenStream, concrete: bool, ty: &Type) -> TokenStream {
    let reducible = !super::borrowed::keyed_by_borrow(ty);
    let value_ty = match ty {
        Type::Reference(r) => r.elem.as_ref(),
        other => other,
    };
    encode_value(pv, expr, value_ty, concrete, reducible)
}

/// The encoder of `expr` (a reference to a `ty`), part by part when `ty` is
/// written as a `Result`, an `Option` or a tuple.
fn encode_value(pv: &TokenStream, expr: TokenStream, ty: &Type, concrete: bool, reducible: bool) -> TokenStream {
    let whole = encode_with_layers(pv, expr.clone(), concrete, reducible);
    let p = quote!(__capture_p);
    let part = |ty: &Type| encode_value(pv, p.clone(), ty, concrete, reducible);
    let split = match Shape::of(ty) {
        Shape::Result(ok, err) => {
            let (ok, err) = (part(ok), part(err));
            quote! {
                match #expr {
                    ::core::result::Result::Ok(#p) => #pv::parts::variant(__capture_ctx, "Result", "Ok", 0, #pv::type_name_of(#p), #ok),
                    ::core::result::Result::Err(#p) => #pv::parts::variant(__capture_ctx, "Result", "Err", 1, #pv::type_name_of(#p), #err),
                }
            }
        }
        Shape::Option(inner) => {
            let inner = part(inner);
            quote! {
                match #expr {
                    ::core::option::Option::Some(#p) => #pv::parts::some(__capture_ctx, #pv::type_name_of(#p), #inner),
                    ::core::option::Option::None => #pv::parts::none(),
                }
            }
        }
        Shape::Tuple(elems) => {
            let names: Vec<_> = (0..elems.len())
                .map(|i| quote::format_ident!("__capture_t{}", i))
                .collect();
            let encs = elems.iter().zip(&names).map(|(t, n)| {
                let enc = encode_value(pv, quote!(#n), t, concrete, reducible);
                quote!((#pv::type_name_of(#n), &mut #enc))
            });
            quote! {{
                let (#(#names,)*) = #expr;
                #pv::parts::tuple(__capture_ctx, &mut [#(#encs),*])
            }}
        }
        Shape::Other => return whole,
    };
    quote! {
        |__capture_ctx: &mut #pv::EncodeCtx<'_>| {
            #[allow(unused_imports)]
            use #pv::parts::{WholeNone as _, WholeViaReducible as _, WholeViaSerde as _};
            if (&&#pv::parts::Whole(#expr)).__capture_whole() {
                (#whole)(__capture_ctx)
            } else {
                #split
            }
        }
    }
}

/// How a type is written, as far as capturing it part by part goes.
enum Shape<'t> {
    Result(&'t Type, &'t Type),
    Option(&'t Type),
    Tuple(Vec<&'t Type>),
    Other,
}

impl<'t> Shape<'t> {
    fn of(ty: &'t Type) -> Self {
        match ty {
            Type::Paren(p) => Shape::of(&p.elem),
            Type::Tuple(t) if t.elems.len() >= 2 => Shape::Tuple(t.elems.iter().collect()),
            Type::Path(p) if p.qself.is_none() => {
                let Some(last) = p.path.segments.last() else {
                    return Shape::Other;
                };
                let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                    return Shape::Other;
                };
                let types: Vec<&Type> = args
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        syn::GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
                    .collect();
                match (last.ident.to_string().as_str(), types.as_slice()) {
                    ("Result", [ok, err]) => Shape::Result(ok, err),
                    ("Option", [inner]) => Shape::Option(inner),
                    _ => Shape::Other,
                }
            }
            _ => Shape::Other,
        }
    }
}

fn encode_with_layers(pv: &TokenStream, expr: TokenStream, concrete: bool, reducible: bool) -> TokenStream {
    let reducible = if reducible {
        quote!(ViaReducible as _,)
    } else {
        quote!()
    };
    let registry = if concrete {
        quote!(ViaRegistry as _, ViaRegistryDebug as _,)
    } else {
        quote!()
    };
    quote! {
        |__capture_ctx: &mut #pv::EncodeCtx<'_>| {
            #[allow(unused_imports)]
            use #pv::dispatch::{ViaDebug as _, ViaOpaque as _, #reducible ViaSerde as _, #registry};
            (&&&&&&#pv::dispatch::Wrap(#expr)).__capture_encode(__capture_ctx)
        }
    }
}

/// `|codec, bytes, rebuild_ctx| -> Result<ty, _>`: rebuild a stored value as
/// `ty`, continuing the shared-pointer context of the call's other arguments.
pub(crate) fn decode(pv: &TokenStream, ty: &Type, concrete: bool) -> TokenStream {
    let registry = if concrete {
        quote!(RebuildViaRegistry as _,)
    } else {
        quote!()
    };
    quote! {
        |__codec: #pv::replay::Codec, __bytes: &[u8], __rcx: &mut #pv::RebuildCtx| {
            #[allow(unused_imports)]
            use #pv::dispatch::{RebuildNever as _, RebuildViaReducible as _, RebuildViaSerde as _, #registry};
            (&&&&#pv::dispatch::Want::<#ty>::new()).__capture_decode_in(__codec, __bytes, __rcx)
        }
    }
}

/// `bool`: whether `ty` has a rebuild path (the same layers as [`decode`]).
pub(crate) fn rebuildable(pv: &TokenStream, ty: &Type, concrete: bool) -> TokenStream {
    let registry = if concrete {
        quote!(RebuildableRegistry as _,)
    } else {
        quote!()
    };
    quote! {{
        #[allow(unused_imports)]
        use #pv::replay::{RebuildableNever as _, RebuildableReducible as _, RebuildableSerde as _, #registry};
        (&&&&#pv::dispatch::Want::<#ty>::new()).__capture_rebuildable()
    }}
}
