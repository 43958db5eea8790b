//! Tests for the PII detectors (included from `detect.rs`).

use super::*;

/// A real HS256 token (header, payload, signature).
pub(super) const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

fn only(kind: PiiKind) -> DetectorSet {
    DetectorSet::NONE.with(kind)
}

/// The matched substrings of `kind` (with only that detector on).
fn hits(kind: PiiKind, text: &str) -> Vec<&str> {
    find_pii(text, only(kind))
        .into_iter()
        .map(|m| {
            assert_eq!(m.kind, kind);
            &text[m.range()]
        })
        .collect()
}

/// Each `(text, expected)` yields exactly `expected` as the one match.
fn positives(kind: PiiKind, cases: &[(&str, &str)]) {
    for &(text, expected) in cases {
        assert_eq!(hits(kind, text), [expected], "{kind} in {text:?}");
        // Also found, unchanged, with every detector on.
        let all = find_pii(text, DetectorSet::ALL);
        assert!(
            all.iter().any(|m| m.kind == kind && &text[m.range()] == expected),
            "{kind} with ALL in {text:?}: {all:?}"
        );
    }
}

fn negatives(kind: PiiKind, cases: &[&str]) {
    for &text in cases {
        assert!(
            hits(kind, text).is_empty(),
            "{kind} should not match {text:?}: {:?}",
            hits(kind, text)
        );
    }
}

#[test]
fn email_true_positives() {
    positives(
        PiiKind::Email,
        &[
            ("a@b.com", "a@b.com"),
            ("user.name+tag@example.co.uk", "user.name+tag@example.co.uk"),
            ("Reach me at bob@example.com.", "bob@example.com"),
            ("<john@doe.net>", "john@doe.net"),
            ("mailto:jane@site.dev?subject=hi", "jane@site.dev"),
            ("UPPER_CASE@EXAMPLE.COM", "UPPER_CASE@EXAMPLE.COM"),
            ("x-y%z@mail-server.io", "x-y%z@mail-server.io"),
            ("...dots@x.org", "dots@x.org"),
            ("a@b.com.123", "a@b.com"),
            ("ru: user@xn--80ak6aa92e.xn--p1ai", "user@xn--80ak6aa92e.xn--p1ai"),
        ],
    );
}

#[test]
fn email_false_positives() {
    negatives(
        PiiKind::Email,
        &[
            "a@b",
            "user@localhost",
            "@example.com",
            "john.@x.com",
            "foo@.com",
            "foo@bar..com",
            "x@y.c",
            "v1.2@3.4",
            "a@-b.com",
            "a@b-.com",
            "follow @handle on the site",
            "josé@x",
            "price: 5 @ 3.50 each",
        ],
    );
}

#[test]
fn card_true_positives() {
    positives(
        PiiKind::CreditCard,
        &[
            ("4111 1111 1111 1111", "4111 1111 1111 1111"),
            ("4111-1111-1111-1111", "4111-1111-1111-1111"),
            ("4111111111111111", "4111111111111111"),
            ("Amex 3782 822463 10005 ok", "3782 822463 10005"),
            ("378282246310005", "378282246310005"),
            ("visa13=4222222222222;", "4222222222222"),
            ("6011111111111111110", "6011111111111111110"),
            ("6011 1111 1111 1111 110", "6011 1111 1111 1111 110"),
            ("card:5500-0000-0000-0004.", "5500-0000-0000-0004"),
            ("(4012888888881881)", "4012888888881881"),
            ("qty 12 4111 1111 1111 1111", "4111 1111 1111 1111"),
            ("4111 1111 1111 1111 2024", "4111 1111 1111 1111"),
            ("カード4111111111111111です", "4111111111111111"),
        ],
    );
}

#[test]
fn card_false_positives() {
    negatives(
        PiiKind::CreditCard,
        &[
            "order 1234567812345678",
            "4111111111111112",
            "4111 1111 1111 1112",
            "41111111111111111111",
            "x4111111111111111",
            "4111111111111111y",
            "123456789012",
            "4111  1111 1111 1111",
            "4111 1111-1111 1111",
            "4111-1111-1111-1111-1111",
            "pi is 3.1415926535897932 roughly",
            "call +1 555 123 4567 after 5",
            "In 2023 we shipped 1200 units in 14 countries for 3500 dollars.",
            "4111111111111111.50",
        ],
    );
}

#[test]
fn luhn() {
    assert!(luhn_valid("4111111111111111"));
    assert!(luhn_valid("4111 1111 1111 1111"));
    assert!(luhn_valid("4111-1111-1111-1111"));
    assert!(luhn_valid("79927398713"));
    assert!(!luhn_valid("79927398710"));
    assert!(!luhn_valid("1234567812345678"));
    assert!(!luhn_valid("4111x1111111111111"));
    assert!(!luhn_valid(""));
    assert!(!luhn_valid(" - "));
    assert!(luhn_valid("0"));
}

