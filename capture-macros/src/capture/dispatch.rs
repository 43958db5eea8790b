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
pub(crate) fn encode_arg(pv: &TokenStream, expr: TokenStream, concrete: bool, ty: &Type) -> TokenStream {
    encode_with_layers(pv, expr, concrete, !super::borrowed::keyed_by_borrow(ty))
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
