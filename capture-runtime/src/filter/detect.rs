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

use std::fmt;
use std::ops::Range;

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

/// The detectors of `set` whose minimum needs `text` meets.
#[inline]
fn possible(text: &[u8], set: DetectorSet) -> DetectorSet {
    // Shorter than the shortest match of any detector (`a@b.cd`).
    if set.is_empty() || text.len() < 6 {
        return DetectorSet(0);
    }
    // Below 11 bytes only an email fits (`ddd-dd-dddd` is the next shortest).
    if text.len() < 11 {
        return DetectorSet(if text.contains(&b'@') { PiiKind::Email.bit() } else { 0 } & set.0);
    }
    DetectorSet(Needs::of(text).allowed() & set.0)
}

/// Per byte, what [`Needs::of`] adds: 16-bit counters for digits, letters,
/// dashes and dots in one `u64` (lanes 0..4), so counting is one table load
/// and one add per byte.
static COUNTS: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b.is_ascii_digit() {
            1
        } else if b.is_ascii_alphabetic() {
            1 << 16
        } else if b == b'-' {
            1 << 32
        } else if b == b'.' {
            1 << 48
        } else {
            0
        };
        c += 1;
    }
    t
};

/// Per byte, the flags [`Needs::of`] sets: 1 for `@`, 2 for `b`/`B`.
static FLAGS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'@' as usize] = 1;
    t[b'b' as usize] = 2;
    t[b'B' as usize] = 2;
    t
};

/// What a text holds, as far as the detectors' minimum needs go.
#[derive(Default)]
struct Needs {
    len: usize,
    digits: usize,
    letters: usize,
    at: bool,
    dashes: usize,
    dots: usize,
    b: bool,
}

impl Needs {
    fn of(b: &[u8]) -> Needs {
        let mut n = Needs {
            len: b.len(),
            ..Needs::default()
        };
        // Chunks short enough that no 16-bit counter overflows.
        for chunk in b.chunks(u16::MAX as usize) {
            n.add(chunk);
        }
        n
    }

    /// Count one chunk of at most `u16::MAX` bytes.
    #[inline]
    fn add(&mut self, chunk: &[u8]) {
        let mut counts = 0u64;
        let mut flags = 0u8;
        for &c in chunk {
            counts += COUNTS[c as usize];
            flags |= FLAGS[c as usize];
        }
        self.digits += (counts & 0xffff) as usize;
        self.letters += (counts >> 16 & 0xffff) as usize;
        self.dashes += (counts >> 32 & 0xffff) as usize;
        self.dots += (counts >> 48) as usize;
        self.at |= flags & 1 != 0;
        self.b |= flags & 2 != 0;
    }

    /// The bits of every kind [`Needs::allows`].
    #[inline]
    fn allowed(&self) -> u8 {
        let bit = |kind: PiiKind| if self.allows(kind) { kind.bit() } else { 0 };
        bit(PiiKind::Email)
            | bit(PiiKind::CreditCard)
            | bit(PiiKind::UsSsn)
            | bit(PiiKind::Iban)
            | bit(PiiKind::BearerToken)
            | bit(PiiKind::Jwt)
    }

    /// Whether `kind` can possibly match (a necessary condition only).
    fn allows(&self, kind: PiiKind) -> bool {
        match kind {
            // local@label.tld
            PiiKind::Email => self.at && self.len >= 6,
            // 13 to 19 digits
            PiiKind::CreditCard => self.digits >= 13,
            // ddd-dd-dddd
            PiiKind::UsSsn => self.len >= 11 && self.digits >= 9 && self.dashes >= 2,
            // two letters, two check digits, 15 characters or more
            PiiKind::Iban => self.len >= 15 && self.digits >= 2 && self.letters >= 2,
            // `bearer`, a blank and 8 token characters with a digit
            PiiKind::BearerToken => self.len >= 15 && self.b && self.digits >= 1,
            // eyJ…. three segments joined by dots
            PiiKind::Jwt => self.len >= 14 && self.dots >= 2,
        }
    }
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

/// Luhn check over the digits of a string (ignoring spaces and dashes).
///
/// Any other character, or no digit at all, makes the check fail.
#[must_use]
pub fn luhn_valid(digits: &str) -> bool {
    luhn_bytes(digits.as_bytes())
}

fn luhn_bytes(b: &[u8]) -> bool {
    let mut sum = 0u32;
    let mut count = 0usize;
    for &c in b.iter().rev() {
        match c {
            b' ' | b'-' => {}
            b'0'..=b'9' => {
                let mut d = u32::from(c - b'0');
                if count % 2 == 1 {
                    d *= 2;
                    if d > 9 {
                        d -= 9;
                    }
                }
                sum = (sum + d) % 10;
                count += 1;
            }
            _ => return false,
        }
    }
    count > 0 && sum == 0
}

fn push(out: &mut Vec<PiiMatch>, kind: PiiKind, start: usize, end: usize) {
    out.push(PiiMatch { kind, start, end });
}

/// Length of the run of bytes satisfying `f` starting at `from`.
fn run(b: &[u8], from: usize, f: impl Fn(u8) -> bool) -> usize {
    b.get(from..).map_or(0, |s| s.iter().take_while(|&&c| f(c)).count())
}

fn is_digit_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(u8::is_ascii_digit)
}

