//! Value-based PII detection in strings: hand-written linear scanners, no regex.
//!
//! Every detector matches ASCII text only, so match offsets always fall on
//! char boundaries whatever the surrounding (multibyte) text. "Word-bounded"
//! below means the neighbouring byte is not an ASCII letter or digit: a
//! non-ASCII neighbour such as `名` counts as a boundary, because scripts
//! written without spaces would otherwise hide every match.
//!
//! * [`PiiKind::Email`]: `local@domain.tld`. The local part is a run of
//!   `[A-Za-z0-9._%+-]` (leading dots dropped, must not end with a dot); the
//!   domain has at least two dot-separated labels of `[A-Za-z0-9-]` (1–63
//!   chars, no leading/trailing hyphen) and the last label (the TLD) is at
//!   least two letters or an `xn--` punycode label. `a@b`, `user@localhost`
//!   and `x@1.2` are not emails. A trailing sentence dot is not included.
//!   Non-ASCII (internationalised) addresses are not recognised.
//! * [`PiiKind::CreditCard`]: 13–19 digits, either as one run or grouped with
//!   one repeated separator (a single space or a single dash) into a first
//!   group of 4 digits then groups of 3–6 digits (`4111 1111 1111 1111`,
//!   `3782 822463 10005`); must pass [`luhn_valid`] and be word-bounded. A
//!   number that continues with `-digit` or `.digit` (decimals, longer dashed
//!   numbers) is not bounded. When several group counts pass, the longest wins.
//! * [`PiiKind::UsSsn`]: `ddd-dd-dddd`, word-bounded like cards, excluding
//!   area `000`, `666` and `900`–`999`, group `00` and serial `0000`. Nine
//!   digits without dashes are *not* matched (too many false positives).
//! * [`PiiKind::Iban`]: two letters, two check digits (02–98) and BBAN
//!   alphanumerics, 15–34 characters in all, either unbroken or grouped in
//!   fours with single spaces (last group 1–4), validated by the ISO 13616
//!   mod-97 check; word-bounded; letters in any case.
//! * [`PiiKind::BearerToken`]: the word `bearer` (any case, word-bounded),
//!   spaces or tabs, then a token of at least 8 chars from
//!   `[A-Za-z0-9-._~+/=]` containing at least one digit (so prose such as
//!   "Bearer authentication" is left alone). The match covers the token
//!   only, not the word `Bearer`; trailing dots are not part of the token.
//! * [`PiiKind::Jwt`]: three `[A-Za-z0-9_-]` segments of at least 4 chars
//!   joined by dots, the first starting with `eyJ`, bounded by characters
//!   outside that set (a fourth `.segment`, as in JWE, is left as is).
//!
//! Overlaps between matches are resolved by keeping the earliest start, then
//! the longest; on an exact tie the more specific kind wins, so a JWT sent as
//! a bearer token is reported once, as [`PiiKind::Jwt`].

mod prefilter;
mod scanners;

use std::fmt;
use std::ops::Range;

use prefilter::possible;
pub use scanners::luhn_valid;
use scanners::{scan_bearer, scan_card, scan_email, scan_iban, scan_jwt, scan_ssn};

/// A kind of sensitive value recognised by [`find_pii`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PiiKind {
    /// An email address.
    Email,
    /// A payment card number (Luhn-checked).
    CreditCard,
    /// A US social security number in `ddd-dd-dddd` form.
    UsSsn,
    /// An international bank account number (mod-97-checked).
    Iban,
    /// The token of an HTTP `Bearer` credential.
    BearerToken,
    /// A JSON web token.
    Jwt,
}

impl PiiKind {
    /// Every kind, in declaration order.
    pub const ALL: [PiiKind; 6] = [
        PiiKind::Email,
        PiiKind::CreditCard,
        PiiKind::UsSsn,
        PiiKind::Iban,
        PiiKind::BearerToken,
        PiiKind::Jwt,
    ];

