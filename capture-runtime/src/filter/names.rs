//! Sensitive-name matching for argument names, struct field names and map keys.
//!
//! # Normalisation
//!
//! [`words`] splits an identifier into lowercase words:
//!
//! * every character that is not alphanumeric (`_`, `-`, `.`, space, `:`, …)
//!   separates words, so `snake_case`, `kebab-case`, dotted paths and prose work;
//! * inside an alphanumeric run a new word starts at an uppercase letter that
//!   follows a lowercase letter or a digit (`apiKey` → `api`, `key`;
//!   `oauth2Token` → `oauth2`, `token`);
//! * an acronym ends before its last capital when that capital starts a
//!   lowercase word (`HTTPAuthorization` → `http`, `authorization`), except
//!   for a lone plural `s` (`sessionIDs` → `session`, `ids`);
//! * digits stay attached to the word they follow or precede
//!   (`user_password2` → `user`, `password2`; `v2key` → `v2key`).
//!
//! # Matching
//!
//! A name is sensitive when its word sequence contains the word sequence of a
//! sensitive entry as a contiguous run. Words compare case-insensitively and
//! as whole words (`auth_header` matches `auth`, `author` does not), with two
//! tolerances on the name's side:
//!
//! * a trailing plural `s` (`passwords`, `tokens`, `keys`, `session_ids`);
//! * trailing digits (`password2`, `key1`, `secrets3`).
//!
//! A multi-word entry also matches its words written together as one word
//! (`api_key` matches `APIKEY`, `x-apikey`; `session_id` matches `sessionid`).
//!
//! Allowed names (see [`NameMatcher::allow`]) win over sensitive ones; they
//! compare as exact normalised word sequences (`allow("token_count")` also
//! allows `tokenCount` and `TOKEN-COUNT`, but not `token_counts`). The empty
//! name, and names without any alphanumeric character, are never sensitive.

/// Default sensitive names (argument names, struct field names, map keys).
pub const DEFAULT_SENSITIVE: &[&str] = &[
    "password",
    "passwd",
    "token",
    "secret",
    "key",
    "api_key",
    "auth",
    "authorization",
    "access_token",
    "refresh_token",
    "session_id",
    "csrf_token",
    "oauth_token",
    "cookie",
    "private_key",
];

/// Split an identifier into lowercase words (see the module docs for the
/// exact rules).
///
/// ```text
/// "apiKey"            -> ["api", "key"]
/// "X-Api-Key"         -> ["x", "api", "key"]
/// "HTTPAuthorization" -> ["http", "authorization"]
/// "user_password2"    -> ["user", "password2"]   (digits stay attached)
/// ```
#[must_use]
pub fn words(name: &str) -> Vec<String> {
    Words::new(name).map(str::to_lowercase).collect()
}

/// Allocation-free iterator over the words of an identifier, as slices of the
/// original (not lowercased) string.
#[derive(Clone)]
struct Words<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Words<'a> {
    fn new(s: &'a str) -> Self {
        Words { s, pos: 0 }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = &self.s[self.pos..];
        let Some(skip) = rest.find(char::is_alphanumeric) else {
            self.pos = self.s.len();
            return None;
        };
        let start = self.pos + skip;
        let mut chars = self.s[start..].char_indices();
        let (_, mut prev) = chars.next()?;
        let mut end = start + prev.len_utf8();
        loop {
            let mut look = chars.clone();
            let Some((i, c)) = look.next() else { break };
            if !c.is_alphanumeric() {
                break;
            }
            if c.is_uppercase() {
                if prev.is_lowercase() || prev.is_numeric() {
                    break;
                }
                if prev.is_uppercase() {
                    // End of an acronym: `HTTPAuth` splits before the `A`,
                    // but `IDs` (a lone plural `s`) stays one word.
                    let mut ahead = look.clone();
                    if let Some((_, n)) = ahead.next() {
                        if n.is_lowercase() {
                            let lone_plural = n == 's' && !ahead.next().is_some_and(|(_, a)| a.is_lowercase());
                            if !lone_plural {
                                break;
                            }
                        }
                    }
                }
            }
            chars = look;
            prev = c;
            end = start + i + c.len_utf8();
        }
        self.pos = end;
        Some(&self.s[start..end])
    }
}

/// Words kept on the stack by [`NameMatcher::is_sensitive`]; longer names
/// spill into one `Vec`.
const INLINE_WORDS: usize = 16;