/// Left boundary for numbers: no letter/digit before, and not the tail of a
/// `digit-` / `digit.` sequence.
fn num_left_ok(b: &[u8], start: usize) -> bool {
    if start == 0 {
        return true;
    }
    let p = b[start - 1];
    !(p.is_ascii_alphanumeric() || (matches!(p, b'-' | b'.') && start >= 2 && b[start - 2].is_ascii_digit()))
}

/// Right boundary for numbers: no letter/digit after, and no `-digit` /
/// `.digit` continuation.
fn num_right_ok(b: &[u8], end: usize) -> bool {
    match b.get(end) {
        None => true,
        Some(&n) => !(n.is_ascii_alphanumeric() || (matches!(n, b'-' | b'.') && is_digit_at(b, end + 1))),
    }
}

// ---------------------------------------------------------------- email

fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

fn scan_email(b: &[u8], out: &mut Vec<PiiMatch>) {
    // Local parts and domains cannot contain '@', so the runs scanned for
    // different '@'s are disjoint: linear overall.
    for at in b.iter().enumerate().filter(|(_, &c)| c == b'@').map(|(i, _)| i) {
        let mut start = at;
        while start > 0 && is_local(b[start - 1]) {
            start -= 1;
        }
        while start < at && b[start] == b'.' {
            start += 1;
        }
        if start == at || b[at - 1] == b'.' {
            continue;
        }
        if let Some(end) = domain_end(b, at + 1) {
            push(out, PiiKind::Email, start, end);
        }
    }
}

/// End of the longest valid `label(.label)+` domain starting at `from`.
fn domain_end(b: &[u8], from: usize) -> Option<usize> {
    let mut pos = from;
    let mut labels = 0;
    let mut best = None;
    loop {
        let len = run(b, pos, is_domain);
        let label = &b[pos..pos + len];
        if len == 0 || len > 63 || label[0] == b'-' || label[len - 1] == b'-' {
            break;
        }
        pos += len;
        labels += 1;
        if labels >= 2 && is_tld(label) {
            best = Some(pos);
        }
        if b.get(pos) == Some(&b'.') && b.get(pos + 1).is_some_and(|&c| is_domain(c)) {
            pos += 1;
        } else {
            break;
        }
    }
    best
}

fn is_tld(label: &[u8]) -> bool {
    (label.len() >= 2 && label.iter().all(u8::is_ascii_alphabetic))
        || (label.len() > 4 && label[..4].eq_ignore_ascii_case(b"xn--"))
}

// ---------------------------------------------------------------- cards

fn scan_card(b: &[u8], out: &mut Vec<PiiMatch>) {
    // Each start scans at most ~40 bytes (19 digits plus separators).
    for start in 0..b.len() {
        if b[start].is_ascii_digit() && num_left_ok(b, start) {
            if let Some(end) = card_at(b, start) {
                push(out, PiiKind::CreditCard, start, end);
            }
        }
    }
}

fn card_at(b: &[u8], start: usize) -> Option<usize> {
    let first = run(b, start, |c| c.is_ascii_digit());
    if (13..=19).contains(&first) {
        let end = start + first;
        return (num_right_ok(b, end) && luhn_bytes(&b[start..end])).then_some(end);
    }
    if first != 4 {
        return None;
    }
    let Some(&sep @ (b' ' | b'-')) = b.get(start + 4) else {
        return None;
    };
    let mut pos = start + 4;
    let mut digits = 4;
    let mut best = None;
    while b.get(pos) == Some(&sep) {
        let group = run(b, pos + 1, |c| c.is_ascii_digit());
        if !(3..=6).contains(&group) || digits + group > 19 {
            break;
        }
        pos += 1 + group;
        digits += group;
        if digits >= 13 && num_right_ok(b, pos) && luhn_bytes(&b[start..pos]) {
            best = Some(pos);
        }
    }
    best
}

// ---------------------------------------------------------------- SSN