    /// Stable `snake_case` name, used in `[REDACTED:<name>]` markers:
    /// `email`, `credit_card`, `us_ssn`, `iban`, `bearer_token`, `jwt`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::CreditCard => "credit_card",
            PiiKind::UsSsn => "us_ssn",
            PiiKind::Iban => "iban",
            PiiKind::BearerToken => "bearer_token",
            PiiKind::Jwt => "jwt",
        }
    }

    /// Inverse of [`PiiKind::name`]; ASCII case-insensitive.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        PiiKind::ALL.into_iter().find(|k| k.name().eq_ignore_ascii_case(name))
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }

    /// Tie-break between equal ranges: lower is more specific.
    fn specificity(self) -> u8 {
        match self {
            PiiKind::Jwt => 0,
            PiiKind::Iban => 1,
            PiiKind::CreditCard => 2,
            PiiKind::UsSsn => 3,
            PiiKind::Email => 4,
            PiiKind::BearerToken => 5,
        }
    }
}

impl fmt::Display for PiiKind {
    /// Writes [`PiiKind::name`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A match: byte range in the input and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PiiMatch {
    /// What was found.
    pub kind: PiiKind,
    /// Byte offset of the first matched byte (on a char boundary).
    pub start: usize,
    /// Byte offset one past the last matched byte (on a char boundary).
    pub end: usize,
}

impl PiiMatch {
    /// `start..end`, for slicing the input.
    #[must_use]
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// Which detectors are on: a bit set over [`PiiKind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DetectorSet(u8);

impl DetectorSet {
    /// No detector.
    pub const NONE: DetectorSet = DetectorSet(0);
    /// Every detector.
    pub const ALL: DetectorSet = DetectorSet(0b11_1111);

    /// This set plus `kind`.
    #[must_use]
    pub const fn with(self, kind: PiiKind) -> Self {
        DetectorSet(self.0 | kind.bit())
    }

    /// This set minus `kind`.
    #[must_use]
    pub const fn without(self, kind: PiiKind) -> Self {
        DetectorSet(self.0 & !kind.bit())
    }

    /// Whether `kind` is on.
    #[must_use]
    pub const fn contains(self, kind: PiiKind) -> bool {
        self.0 & kind.bit() != 0
    }

    /// Whether no detector is on.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds that are on, in declaration order.
    pub fn kinds(self) -> impl Iterator<Item = PiiKind> {
        PiiKind::ALL.into_iter().filter(move |k| self.contains(*k))
    }

    /// Parse a detector list as written in `CAPTURE_DETECTORS`: `all`,
    /// `none`, or comma-separated kind names ([`PiiKind::name`]) to turn on;
    /// a name prefixed with `-` turns that kind off. A list that starts with
    /// a `-name` starts from every detector.
    ///
    /// ```
    /// use capture_runtime::filter::{DetectorSet, PiiKind};
    /// assert_eq!(DetectorSet::parse("all").unwrap(), DetectorSet::ALL);
    /// assert_eq!(DetectorSet::parse("-iban").unwrap(), DetectorSet::ALL.without(PiiKind::Iban));
    /// assert_eq!(DetectorSet::parse("email, jwt").unwrap(), DetectorSet::NONE.with(PiiKind::Email).with(PiiKind::Jwt));
    /// assert!(DetectorSet::parse("emails").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<DetectorSet, String> {
        let items: Vec<&str> = text.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if items.is_empty() {
            return Err(format!("`{text}`: expected `all`, `none` or detector names"));
        }
        let mut set = if items[0].starts_with('-') {
            DetectorSet::ALL
        } else {
            DetectorSet::NONE
        };
        for item in items {
            let (off, name) = match item.strip_prefix('-') {
                Some(rest) => (true, rest.trim()),
                None => (false, item),
            };
            set = match (name.to_ascii_lowercase().as_str(), off) {
                ("all", false) => DetectorSet::ALL,
                ("none", false) => DetectorSet::NONE,
                _ => {
                    let kind = PiiKind::from_name(name).ok_or_else(|| {
                        let known: Vec<&str> = PiiKind::ALL.iter().map(|k| k.name()).collect();
                        format!(
                            "`{name}` is not a detector; use all, none or any of {} (prefix `-` to turn one off, or to turn off a filter of the policy by its name)",
                            known.join(", ")
                        )
                    })?;
                    if off {
                        set.without(kind)
                    } else {
                        set.with(kind)
                    }
                }
            };
        }
        Ok(set)
    }
}

