//! Parse the options of `#[capture_args(...)]`.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{Ident, LitBool, LitInt, LitStr};

// The duration and size grammar, shared with capture-runtime's environment
// parsing (`CAPTURE_MAX_AGE`, ...): one file compiled into both crates.
#[path = "../../../capture-runtime/src/config/humane.rs"]
mod humane;

/// An option value (kept in a wrapper so options can carry more later).
#[derive(Clone)]
pub(crate) struct Spanned<T> {
    pub value: T,
}

/// Everything the attribute can say.
#[derive(Default)]
pub(crate) struct Options {
    pub path: Option<Spanned<String>>,
    pub retention: Option<Spanned<usize>>,
    pub max_age_secs: Option<Spanned<u64>>,
    pub ignore: Vec<Ident>,
    /// `redact(..)`: names (identifiers or string literals) of arguments,
    /// fields and map keys at any depth.
    pub redact: Vec<String>,
    /// `allow(..)`: names exempted at any depth, written like `redact(..)`.
    pub allow: Vec<String>,
    pub ret: Option<Span>,
    pub name: Option<Spanned<String>>,
    pub enabled: Option<bool>,
    pub sample: Option<Spanned<f64>>,
    /// `sample(ok = .., err = ..)`: the rate of calls that return `Err` or
    /// panic (`sample` then holds the `ok` rate).
    pub sample_err: Option<Spanned<f64>>,
    /// `sample_by = "args"` -> true, `"call"` -> false.
    pub sample_by_args: Option<bool>,
    pub max_size: Option<Spanned<u64>>,
    pub capture_self: Option<Span>,
    /// `assoc`: an associated function that neither takes `self` nor names
    /// `Self`; replay calls it as `Self::f`.
    pub assoc: Option<Span>,
    pub krate: Option<syn::Path>,
    /// `cache`: memoize the function.
    pub cache: Option<Span>,
    /// `cache_ttl = "1h"`, in seconds.
    pub cache_ttl_secs: Option<Spanned<u64>>,
    /// `cache_max_entries = N`.
    pub cache_max_entries: Option<Spanned<u64>>,
    /// `cache_max_bytes = "64MiB"`.
    pub cache_max_bytes: Option<Spanned<u64>>,
    /// `cache_errors`: also cache `Err` results.
    pub cache_errors: Option<Span>,
    /// `cache_exclude(a, b)`: arguments left out of the key.
    pub cache_exclude: Vec<Ident>,
    /// `cache_hash(arg = strategy)`.
    pub cache_hash: Vec<(Ident, Ident)>,
    /// `hash(arg = strategy)`: how an argument's content is identified, for
    /// capture (and for the cache key unless `cache_hash` says otherwise).
    pub hash: Vec<(Ident, Ident)>,
    /// Every `cache_*` option given, with its span (they need `cache`).
    pub cache_option_spans: Vec<(String, Span)>,
    seen: Vec<String>,
}

impl Options {
    /// The hash strategy named for argument `name`: for the cache key
    /// (`cache`), `cache_hash(..)` first, then `hash(..)`; for capture, `hash(..)`.
    pub(crate) fn strategy(&self, name: &str, cache: bool) -> Option<&'static str> {
        let find = |list: &[(Ident, Ident)]| {
            list.iter()
                .find(|(arg, _)| arg == name)
                .map(|(_, s)| if s == "sampled" { "sampled" } else { "exact" })
        };
        if cache {
            find(&self.cache_hash).or_else(|| find(&self.hash))
        } else {
            find(&self.hash)
        }
    }
}

const KNOWN: &str = "path, retention, max_age, ignore(..), redact(..), allow(..), ret, name, enabled, sample, sample_by, max_size, self, assoc, crate, cache, cache_ttl, cache_max_entries, cache_max_bytes, cache_errors, cache_exclude(..), cache_hash(..), hash(..)";

