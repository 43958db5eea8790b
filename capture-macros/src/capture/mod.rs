//! `#[capture_args]`: parse -> validate -> expand.

mod adapter;
mod adapter_body;
mod ast;
mod attr;
mod borrowed;
mod cache_expand;
mod check;
mod dispatch;
mod expand;
mod impl_block;

pub(crate) use adapter::names as adapter_names;
pub(crate) use dispatch::encode as encode_with;

use proc_macro2::TokenStream;
use quote::ToTokens;

pub(crate) fn entry(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry_with(attr, item, cfg!(feature = "enabled"))
}

/// `shims`: whether the `enabled` feature is on. Off (or `enabled = false`),
/// the item is returned exactly as it came in: the same tokens, the same spans.
fn entry_with(attr: TokenStream, item: TokenStream, shims: bool) -> TokenStream {
    if let Ok(block) = syn::parse2::<syn::ItemImpl>(item.clone()) {
        return impl_block::expand(attr, block, shims);
    }
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let mut out = syn::Error::new(
                e.span(),
                format!(
                    "#[capture_args] goes on a function (free fn, method or associated fn) or on an `impl` block: {e}"
                ),
            )
            .to_compile_error();
            out.extend(item);
            return out;
        }
    };
    let (mut out, companions) = function(attr, func, item, None, shims);
    out.extend(companions);
    out
}

/// Expand one function: the (instrumented) function, and its companions
/// (replay adapter and probe) to place beside it. `known_impl`: the
/// function sits in an `impl` block carrying `#[capture_args]`, implementing
/// this trait (if any).
pub(crate) fn function(
    attr: TokenStream,
    func: syn::ItemFn,
    item: TokenStream,
    known_impl: Option<Option<syn::Path>>,
    shims: bool,
) -> (TokenStream, TokenStream) {
    let mut errors = Vec::new();
    let opts = attr::parse(attr, &mut errors);
    let mut analysed = ast::analyse(&func, &mut errors);
    match known_impl {
        Some(trait_path) => analysed.place = ast::Place::KnownImpl { trait_path },
        None if opts.assoc.is_some() && analysed.place == ast::Place::Free => analysed.place = ast::Place::Impl,
        None => {}
    }
    check::validate(&opts, &analysed, &func, &mut errors);
    cache_expand::validate(&opts, &analysed, &func, &mut errors);
    if let Some(first) = errors.into_iter().reduce(|mut a, b| {
        a.combine(b);
        a
    }) {
        let mut out = first.to_compile_error();
        out.extend(func.into_token_stream());
        return (out, TokenStream::new());
    }
    // The replay adapter is emitted even when capturing is compiled out, so
    // replay tests build the same either way. The function itself is then the
    // item exactly as it came in: the same tokens, the same spans.
    let krate: syn::Path = opts.krate.clone().unwrap_or_else(crate::runtime_path);
    let site = expand::site_options(&opts, &analysed, &func, &quote::quote!(#krate::__private));
    let adapter = match analysed.place.trait_path() {
        Some(t) => adapter::emit(&opts, &analysed, &impl_block::qualify_self(&func, t), site),
        None => adapter::emit(&opts, &analysed, &func, site),
    };
    let out = if !shims || opts.enabled == Some(false) {
        item
    } else if opts.cache.is_some() {
        cache_expand::expand(&opts, &analysed, func)
    } else {
        expand::expand(&opts, &analysed, func)
    };
    (out, adapter)
}

#[cfg(test)]
mod tests {
    use super::entry_with;
    use quote::quote;

    fn item() -> proc_macro2::TokenStream {
        quote! {
            /// Docs stay.
            #[inline]
            pub fn price(order: &Order, (a, b): (u32, u32), discount: f64) -> u64 where Order: Clone {
                let x = order.total() + a as u64; x - b as u64
            }
        }
    }

    #[test]
    fn feature_off_leaves_the_function_exactly_as_written() {
        let out = entry_with(quote!(ret, ignore(discount)), item(), false).to_string();
        // The item, token for token, followed only by the hidden replay adapter.
        let rest = out
            .strip_prefix(&item().to_string())
            .expect("the item comes first, unchanged");
        assert!(rest.trim_start().starts_with("# [doc (hidden)]"), "{rest}");
        assert!(!out.contains("__CAPTURE_SITE . begin"), "{out}");
    }

    #[test]
    fn enabled_false_leaves_the_function_exactly_as_written() {
        let out = entry_with(quote!(enabled = false), item(), true).to_string();
        let rest = out
            .strip_prefix(&item().to_string())
            .expect("the item comes first, unchanged");
        assert!(rest.trim_start().starts_with("# [doc (hidden)]"), "{rest}");
    }

    #[test]
    fn feature_on_adds_the_shim() {
        let out = entry_with(quote!(), item(), true).to_string();
        assert!(out.contains("__CAPTURE_SITE"), "{out}");
    }
}
