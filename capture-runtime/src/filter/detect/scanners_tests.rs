//! True and false positives of each scanner, and the Luhn check (included
//! from `detect/scanners.rs`). Matches are found through
//! [`find_pii`](super::super::find_pii), with the one detector on and with
//! every detector on.

use super::super::tests::{only, JWT};
use super::super::{find_pii, DetectorSet, PiiKind};
use super::luhn_valid;

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
