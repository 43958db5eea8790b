//! The replay-test macros of `capture-test`: `replay_main!` (a libtest-mimic
//! `main` with one test per stored call), `replay_outcomes!` and
//! `assert_replays!` (for hand-written `#[test]`s).
//!
//! ```text
//! replay_main! {
//!     checkout::price,                                   // recorded return value (when recorded)
//!     checkout::total => ret(tolerance = 1e-9),          // floats within a tolerance
//!     auth::authenticate with { password = "test-pw" } => snapshot,
//!     parse::tokenize => |input, out| assert!(out.len() <= input.len()),
//!     stats::largest::<u32>,                             // generic: name the type
//! }
//! ```

mod parse;

use proc_macro2::TokenStream;
use quote::quote;

use parse::{CheckKind, Entries, Entry};

pub(crate) fn main(input: TokenStream) -> TokenStream {
    match harness_expr(input) {
        Ok(h) => quote! {
            fn main() {
                #h.run()
            }
        },
        Err(e) => {
            // Still define `main`, so the syntax error is the only error.
            let mut out = e.to_compile_error();
            out.extend(quote!(
                fn main() {}
            ));
            out
        }
    }
}

pub(crate) fn harness(input: TokenStream) -> TokenStream {
    harness_expr(input).unwrap_or_else(|e| e.to_compile_error())
}

