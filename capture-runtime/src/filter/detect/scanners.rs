//! The individual scanners behind [`find_pii`](super::find_pii), one per
//! [`PiiKind`]: e-mail, card (with the Luhn check), SSN, IBAN (mod 97),
//! bearer token and JWT. Each is one linear pass over the bytes of a text,
//! appending its (possibly overlapping) candidates; what each accepts is
//! specified in the [`detect`](super) module documentation, and overlaps are
//! resolved there.

use std::ops::Range;

use super::{PiiKind, PiiMatch};

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

pub(super) fn scan_email(b: &[u8], out: &mut Vec<PiiMatch>) {
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

pub(super) fn scan_card(b: &[u8], out: &mut Vec<PiiMatch>) {
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

pub(super) fn scan_ssn(b: &[u8], out: &mut Vec<PiiMatch>) {
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

pub(super) fn scan_iban(b: &[u8], out: &mut Vec<PiiMatch>) {
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

pub(super) fn scan_bearer(b: &[u8], out: &mut Vec<PiiMatch>) {
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

pub(super) fn scan_jwt(b: &[u8], out: &mut Vec<PiiMatch>) {
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
#[path = "scanners_tests.rs"]
mod tests;