/// Decides whether a name (argument, field, map key) is sensitive.
///
/// See the [module docs](self) for the matching rules.
///
/// ```text
/// let m = NameMatcher::with_defaults();
/// assert!(m.is_sensitive("userPassword"));
/// assert!(!m.is_sensitive("keyboard"));
/// ```
#[derive(Clone, Debug)]
pub struct NameMatcher {
    /// Normalised word sequences that make a name sensitive (never empty).
    patterns: Vec<Vec<String>>,
    /// Normalised word sequences that are never sensitive.
    allowed: Vec<Vec<String>>,
}

impl Default for NameMatcher {
    /// Same as [`NameMatcher::with_defaults`].
    fn default() -> Self {
        NameMatcher::with_defaults()
    }
}

impl NameMatcher {
    /// A matcher for exactly the given sensitive names (no defaults).
    #[must_use]
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(sensitive: I) -> Self {
        let mut m = NameMatcher {
            patterns: Vec::new(),
            allowed: Vec::new(),
        };
        for s in sensitive {
            m.add(s.as_ref());
        }
        m
    }

    /// A matcher for [`DEFAULT_SENSITIVE`].
    #[must_use]
    pub fn with_defaults() -> Self {
        NameMatcher::new(DEFAULT_SENSITIVE)
    }

    /// Also treat `name` (normalised with [`words`]) as sensitive. Names
    /// without any alphanumeric character are ignored.
    pub fn add(&mut self, name: &str) {
        let w = words(name);
        if w.is_empty() {
            return;
        }
        if w.len() > 1 {
            let joined = vec![w.concat()];
            if !self.patterns.contains(&joined) {
                self.patterns.push(joined);
            }
        }
        if !self.patterns.contains(&w) {
            self.patterns.push(w);
        }
    }

    /// Never treat `name` as sensitive: any name with exactly the same
    /// normalised words is allowed, even if it contains a sensitive entry
    /// (`allow("token_count")` allows `tokenCount`). Allowed names win over
    /// sensitive ones, including entries added later.
    pub fn allow(&mut self, name: &str) {
        let w = words(name);
        if !w.is_empty() && !self.allowed.contains(&w) {
            self.allowed.push(w);
        }
    }

    /// Whether `name` is sensitive. Allocates only for names of more than
    /// 16 words.
    #[must_use]
    pub fn is_sensitive(&self, name: &str) -> bool {
        let mut inline = [""; INLINE_WORDS];
        let mut spill: Vec<&str> = Vec::new();
        let mut n = 0;
        for w in Words::new(name) {
            if n < INLINE_WORDS {
                inline[n] = w;
            } else {
                if spill.is_empty() {
                    spill.extend_from_slice(&inline);
                }
                spill.push(w);
            }
            n += 1;
        }
        let ws: &[&str] = if n <= INLINE_WORDS { &inline[..n] } else { &spill };
        self.check(ws, name.is_ascii())
    }

    /// `ascii`: every word is ASCII, so the byte-wise fast paths apply.
    fn check(&self, ws: &[&str], ascii: bool) -> bool {
        if ws.is_empty() {
            return false;
        }
        let allowed = self
            .allowed
            .iter()
            .any(|a| a.len() == ws.len() && a.iter().zip(ws).all(|(a, w)| eq_lower(w, a, ascii)));
        if allowed {
            return false;
        }
        self.patterns.iter().any(|p| {
            !p.is_empty()
                && p.len() <= ws.len()
                && ws
                    .windows(p.len())
                    .any(|win| win.iter().zip(p).all(|(w, p)| word_matches(w, p, ascii)))
        })
    }
}

/// `w` lowercased equals `lower` (which is already lowercase).
fn eq_lower(w: &str, lower: &str, ascii: bool) -> bool {
    if ascii {
        w.eq_ignore_ascii_case(lower)
    } else {
        w.chars().flat_map(char::to_lowercase).eq(lower.chars())
    }
}

/// Name word `w` matches entry word `p`, tolerating a plural `s` and
/// trailing digits on `w`.
fn word_matches(w: &str, p: &str, ascii: bool) -> bool {
    let stem_eq = if ascii { stem_eq_ascii } else { stem_eq_unicode };
    if stem_eq(w, p) {
        return true;
    }
    let trimmed = w.trim_end_matches(|c: char| c.is_ascii_digit());
    trimmed.len() != w.len() && stem_eq(trimmed, p)
}

