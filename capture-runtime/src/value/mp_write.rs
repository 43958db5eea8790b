//! MessagePack primitives written straight into a `Vec<u8>`: the same bytes
//! as `rmp::encode` (smallest encoding of each value, as rmp-serde writes),
//! without its generic writer and error plumbing — the direct encoder calls
//! these once per field, key and scalar, so they must inline to a few stores.
//! The tests below pin every width against rmp itself.

#[inline]
pub(crate) fn nil(out: &mut Vec<u8>) {
    out.push(0xc0);
}

#[inline]
pub(crate) fn bool(out: &mut Vec<u8>, v: bool) {
    out.push(if v { 0xc3 } else { 0xc2 });
}

#[inline(always)]
pub(crate) fn uint(out: &mut Vec<u8>, v: u64) {
    if v < 128 {
        out.push(v as u8);
    } else if v < 256 {
        out.extend_from_slice(&[0xcc, v as u8]);
    } else if v < 65536 {
        out.push(0xcd);
        out.extend_from_slice(&(v as u16).to_be_bytes());
    } else if v < 1 << 32 {
        out.push(0xce);
        out.extend_from_slice(&(v as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// A negative integer (non-negative ones go through [`uint`], as the tree keeps them unsigned).
#[inline]
pub(crate) fn sint(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        uint(out, v as u64);
    } else if v >= -32 {
        out.push(v as i8 as u8);
    } else if v >= -128 {
        out.extend_from_slice(&[0xd0, v as i8 as u8]);
    } else if v >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(v as i16).to_be_bytes());
    } else if v >= -(1 << 31) {
        out.push(0xd2);
        out.extend_from_slice(&(v as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

#[inline]
pub(crate) fn f32(out: &mut Vec<u8>, v: f32) {
    out.push(0xca);
    out.extend_from_slice(&v.to_be_bytes());
}

#[inline]
pub(crate) fn f64(out: &mut Vec<u8>, v: f64) {
    out.push(0xcb);
    out.extend_from_slice(&v.to_be_bytes());
}

/// A string: short ones (field names, most values) inline, a few stores;
/// longer ones out of line.
#[inline(always)]
pub(crate) fn str(out: &mut Vec<u8>, s: &str) {
    let len = s.len();
    if len < 32 {
        // The common case (field names, short values): one reservation,
        // one marker byte, one copy.
        out.reserve(1 + len);
        let at = out.len();
        // SAFETY: `reserve` made room for `1 + len` bytes after `at`; both
        // writes stay inside it and initialise every byte before `set_len`.
        unsafe {
            let p = out.as_mut_ptr().add(at);
            p.write(0xa0 | len as u8);
            copy_short(s.as_ptr(), p.add(1), len);
            out.set_len(at + 1 + len);
        }
        return;
    }
    str_long(out, s);
}

#[inline(never)]
fn str_long(out: &mut Vec<u8>, s: &str) {
    let len = s.len();
    if len < 256 {
        out.reserve(2 + len);
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len < 65536 {
        out.reserve(3 + len);
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.reserve(5 + len);
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
}

/// Copy `len` (< 32) bytes from `src` to `dst` with at most two loads and
/// two stores of one width (overlapping in the middle), instead of a call to
/// `memcpy`: field names and short strings are most of what a capture
/// writes, and for them the call costs more than the copy.
///
/// # Safety
/// `src` must be valid for reading and `dst` for writing `len` bytes, and
/// the two ranges must not overlap.
#[inline(always)]
unsafe fn copy_short(src: *const u8, dst: *mut u8, len: usize) {
    use std::ptr::{read_unaligned as rd, write_unaligned as wr};
    debug_assert!(len < 32);
    // SAFETY (all arms): every access is inside `[0, len)` of its buffer:
    // the first chunk starts at 0, the second ends at `len`, each `w <= len`.
    unsafe {
        if len >= 16 {
            let (a, b) = (rd(src as *const u128), rd(src.add(len - 16) as *const u128));
            wr(dst as *mut u128, a);
            wr(dst.add(len - 16) as *mut u128, b);
        } else if len >= 8 {
            let (a, b) = (rd(src as *const u64), rd(src.add(len - 8) as *const u64));
            wr(dst as *mut u64, a);
            wr(dst.add(len - 8) as *mut u64, b);
        } else if len >= 4 {
            let (a, b) = (rd(src as *const u32), rd(src.add(len - 4) as *const u32));
            wr(dst as *mut u32, a);
            wr(dst.add(len - 4) as *mut u32, b);
        } else if len > 0 {
            let (a, m, b) = (*src, *src.add(len / 2), *src.add(len - 1));
            *dst = a;
            *dst.add(len / 2) = m;
            *dst.add(len - 1) = b;
        }
    }
}

#[inline]
pub(crate) fn bin(out: &mut Vec<u8>, b: &[u8]) {
    let len = b.len();
    if len < 256 {
        out.extend_from_slice(&[0xc4, len as u8]);
    } else if len < 65536 {
        out.push(0xc5);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xc6);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(b);
}

/// An array (`map == false`) or map header for `count` elements or entries.
#[inline]
pub(crate) fn header(out: &mut Vec<u8>, count: usize, map: bool) {
    let (fix, c16, c32) = if map { (0x80, 0xde, 0xdf) } else { (0x90, 0xdc, 0xdd) };
    if count < 16 {
        out.push(fix | count as u8);
    } else if count < 65536 {
        out.push(c16);
        out.extend_from_slice(&(count as u16).to_be_bytes());
    } else {
        out.push(c32);
        out.extend_from_slice(&(count as u32).to_be_bytes());
    }
}

/// Bytes of a header written by [`header`] for `count`.
#[inline]
pub(crate) fn header_len(count: usize) -> usize {
    match count {
        0..=15 => 1,
        16..=0xffff => 3,
        _ => 5,
    }
}

#[cfg(test)]
mod tests {
    use rmp::encode as mp;

    fn ours(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut v = Vec::new();
        f(&mut v);
        v
    }

    fn theirs(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut v = Vec::new();
        f(&mut v);
        v
    }

    #[test]
    fn integers_match_rmp_at_every_width() {
        let edges: &[u64] = &[0, 1, 127, 128, 255, 256, 65535, 65536, (1 << 32) - 1, 1 << 32, u64::MAX];
        for &u in edges {
            assert_eq!(
                ours(|o| super::uint(o, u)),
                theirs(|o| drop(mp::write_uint(o, u))),
                "{u}"
            );
        }
        let negatives: &[i64] = &[
            -1,
            -32,
            -33,
            -128,
            -129,
            -32768,
            -32769,
            -(1 << 31),
            -(1 << 31) - 1,
            i64::MIN,
        ];
        for &i in negatives {
            assert_eq!(
                ours(|o| super::sint(o, i)),
                theirs(|o| drop(mp::write_sint(o, i))),
                "{i}"
            );
        }
    }

    #[test]
    fn strings_binaries_and_headers_match_rmp() {
        for len in [0usize, 1, 31, 32, 255, 256, 65535, 65536] {
            let s = "x".repeat(len);
            assert_eq!(
                ours(|o| super::str(o, &s)),
                theirs(|o| drop(mp::write_str(o, &s))),
                "str {len}"
            );
            let b = vec![7u8; len];
            assert_eq!(
                ours(|o| super::bin(o, &b)),
                theirs(|o| drop(mp::write_bin(o, &b))),
                "bin {len}"
            );
        }
        for n in [0usize, 15, 16, 65535, 65536] {
            assert_eq!(
                ours(|o| super::header(o, n, true)),
                theirs(|o| drop(mp::write_map_len(o, n as u32))),
                "map {n}"
            );
            assert_eq!(
                ours(|o| super::header(o, n, false)),
                theirs(|o| drop(mp::write_array_len(o, n as u32))),
                "array {n}"
            );
            assert_eq!(super::header_len(n), ours(|o| super::header(o, n, true)).len());
        }
    }

    #[test]
    fn short_strings_copy_every_byte_at_every_length() {
        // Distinct bytes, so a chunk copied to the wrong place shows.
        let text: String = ('a'..='z').chain('A'..='Z').collect();
        for len in 0..40 {
            let s = &text[..len];
            let mut out = vec![0xee; 3];
            super::str(&mut out, s);
            assert_eq!(out[..3], [0xee; 3], "len {len}: bytes before were touched");
            assert_eq!(out[3..], theirs(|o| drop(mp::write_str(o, s)))[..], "str {len}");
        }
    }

    #[test]
    fn scalars_match_rmp() {
        assert_eq!(ours(super::nil), theirs(|o| drop(mp::write_nil(o))));
        for b in [true, false] {
            assert_eq!(ours(|o| super::bool(o, b)), theirs(|o| drop(mp::write_bool(o, b))));
        }
        assert_eq!(ours(|o| super::f32(o, 1.5)), theirs(|o| drop(mp::write_f32(o, 1.5))));
        assert_eq!(
            ours(|o| super::f64(o, -2.25)),
            theirs(|o| drop(mp::write_f64(o, -2.25)))
        );
    }
}
