//! Parse the entries of the replay macros.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprPath, Ident, LitStr, Token};

use crate::capture::adapter_names;

pub(crate) enum CheckKind {
    Auto,
    Ret(Option<Expr>),
    Snapshot,
    Closure(Expr),
}

pub(crate) struct Entry {
    /// The function path as written, without spaces (test-name prefix).
    pub label: String,
    /// Path of the companion adapter (`checkout::__capture_replay_price`).
    pub adapter: TokenStream,
    /// Path of the companion probe, called first: a readable error when the
    /// function is not captured, or generic and listed without its types.
    pub probe: TokenStream,
    /// Whether the entry names type parameters of the function (`f::<u32>`).
    pub types_named: bool,
    /// Where the path is, for errors about it.
    pub span: proc_macro2::Span,
    pub check: CheckKind,
    pub stand_ins: Vec<(LitStr, Expr)>,
    /// `executor(expr)`: drives `async fn`s.
    pub executor: Option<Expr>,
    /// `redacted_as_recorded`: replay PII-redacted text as recorded.
    pub redacted_as_recorded: bool,
    /// `allow_empty`: no accepted captures is no failure, even in CI.
    pub allow_empty: bool,
}

pub(crate) struct Entries(pub Vec<Entry>);

impl Parse for Entries {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let list = Punctuated::<Entry, Token![,]>::parse_terminated(input)?;
        if list.is_empty() {
            return Err(input.error(
                "list the captured functions to replay, e.g. `replay_main! { checkout::price, auth::login => snapshot }`",
            ));
        }
        Ok(Entries(list.into_iter().collect()))
    }
}

impl Parse for Entry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut entry = Entry::parse_path(input)?;
        let mut seen_with = false;
        let mut seen_check = false;
        loop {
            if let Some(kw) = peek_keyword(input) {
                match kw.as_str() {
                    "with" => {
                        let kw: Ident = input.parse()?;
                        if seen_with {
                            return Err(syn::Error::new(kw.span(), "give `with { .. }` once per function"));
                        }
                        seen_with = true;
                        entry.stand_ins = parse_stand_ins(input)?;
                        continue;
                    }
                    "executor" => {
                        let kw: Ident = input.parse()?;
                        if entry.executor.is_some() {
                            return Err(syn::Error::new(kw.span(), "give `executor(..)` once per function"));
                        }
                        let inner;
                        syn::parenthesized!(inner in input);
                        entry.executor = Some(inner.parse()?);
                        continue;
                    }
                    "redacted_as_recorded" => {
                        let kw: Ident = input.parse()?;
                        if entry.redacted_as_recorded {
                            return Err(syn::Error::new(
                                kw.span(),
                                "give `redacted_as_recorded` once per function",
                            ));
                        }
                        entry.redacted_as_recorded = true;
                        continue;
                    }
                    "allow_empty" => {
                        let kw: Ident = input.parse()?;
                        if entry.allow_empty {
                            return Err(syn::Error::new(kw.span(), "give `allow_empty` once per function"));
                        }
                        entry.allow_empty = true;
                        continue;
                    }
                    _ => {}
                }
            }
            if input.peek(Token![=>]) {
                let arrow: Token![=>] = input.parse()?;
                if seen_check {
                    return Err(syn::Error::new_spanned(arrow, "give one check (`=> ..`) per function"));
                }
                seen_check = true;
                entry.check = parse_check(input)?;
            } else {
                break;
            }
        }
        if !(input.is_empty() || input.peek(Token![,])) {
            return Err(input.error(
                "expected `,`, `=> snapshot`, `=> ret`, `=> ret(tolerance = 1e-9)`, `=> |inputs.., output| ..`, `with { arg = value }`, `executor(..)`, `redacted_as_recorded` or `allow_empty`",
            ));
        }
        Ok(entry)
    }
}

fn peek_keyword(input: ParseStream) -> Option<String> {
    input
        .fork()
        .parse::<Ident>()
        .ok()
        .map(|i| i.to_string())
        .filter(|k| matches!(k.as_str(), "with" | "executor" | "redacted_as_recorded" | "allow_empty"))
}

