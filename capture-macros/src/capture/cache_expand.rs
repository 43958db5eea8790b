//! `#[capture_args(cache)]`: validate the cache options and wrap the
//! instrumented function in a memoizing shell.
//!
//! The shell hashes the arguments (the same compile-time dispatch as capture,
//! without redaction), looks the key up and returns a hit without running the
//! body; on a miss it runs the instrumented body (so misses are captured as
//! usual) and stores the result. The key includes a SHA-256 of the function's
//! own tokens, computed here, so editing the function invalidates its cache.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use sha2::{Digest, Sha256};
use syn::spanned::Spanned;
use syn::{parse_quote, ItemFn};

use super::ast::{Function, ParamKind, Receiver};
use super::attr::Options;

/// Check the cache options against the function.
pub(crate) fn validate(opts: &Options, f: &Function, func: &ItemFn, errors: &mut Vec<syn::Error>) {
    let Some(cache) = opts.cache else {
        for (key, span) in &opts.cache_option_spans {
            errors.push(syn::Error::new(
                *span,
                format!("`{key}` configures memoization, which is off: add `cache` to the attribute"),
            ));
        }
        return;
    };
    let why_not = "a hit returns the stored result without running the body";
    match &f.ret {
        None => errors.push(syn::Error::new(
            cache,
            format!("`cache` memoizes the return value, but this function returns `()` ({why_not}, so it would do nothing); remove `cache`"),
        )),
        Some(ty) if f.ret_has_impl_trait => errors.push(syn::Error::new(
            ty.span(),
            "`cache` needs a nameable result type to store and rebuild; replace `impl Trait` with a concrete type or remove `cache`",
        )),
        Some(_) => {}
    }
    if f.receiver == Receiver::RefMut {
        let span = func
            .sig
            .inputs
            .first()
            .map(|i| i.span())
            .unwrap_or_else(|| func.sig.ident.span());
        errors.push(syn::Error::new(
            span,
            format!("`cache` cannot memoize a method taking `&mut self`: {why_not}, so the mutation would be skipped; remove `cache`"),
        ));
    }
    for p in f.params.iter().filter(|p| p.kind == ParamKind::Formatter) {
        errors.push(syn::Error::new(
            p.span,
            format!(
                "`cache` cannot memoize a function writing to a formatter (`{}`): {why_not}, so nothing would be written; remove `cache`",
                p.name
            ),
        ));
    }
    for p in f.params.iter().filter(|p| p.kind == ParamKind::RefMut) {
        errors.push(syn::Error::new(
            p.span,
            format!(
                "`cache` cannot memoize a function taking `&mut` arguments (`{}`): {why_not}, so the mutation would be skipped; remove `cache` or take the argument by value/`&`",
                p.name
            ),
        ));
    }
    let names: Vec<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
    let check_name = |ident: &syn::Ident, what: &str, errors: &mut Vec<syn::Error>| {
        let n = ident.to_string();
        if n == "self" {
            if f.receiver == Receiver::None {
                errors.push(syn::Error::new(
                    ident.span(),
                    format!("`{what}(self)`: this function has no `self` parameter"),
                ));
            }
            return;
        }
        if !names.contains(&n.as_str()) {
            errors.push(super::check::unknown_arg(ident, what, &names));
        }
    };
    for ident in &opts.cache_exclude {
        check_name(ident, "cache_exclude", errors);
    }
    for (ident, _) in &opts.cache_hash {
        check_name(ident, "cache_hash", errors);
        if opts.cache_exclude.iter().any(|e| e == ident) {
            errors.push(syn::Error::new(
                ident.span(),
                format!("`{ident}` is both in cache_exclude(..) and cache_hash(..); keep one"),
            ));
        }
    }
}

