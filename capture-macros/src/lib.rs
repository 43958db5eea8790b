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

/// Record the arguments of every call of the function into the capture store.
///
/// See `capture_runtime::capture_args` for the options and examples.
#[proc_macro_attribute]
pub fn capture_args(attr: TokenStream, item: TokenStream) -> TokenStream {
    capture::entry(attr.into(), item.into()).into()
}