/// A detector: appends its (possibly overlapping) candidates for the text.
type Scanner = fn(&[u8], &mut Vec<PiiMatch>);

/// Find every match of the enabled detectors (non-overlapping, sorted by start).
///
/// One pass over the text first counts what every detector needs at the
/// least (an `@`, 13 digits, two dashes, two dots, the letter `b`, a minimum
/// length); detectors whose needs are not met do not scan. Most strings
/// (names, ids, SKUs) stop there.
#[must_use]
pub fn find_pii(text: &str, set: DetectorSet) -> Vec<PiiMatch> {
    scan_all(text, possible(text.as_bytes(), set))
}

/// Whether any detector of `set` could match in `text` (the pre-filter of
/// [`find_pii`] alone): `false` means `find_pii` would find nothing.
///
/// ```
/// use capture_runtime::filter::detect::{may_hold_pii, DetectorSet};
/// assert!(!may_hold_pii("SKU-0042-3", DetectorSet::ALL));
/// assert!(may_hold_pii("mail ann@example.com", DetectorSet::ALL));
/// ```
#[inline]
pub fn may_hold_pii(text: &str, set: DetectorSet) -> bool {
    !set.is_empty() && !possible(text.as_bytes(), set).is_empty()
}

/// [`find_pii`] without the pre-filter: every enabled detector scans.
fn scan_all(text: &str, set: DetectorSet) -> Vec<PiiMatch> {
    let mut found = Vec::new();
    if set.is_empty() || text.is_empty() {
        return found;
    }
    let b = text.as_bytes();
    let scanners: [(PiiKind, Scanner); 6] = [
        (PiiKind::Email, scan_email),
        (PiiKind::CreditCard, scan_card),
        (PiiKind::UsSsn, scan_ssn),
        (PiiKind::Iban, scan_iban),
        (PiiKind::BearerToken, scan_bearer),
        (PiiKind::Jwt, scan_jwt),
    ];
    for (kind, scan) in scanners {
        if set.contains(kind) {
            scan(b, &mut found);
        }
    }
    if found.len() > 1 {
        found.sort_by(|x, y| {
            x.start
                .cmp(&y.start)
                .then(y.end.cmp(&x.end))
                .then(x.kind.specificity().cmp(&y.kind.specificity()))
        });
        let mut last_end = 0;
        found.retain(|m| {
            let keep = m.start >= last_end;
            if keep {
                last_end = m.end;
            }
            keep
        });
    }
    found
}

/// Replace every match by `[REDACTED:<kind>]`; returns None when nothing matched (so callers avoid allocation).
#[must_use]
pub fn redact_pii(text: &str, set: DetectorSet) -> Option<String> {
    let found = find_pii(text, set);
    (!found.is_empty()).then(|| redact_matches(text, &found))
}

/// Replace the given matches (as returned by [`find_pii`]: sorted, not
/// overlapping) by `[REDACTED:<kind>]`, without scanning again.
///
/// ```
/// use capture_runtime::filter::detect::{find_pii, redact_matches, DetectorSet};
/// let text = "mail bob@example.com now";
/// let found = find_pii(text, DetectorSet::ALL);
/// assert_eq!(redact_matches(text, &found), "mail [REDACTED:email] now");
/// ```
#[must_use]
pub fn redact_matches(text: &str, found: &[PiiMatch]) -> String {
    let mut out = String::with_capacity(text.len() + 16 * found.len());
    let mut last = 0;
    for m in found {
        out.push_str(&text[last..m.start]);
        out.push_str("[REDACTED:");
        out.push_str(m.kind.name());
        out.push(']');
        last = m.end;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
#[path = "detect_tests.rs"]
mod tests;
