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

/// Record the arguments of every call of the function into the capture store.
///
/// See `capture_runtime::capture_args` for the options and examples.
#[proc_macro_attribute]
pub fn capture_args(attr: TokenStream, item: TokenStream) -> TokenStream {
    capture::entry(attr.into(), item.into()).into()
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
    derive::entry(input.into()).into()
}

/// One test per stored call: expands to a libtest-mimic `fn main()`.
///
/// See `capture_test::replay_main` for the syntax and examples.
#[proc_macro]
pub fn replay_main(input: TokenStream) -> TokenStream {
    replay::main(input.into()).into()
}

/// The replay harness of `replay_main!` as a value, for adding trials of
/// your own before running it.
///
/// See `capture_test::replay_harness`.
#[proc_macro]
pub fn replay_harness(input: TokenStream) -> TokenStream {
    replay::harness(input.into()).into()
}

/// The stored calls of one captured function, located through its adapter.
///
/// See `capture_test::calls_of`.
#[proc_macro]
pub fn calls_of(input: TokenStream) -> TokenStream {
    replay::calls_of(input.into()).into()
}

/// The arguments of one stored call, rebuilt as the function's types.
///
/// See `capture_test::load_args`.
#[proc_macro]
pub fn load_args(input: TokenStream) -> TokenStream {
    replay::load_args(input.into()).into()
}

/// Assert a value equals the return value recorded with a stored call.
///
/// See `capture_test::assert_ret_eq`.
#[proc_macro]
pub fn assert_ret_eq(input: TokenStream) -> TokenStream {
    replay::assert_ret_eq(input.into()).into()
}

/// The replay outcomes of every stored call of one function (for hand-written tests).
///
/// See `capture_test::replay_outcomes`.
#[proc_macro]
pub fn replay_outcomes(input: TokenStream) -> TokenStream {
    replay::outcomes(input.into()).into()
}

/// Replay every stored call of the listed functions inside one `#[test]`.
///
/// See `capture_test::assert_replays`.
#[proc_macro]
pub fn assert_replays(input: TokenStream) -> TokenStream {
    replay::assert_all(input.into()).into()
}