/// `w` equals `p` or `p` followed by `s`, ASCII case-insensitively (`w` is
/// ASCII, `p` is lowercase).
fn stem_eq_ascii(w: &str, p: &str) -> bool {
    let (w, p) = (w.as_bytes(), p.as_bytes());
    let n = p.len();
    (w.len() == n || (w.len() == n + 1 && w[n].eq_ignore_ascii_case(&b's'))) && w[..n].eq_ignore_ascii_case(p)
}

/// [`stem_eq_ascii`] for any `w`, lowercasing it char by char.
fn stem_eq_unicode(w: &str, p: &str) -> bool {
    let mut wc = w.chars().flat_map(char::to_lowercase);
    for pc in p.chars() {
        if wc.next() != Some(pc) {
            return false;
        }
    }
    match wc.next() {
        None => true,
        Some('s') => wc.next().is_none(),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        words(s)
    }

    #[test]
    fn words_split_cases() {
        assert_eq!(w("apiKey"), ["api", "key"]);
        assert_eq!(w("X-Api-Key"), ["x", "api", "key"]);
        assert_eq!(w("HTTPAuthorization"), ["http", "authorization"]);
        assert_eq!(w("user_password2"), ["user", "password2"]);
        assert_eq!(w("oauth2Token"), ["oauth2", "token"]);
        assert_eq!(w("v2key"), ["v2key"]);
        assert_eq!(w("DB_PASSWORD"), ["db", "password"]);
        assert_eq!(w("XMLHttpRequest"), ["xml", "http", "request"]);
        assert_eq!(w("sessionIDs"), ["session", "ids"]);
        assert_eq!(w("getURLsFor"), ["get", "urls", "for"]);
        assert_eq!(w("APIService"), ["api", "service"]);
        assert_eq!(w("config.db password"), ["config", "db", "password"]);
        assert_eq!(w("  a..b--C  "), ["a", "b", "c"]);
        assert_eq!(w("Größe_Schlüssel"), ["größe", "schlüssel"]);
        assert_eq!(w("名前Key"), ["名前key"]);
        assert!(w("").is_empty());
        assert!(w("__--..  ").is_empty());
    }

    fn spellings(entry: &str) -> Vec<String> {
        let parts: Vec<&str> = entry.split('_').collect();
        let cap = |s: &str| {
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        };
        let camel: String = parts
            .iter()
            .enumerate()
            .map(|(i, p)| if i == 0 { p.to_string() } else { cap(p) })
            .collect();
        let pascal: String = parts.iter().map(|p| cap(p)).collect();
        let kebab_title = parts.iter().map(|p| cap(p)).collect::<Vec<_>>().join("-");
        vec![
            entry.to_string(),
            entry.to_uppercase(),
            parts.join("-"),
            parts.join(" "),
            parts.join("."),
            camel.clone(),
            pascal.clone(),
            kebab_title.clone(),
            format!("X-{kebab_title}"),
            format!("user_{entry}"),
            format!("DB_{}", entry.to_uppercase()),
            format!("my{pascal}"),
            format!("{camel}Value"),
            format!("{entry}s"),
            format!("{entry}2"),
            format!("config.{entry}.value"),
            parts.concat(),
            parts.concat().to_uppercase(),
        ]
    }

    #[test]
    fn every_default_in_many_spellings() {
        let m = NameMatcher::with_defaults();
        for entry in DEFAULT_SENSITIVE {
            for s in spellings(entry) {
                assert!(m.is_sensitive(&s), "{s:?} (from {entry}) should be sensitive");
            }
        }
    }

    #[test]
    fn listed_positives() {
        let m = NameMatcher::with_defaults();
        for s in [
            "password",
            "userPassword",
            "DB_PASSWORD",
            "x-api-key",
            "apiKey",
            "refreshToken",
            "Authorization",
            "set-cookie",
            "privateKey",
            "session_id",
            "sessionId",
            "sessionIDs",
            "auth_header",
            "HTTPAuthorization",
            "passwords",
            "tokens",
            "keys",
            "secrets",
            "Cookies",
            "user_password2",
            "oauth2Token",
            "APIKEY",
            "x-apikey",
            "client_secret",
            "Proxy-Authorization",
            "GITHUB_TOKEN",
            "sort_key",
        ] {
            assert!(m.is_sensitive(s), "{s:?} should be sensitive");
        }
    }

    #[test]
    fn listed_negatives() {
        let m = NameMatcher::with_defaults();
        for s in [
            "",
            "___",
            "-",
            "keyboard",
            "monkey",
            "turkey",
            "author",
            "authority",
            "authentication",
            "tokenizer",
            "secretary",
            "passage",
            "keystone",
            "passwordless",
            "hotkeys",
            "access_level",
            "session",
            "user_id",
            "api_version",
            "private_notes",
            "refresh_rate",
            "oauth_provider",
            "quantity",
            "keyword",
            "access",
            "v2key",
        ] {
            assert!(!m.is_sensitive(s), "{s:?} should not be sensitive");
        }
    }

    #[test]
    fn allow_overrides() {
        let mut m = NameMatcher::with_defaults();
        assert!(m.is_sensitive("token_count"));
        m.allow("token_count");
        assert!(!m.is_sensitive("token_count"));
        assert!(!m.is_sensitive("tokenCount"));
        assert!(!m.is_sensitive("TOKEN-COUNT"));
        // Exact normalised match only.
        assert!(m.is_sensitive("token_counts"));
        assert!(m.is_sensitive("max_token_count"));
        assert!(m.is_sensitive("token"));
        // Allowed wins even over a later add().
        m.add("token_count");
        assert!(!m.is_sensitive("token_count"));
        // Allowing an empty name does nothing.
        m.allow("");
        assert!(m.is_sensitive("password"));
    }

    #[test]
    fn allow_plain_default() {
        let mut m = NameMatcher::with_defaults();
        m.allow("key");
        assert!(!m.is_sensitive("key"));
        assert!(!m.is_sensitive("KEY"));
        assert!(m.is_sensitive("sort_key"));
        assert!(m.is_sensitive("api_key"));
    }

    #[test]
    fn add_extends() {
        let mut m = NameMatcher::with_defaults();
        assert!(!m.is_sensitive("ssn"));
        assert!(!m.is_sensitive("creditCardNumber"));
        m.add("ssn");
        m.add("credit_card");
        m.add("");
        m.add("ssn");
        assert!(m.is_sensitive("ssn"));
        assert!(m.is_sensitive("customer_SSN"));
        assert!(m.is_sensitive("creditCardNumber"));
        assert!(m.is_sensitive("CREDITCARD"));
        assert!(m.is_sensitive("credit-cards"));
        assert!(!m.is_sensitive("credit"));
        assert!(!m.is_sensitive("card"));
        assert!(!m.is_sensitive("card_credit"));
        assert!(m.is_sensitive("password"));
    }

    #[test]
    fn new_without_defaults() {
        let m = NameMatcher::new(Vec::<&str>::new());
        assert!(!m.is_sensitive("password"));
        let m = NameMatcher::new(["pin", "OTPCode"]);
        assert!(m.is_sensitive("userPin"));
        assert!(m.is_sensitive("otp_code"));
        assert!(m.is_sensitive("otpcode"));
        assert!(!m.is_sensitive("password"));
        assert!(!m.is_sensitive("pinned"));
        let d = NameMatcher::default();
        assert!(d.is_sensitive("password"));
    }

    #[test]
    fn entry_ending_in_digit() {
        let m = NameMatcher::new(["oauth2"]);
        assert!(m.is_sensitive("oauth2"));
        assert!(m.is_sensitive("my_oauth2_thing"));
        assert!(!m.is_sensitive("oauth"));
    }

    #[test]
    fn long_and_unicode_names() {
        let m = NameMatcher::with_defaults();
        let long = (0..40).map(|i| format!("w{i}")).collect::<Vec<_>>().join("_");
        assert!(!m.is_sensitive(&long));
        assert!(m.is_sensitive(&format!("{long}_password")));
        assert!(m.is_sensitive(&format!("password_{long}")));
        assert!(m.is_sensitive("PASSWORD_名前"));
        assert!(!m.is_sensitive("名前"));
        assert!(!m.is_sensitive("İstanbul_Σίσυφος"));
        assert!(m.is_sensitive("ΣKEY_token"));
        // Kelvin sign lowercases to ASCII 'k'.
        assert!(m.is_sensitive("\u{212A}EY"));
    }
}