/// Hex SHA-256 of the function's signature and body tokens (whitespace and
/// comments do not count; any token edit does).
pub(crate) fn token_hash(func: &ItemFn) -> String {
    let mut h = Sha256::new();
    h.update(func.sig.to_token_stream().to_string().as_bytes());
    h.update([0u8]);
    h.update(func.block.to_token_stream().to_string().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Expand a function with `cache`: capture instrumentation inside, the
/// memoizing shell outside.
pub(crate) fn expand(opts: &Options, f: &Function, func: ItemFn) -> TokenStream {
    let fn_hash = token_hash(&func);
    let instrumented = super::expand::expand(opts, f, func);
    let mut func: ItemFn = match syn::parse2(instrumented.clone()) {
        Ok(func) => func,
        Err(_) => return instrumented,
    };
    let krate: syn::Path = opts.krate.clone().unwrap_or_else(crate::runtime_path);
    let pv = quote!(#krate::__private);
    let site_opts = super::expand::site_options(opts, f, &func, &pv);
    let Some(ret) = &f.ret else {
        return instrumented;
    };

    let opt_u64 = |v: Option<u64>| match v {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    };
    let ttl = opt_u64(opts.cache_ttl_secs.as_ref().map(|s| s.value));
    let max_entries = opt_u64(opts.cache_max_entries.as_ref().map(|s| s.value));
    let max_bytes = opt_u64(opts.cache_max_bytes.as_ref().map(|s| s.value));
    let cache_errors = opts.cache_errors.is_some();

    let dispatch = |expr: TokenStream, concrete: bool| super::dispatch::encode(&pv, expr, concrete);
    let excluded = |name: &str| opts.cache_exclude.iter().any(|i| i == name);
    let mut key_stmts = Vec::new();
    if f.receiver != Receiver::None && !excluded("self") {
        let expr = match f.receiver {
            Receiver::Value => quote!(&self),
            _ => quote!(&*self),
        };
        let enc = dispatch(expr.clone(), false);
        key_stmts.push(quote!(__capture_key.arg("self", #pv::type_name_of(#expr), #enc);));
    }
    let typed: Vec<syn::Type> = func
        .sig
        .inputs
        .iter()
        .filter_map(|i| match i {
            syn::FnArg::Typed(pt) => Some((*pt.ty).clone()),
            syn::FnArg::Receiver(_) => None,
        })
        .collect();
    for (p, ty) in f.params.iter().zip(&typed).filter(|(p, _)| !excluded(&p.name)) {
        let ident = &p.ident;
        let name = &p.name;
        let expr = match p.kind {
            // Refused by `validate`: a cache hit would write nothing.
            ParamKind::Formatter => continue,
            ParamKind::Ref => quote_spanned!(p.span=> #ident),
            ParamKind::RefMut => quote_spanned!(p.span=> &*#ident),
            ParamKind::Owned => quote_spanned!(p.span=> &#ident),
        };
        let sampled = opts.strategy(name, true) == Some("sampled");
        if sampled {
            // A compile error names `NumericBuffer` when the type is not a
            // numeric buffer (slice, Vec or array of numbers).
            key_stmts.push(quote_spanned! {p.span=>
                __capture_key.arg_id(#name, #pv::type_name_of(#expr), #pv::sampled_hash(#expr));
            });
            continue;
        }
        let enc = super::dispatch::encode_arg(&pv, expr.clone(), p.concrete, ty);
        key_stmts.push(quote!(__capture_key.arg(#name, #pv::type_name_of(#expr), #enc);));
    }
    // The same id rules as capture: `Type::f` for every function of an
    // `impl` (with or without a receiver), `<Type as Trait>::f` in a trait impl.
    let self_type = if f.place.in_impl() {
        quote!(::core::option::Option::Some(::core::any::type_name::<Self>()))
    } else {
        quote!(::core::option::Option::None)
    };

    let inner = &func.block;
    // `Result<T, E>` without `cache_errors`: only `Ok(T)` is stored, so only
    // `T` needs serde (errors such as `io::Error` need not).
    let ok = if cache_errors { None } else { ok_type(ret) };
    let stored = ok.unwrap_or(ret);
    let check = quote_spanned! {stored.span()=>
        let _ = #pv::cached_result_must_implement_serde_serialize_and_deserialize::<#stored>;
    };
    let (hit, store) = match ok {
        Some(_) => (
            quote!(::core::result::Result::Ok(__capture_hit)),
            quote! {
                if let ::core::result::Result::Ok(__capture_ok) = &__capture_cache_ret {
                    __capture_cache.store(__capture_ok, false);
                }
            },
        ),
        None => (
            quote!(__capture_hit),
            quote! {
                #[allow(unused_imports)]
                use #pv::{ProbeOther as _, ProbeResult as _};
                let __capture_is_err = (&&#pv::ErrProbe(&__capture_cache_ret)).__capture_is_err();
                __capture_cache.store(&__capture_cache_ret, __capture_is_err);
            },
        ),
    };
    let (lookup, run) = if f.is_async {
        (
            quote!(__capture_cache.lookup_async::<#stored>().await),
            quote! {
                async {
                    #[allow(unreachable_code, clippy::diverging_sub_expression)]
                    if false {
                        let __capture_fake_return: #ret = loop {};
                        return __capture_fake_return;
                    }
                    #inner
                }.await
            },
        )
    } else {
        (
            quote!(__capture_cache.lookup::<#stored>()),
            quote!((|| -> #ret #inner)()),
        )
    };
    let body = quote! {
        static __CAPTURE_CACHE_SITE: #pv::CacheSite = #pv::CacheSite::new(
            &#site_opts,
            &#pv::CacheOptions {
                fn_hash: #fn_hash,
                ttl_secs: #ttl,
                max_entries: #max_entries,
                max_bytes: #max_bytes,
                cache_errors: #cache_errors,
            },
        );
        #check
        #[allow(unused_mut)]
        let mut __capture_cache = if #pv::cache_active() {
            __CAPTURE_CACHE_SITE.begin(#self_type, ::core::any::type_name::<#ret>(), |__capture_key| { #(#key_stmts)* })
        } else {
            #pv::CacheCall::none()
        };
        if let ::core::option::Option::Some(__capture_hit) = #lookup {
            return #hit;
        }
        #[allow(clippy::redundant_closure_call)]
        let __capture_cache_ret: #ret = #run;
        {
            #store
        }
        __capture_cache_ret
    };
    *func.block = parse_quote!({ #body });
    quote!(#func)
}

/// `T` of a return type spelled `Result<T, ..>` (any path ending in
/// `Result`, e.g. `io::Result<T>`).
fn ok_type(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}
