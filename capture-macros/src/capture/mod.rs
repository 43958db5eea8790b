//! `#[capture_args]`: parse -> validate -> expand.

mod adapter;
mod ast;
mod attr;
mod check;
mod dispatch;
mod expand;

use proc_macro2::TokenStream;
use quote::ToTokens;

pub(crate) fn entry(attr: TokenStream, item: TokenStream) -> TokenStream {
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
    if let Some(first) = errors.into_iter().reduce(|mut a, b| {
        a.combine(b);
        a
    }) {
        let mut out = first.to_compile_error();
        out.extend(func.into_token_stream());
        return out;
    }
    // The replay adapter is emitted even when capturing is compiled out, so
    // replay tests build the same either way.
    let krate: syn::Path = opts
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::capture_runtime));
    let site = expand::site_options(&opts, &analysed, &func, &quote::quote!(#krate::__private));
    let adapter = adapter::emit(&opts, &analysed, &func, site);
    let mut out = if !cfg!(feature = "enabled") || opts.enabled == Some(false) {
        func.into_token_stream()
    } else {
        expand::expand(&opts, &analysed, func)
    };
    out.extend(adapter);
    out
}
