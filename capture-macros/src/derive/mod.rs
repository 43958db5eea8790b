//! `#[derive(Reducible)]`: parse (`attr`, `ast`) -> validate (`check`) -> expand.

mod ast;
mod attr;
mod bounds;
mod check;
mod expand;

use proc_macro2::TokenStream;

pub(crate) fn entry(input: TokenStream) -> TokenStream {
    let input: syn::DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Vec::new();
    let container = ast::parse(&input, &mut errors);
    check::validate(&container, &mut errors);
    if let Some(all) = errors.into_iter().reduce(|mut a, b| {
        a.combine(b);
        a
    }) {
        // A derive adds items: emitting only the errors leaves the type itself untouched.
        return all.to_compile_error();
    }
    expand::expand(&container)
}
