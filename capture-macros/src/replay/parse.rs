//! Parse the entries of the replay macros.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Path, Token};

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
    pub check: CheckKind,
    pub stand_ins: Vec<(LitStr, Expr)>,
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
        let path: Path = input.parse::<syn::ExprPath>().map(|e| e.path).map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the path of a #[capture_args] function, e.g. `checkout::price` or `largest::<u32>`",
            )
        })?;
        let label = path.to_token_stream().to_string().replace(' ', "");
        let adapter = adapter_path(&path)?;
        let mut stand_ins = Vec::new();
        let mut check = CheckKind::Auto;
        let mut seen_with = false;
        let mut seen_check = false;
        loop {
            if input.peek(Ident) && input.fork().parse::<Ident>().is_ok_and(|i| i == "with") {
                let kw: Ident = input.parse()?;
                if seen_with {
                    return Err(syn::Error::new(kw.span(), "give `with { .. }` once per function"));
                }
                seen_with = true;
                let body;
                syn::braced!(body in input);
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
            } else if input.peek(Token![=>]) {
                let arrow: Token![=>] = input.parse()?;
                if seen_check {
                    return Err(syn::Error::new_spanned(arrow, "give one check (`=> ..`) per function"));
                }
                seen_check = true;
                check = parse_check(input)?;
            } else {
                break;
            }
        }
        if !(input.is_empty() || input.peek(Token![,])) {
            return Err(input.error(
                "expected `,`, `=> snapshot`, `=> ret`, `=> ret(tolerance = 1e-9)`, `=> |inputs.., output| ..` or `with { arg = value }`",
            ));
        }
        Ok(Entry {
            label,
            adapter,
            check,
            stand_ins,
        })
    }
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

/// `a::b::f::<T>` -> `a::b::__capture_replay_f::<T>`.
fn adapter_path(path: &Path) -> syn::Result<TokenStream> {
    let mut p = path.clone();
    let last = p
        .segments
        .last_mut()
        .ok_or_else(|| syn::Error::new_spanned(path, "expected a function path"))?;
    let name = last.ident.to_string();
    last.ident = format_ident!(
        "__capture_replay_{}",
        name.trim_start_matches("r#"),
        span = last.ident.span()
    );
    Ok(quote!(#p))
}