/// `{ let mut h = Harness::from_args(); h.add(..); ..; h }`.
fn harness_expr(input: TokenStream) -> syn::Result<TokenStream> {
    let mut entries = syn::parse2::<Entries>(input)?.0;
    unique_labels(&mut entries);
    let pv = crate::test_private();
    let adds = entries.iter().map(|e| {
        let (opts, run) = entry(e);
        quote!(__capture_harness.add(#opts, #run);)
    });
    Ok(quote! {{
        let mut __capture_harness = #pv::Harness::from_args();
        #(#adds)*
        __capture_harness
    }})
}

/// Test names must be unique: a function listed twice (say, once compared
/// with its recorded value and once with a closure) gets the check's name
/// appended the second time (`checkout::price::check::<id>`).
fn unique_labels(entries: &mut [Entry]) {
    let mut seen: Vec<String> = Vec::new();
    for e in entries.iter_mut() {
        if seen.contains(&e.label) {
            let kind = match e.check {
                CheckKind::Auto => "auto",
                CheckKind::Ret(_) => "ret",
                CheckKind::Snapshot => "snapshot",
                CheckKind::Closure(_) => "check",
            };
            let base = format!("{}::{kind}", e.label);
            let mut label = base.clone();
            let mut n = 2;
            while seen.contains(&label) {
                label = format!("{base}{n}");
                n += 1;
            }
            e.label = label;
        }
        seen.push(e.label.clone());
    }
}

pub(crate) fn outcomes(input: TokenStream) -> TokenStream {
    let entry = match syn::parse2::<Entry>(input) {
        Ok(e) => e,
        Err(e) => return e.to_compile_error(),
    };
    let (opts, run) = self::entry(&entry);
    let pv = crate::test_private();
    quote!(#pv::outcomes(#opts, #run))
}

pub(crate) fn assert_all(input: TokenStream) -> TokenStream {
    let entries = match syn::parse2::<Entries>(input) {
        Ok(e) => e,
        Err(e) => return e.to_compile_error(),
    };
    let pv = crate::test_private();
    let runs = entries.0.iter().map(|e| {
        let (opts, run) = entry(e);
        quote!(__capture_all.extend(#pv::outcomes(#opts, #run));)
    });
    quote! {{
        let mut __capture_all = ::std::vec::Vec::new();
        #(#runs)*
        #pv::assert_outcomes(&__capture_all);
    }}
}

/// The options expression of one entry.
fn options(e: &Entry) -> TokenStream {
    let pv = crate::test_private();
    let label = &e.label;
    let check = match &e.check {
        CheckKind::Auto => quote!(Auto),
        CheckKind::Ret(_) => quote!(Ret),
        CheckKind::Snapshot => quote!(Snapshot),
        CheckKind::Closure(_) => quote!(Closure),
    };
    let tolerance = match &e.check {
        CheckKind::Ret(Some(t)) => quote!(.float_tolerance(#t)),
        _ => quote!(),
    };
    let stand_ins = e.stand_ins.iter().map(|(path, value)| quote!(.with(#path, &#value)));
    let redacted = if e.redacted_as_recorded {
        quote!(.redacted_as_recorded(true))
    } else {
        quote!()
    };
    let allow_empty = if e.allow_empty {
        quote!(.allow_empty(true))
    } else {
        quote!()
    };
    let executor = match &e.executor {
        Some(x) => quote! {
            .executor(#pv::Executor::new(|__capture_future| {
                let _ = (#x)(__capture_future);
            }))
        },
        None => quote!(),
    };
    quote! {
        #pv::ReplayOptions::new(#label)
            .check(#pv::Check::#check)
            #tolerance
            .stand_ins(#pv::StandIns::new() #(#stand_ins)*)
            #redacted
            #allow_empty
            #executor
    }
}

/// The probe call that comes before any use of the adapter: its errors read
/// as the fix (function not captured; generic function without its types).
fn probe(e: &Entry) -> TokenStream {
    let probe = &e.probe;
    let named = e.types_named;
    let pv = crate::test_private_at(e.span);
    let marker = quote::quote_spanned!(e.span=> #pv::TypesNamed::<#named>);
    quote!(#probe(#marker);)
}

/// The options expression and the `fn(&mut ReplayCx)` closure of one entry.
fn entry(e: &Entry) -> (TokenStream, TokenStream) {
    let pv = crate::test_private();
    let adapter = &e.adapter;
    let none = quote!(::core::option::Option::None);
    let call = match &e.check {
        CheckKind::Closure(c) => {
            quote!(let _ = #adapter(__cx, ::core::option::Option::Some(&mut #c), #none);)
        }
        CheckKind::Snapshot => quote! {
            __cx.set_snapshot(::std::boxed::Box::new(|__info: &#pv::SnapshotInfo, __value: &dyn ::core::fmt::Debug| {
                let mut __settings = #pv::insta::Settings::clone_current();
                __settings.set_description(__info.description.clone());
                __settings.set_omit_expression(true);
                __settings.bind(|| {
                    #pv::insta::assert_debug_snapshot!(__info.name.as_str(), __value);
                });
            }));
            let _ = #adapter(__cx, #none, #none);
        },
        _ => quote!(let _ = #adapter(__cx, #none, #none);),
    };
    let probe = probe(e);
    (options(e), quote!(|__cx: &mut #pv::ReplayCx<'_>| { #probe #call }))
}

/// `calls_of!(path)`: the stored calls of a function, located through its adapter.
pub(crate) fn calls_of(input: TokenStream) -> TokenStream {
    let e = match syn::parse2::<Entry>(input) {
        Ok(e) => e,
        Err(e) => return e.to_compile_error(),
    };
    let (opts, run) = entry(&e);
    let pv = crate::test_private();
    quote!(#pv::calls_of(&#opts, #run))
}

/// `<entry>, <call>` (and for `assert_ret_eq!`, `, <actual>`).
struct WithCall {
    entry: Entry,
    call: syn::Expr,
    actual: Option<syn::Expr>,
}

impl syn::parse::Parse for WithCall {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        let entry: Entry = input.parse()?;
        input.parse::<syn::Token![,]>()?;
        let call = input.parse()?;
        let actual = if input.parse::<Option<syn::Token![,]>>()?.is_some() && !input.is_empty() {
            Some(input.parse()?)
        } else {
            None
        };
        let _ = input.parse::<Option<syn::Token![,]>>()?;
        Ok(WithCall { entry, call, actual })
    }
}

/// `load_args!(path [with {..}], &call)`: the call's arguments rebuilt as
/// the function's types, as a tuple (`self` first when recorded).
pub(crate) fn load_args(input: TokenStream) -> TokenStream {
    let w = match syn::parse2::<WithCall>(input) {
        Ok(w) => w,
        Err(e) => return e.to_compile_error(),
    };
    if let Some(a) = &w.actual {
        return syn::Error::new_spanned(a, "load_args!(path, &call) takes a function and a call").to_compile_error();
    }
    let pv = crate::test_private();
    let opts = options(&w.entry);
    let probe = probe(&w.entry);
    let adapter = &w.entry.adapter;
    let call = &w.call;
    quote! {{
        let __capture_opts = #opts;
        let __capture_call: &#pv::CapturedCall = #call;
        let mut __capture_out = ::core::option::Option::None;
        let mut __capture_cx = #pv::ReplayCx::run(__capture_call, &__capture_opts);
        #probe
        let _ = #adapter(
            &mut __capture_cx,
            ::core::option::Option::None,
            ::core::option::Option::Some(&mut |__capture_args| __capture_out = ::core::option::Option::Some(__capture_args)),
        );
        #pv::loaded(__capture_cx.finish(), __capture_out)
    }}
}

/// `assert_ret_eq!(path, &call, actual)`: `actual` against the return value
/// recorded with `call`, encoded and compared exactly as a replay does.
pub(crate) fn assert_ret_eq(input: TokenStream) -> TokenStream {
    let w = match syn::parse2::<WithCall>(input) {
        Ok(w) => w,
        Err(e) => return e.to_compile_error(),
    };
    let Some(actual) = &w.actual else {
        return syn::Error::new(
            proc_macro2::Span::call_site(),
            "write assert_ret_eq!(path, &call, actual_value)",
        )
        .to_compile_error();
    };
    let pv = crate::test_private();
    let rt = quote!(#pv::rt);
    let mut entry = w.entry;
    if let CheckKind::Auto = entry.check {
        entry.check = CheckKind::Ret(None);
    }
    if !matches!(entry.check, CheckKind::Ret(_)) {
        return syn::Error::new(
            proc_macro2::Span::call_site(),
            "assert_ret_eq! compares with the recorded return value: use no check or `=> ret(tolerance = ..)`",
        )
        .to_compile_error();
    }
    let opts = options(&entry);
    let probe = probe(&entry);
    let adapter = &entry.adapter;
    let call = &w.call;
    let enc = crate::capture::encode_with(&rt, quote!(__capture_actual), false);
    quote! {{
        let __capture_opts = #opts;
        let __capture_call: &#pv::CapturedCall = #call;
        let __capture_actual = &(#actual);
        let mut __capture_cx = #pv::ReplayCx::compare(__capture_call, &__capture_opts);
        #probe
        let _ = #adapter(&mut __capture_cx, ::core::option::Option::None, ::core::option::Option::None);
        if __capture_cx.__compare_ready() && __capture_call.has_ret() {
            __capture_cx.__output(
                #rt::type_name_of(__capture_actual),
                {
                    #[allow(unused_imports)]
                    use #rt::replay::{DebugNone as _, DebugVia as _};
                    (&&#rt::replay::DebugOf(__capture_actual)).__capture_debug()
                },
                ::core::option::Option::None,
                ::core::option::Option::Some(&mut |__codec: #rt::replay::Codec, __bytes: &[u8]| {
                    #[allow(unused_imports)]
                    use #rt::replay::{EqNone as _, EqViaDebug as _, EqViaPartialEq as _};
                    let __decode = |__c: #rt::replay::Codec, __b: &[u8], __r: &mut #rt::RebuildCtx| {
                        #[allow(unused_imports)]
                        use #rt::dispatch::{RebuildNever as _, RebuildViaReducible as _, RebuildViaSerde as _};
                        (&&&&#rt::replay::want_of(__capture_actual)).__capture_decode_in(__c, __b, __r)
                    };
                    (&&&#rt::replay::EqOf(__capture_actual, __decode)).__capture_eq(__codec, __bytes)
                }),
                &[],
                #enc,
            );
        }
        #pv::assert_compared(__capture_call, __capture_cx.finish());
    }}
}
