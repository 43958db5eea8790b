//! Tests for the detectors as a whole (included from `detect.rs`): overlaps,
//! offsets, redaction output, detector sets and kind names, random input;
//! and the fixtures the scanner and pre-filter tests share. Each kind's true
//! and false positives are in `detect/scanners_tests.rs`.

use super::*;

/// A real HS256 token (header, payload, signature).
pub(super) const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

/// The set with `kind` alone on.
pub(super) fn only(kind: PiiKind) -> DetectorSet {
    DetectorSet::NONE.with(kind)
}

#[test]
fn jwt_in_bearer_reported_once() {
    let text = format!("Authorization: Bearer {JWT}");
    let found = find_pii(&text, DetectorSet::ALL);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].kind, PiiKind::Jwt);
    assert_eq!(&text[found[0].range()], JWT);
    // With the JWT detector off it is still caught, as a bearer token.
    let found = find_pii(&text, DetectorSet::ALL.without(PiiKind::Jwt));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, PiiKind::BearerToken);
    assert_eq!(
        redact_pii(&text, DetectorSet::ALL).unwrap(),
        "Authorization: Bearer [REDACTED:jwt]"
    );
}

#[test]
fn overlap_earliest_then_longest() {
    // Bearer token `user.name1` and the email share a start: the longer wins.
    let text = "Bearer user.name1@example.com";
    let found = find_pii(text, DetectorSet::ALL);
    assert_eq!(
        found,
        [PiiMatch {
            kind: PiiKind::Email,
            start: 7,
            end: 29
        }]
    );
    // Same range as a card and a bearer token: the card (more specific) wins.
    let found = find_pii("Bearer 4111111111111111", DetectorSet::ALL);
    assert_eq!(
        found,
        [PiiMatch {
            kind: PiiKind::CreditCard,
            start: 7,
            end: 23
        }]
    );
}

#[test]
fn offsets_with_multibyte_text() {
    let text = "名前: a@b.com ✓";
    let found = find_pii(text, DetectorSet::ALL);
    assert_eq!(
        found,
        [PiiMatch {
            kind: PiiKind::Email,
            start: 8,
            end: 15
        }]
    );
    assert_eq!(&text[8..15], "a@b.com");
    assert_eq!(redact_pii(text, DetectorSet::ALL).unwrap(), "名前: [REDACTED:email] ✓");

    let text = "é4111 1111 1111 1111é 名123-45-6789名";
    let found = find_pii(text, DetectorSet::ALL);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        (found[0].kind, found[0].start, found[0].end),
        (PiiKind::CreditCard, 2, 21)
    );
    assert_eq!((found[1].kind, found[1].start, found[1].end), (PiiKind::UsSsn, 27, 38));
    for m in &found {
        assert!(text.is_char_boundary(m.start) && text.is_char_boundary(m.end));
    }
}

#[test]
fn redact_exact_output() {
    let text = format!(
        "Mail a@b.com, card 4111 1111 1111 1111, ssn 123-45-6789, iban GB82WEST12345698765432, \
         auth Bearer abc123def456 and {JWT}."
    );
    assert_eq!(
        redact_pii(&text, DetectorSet::ALL).unwrap(),
        "Mail [REDACTED:email], card [REDACTED:credit_card], ssn [REDACTED:us_ssn], \
         iban [REDACTED:iban], auth Bearer [REDACTED:bearer_token] and [REDACTED:jwt]."
    );
    assert_eq!(redact_pii("order 1234567812345678 shipped", DetectorSet::ALL), None);
    assert_eq!(redact_pii("", DetectorSet::ALL), None);
    assert_eq!(redact_pii("a@b.com", DetectorSet::NONE), None);
    assert_eq!(
        redact_pii("a@b.com", only(PiiKind::Email)).as_deref(),
        Some("[REDACTED:email]")
    );
    assert_eq!(
        redact_pii("x@y.io,z@w.io", DetectorSet::ALL).as_deref(),
        Some("[REDACTED:email],[REDACTED:email]")
    );
}

#[test]
fn sorted_and_non_overlapping() {
    let text = format!("{JWT} 123-45-6789 a@b.com 4111-1111-1111-1111 x@y.org");
    let found = find_pii(&text, DetectorSet::ALL);
    let kinds: Vec<PiiKind> = found.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        [
            PiiKind::Jwt,
            PiiKind::UsSsn,
            PiiKind::Email,
            PiiKind::CreditCard,
            PiiKind::Email
        ]
    );
    for pair in found.windows(2) {
        assert!(pair[0].end <= pair[1].start);
    }
}

const ONE_OF_EACH: &str = "a@b.com 4111111111111111 123-45-6789 GB82WEST12345698765432 \
                           Bearer abc123def456 eyJhbGci.eyJzdWIi.c2lnbmF0dXJl";

