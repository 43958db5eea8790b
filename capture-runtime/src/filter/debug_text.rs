//! Name-aware redaction of `Debug` text.
//!
//! Placeholders keep a type's `Debug` output, which is not a serde tree: a
//! struct prints as `Name { field: value, .. }`, a map as `{"key": value}`.
//! This module finds every `name: value` pair whose name is sensitive and
//! replaces the value (up to the next `,` or closing bracket at the same
//! depth, skipping over string and char literals) with `[REDACTED]`. Text cut
//! short (placeholders are capped) redacts to the end.

/// What replaces a sensitive value in `Debug` text.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// Redact the values of sensitive names in `text`; `None` when none was found.
pub(crate) fn redact_named(text: &str, sensitive: impl Fn(&str) -> bool) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    // The latest identifier or string literal, when only spaces follow it.
    let mut token: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let end = skip_string(b, i);
                token = Some((i + 1, end.saturating_sub(1).max(i + 1)));
                i = end;
                continue;
            }
            b'\'' => {
                i = skip_char(b, i);
                token = None;
                continue;
            }
            c if is_ident(c) => {
                let start = i;
                while i < b.len() && is_ident(b[i]) {
                    i += 1;
                }
                token = Some((start, i));
                continue;
            }
            b':' if b.get(i + 1) == Some(&b':') => {
                token = None;
                i += 2;
                continue;
            }
            b':' => {
                if let Some((s, e)) = token.take() {
                    if sensitive(&text[s..e]) {
                        let mut vstart = i + 1;
                        while vstart < b.len() && b[vstart].is_ascii_whitespace() {
                            vstart += 1;
                        }
                        let vend = skip_value(b, vstart);
                        out.push_str(&text[last..vstart]);
                        out.push_str(REDACTED);
                        last = vend;
                        i = vend;
                        continue;
                    }
                }
            }
            c if c.is_ascii_whitespace() => {}
            _ => token = None,
        }
        i += 1;
    }
    if last == 0 {
        return None;
    }
    out.push_str(&text[last..]);
    Some(out)
}

/// `text` with the letter of each backslash escape (`\n`, `\t`, `\u{..}`)
/// replaced by a space, same length: `Debug` escapes the characters of a
/// string, so in `"note\n4111 1111 1111 1111"` the card seems to follow the
/// letter `n`, and a detector that wants a boundary before a number would
/// miss it. Detectors look at this view; redactions apply to the text.
/// `None` when there is no such escape.
pub(crate) fn mask_escapes(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut masked: Option<Vec<u8>> = None;
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'\\' {
            if b[i + 1].is_ascii_alphanumeric() {
                masked.get_or_insert_with(|| b.to_vec())[i + 1] = b' ';
            }
            // Also skips an escaped backslash, so `\\n` stays a backslash and an `n`.
            i += 2;
        } else {
            i += 1;
        }
    }
    // ASCII replaced by ASCII: still UTF-8, same char boundaries.
    masked.map(|m| String::from_utf8(m).expect("ASCII for ASCII keeps UTF-8 valid"))
}

/// Identifier bytes: ASCII alphanumerics, `_`, and any non-ASCII byte (field
/// names may be Unicode; no structural character is non-ASCII).
fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Index just past the string literal starting at `i` (or the end of text).
fn skip_string(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// Index just past the char literal starting at `i`; a lone `'` is skipped
/// as one byte.
fn skip_char(b: &[u8], i: usize) -> usize {
    if b.get(i + 1) == Some(&b'\\') {
        let mut j = i + 2;
        while j < b.len() && j < i + 14 {
            if b[j] == b'\'' && j > i + 2 {
                return j + 1;
            }
            j += 1;
        }
        return i + 1;
    }
    // One UTF-8 char (1-4 bytes) then a quote.
    (i + 2..=(i + 5).min(b.len().saturating_sub(1)))
        .find(|&j| b[j] == b'\'')
        .map_or(i + 1, |j| j + 1)
}

/// End of the value starting at `start`: the first `,` or unmatched closing
/// bracket at depth 0, outside literals; the end of text when cut short.
fn skip_value(b: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = skip_string(b, i);
                continue;
            }
            b'\'' => {
                i = skip_char(b, i);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                if depth == 0 {
                    return trim_end(b, start, i);
                }
                depth -= 1;
            }
            b',' if depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// Keep the space before a closing bracket (`{ password: "x" }`).
fn trim_end(b: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::redact_named;
    use crate::filter::NameMatcher;

    fn run(text: &str) -> String {
        let m = NameMatcher::with_defaults();
        redact_named(text, |n| m.is_sensitive(n)).unwrap_or_else(|| text.to_owned())
    }

    #[test]
    fn struct_fields() {
        assert_eq!(
            run(r#"Creds { user: "ann", password: "hun,ter}2", pin: 12 }"#),
            r#"Creds { user: "ann", password: [REDACTED], pin: 12 }"#
        );
        assert_eq!(
            run(r#"A { apiKey: Some(Key { bytes: [1, 2, 3] }), n: 1 }"#),
            r#"A { apiKey: [REDACTED], n: 1 }"#
        );
    }

    #[test]
    fn map_keys_and_nesting() {
        assert_eq!(
            run(r#"{"X-Api-Key": "abc", "name": "bob", "session_id": 'x'}"#),
            r#"{"X-Api-Key": [REDACTED], "name": "bob", "session_id": [REDACTED]}"#
        );
        assert_eq!(
            run(r#"Outer { inner: Inner { token: "t\"k", ok: true }, list: [Cookie { cookie: "c" }] }"#),
            r#"Outer { inner: Inner { token: [REDACTED], ok: true }, list: [Cookie { cookie: [REDACTED] }] }"#
        );
    }

    #[test]
    fn cut_short_and_literals() {
        assert_eq!(
            run(r#"Creds { password: "hunter2 and more…"#),
            r#"Creds { password: [REDACTED]"#
        );
        // Names inside string literals and paths are not fields.
        assert_eq!(
            run(r#"Note { text: "password: hunter2" }"#),
            r#"Note { text: "password: hunter2" }"#
        );
        assert_eq!(run("std::token::Kind"), "std::token::Kind");
        assert_eq!(
            run(r#"T { c: '"', secret: ':' }"#),
            r#"T { c: '"', secret: [REDACTED] }"#
        );
        assert_eq!(run("Tuple(1, 2)"), "Tuple(1, 2)");
    }
}
