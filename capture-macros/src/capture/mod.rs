//! `#[capture_args]`: parse -> validate -> expand.

mod ast;
mod attr;
mod cache_expand;
mod check;
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
    cache_expand::validate(&opts, &analysed, &func, &mut errors);
    if let Some(first) = errors.into_iter().reduce(|mut a, b| {
        a.combine(b);
        a
    }) {
        let mut out = first.to_compile_error();
        out.extend(func.into_token_stream());
        return out;
    }
    if !cfg!(feature = "enabled") || opts.enabled == Some(false) {
        return func.into_token_stream();
    }
    if opts.cache.is_some() {
        return cache_expand::expand(&opts, &analysed, func);
    }
    expand::expand(&opts, &analysed, func)
}
