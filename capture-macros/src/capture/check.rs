//! Validate options against the function: every error at its token.

use syn::ItemFn;

use super::ast::{Function, Receiver};
use super::attr::Options;

pub(crate) fn validate(opts: &Options, f: &Function, func: &ItemFn, errors: &mut Vec<syn::Error>) {
    let sig = &func.sig;
    if let Some(c) = &sig.constness {
        errors.push(syn::Error::new(
            c.span,
            "#[capture_args] cannot instrument a `const fn`: capturing does I/O at run time; remove `const` or the attribute",
        ));
    }
    if let Some(v) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            v,
            "#[capture_args] cannot capture C-variadic arguments; wrap the call in a Rust function",
        ));
    }
    // `ret` and `cache` run a synchronous body inside a closure, which does
    // not inherit `#[track_caller]`: `Location::caller()` and panic locations
    // would point into the function instead of at its caller.
    if !f.is_async {
        if let Some(tc) = func.attrs.iter().find(|a| a.path().is_ident("track_caller")) {
            for (span, option) in [(opts.ret.filter(|_| f.ret.is_some()), "ret"), (opts.cache, "cache")] {
                if let Some(span) = span {
                    let mut e = syn::Error::new(
                        span,
                        format!(
                            "`{option}` cannot be combined with #[track_caller]: it runs the body in a closure, so `Location::caller()` and panic locations would point inside this function; remove `{option}` or #[track_caller]"
                        ),
                    );
                    e.combine(syn::Error::new_spanned(tc, "#[track_caller] is here"));
                    errors.push(e);
                }
            }
        }
    }
    // `ignore(..)` drops whole arguments, so it must name one; `redact(..)`
    // and `allow(..)` name fields and map keys at any depth as well.
    let names: Vec<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
    for ident in &opts.ignore {
        let n = ident.to_string();
        if n != "self" && !names.contains(&n.as_str()) {
            errors.push(unknown_arg(ident, "ignore", &names));
        }
    }
    for (ident, _) in &opts.hash {
        if !names.contains(&ident.to_string().as_str()) {
            errors.push(unknown_arg(ident, "hash", &names));
        }
    }
    if let (Some(span), Receiver::None) = (opts.capture_self, f.receiver) {
        errors.push(syn::Error::new(
            span,
            "`self` asks to capture the receiver, but this function has no `self` parameter; remove the option",
        ));
    }
    if let Some(ret) = opts.ret {
        if f.ret.is_none() {
            errors.push(syn::Error::new(
                ret,
                "`ret` records the return value, but this function returns `()`; remove the option",
            ));
        }
    }
}

/// "`ignore(x)`: no argument named `x`; arguments are: a, b", at `ident`.
pub(crate) fn unknown_arg(ident: &syn::Ident, option: &str, names: &[&str]) -> syn::Error {
    let known = if names.is_empty() {
        "the function has no arguments".to_string()
    } else {
        format!("arguments are: {}", names.join(", "))
    };
    syn::Error::new(
        ident.span(),
        format!("`{option}({ident})`: no argument named `{ident}`; {known}"),
    )
}
