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
    let registry = if concrete {
        quote!(ViaRegistry as _, ViaRegistryDebug as _,)
    } else {
        quote!()
    };
    quote! {
        |__capture_ctx: &mut #pv::EncodeCtx<'_>| {
            #[allow(unused_imports)]
            use #pv::dispatch::{ViaDebug as _, ViaOpaque as _, ViaReducible as _, ViaSerde as _, #registry};
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
