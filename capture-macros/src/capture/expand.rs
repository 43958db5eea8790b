//! Generate the instrumented function.
//!
//! The signature, attributes and docs are emitted unchanged; the body gets a
//! prelude that, when capturing is on (one relaxed atomic load and a branch),
//! encodes the arguments through the compile-time dispatch and holds a guard
//! that records the outcome when the call ends: panics always, the return
//! value with `ret`, and the after-state of `&mut` arguments (and of a
//! recorded `&mut self`) whenever the call returns.
//!
//! Recording anything after the call needs the body run as a closure (or an
//! inner `async` block), so its `return`s come back to the shim. For a
//! synchronous function that is done only when something is recorded after
//! the call, and never for a `#[track_caller]` function without `ret` (a
//! closure would change what `Location::caller()` reports): its after-states
//! are then not recorded. An `async fn` body always runs in an inner `async`
//! block wrapped in `WithDepth`, which polls it at the call's depth (the
//! depth of an async call travels with its future, not with the thread) and
//! lets the guard tell a finished call from a cancelled one.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{parse_quote, FnArg, ItemFn, Pat, PatIdent};

use super::ast::{Function, ParamKind, Receiver};
use super::attr::Options;

pub(crate) fn expand(opts: &Options, f: &Function, mut func: ItemFn) -> TokenStream {
    let krate: syn::Path = opts.krate.clone().unwrap_or_else(crate::runtime_path);
    let pv = quote!(#krate::__private);

    // Parameters that are patterns get a stable identifier; the pattern is
    // destructured at the top of the body, after the arguments are captured.
    let mut destructure = Vec::new();
    let mut params = f.params.iter();
    for input in func.sig.inputs.iter_mut() {
        if let FnArg::Typed(pt) = input {
            let p = params.next().expect("one Param per typed input");
            if let Some(pat) = &p.pattern {
                let ident = &p.ident;
                destructure.push(quote!(let #pat = #ident;));
                *pt.pat = Pat::Ident(PatIdent {
                    attrs: vec![],
                    by_ref: None,
                    mutability: None,
                    ident: ident.clone(),
                    subpat: None,
                });
            }
        }
    }

    let site_opts = site_options(opts, f, &func, &pv);
    let dispatch = |expr: TokenStream, concrete: bool| super::dispatch::encode(&pv, expr, concrete);

    let mut arg_stmts = Vec::new();
    if opts.capture_self.is_some() && f.receiver != Receiver::None {
        let expr = match f.receiver {
            Receiver::Value => quote!(&self),
            _ => quote!(&*self),
        };
        let enc = dispatch(expr.clone(), false);
        // `Self` is rebuilt by the adapter through the same serde/Reducible
        // dispatch when the receiver is recorded, so probing its schema asks
        // nothing more of the type.
        let schema = super::adapter_body::schema_probe(&expr, &pv, false);
        arg_stmts.push(quote!(__capture_sink.arg_with_schema("self", #pv::type_name_of(#expr), #schema, #enc);));
    }
    let generic = super::adapter_body::generic_params(&func);
    let typed: Vec<syn::Type> = func
        .sig
        .inputs
        .iter()
        .filter_map(|i| match i {
            FnArg::Typed(pt) => Some((*pt.ty).clone()),
            FnArg::Receiver(_) => None,
        })
        .collect();
    // Scalars taken by value are copied inside the capture branch and the
    // copy is borrowed: borrowing the parameter itself made it live in
    // memory for the whole call, a spill on the path with capture off too.
    let mut copies = Vec::new();
    for ((p, &g), ty) in f.params.iter().zip(&generic).zip(&typed) {
        let ident = &p.ident;
        let name = &p.name;
        if p.kind == ParamKind::Formatter {
            // A formatter is a borrowed sink, not data: named in the record, never encoded.
            arg_stmts.push(quote!(__capture_sink.arg_skipped(#name, "core::fmt::Formatter");));
            continue;
        }
        let expr = match p.kind {
            ParamKind::Formatter => unreachable!("handled above"),
            ParamKind::Ref => quote_spanned!(p.span=> #ident),
            ParamKind::RefMut => quote_spanned!(p.span=> &*#ident),
            ParamKind::Owned if !g && is_scalar(ty) => {
                // Numbered, not named after the parameter: a name built from
                // the user's identifier could trip a naming lint on their token.
                let copy = format_ident!("__capture_copy_{}", copies.len());
                copies.push(quote_spanned!(p.span=> let #copy: #ty = #ident;));
                quote_spanned!(p.span=> &#copy)
            }
            ParamKind::Owned => quote_spanned!(p.span=> &#ident),
        };
        let mut enc = super::dispatch::encode_arg(&pv, expr.clone(), p.concrete, ty);
        if g {
            // A placeholder of a generic parameter's value blames the bounds.
            let text = super::ast::compact(&quote!(#ty).to_string());
            enc = quote!(|__capture_ctx: &mut #pv::EncodeCtx<'_>| __capture_ctx.__generic(#text, #enc));
        }
        let schema = super::adapter_body::capture_schema(p.kind, ty, &expr, &pv, g);
        if opts.strategy(name, false) == Some("sampled") {
            // A compile error names `NumericBuffer` when the type is not a
            // numeric buffer (slice, Vec or array of numbers).
            arg_stmts.push(quote_spanned! {p.span=>
                __capture_sink.arg_sampled(#name, #pv::type_name_of(#expr), #schema, #pv::sampled_hash(#expr), #enc);
            });
            continue;
        }
        arg_stmts.push(quote!(__capture_sink.arg_with_schema(#name, #pv::type_name_of(#expr), #schema, #enc);));
    }

    let self_type = if f.place.in_impl() {
        quote!(::core::option::Option::Some(::core::any::type_name::<Self>()))
    } else {
        quote!(::core::option::Option::None)
    };

    let begin = if f.is_async {
        format_ident!("begin_async")
    } else {
        format_ident!("begin")
    };
    let prelude = quote! {
        static __CAPTURE_SITE: #pv::Site = #pv::Site::new(&#site_opts);
        #[allow(unused_mut)]
        let mut __capture_guard = if __CAPTURE_SITE.enabled() {
            #(#copies)*
            __CAPTURE_SITE.#begin(#self_type, |__capture_sink| { #(#arg_stmts)* })
        } else {
            #pv::CallGuard::none()
        };
    };

    let block = &func.block;
    let with_ret = opts.ret.is_some() && f.ret.is_some();
    let self_after = opts.capture_self.is_some() && f.receiver == Receiver::RefMut;
    let track_caller = func.attrs.iter().any(|a| a.path().is_ident("track_caller"));
    let mut after: Vec<TokenStream> = Vec::new();
    if self_after {
        let enc = dispatch(quote!(&*self), false);
        after.push(quote!(__capture_guard.after("self", #pv::type_name_of(&*self), #enc);));
    }
    for (p, ty) in f.params.iter().zip(&typed).filter(|(p, _)| p.kind == ParamKind::RefMut) {
        let ident = &p.ident;
        let name = &p.name;
        let enc = super::dispatch::encode_arg(&pv, quote!(&*#ident), p.concrete, ty);
        after.push(quote!(__capture_guard.after(#name, #pv::type_name_of(&*#ident), #enc);));
    }
    if !with_ret && track_caller {
        after.clear();
    }
    // An `async` body always runs inside the shim's own `async` block, polled
    // at the call's depth (which travels with the future, not the thread).
    // A function returning a `Result`: the shim tells the guard whether
    // the call returned `Err`, for failure-biased sampling.
    let fallible = f.ret.as_deref().is_some_and(returns_result);
    let body = if with_ret || !after.is_empty() || f.is_async || fallible {
        let fake = match (&f.ret, f.ret_has_impl_trait) {
            (Some(ty), false) => quote! {
                #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::let_unit_value)]
                if false {
                    let __capture_fake_return: #ty = loop {};
                    return __capture_fake_return;
                }
            },
            _ => quote!(),
        };
        let run = if f.is_async {
            quote! {{
                let __capture_ret = #pv::WithDepth::new(
                    __capture_guard.nested_depth(),
                    async { #fake #block },
                ).await;
                __capture_guard.finish();
                __capture_ret
            }}
        } else {
            quote!((|| { #fake #block })())
        };
        let record_ret = if with_ret {
            let concrete = f.ret_concrete && !f.ret_has_impl_trait;
            let enc_ret = match &f.ret {
                Some(ty) => super::dispatch::encode_arg(&pv, quote!(&__capture_ret), concrete, ty),
                None => dispatch(quote!(&__capture_ret), concrete),
            };
            let schema = super::adapter_body::schema_probe(
                &quote!(&__capture_ret),
                &pv,
                !f.ret_concrete || f.ret_has_impl_trait || f.ret.as_deref().is_some_and(super::borrowed::borrows),
            );
            quote!(__capture_guard.ret_with_schema(#pv::type_name_of(&__capture_ret), #schema, #enc_ret);)
        } else {
            quote!()
        };
        let ret_var = format_ident!("__capture_ret");
        let failed = if fallible {
            quote! {
                __capture_guard.failed({
                    #[allow(unused_imports)]
                    use #pv::outcome::{NotErr as _, ResultErr as _};
                    (&#pv::outcome::ErrProbe(&__capture_ret)).__capture_is_err()
                });
            }
        } else {
            quote!()
        };
        quote! {
            #prelude
            #(#destructure)*
            // The user's block sits inside the shim's own block: without
            // `unused_braces`, rustc flags the user's braces (a lint on their
            // tokens, for code they did not write).
            #[allow(clippy::redundant_closure_call, unused_braces)]
            let #ret_var = #run;
            if __capture_guard.active() {
                #failed
                #record_ret
                #(#after)*
            }
            #ret_var
        }
    } else {
        // The user's statements follow the prelude in the function's own
        // block (not nested in a block of their own, which would make the
        // braces of a one-expression body an `unused_braces` warning on the
        // user's tokens); scoping and drop order are those of the original body.
        let stmts = &block.stmts;
        quote! {
            #prelude
            #(#destructure)*
            #(#stmts)*
        }
    };
    *func.block = parse_quote!({ #body });
    quote!(#func)
}

/// Whether a return type is written as a `Result` (`Result<T, E>`,
/// `io::Result<T>`, a crate's own `Result<T>` alias): the call may end in
/// `Err`. Whether it is one is settled at compile time by
/// `returned_err`'s probe (a type of another name is never `Err`).
fn returns_result(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
        syn::Type::Paren(p) => returns_result(&p.elem),
        syn::Type::Group(g) => returns_result(&g.elem),
        _ => false,
    }
}

/// A primitive scalar type written plainly (`f64`, `u32`, `bool`, …): `Copy`,
/// so the shim may copy the argument instead of borrowing it.
fn is_scalar(ty: &syn::Type) -> bool {
    const SCALARS: &[&str] = &[
        "bool", "char", "f32", "f64", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128",
        "usize",
    ];
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => p.path.get_ident().is_some_and(|i| SCALARS.iter().any(|s| i == s)),
        _ => false,
    }
}

pub(super) fn site_options(opts: &Options, f: &Function, func: &ItemFn, pv: &TokenStream) -> TokenStream {
    let fn_name = func.sig.ident.to_string();
    let opt_str = |o: &Option<super::attr::Spanned<String>>| match o {
        Some(s) => {
            let v = &s.value;
            quote!(::core::option::Option::Some(#v))
        }
        None => quote!(::core::option::Option::None),
    };
    let name = opt_str(&opts.name);
    let path = opt_str(&opts.path);
    let retention = match &opts.retention {
        Some(s) => {
            let v = s.value;
            quote!(::core::option::Option::Some(#v))
        }
        None => quote!(::core::option::Option::None),
    };
    let u64_opt = |o: &Option<super::attr::Spanned<u64>>| match o {
        Some(s) => {
            let v = s.value;
            quote!(::core::option::Option::Some(#v))
        }
        None => quote!(::core::option::Option::None),
    };
    let max_age = u64_opt(&opts.max_age_secs);
    let max_size = u64_opt(&opts.max_size);
    let sample = match &opts.sample {
        Some(s) => {
            let v = s.value;
            quote!(::core::option::Option::Some(#v))
        }
        None => quote!(::core::option::Option::None),
    };
    let sample_err = match &opts.sample_err {
        Some(s) => {
            let v = s.value;
            quote!(::core::option::Option::Some(#v))
        }
        None => quote!(::core::option::Option::None),
    };
    let fallible = f.ret.as_deref().is_some_and(returns_result);
    let sample_by_args = match opts.sample_by_args {
        Some(b) => quote!(::core::option::Option::Some(#b)),
        None => quote!(::core::option::Option::None),
    };
    let names = |list: &[syn::Ident]| {
        let s: Vec<String> = list.iter().map(|i| i.to_string()).collect();
        quote!(&[#(#s),*])
    };
    let ignore = names(&opts.ignore);
    let (redact, allow) = (&opts.redact, &opts.allow);
    let (redact, allow) = (quote!(&[#(#redact),*]), quote!(&[#(#allow),*]));
    let ret = opts.ret.is_some() && f.ret.is_some();
    let trait_name = match f.place.trait_path() {
        Some(t) => {
            let label = super::ast::trait_label(t);
            quote!(::core::option::Option::Some(#label))
        }
        None => quote!(::core::option::Option::None),
    };
    quote! {
        #pv::SiteOptions {
            fn_name: #fn_name,
            trait_name: #trait_name,
            module_path: ::core::module_path!(),
            name: #name,
            crate_name: ::core::env!("CARGO_PKG_NAME"),
            crate_version: ::core::env!("CARGO_PKG_VERSION"),
            manifest_dir: ::core::env!("CARGO_MANIFEST_DIR"),
            path: #path,
            retention: #retention,
            max_age_secs: #max_age,
            ignore: #ignore,
            redact: #redact,
            allow: #allow,
            sample: #sample,
            sample_err: #sample_err,
            fallible: #fallible,
            sample_by_args: #sample_by_args,
            max_size: #max_size,
            ret: #ret,
        }
    }
}