fn scan_ssn(b: &[u8], out: &mut Vec<PiiMatch>) {
    if b.len() < 11 {
        return;
    }
    for start in 0..=b.len() - 11 {
        let w = &b[start..start + 11];
        let shape = w.iter().enumerate().all(|(i, &c)| {
            if i == 3 || i == 6 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
        if !shape || !num_left_ok(b, start) || !num_right_ok(b, start + 11) {
            continue;
        }
        let num = |r: Range<usize>| w[r].iter().fold(0u32, |n, &c| n * 10 + u32::from(c - b'0'));
        let (area, group, serial) = (num(0..3), num(4..6), num(7..11));
        if area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 {
            push(out, PiiKind::UsSsn, start, start + 11);
        }
    }
}

// ---------------------------------------------------------------- IBAN

fn scan_iban(b: &[u8], out: &mut Vec<PiiMatch>) {
    if b.len() < 15 {
        return;
    }
    for start in 0..=b.len() - 15 {
        let head = &b[start..start + 4];
        if head[0].is_ascii_alphabetic()
            && head[1].is_ascii_alphabetic()
            && head[2].is_ascii_digit()
            && head[3].is_ascii_digit()
            && !(start > 0 && b[start - 1].is_ascii_alphanumeric())
        {
            let check = u32::from(head[2] - b'0') * 10 + u32::from(head[3] - b'0');
            if !(2..=98).contains(&check) {
                continue;
            }
            if let Some(end) = iban_at(b, start) {
                push(out, PiiKind::Iban, start, end);
            }
        }
    }
}

/// Fold one alphanumeric character into a running mod-97 remainder
/// (letters count as 10..=35, i.e. two digits).
fn mod97(rem: u32, c: u8) -> u32 {
    if c.is_ascii_digit() {
        (rem * 10 + u32::from(c - b'0')) % 97
    } else {
        (rem * 100 + 10 + u32::from(c.to_ascii_uppercase() - b'A')) % 97
    }
}

/// The ISO 13616 check given the remainder over the BBAN and the first four
/// characters (moved to the end).
fn iban_ok(bban_rem: u32, head: &[u8]) -> bool {
    head.iter().fold(bban_rem, |r, &c| mod97(r, c)) == 1
}

fn iban_at(b: &[u8], start: usize) -> Option<usize> {
    let head = &b[start..start + 4];
    let first = run(b, start, |c| c.is_ascii_alphanumeric());
    if (15..=34).contains(&first) {
        let end = start + first;
        let rem = b[start + 4..end].iter().fold(0, |r, &c| mod97(r, c));
        return iban_ok(rem, head).then_some(end);
    }
    if first != 4 {
        return None;
    }
    let mut pos = start + 4;
    let mut count = 4;
    let mut rem = 0;
    let mut best = None;
    while b.get(pos) == Some(&b' ') {
        let group = run(b, pos + 1, |c| c.is_ascii_alphanumeric());
        if group == 0 || group > 4 || count + group > 34 {
            break;
        }
        rem = b[pos + 1..pos + 1 + group].iter().fold(rem, |r, &c| mod97(r, c));
        pos += 1 + group;
        count += group;
        if count >= 15 && iban_ok(rem, head) {
            best = Some(pos);
        }
        if group < 4 {
            break;
        }
    }
    best
}

// ---------------------------------------------------------------- bearer

fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

fn scan_bearer(b: &[u8], out: &mut Vec<PiiMatch>) {
    if b.len() < 6 {
        return;
    }
    for i in 0..=b.len() - 6 {
        if !b[i].eq_ignore_ascii_case(&b'b')
            || !b[i..i + 6].eq_ignore_ascii_case(b"bearer")
            || (i > 0 && b[i - 1].is_ascii_alphanumeric())
        {
            continue;
        }
        let ws = run(b, i + 6, |c| c == b' ' || c == b'\t');
        if ws == 0 {
            continue;
        }
        let start = i + 6 + ws;
        let mut end = start + run(b, start, is_token_char);
        while end > start && b[end - 1] == b'.' {
            end -= 1;
        }
        if end - start >= 8 && b[start..end].iter().any(u8::is_ascii_digit) {
            push(out, PiiKind::BearerToken, start, end);
        }
    }
}

// ---------------------------------------------------------------- JWT

fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

fn scan_jwt(b: &[u8], out: &mut Vec<PiiMatch>) {
    if b.len() < 14 {
        return;
    }
    for start in 0..=b.len() - 14 {
        if &b[start..start + 3] != b"eyJ" || (start > 0 && is_b64url(b[start - 1])) {
            continue;
        }
        let mut pos = start;
        let mut ok = true;
        for seg in 0..3 {
            if seg > 0 {
                if b.get(pos) != Some(&b'.') {
                    ok = false;
                    break;
                }
                pos += 1;
            }
            let len = run(b, pos, is_b64url);
            if len < 4 {
                ok = false;
                break;
            }
            pos += len;
        }
        if ok {
            push(out, PiiKind::Jwt, start, pos);
        }
    }
}

#[cfg(test)]
#[path = "detect_tests.rs"]
mod tests;

#[cfg(test)]
mod prefilter_tests {
    use super::*;

    #[test]
    fn allowed_lists_every_kind() {
        // A text meeting every need: each kind's bit must be in `allowed`.
        let n = Needs::of(b"bearer ann@example.com 4111-1111-1111-1111 eyJ.a.b DE89370400440532013000");
        let all = PiiKind::ALL.iter().fold(0, |bits, k| bits | k.bit());
        assert_eq!(n.allowed(), all);
        assert_eq!(Needs::of(b"plain words").allowed(), 0);
    }

    #[test]
    fn counts_survive_chunking() {
        let text = "1-.".repeat(40_000);
        let n = Needs::of(text.as_bytes());
        assert_eq!((n.digits, n.dashes, n.dots, n.letters), (40_000, 40_000, 40_000, 0));
    }
}