#[test]
fn ssn_true_positives() {
    positives(
        PiiKind::UsSsn,
        &[
            ("123-45-6789", "123-45-6789"),
            ("ssn: 001-01-0001.", "001-01-0001"),
            ("665-12-3456", "665-12-3456"),
            ("899-99-9999", "899-99-9999"),
            ("(219-09-9999)", "219-09-9999"),
            ("名前078-05-1120✓", "078-05-1120"),
        ],
    );
}

#[test]
fn ssn_false_positives() {
    negatives(
        PiiKind::UsSsn,
        &[
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "999-12-3456",
            "123-00-4567",
            "123-45-0000",
            "123456789",
            "123-45-67890",
            "a123-45-6789",
            "1-123-45-6789",
            "123-45-6789-1",
            "call 555-123-4567",
            "12-345-6789",
            "123 45 6789",
        ],
    );
}

#[test]
fn iban_true_positives() {
    positives(
        PiiKind::Iban,
        &[
            ("DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00"),
            ("DE89370400440532013000", "DE89370400440532013000"),
            ("GB82WEST12345698765432", "GB82WEST12345698765432"),
            ("GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 32"),
            ("gb82west12345698765432", "gb82west12345698765432"),
            (
                "IBAN: FR14 2004 1010 0505 0001 3M02 606, thanks",
                "FR14 2004 1010 0505 0001 3M02 606",
            ),
            ("NL91ABNA0417164300", "NL91ABNA0417164300"),
            ("BE68539007547034.", "BE68539007547034"),
            ("NO9386011117947", "NO9386011117947"),
            ("MT84MALT011000012345MTLCAST001S", "MT84MALT011000012345MTLCAST001S"),
            ("DE89 3704 0044 0532 0130 00 is mine", "DE89 3704 0044 0532 0130 00"),
            ("口座DE89370400440532013000です", "DE89370400440532013000"),
        ],
    );
}

#[test]
fn iban_false_positives() {
    negatives(
        PiiKind::Iban,
        &[
            "DE88 3704 0044 0532 0130 00",
            "GB83WEST12345698765432",
            "XDE89370400440532013000",
            "DE89370400440532013000X",
            "DE89 37040044 0532013000",
            "DE89  3704 0044 0532 0130 00",
            "AB12 short",
            "HELLO WORLD 1234 5678 9012 3456",
            "DE00370400440532013000",
            "SKU AB12345678901234567",
        ],
    );
}

#[test]
fn bearer_true_positives() {
    positives(
        PiiKind::BearerToken,
        &[
            ("Authorization: Bearer abcdef123456", "abcdef123456"),
            ("bearer\tAbC123xyz==", "AbC123xyz=="),
            (
                "BEARER ghp_16C7e42F292c6912E7710c838347Ae178B4a",
                "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            ),
            ("Bearer  2YotnFZFEjr1zCsicMWpAA", "2YotnFZFEjr1zCsicMWpAA"),
            ("token=Bearer 9f8e7d6c5b4a.", "9f8e7d6c5b4a"),
            (
                r#"{"h":"Bearer a1b2c3d4/e5+f6~g7_h8-i9.j0="}"#,
                "a1b2c3d4/e5+f6~g7_h8-i9.j0=",
            ),
        ],
    );
}

#[test]
fn bearer_false_positives() {
    negatives(
        PiiKind::BearerToken,
        &[
            "Bearer short1",
            "Bearer authentication scheme",
            "Bearer:abc12345678",
            "xBearer abc12345678",
            "bearers abc12345678",
            "Bearer",
            "Bearer \n abc12345678",
            "the bearer of 12 bad news",
        ],
    );
}

#[test]
fn jwt_true_positives() {
    let quoted = format!("'{JWT}'");
    let query = format!("token={JWT}&x=1");
    let dotted = format!("see {JWT}.");
    positives(
        PiiKind::Jwt,
        &[
            (JWT, JWT),
            (&quoted, JWT),
            (&query, JWT),
            (&dotted, JWT),
            ("eyJa.bcde.fghi", "eyJa.bcde.fghi"),
            (
                "x eyJhbGci.eyJzdWIi.c2lnbmF0dXJl-_ y",
                "eyJhbGci.eyJzdWIi.c2lnbmF0dXJl-_",
            ),
            ("jwe eyJhbGci.abcd.efgh.ijkl.mnop", "eyJhbGci.abcd.efgh"),
        ],
    );
}

#[test]
fn jwt_false_positives() {
    negatives(
        PiiKind::Jwt,
        &[
            "eyJa.bc.defg",
            "eyJhbGci.eyJzdWIi",
            "xeyJhbGci.abcd.efgh",
            "abcd.eyJh.efgh",
            "eyJhbGci..abcd",
            "eyjhbGci.abcd.efgh",
            "eyJhbGci.abcd.ef+g",
            "they said eyJ is a prefix",
        ],
    );
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