pub(crate) fn parse(attr: TokenStream, errors: &mut Vec<syn::Error>) -> Options {
    let mut opts = Options::default();
    let parser = syn::meta::parser(|meta| {
        if let Err(e) = opts.one(&meta) {
            errors.push(e);
            // Skip this option's value so the rest still parses.
            if meta.input.peek(syn::Token![=]) {
                let _ = meta.value().and_then(|v| v.parse::<syn::Expr>());
            } else if meta.input.peek(syn::token::Paren) {
                let _ = meta.parse_nested_meta(|m| {
                    if m.input.peek(syn::Token![=]) {
                        let _ = m.value().and_then(|v| v.parse::<syn::Expr>());
                    }
                    Ok(())
                });
            }
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(attr) {
        errors.push(e);
    }
    opts
}

impl Options {
    fn once(&mut self, meta: &ParseNestedMeta, key: &str) -> syn::Result<()> {
        if self.seen.iter().any(|k| k == key) {
            return Err(meta.error(format!("duplicate option `{key}`: give it once")));
        }
        self.seen.push(key.to_owned());
        Ok(())
    }

    fn one(&mut self, meta: &ParseNestedMeta) -> syn::Result<()> {
        let key = if meta.path.is_ident("crate") {
            "crate".to_string()
        } else if meta.path.is_ident("self") {
            "self".to_string()
        } else {
            match meta.path.get_ident() {
                Some(i) => i.to_string(),
                None => return Err(meta.error(format!("unknown option; expected one of: {KNOWN}"))),
            }
        };
        match key.as_str() {
            "path" => {
                self.once(meta, "path")?;
                let s: LitStr = meta.value()?.parse()?;
                if s.value().is_empty() {
                    return Err(syn::Error::new(
                        s.span(),
                        "`path` is empty: give a folder, e.g. path = \"captures\"",
                    ));
                }
                self.path = Some(Spanned { value: s.value() });
            }
            "retention" => {
                self.once(meta, "retention")?;
                let n: LitInt = meta.value()?.parse()?;
                let v: usize = n.base10_parse()?;
                if v == 0 {
                    return Err(syn::Error::new(
                        n.span(),
                        "`retention` must be at least 1 (to record nothing, use enabled = false)",
                    ));
                }
                self.retention = Some(Spanned { value: v });
            }
            "max_age" => {
                self.once(meta, "max_age")?;
                let s: LitStr = meta.value()?.parse()?;
                let secs = whole_secs(
                    "max_age",
                    &s,
                    "0 would delete every call as it is written; leave `max_age` out to keep calls of any age",
                )?;
                self.max_age_secs = Some(Spanned { value: secs });
            }
            "max_size" => {
                self.once(meta, "max_size")?;
                let n = parse_size(&meta.value()?.parse()?)?;
                self.max_size = Some(Spanned { value: n });
            }
            "sample" => {
                self.once(meta, "sample")?;
                if meta.input.peek(syn::token::Paren) {
                    // `sample(ok = 0.01, err = 1.0)`
                    let (mut ok, mut err) = (None, None);
                    meta.parse_nested_meta(|inner| {
                        // The value first, so that an error below is the only one.
                        let value: syn::Expr = inner.value()?.parse()?;
                        let slot = if inner.path.is_ident("ok") {
                            &mut ok
                        } else if inner.path.is_ident("err") {
                            &mut err
                        } else {
                            return Err(syn::Error::new_spanned(
                                &inner.path,
                                "`sample(..)` takes `ok = rate` and `err = rate`, e.g. sample(ok = 0.01, err = 1.0)",
                            ));
                        };
                        if slot.is_some() {
                            return Err(syn::Error::new_spanned(&inner.path, "give each rate once"));
                        }
                        let syn::Expr::Lit(lit) = value else {
                            return Err(syn::Error::new_spanned(
                                value,
                                "`sample` takes a number between 0 and 1, e.g. sample = 0.1",
                            ));
                        };
                        *slot = Some(rate(&lit.lit)?);
                        Ok(())
                    })?;
                    let Some(ok) = ok else {
                        return Err(meta.error("`sample(..)` needs the `ok` rate, e.g. sample(ok = 0.01, err = 1.0)"));
                    };
                    self.sample = Some(Spanned { value: ok });
                    self.sample_err = err.map(|value| Spanned { value });
                } else {
                    let v = rate(&meta.value()?.parse()?)?;
                    self.sample = Some(Spanned { value: v });
                }
            }
            "sample_by" => {
                self.once(meta, "sample_by")?;
                let s: LitStr = meta.value()?.parse()?;
                self.sample_by_args = Some(match s.value().as_str() {
                    "args" => true,
                    "call" => false,
                    _ => {
                        return Err(syn::Error::new(
                            s.span(),
                            "`sample_by` is \"call\" (random per call) or \"args\" (the same arguments are always in or out)",
                        ))
                    }
                });
            }
            "ignore" => {
                self.once(meta, &key)?;
                let mut names = Vec::new();
                meta.parse_nested_meta(|m| {
                    match m.path.get_ident() {
                        Some(i) if m.input.is_empty() || m.input.peek(syn::Token![,]) => names.push(i.clone()),
                        _ => return Err(m.error("`ignore(..)` takes argument names, e.g. ignore(password, token)")),
                    }
                    Ok(())
                })?;
                self.ignore = names;
            }
            "redact" | "allow" => {
                self.once(meta, &key)?;
                let names = parse_names(meta, &key)?;
                if key == "redact" {
                    self.redact = names;
                } else {
                    self.allow = names;
                }
            }
            "ret" => {
                self.once(meta, "ret")?;
                self.flag(meta, "ret")?;
                self.ret = Some(meta.path.get_ident().map(|i| i.span()).unwrap_or_else(Span::call_site));
            }
            "assoc" => {
                self.once(meta, "assoc")?;
                self.flag(meta, "assoc")?;
                self.assoc = Some(meta.path.get_ident().map(|i| i.span()).unwrap_or_else(Span::call_site));
            }
            "self" => {
                self.once(meta, "self")?;
                self.flag(meta, "self")?;
                self.capture_self = Some(
                    meta.path
                        .segments
                        .first()
                        .map(|s| s.ident.span())
                        .unwrap_or_else(Span::call_site),
                );
            }
            "name" => {
                self.once(meta, "name")?;
                let s: LitStr = meta.value()?.parse()?;
                let v = s.value();
                let ok = !v.is_empty()
                    && v.split("::").all(|seg| {
                        !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    });
                if !ok {
                    return Err(syn::Error::new(
                        s.span(),
                        "`name` must be an identifier path like \"auth\" or \"billing::charge\" (letters, digits, `_`, `-`, separated by `::`)",
                    ));
                }
                self.name = Some(Spanned { value: v });
            }
            "enabled" => {
                self.once(meta, "enabled")?;
                let b: LitBool = meta.value()?.parse()?;
                self.enabled = Some(b.value);
            }
            "cache" | "cache_ttl" | "cache_max_entries" | "cache_max_bytes" | "cache_errors" | "cache_exclude"
            | "cache_hash" => {
                self.once(meta, &key)?;
                self.cache_option(meta, &key)?;
            }
            "hash" => {
                self.once(meta, "hash")?;
                self.hash = hash_list(meta, "hash")?;
            }
            "crate" => {
                self.once(meta, "crate")?;
                let s: LitStr = meta.value()?.parse()?;
                self.krate = Some(s.parse()?);
            }
            _ => {
                let hint = suggest(&key)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(meta.error(format!("unknown option `{key}`{hint}; expected one of: {KNOWN}")));
            }
        }
        Ok(())
    }

    fn cache_option(&mut self, meta: &ParseNestedMeta, key: &str) -> syn::Result<()> {
        let span = meta.path.get_ident().map(|i| i.span()).unwrap_or_else(Span::call_site);
        if key != "cache" {
            self.cache_option_spans.push((key.to_owned(), span));
        }
        match key {
            "cache" => {
                self.flag(meta, "cache")?;
                self.cache = Some(span);
            }
            "cache_errors" => {
                self.flag(meta, "cache_errors")?;
                self.cache_errors = Some(span);
            }
            "cache_ttl" => {
                let s: LitStr = meta.value()?.parse()?;
                let secs = whole_secs("cache_ttl", &s, "to not cache, remove `cache`")?;
                self.cache_ttl_secs = Some(Spanned { value: secs });
            }
            "cache_max_bytes" => {
                let n = parse_size(&meta.value()?.parse()?)?;
                self.cache_max_bytes = Some(Spanned { value: n });
            }
            "cache_max_entries" => {
                let n: LitInt = meta.value()?.parse()?;
                let v: u64 = n.base10_parse()?;
                if v == 0 {
                    return Err(syn::Error::new(
                        n.span(),
                        "`cache_max_entries` must be at least 1 (to not cache, remove `cache`)",
                    ));
                }
                self.cache_max_entries = Some(Spanned { value: v });
            }
            "cache_exclude" => {
                meta.parse_nested_meta(|m| {
                    let ident = if m.path.is_ident("self") {
                        Some(Ident::new("self", m.path.segments[0].ident.span()))
                    } else {
                        m.path.get_ident().cloned()
                    };
                    match ident {
                        Some(i) if m.input.is_empty() || m.input.peek(syn::Token![,]) => self.cache_exclude.push(i),
                        _ => {
                            return Err(
                                m.error("`cache_exclude(..)` takes argument names, e.g. cache_exclude(logger, now)")
                            )
                        }
                    }
                    Ok(())
                })?;
            }
            _ => self.cache_hash = hash_list(meta, "cache_hash")?,
        }
        Ok(())
    }

    fn flag(&self, meta: &ParseNestedMeta, key: &str) -> syn::Result<()> {
        if meta.input.is_empty() || meta.input.peek(syn::Token![,]) {
            Ok(())
        } else {
            Err(meta.error(format!("`{key}` is a flag and takes no value: write just `{key}`")))
        }
    }
}

/// The names of `redact(..)` or `allow(..)`: identifiers (`ssn`, raw
/// `r#type`) or string literals (`"X-Api-Key"`), not only argument names:
/// they apply to fields and map keys at any depth.
fn parse_names(meta: &ParseNestedMeta, key: &str) -> syn::Result<Vec<String>> {
    use syn::ext::IdentExt;
    let usage = || {
        format!("`{key}(..)` takes names of arguments, fields or map keys, as identifiers or string literals, e.g. {key}(ssn, \"X-Api-Key\")")
    };
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(usage()));
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let mut names = Vec::new();
    let parsed = (|| {
        while !content.is_empty() {
            if content.peek(LitStr) {
                let s: LitStr = content.parse()?;
                if s.value().trim().is_empty() {
                    return Err(syn::Error::new(
                        s.span(),
                        format!("`{key}(\"\")`: the name is empty; give a field or key name"),
                    ));
                }
                names.push(s.value());
            } else if content.peek(Ident::peek_any) {
                names.push(Ident::parse_any(&content)?.unraw().to_string());
            } else {
                return Err(content.error(usage()));
            }
            if !content.is_empty() {
                content.parse::<syn::Token![,]>().map_err(|_| content.error(usage()))?;
            }
        }
        Ok(())
    })();
    // Leave nothing unparsed, so this error is the one reported.
    let _ = content.parse::<TokenStream>();
    parsed.map(|()| names)
}

fn suggest(key: &str) -> Option<&'static str> {
    const ALL: [&str; 23] = [
        "path",
        "retention",
        "max_age",
        "ignore",
        "redact",
        "allow",
        "ret",
        "name",
        "enabled",
        "sample",
        "sample_by",
        "max_size",
        "self",
        "assoc",
        "crate",
        "cache",
        "cache_ttl",
        "cache_max_entries",
        "cache_max_bytes",
        "cache_errors",
        "cache_exclude",
        "cache_hash",
        "hash",
    ];
    let common = |k: &str| k.bytes().zip(key.bytes()).take_while(|(x, y)| x == y).count();
    ALL.iter()
        .copied()
        .filter(|k| {
            let (a, b) = (k.as_bytes(), key.as_bytes());
            common(k) >= 3
                || (a.len().abs_diff(b.len()) <= 1 && a.iter().filter(|c| b.contains(c)).count() + 1 >= a.len())
        })
        // The longest shared prefix wins (`cache_tll` -> `cache_ttl`, not `cache`).
        .max_by_key(|k| (common(k), std::cmp::Reverse(k.len().abs_diff(key.len()))))
}

/// A duration option in whole seconds, longer than 0: the text follows the
/// grammar shared with the environment (`humane::parse_duration`).
fn whole_secs(option: &str, lit: &LitStr, zero_hint: &str) -> syn::Result<u64> {
    let d = humane::parse_duration(&lit.value()).map_err(|e| syn::Error::new(lit.span(), e))?;
    if d.is_zero() {
        return Err(syn::Error::new(
            lit.span(),
            format!("`{option}` must be longer than 0s ({zero_hint})"),
        ));
    }
    if d.subsec_nanos() != 0 {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`{option}` counts whole seconds; `{}` is not (write e.g. \"{}s\")",
                lit.value(),
                d.as_secs() + 1
            ),
        ));
    }
    Ok(d.as_secs())
}