#[test]
fn detector_set_toggling() {
    let all = find_pii(ONE_OF_EACH, DetectorSet::ALL);
    assert_eq!(all.iter().map(|m| m.kind).collect::<Vec<_>>(), PiiKind::ALL);
    for kind in PiiKind::ALL {
        let off = find_pii(ONE_OF_EACH, DetectorSet::ALL.without(kind));
        assert_eq!(off.len(), 5, "{kind} off: {off:?}");
        assert!(off.iter().all(|m| m.kind != kind));
        let on = find_pii(ONE_OF_EACH, only(kind));
        assert_eq!(on.len(), 1, "{kind} only: {on:?}");
        assert_eq!(on[0].kind, kind);
    }
    assert!(find_pii(ONE_OF_EACH, DetectorSet::NONE).is_empty());
}

#[test]
fn detector_set_ops() {
    assert!(DetectorSet::NONE.is_empty());
    assert!(!DetectorSet::ALL.is_empty());
    let mut set = DetectorSet::NONE;
    for kind in PiiKind::ALL {
        assert!(DetectorSet::ALL.contains(kind));
        assert!(!DetectorSet::NONE.contains(kind));
        assert!(!DetectorSet::ALL.without(kind).contains(kind));
        assert_eq!(only(kind).without(kind), DetectorSet::NONE);
        set = set.with(kind);
        for other in PiiKind::ALL {
            assert_eq!(only(kind).contains(other), kind == other);
        }
    }
    assert_eq!(set, DetectorSet::ALL);
    assert_eq!(DetectorSet::ALL.with(PiiKind::Jwt), DetectorSet::ALL);
    assert_eq!(DetectorSet::NONE.without(PiiKind::Jwt), DetectorSet::NONE);
}

#[test]
fn kind_names() {
    let names: Vec<&str> = PiiKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(names, ["email", "credit_card", "us_ssn", "iban", "bearer_token", "jwt"]);
    for kind in PiiKind::ALL {
        assert_eq!(PiiKind::from_name(kind.name()), Some(kind));
        assert_eq!(PiiKind::from_name(&kind.name().to_uppercase()), Some(kind));
        assert_eq!(kind.to_string(), kind.name());
    }
    assert_eq!(PiiKind::from_name("ssn"), None);
    assert_eq!(PiiKind::from_name(""), None);
}

/// xorshift64: deterministic pseudo-random numbers without dependencies.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const ALPHABET: &[&str] = &[
    "0", "1", "4", "5", "9", "@", ".", "-", " ", "é", "名", "a", "e", "y", "J", "x", "B", "c", "o", "m", "D", "E", "_",
    "\t", "=", "✓",
];

const FRAGMENTS: &[&str] = &[
    "4111 1111 1111 1111",
    "4111111111111111",
    "user@example.com",
    "Bearer ",
    "eyJ",
    ".com",
    "DE89 3704 0044 0532 0130 00",
    "GB82WEST12345698765432",
    "123-45-6789",
    "1111",
];

/// Whether `needle` occurs in `text` somewhere not overlapping any match.
fn occurs_outside(text: &str, needle: &str, found: &[PiiMatch]) -> bool {
    let (t, n) = (text.as_bytes(), needle.as_bytes());
    (0..=t.len().saturating_sub(n.len()))
        .any(|i| t[i..].starts_with(n) && found.iter().all(|m| i + n.len() <= m.start || i >= m.end))
}

#[test]
fn random_strings_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut total_matches = 0;
    for _ in 0..4000 {
        let len = rng.below(48);
        let mut text = String::new();
        for _ in 0..len {
            if rng.below(8) == 0 {
                text.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]);
            } else {
                text.push_str(ALPHABET[rng.below(ALPHABET.len())]);
            }
        }
        let set = if rng.below(4) == 0 {
            DetectorSet::ALL.without(PiiKind::ALL[rng.below(6)])
        } else {
            DetectorSet::ALL
        };
        let found = find_pii(&text, set);
        total_matches += found.len();
        let mut last_end = 0;
        for m in &found {
            assert!(set.contains(m.kind));
            assert!(m.start < m.end && m.end <= text.len(), "{text:?}: {m:?}");
            assert!(m.start >= last_end, "overlap or unsorted in {text:?}: {found:?}");
            assert!(text.is_char_boundary(m.start) && text.is_char_boundary(m.end));
            last_end = m.end;
        }
        let redacted = redact_pii(&text, set);
        assert_eq!(redacted.is_some(), !found.is_empty());
        if let Some(out) = redacted {
            for m in &found {
                let secret = &text[m.range()];
                assert!(
                    !out.contains(secret) || occurs_outside(&text, secret, &found),
                    "{secret:?} survived in {out:?} (from {text:?})"
                );
            }
        }
    }
    // The generator must actually exercise the detectors.
    assert!(total_matches > 1000, "only {total_matches} matches");
}
