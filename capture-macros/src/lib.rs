//! Procedural macros of the capture framework. Depend on `capture-runtime`,
//! which re-exports them; generated code names only
//! `::capture_runtime::__private` paths (override with `crate = "..."`).
//!
//! Each macro is split like serde_derive: parse (`attr`, `ast`) -> validate
//! (`check`) -> expand (`expand`). Every attribute error is reported at once,
//! with its span, and the original item is still emitted so users see one
//! error, not fifty.

use proc_macro::TokenStream;

mod capture;
mod derive;
mod replay;

/// `::capture_runtime`: where generated code finds the runtime (unless the
/// attribute says `crate = ".."`). [`any_edition`] makes it resolve in
/// every edition.
fn runtime_path() -> syn::Path {
    syn::parse_quote!(::capture_runtime)
}

/// `::capture_test::__private`.
fn test_private() -> proc_macro2::TokenStream {
    test_private_at(proc_macro2::Span::call_site())
}

/// [`test_private`] located at `at` (where an error about it should point).
fn test_private_at(at: proc_macro2::Span) -> proc_macro2::TokenStream {
    quote::quote_spanned!(at=> ::capture_test::__private)
}

/// Every `::core`, `::std`, `::alloc`, `::capture_runtime` and
/// `::capture_test` in `tokens` respanned with the macro's edition (located
/// where it was): generated code names crates with a leading `::`, which an
/// edition-2015 crate would read from its own root (`::core` would not even
/// exist there). Only hygiene for local variables differs between call-site
/// and mixed-site spans, and crate names are never locals.
fn any_edition(tokens: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    use proc_macro2::{Group, Spacing, Span, TokenTree};
    const CRATES: &[&str] = &["core", "std", "alloc", "capture_runtime", "capture_test"];
    let mut out: Vec<TokenTree> = tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), any_edition(g.stream()));
                ng.set_span(g.span());
                TokenTree::Group(ng)
            }
            other => other,
        })
        .collect();
    let punct = |t: &TokenTree, joint: bool| matches!(t, TokenTree::Punct(p) if p.as_char() == ':' && (!joint || p.spacing() == Spacing::Joint));
    for i in 2..out.len() {
        let is_crate = matches!(&out[i], TokenTree::Ident(id) if CRATES.iter().any(|c| id == c));
        if !is_crate || !punct(&out[i - 2], true) || !punct(&out[i - 1], false) {
            continue;
        }
        // `::core::compile_error!` (syn's errors) keeps the user's spans:
        // respanned, rustc would add "this error originates in the macro".
        if matches!(out.get(i + 3), Some(TokenTree::Ident(id)) if id == "compile_error") {
            continue;
        }
        for t in &mut out[i - 2..=i] {
            t.set_span(Span::mixed_site().located_at(t.span()));
        }
    }
    out.into_iter().collect()
}

/// Record the arguments of every call of the function into the capture store.
///
/// See `capture_runtime::capture_args` for the options and examples.
#[proc_macro_attribute]
pub fn capture_args(attr: TokenStream, item: TokenStream) -> TokenStream {
    any_edition(capture::entry(attr.into(), item.into())).into()
}

/// Derive `capture_runtime::Reducible`: capture a type serde cannot handle,
/// field by field, and rebuild it for replay.
///
/// Every field goes through the capture chain (Reducible > serde > registered
/// reducer > placeholder), so only fields serde cannot handle need an
/// attribute. Field options: `skip`, `default`/`default = path`,
/// `with = module`, `placeholder`, `rename = ".."`, `hash = exact | sampled`
/// (how a numeric buffer field enters memoization keys). Container options:
/// `bound = ".."`, `crate = ".."`, `from`/`into = "Proxy"`,
/// `constructor = "Self::new(a, b)"`. See the `reducible` chapter of the guide.
#[proc_macro_derive(Reducible, attributes(reduce))]
pub fn derive_reducible(input: TokenStream) -> TokenStream {
    any_edition(derive::entry(input.into())).into()
}

/// One test per stored call: expands to a libtest-mimic `fn main()`.
///
/// See `capture_test::replay_main` for the syntax and examples.
#[proc_macro]
pub fn replay_main(input: TokenStream) -> TokenStream {
    any_edition(replay::main(input.into())).into()
}

/// The replay harness of `replay_main!` as a value, for adding trials of
/// your own before running it.
///
/// See `capture_test::replay_harness`.
#[proc_macro]
pub fn replay_harness(input: TokenStream) -> TokenStream {
    any_edition(replay::harness(input.into())).into()
}

/// The stored calls of one captured function, located through its adapter.
///
/// See `capture_test::calls_of`.
#[proc_macro]
pub fn calls_of(input: TokenStream) -> TokenStream {
    any_edition(replay::calls_of(input.into())).into()
}

/// The arguments of one stored call, rebuilt as the function's types.
///
/// See `capture_test::load_args`.
#[proc_macro]
pub fn load_args(input: TokenStream) -> TokenStream {
    any_edition(replay::load_args(input.into())).into()
}

/// Assert a value equals the return value recorded with a stored call.
///
/// See `capture_test::assert_ret_eq`.
#[proc_macro]
pub fn assert_ret_eq(input: TokenStream) -> TokenStream {
    any_edition(replay::assert_ret_eq(input.into())).into()
}

/// The replay outcomes of every stored call of one function (for hand-written tests).
///
/// See `capture_test::replay_outcomes`.
#[proc_macro]
pub fn replay_outcomes(input: TokenStream) -> TokenStream {
    any_edition(replay::outcomes(input.into())).into()
}

/// Replay every stored call of the listed functions inside one `#[test]`.
///
/// See `capture_test::assert_replays`.
#[proc_macro]
pub fn assert_replays(input: TokenStream) -> TokenStream {
    any_edition(replay::assert_all(input.into())).into()
}