fn parse_stand_ins(input: ParseStream) -> syn::Result<Vec<(LitStr, Expr)>> {
    let body;
    syn::braced!(body in input);
    let mut stand_ins = Vec::new();
    while !body.is_empty() {
        let p = stand_in_path(&body)?;
        body.parse::<Token![=]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "write stand-ins as `name = value`, e.g. `with { password = \"test\" }`",
            )
        })?;
        let v: Expr = body.parse()?;
        stand_ins.push((p, v));
        if !body.is_empty() {
            body.parse::<Token![,]>()?;
        }
    }
    Ok(stand_ins)
}

impl Entry {
    /// The function's path: `checkout::price`, `stats::largest::<u32>`,
    /// `Cart::total`, or `<Cart as Pricing>::total` for a trait method.
    pub(crate) fn parse_path(input: ParseStream) -> syn::Result<Self> {
        let expr: ExprPath = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the path of a #[capture_args] function, e.g. `checkout::price`, `largest::<u32>` or `<Cart as Pricing>::total`",
            )
        })?;
        let compact = |t: &dyn ToTokens| t.to_token_stream().to_string().replace(' ', "");
        let path = &expr.path;
        let last = path
            .segments
            .last()
            .ok_or_else(|| syn::Error::new_spanned(path, "expected a function path"))?;
        let types_named = !last.arguments.is_none();
        let fn_name = last.ident.to_string();
        let span = last.ident.span();
        let args = &last.arguments;
        let (label, adapter, probe) = match &expr.qself {
            Some(q) => {
                let ty = &q.ty;
                let trait_segs: Vec<_> = path.segments.iter().take(q.position).collect();
                let rest: Vec<_> = path.segments.iter().skip(q.position).collect();
                if trait_segs.is_empty() || rest.len() != 1 {
                    return Err(syn::Error::new_spanned(
                        &expr,
                        "write a trait method as `<Type as Trait>::method`",
                    ));
                }
                let trait_name = trait_segs.last().map(|s| s.ident.to_string());
                let (a, p) = adapter_names(&fn_name, trait_name.as_deref(), span);
                let trait_text: Vec<String> = trait_segs.iter().map(|s| compact(*s)).collect();
                let label = format!("<{} as {}>::{}", compact(ty), trait_text.join("::"), compact(rest[0]));
                (label, quote!(<#ty>::#a #args), quote!(<#ty>::#p))
            }
            None if is_free(path) => {
                // A free function's companions live on the hidden type named
                // like it (see `capture::adapter`), reached through the same
                // path the function is, re-exports included.
                let (a, p) = adapter_names(&fn_name, None, span);
                let mut host = path.clone();
                if let Some(l) = host.segments.last_mut() {
                    l.arguments = syn::PathArguments::None;
                }
                (compact(path), quote!(#host::#a #args), quote!(#host::#p))
            }
            None => {
                let (a, p) = adapter_names(&fn_name, None, span);
                let mut adapter = path.clone();
                let mut probe = path.clone();
                if let Some(l) = adapter.segments.last_mut() {
                    l.ident = a;
                }
                if let Some(l) = probe.segments.last_mut() {
                    l.ident = p;
                    l.arguments = syn::PathArguments::None;
                }
                (compact(path), quote!(#adapter), quote!(#probe))
            }
        };
        Ok(Entry {
            label,
            adapter,
            probe,
            types_named,
            span: syn::spanned::Spanned::span(&expr),
            check: CheckKind::Auto,
            stand_ins: Vec::new(),
            executor: None,
            redacted_as_recorded: false,
            allow_empty: false,
        })
    }
}

/// Whether an entry's path names a free function (`checkout::price`,
/// `largest::<u32>`), not an associated one (`Cart::total`, `Self::f`): the
/// segment before the function is a module (lower-case by convention) or
/// absent.
fn is_free(path: &syn::Path) -> bool {
    let n = path.segments.len();
    if n < 2 {
        return true;
    }
    let owner = path.segments[n - 2].ident.to_string();
    let owner = owner.trim_start_matches("r#");
    owner != "Self" && !owner.starts_with(|c: char| c.is_uppercase()) && path.segments[n - 2].arguments.is_none()
}

fn parse_check(input: ParseStream) -> syn::Result<CheckKind> {
    if input.peek(Token![|]) || input.peek(Token![||]) || input.peek(Token![move]) {
        return Ok(CheckKind::Closure(input.parse()?));
    }
    let kw: Ident = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected a check: `snapshot`, `ret`, `ret(tolerance = 1e-9)` or a closure `|inputs.., output| ..`",
        )
    })?;
    match kw.to_string().as_str() {
        "snapshot" => Ok(CheckKind::Snapshot),
        "ret" => {
            if input.peek(syn::token::Paren) {
                let inner;
                syn::parenthesized!(inner in input);
                let key: Ident = inner.parse()?;
                if key != "tolerance" {
                    return Err(syn::Error::new(key.span(), "`ret(..)` takes `tolerance = <float>`, e.g. ret(tolerance = 1e-9)"));
                }
                inner.parse::<Token![=]>()?;
                Ok(CheckKind::Ret(Some(inner.parse()?)))
            } else {
                Ok(CheckKind::Ret(None))
            }
        }
        other => Err(syn::Error::new(
            kw.span(),
            format!("unknown check `{other}`; expected `snapshot`, `ret`, `ret(tolerance = 1e-9)` or a closure `|inputs.., output| ..`"),
        )),
    }
}

/// `password`, `self`, `order.customer_email`, `order.items[0].sku`, or a string literal.
fn stand_in_path(input: ParseStream) -> syn::Result<LitStr> {
    if input.peek(LitStr) {
        return input.parse();
    }
    let first = Ident::parse_any(input).map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected an argument name (or a path into one, e.g. `order.email`)",
        )
    })?;
    let span = first.span();
    let mut text = first.to_string();
    loop {
        if input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            if input.peek(syn::LitInt) {
                let i: syn::LitInt = input.parse()?;
                text.push_str(&format!(".{}", i.base10_digits()));
            } else {
                let f = Ident::parse_any(input)?;
                text.push_str(&format!(".{f}"));
            }
        } else if input.peek(syn::token::Bracket) {
            let inner;
            syn::bracketed!(inner in input);
            let lit: syn::Lit = inner.parse()?;
            match lit {
                syn::Lit::Int(i) => text.push_str(&format!("[{}]", i.base10_digits())),
                syn::Lit::Str(s) => text.push_str(&format!("[{:?}]", s.value())),
                other => return Err(syn::Error::new_spanned(other, "index with a number or a string key")),
            }
        } else {
            break;
        }
    }
    Ok(LitStr::new(&text, span))
}

