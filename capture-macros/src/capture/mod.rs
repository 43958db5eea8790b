//! `#[capture_args]`: parse -> validate -> expand.

mod adapter;
mod ast;
mod attr;
mod cache_expand;
mod check;
mod dispatch;
mod expand;

use proc_macro2::TokenStream;
use quote::ToTokens;

pub(crate) fn entry(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry_with(attr, item, cfg!(feature = "enabled"))
}

/// `shims`: whether the `enabled` feature is on. Off (or `enabled = false`),
/// the item is returned exactly as it came in: the same tokens, the same spans.
fn entry_with(attr: TokenStream, item: TokenStream, shims: bool) -> TokenStream {
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let mut out = syn::Error::new(
                e.span(),
                format!("#[capture_args] goes on a function (free fn, method or associated fn): {e}"),
            )
            .to_compile_error();
            out.extend(item);
            return out;
        }
    };
    let mut errors = Vec::new();
    let opts = attr::parse(attr, &mut errors);
    let analysed = ast::analyse(&func, &mut errors);
    check::validate(&opts, &analysed, &func, &mut errors);
    cache_expand::validate(&opts, &analysed, &func, &mut errors);
    if let Some(first) = errors.into_iter().reduce(|mut a, b| {
        a.combine(b);
        a
    }) {
        let mut out = first.to_compile_error();
        out.extend(func.into_token_stream());
        return out;
    }
    // The replay adapter is emitted even when capturing is compiled out, so
    // replay tests build the same either way. The function itself is then the
    // item exactly as it came in: the same tokens, the same spans.
    let krate: syn::Path = opts
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::capture_runtime));
    let site = expand::site_options(&opts, &analysed, &func, &quote::quote!(#krate::__private));
    let adapter = adapter::emit(&opts, &analysed, &func, site);
    let mut out = if !shims || opts.enabled == Some(false) {
        item
    } else if opts.cache.is_some() {
        cache_expand::expand(&opts, &analysed, func)
    } else {
        expand::expand(&opts, &analysed, func)
    };
    out.extend(adapter);
    out
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
