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
    let entries = match syn::parse2::<Entries>(input) {
        Ok(e) => e,
        Err(e) => {
            // Still define `main`, so the syntax error is the only error.
            let mut out = e.to_compile_error();
            out.extend(quote!(
                fn main() {}
            ));
            return out;
        }
    };
    let mut entries = entries.0;
    unique_labels(&mut entries);
    let adds = entries.iter().map(|e| {
        let (opts, run) = entry(e);
        quote!(__capture_harness.add(#opts, #run);)
    });
    quote! {
        fn main() {
            let mut __capture_harness = ::capture_test::__private::Harness::from_args();
            #(#adds)*
            __capture_harness.run()
        }
    }
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
    quote!(::capture_test::__private::outcomes(#opts, #run))
}

pub(crate) fn assert_all(input: TokenStream) -> TokenStream {
    let entries = match syn::parse2::<Entries>(input) {
        Ok(e) => e,
        Err(e) => return e.to_compile_error(),
    };
    let runs = entries.0.iter().map(|e| {
        let (opts, run) = entry(e);
        quote!(__capture_all.extend(::capture_test::__private::outcomes(#opts, #run));)
    });
    quote! {{
        let mut __capture_all = ::std::vec::Vec::new();
        #(#runs)*
        ::capture_test::__private::assert_outcomes(&__capture_all);
    }}
}

/// The options expression and the `fn(&mut ReplayCx)` closure of one entry.
fn entry(e: &Entry) -> (TokenStream, TokenStream) {
    let pv = quote!(::capture_test::__private);
    let label = &e.label;
    let adapter = &e.adapter;
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
    let opts = quote! {
        #pv::ReplayOptions::new(#label)
            .check(#pv::Check::#check)
            #tolerance
            .stand_ins(#pv::StandIns::new() #(#stand_ins)*)
    };
    let call = match &e.check {
        CheckKind::Closure(c) => quote!(let _ = #adapter(__cx, ::core::option::Option::Some(&mut #c));),
        CheckKind::Snapshot => quote! {
            __cx.set_snapshot(::std::boxed::Box::new(|__info: &#pv::SnapshotInfo, __value: &dyn ::core::fmt::Debug| {
                let mut __settings = #pv::insta::Settings::clone_current();
                __settings.set_description(__info.description.clone());
                __settings.set_omit_expression(true);
                __settings.bind(|| {
                    #pv::insta::assert_debug_snapshot!(__info.name.as_str(), __value);
                });
            }));
            let _ = #adapter(__cx, ::core::option::Option::None);
        },
        _ => quote!(let _ = #adapter(__cx, ::core::option::Option::None);),
    };
    (opts, quote!(|__cx: &mut #pv::ReplayCx<'_>| { #call }))
}