#[cfg(test)]
mod tests {
    use super::Entry;

    fn entry(text: &str) -> Entry {
        syn::parse_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn paths_name_the_adapter_the_probe_and_the_label() {
        let e = entry("shop::largest::<u32> => ret");
        assert_eq!(e.label, "shop::largest::<u32>");
        // A free function's companions hang off the hidden type named like
        // it, so a re-export of the function carries them.
        assert_eq!(
            e.adapter.to_string(),
            "shop :: largest :: __capture_replay_largest :: < u32 >"
        );
        assert_eq!(
            e.probe.to_string(),
            "shop :: largest :: __capture_args_missing_on_largest"
        );
        assert!(e.types_named);

        // An associated function's are the type's own associated functions.
        let e = entry("shop::Cart::total");
        assert_eq!(e.adapter.to_string(), "shop :: Cart :: __capture_replay_total");
        assert_eq!(e.probe.to_string(), "shop :: Cart :: __capture_args_missing_on_total");

        let e = entry("<Cart as shop::Pricing>::total with { self = 1 } executor(run) redacted_as_recorded");
        assert_eq!(e.label, "<Cart as shop::Pricing>::total");
        assert_eq!(e.adapter.to_string(), "< Cart > :: __capture_replay_Pricing__total");
        assert_eq!(
            e.probe.to_string(),
            "< Cart > :: __capture_args_missing_on_Pricing__total"
        );
        assert!(!e.types_named && e.redacted_as_recorded && e.executor.is_some());
        assert_eq!(e.stand_ins.len(), 1);
    }

    #[test]
    fn modifiers_are_given_once() {
        let err = syn::parse_str::<Entry>("f redacted_as_recorded redacted_as_recorded")
            .err()
            .unwrap();
        assert_eq!(err.to_string(), "give `redacted_as_recorded` once per function");
        let err = syn::parse_str::<Entry>("f executor(a) executor(b)").err().unwrap();
        assert_eq!(err.to_string(), "give `executor(..)` once per function");
    }
}