fn parse_size(lit: &LitStr) -> syn::Result<u64> {
    humane::parse_size(&lit.value()).map_err(|e| syn::Error::new(lit.span(), e))
}

/// A sampling rate: a number literal between 0 and 1.
fn rate(lit: &syn::Lit) -> syn::Result<f64> {
    let (v, span) = match lit {
        syn::Lit::Float(f) => (f.base10_parse::<f64>()?, f.span()),
        syn::Lit::Int(i) => (i.base10_parse::<f64>()?, i.span()),
        other => {
            return Err(syn::Error::new(
                other.span(),
                "`sample` takes a number between 0 and 1, e.g. sample = 0.1",
            ))
        }
    };
    if !(0.0..=1.0).contains(&v) {
        return Err(syn::Error::new(
            span,
            "`sample` must be between 0 and 1, e.g. sample = 0.1",
        ));
    }
    Ok(v)
}

/// `option(arg = exact|sampled, ..)`: hash strategies by argument.
fn hash_list(meta: &ParseNestedMeta, option: &str) -> syn::Result<Vec<(Ident, Ident)>> {
    let mut list = Vec::new();
    meta.parse_nested_meta(|m| {
        let Some(arg) = m.path.get_ident().cloned() else {
            return Err(m.error(format!(
                "`{option}(..)` takes `argument = strategy`, e.g. {option}(frame = sampled)"
            )));
        };
        let strategy: Ident = m.value()?.parse()?;
        match strategy.to_string().as_str() {
            "exact" | "sampled" => {}
            other => {
                return Err(syn::Error::new(
                    strategy.span(),
                    format!("unknown hash strategy `{other}`; expected `exact` (every byte) or `sampled` (large numeric buffers: slices, Vecs, arrays of numbers)"),
                ))
            }
        }
        list.push((arg, strategy));
        Ok(())
    })?;
    Ok(list)
}

#[cfg(test)]
#[path = "attr_tests.rs"]
mod tests;
