//! The cheap pre-filter of [`find_pii`](super::find_pii): one pass over the
//! text counts what every detector needs at the least (an `@`, 13 digits,
//! two dashes, two dots, the letter `b`, a minimum length), so detectors
//! whose needs are not met do not scan.

use super::{DetectorSet, PiiKind};

/// The detectors of `set` whose minimum needs `text` meets.
#[inline]
pub(super) fn possible(text: &[u8], set: DetectorSet) -> DetectorSet {
    // Shorter than the shortest match of any detector (`a@b.cd`).
    if set.is_empty() || text.len() < 6 {
        return DetectorSet(0);
    }
    // Below 11 bytes only an email fits (`ddd-dd-dddd` is the next shortest).
    if text.len() < 11 {
        return DetectorSet(if has_at(text) { PiiKind::Email.bit() } else { 0 } & set.0);
    }
    DetectorSet(Needs::of(text).allowed() & set.0)
}

/// Whether `text` (6 to 10 bytes: short field values, codes, SKUs) holds an
/// `@`: two overlapping word loads and a zero-byte test, instead of a
/// `memchr` call per captured string.
#[inline]
fn has_at(text: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const ATS: u64 = 0x4040_4040_4040_4040;
    // `x ^ ATS` has a zero byte exactly where `x` has an `@`; the classic
    // test below is non-zero iff some byte is zero (no false positives).
    let holds_at = |x: u64| (x ^ ATS).wrapping_sub(ONES) & !(x ^ ATS) & HIGHS != 0;
    let n = text.len();
    let u64_at = |i: usize| u64::from_le_bytes(text[i..i + 8].try_into().expect("8 bytes"));
    // Narrower words leave their upper bytes 0, which are not `@`.
    let u32_at = |i: usize| u32::from_le_bytes(text[i..i + 4].try_into().expect("4 bytes")) as u64;
    match n {
        8.. => holds_at(u64_at(0)) || holds_at(u64_at(n - 8)),
        4.. => holds_at(u32_at(0)) || holds_at(u32_at(n - 4)),
        _ => text.contains(&b'@'),
    }
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

#[cfg(test)]
mod tests {
    use super::super::tests::JWT;
    use super::super::{find_pii, scan_all};
    use super::*;
    use proptest::prelude::*;

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

    /// Text made of pieces the detectors look for, so matches are common.
    fn pii_ish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[0-9]{1,19}",
            "[a-zA-Z]{1,8}",
            Just(" ".to_owned()),
            Just("-".to_owned()),
            Just(".".to_owned()),
            Just("@".to_owned()),
            Just("Bearer ".to_owned()),
            Just("eyJ".to_owned()),
            Just("4111 1111 1111 1111".to_owned()),
            Just("123-45-6789".to_owned()),
            Just("GB82WEST12345698765432".to_owned()),
            Just("bob@example.com".to_owned()),
            Just(JWT.to_owned()),
            "[ -~]{0,6}",
            Just("名".to_owned()),
        ];
        prop::collection::vec(piece, 0..8).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// The pre-filter only skips detectors that could not match.
        #[test]
        fn prefilter_never_changes_the_matches(text in pii_ish(), bits in 0u8..64) {
            let set = DetectorSet(bits);
            prop_assert_eq!(find_pii(&text, set), scan_all(&text, set));
        }
    }

    #[test]
    fn has_at_finds_an_at_sign_at_every_place_of_every_short_length() {
        for n in 0..11 {
            assert!(!has_at(&vec![b'x'; n]), "{n} bytes without @");
            // Bytes that differ from `@` by one bit, and bytes above 0x80.
            assert!(!has_at(&vec![b'A'; n]) && !has_at(&vec![0xc0; n]), "{n}");
            for at in 0..n {
                let mut t = vec![b'x'; n];
                t[at] = b'@';
                assert!(has_at(&t), "@ at {at} of {n}");
            }
        }
    }

    #[test]
    fn short_ordinary_strings_skip_every_detector() {
        for text in ["cust-000042", "SKU-0042-3", "hunter2", "abc", "2024-01-02"] {
            let n = Needs::of(text.as_bytes());
            assert!(PiiKind::ALL.iter().all(|k| !n.allows(*k)), "{text}");
        }
    }
}
