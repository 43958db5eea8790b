//! Key layout inside a store. No key component ever comes from unchecked input:
//! function ids are split on `::` and each segment is escaped.

use crate::hash::ContentId;

/// Folder of content-addressed objects.
pub const OBJECTS: &str = "objects";
/// Folder of accepted captures: one call record file each, committed with the code.
pub const CALLS: &str = "calls";
/// Folder of pending captures: per-process segments of framed entries.
pub const PENDING: &str = "pending";
/// Folder of temp files (writes in progress, files gc moved aside).
pub const TMP: &str = "tmp";
/// File holding the number [`crate::store::Store::gc`] raises as it starts
/// (see [`crate::store::Backend::gc_epoch`]).
pub const GC_EPOCH: &str = "gc-epoch";
/// Extension of call record files.
pub const CALL_EXT: &str = ".call";

/// `objects/ab/cd/<remaining 60 hex chars>`.
///
/// ```
/// use capture_runtime::{store::layout::object_key, ContentId};
/// let k = object_key(&ContentId::of(b"abc"));
/// assert!(k.starts_with("objects/ba/78/16bf"));
/// ```
pub fn object_key(id: &ContentId) -> String {
    let hex = id.to_hex();
    format!("{OBJECTS}/{}/{}/{}", &hex[0..2], &hex[2..4], &hex[4..])
}

/// Escape one path segment: keep `[A-Za-z0-9_-]`, `%XX`-escape the rest;
/// empty, `.` and `..` can never result.
///
/// ```
/// use capture_runtime::store::layout::escape_segment;
/// assert_eq!(escape_segment("price"), "price");
/// assert_eq!(escape_segment(".."), "%2E%2E");
/// assert_eq!(escape_segment("a/b"), "a%2Fb");
/// ```
pub fn escape_segment(s: &str) -> String {
    if s.is_empty() {
        return "%".to_string() + "00";
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reverse of [`escape_segment`] (lossy on invalid escapes).
pub fn unescape_segment(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                if b != 0 {
                    out.push(b);
                }
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The segments of a function id: split at each `::` outside angle
/// brackets, so `shop::<Cart as Convert<a::B>>::run` has three.
///
/// ```
/// use capture_runtime::store::layout::id_segments;
/// assert_eq!(id_segments("shop::checkout::price"), ["shop", "checkout", "price"]);
/// assert_eq!(
///     id_segments("shop::<Cart as Convert<a::B>>::run"),
///     ["shop", "<Cart as Convert<a::B>>", "run"]
/// );
/// ```
pub fn id_segments(function: &str) -> Vec<&str> {
    let bytes = function.as_bytes();
    let (mut depth, mut start, mut i) = (0usize, 0usize, 0usize);
    let mut out = Vec::new();
    while i < bytes.len() {
        match bytes[i] {
            b'<' => depth += 1,
            // `->` inside `Fn(A) -> B` is no closing bracket.
            b'>' if i == 0 || bytes[i - 1] != b'-' => depth = depth.saturating_sub(1),
            b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                out.push(&function[start..i]);
                i += 2;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&function[start..]);
    out
}

/// `calls/<crate>/<module>/.../<fn>` for a function id `crate::module::fn`;
/// a trait method's `<Type as Trait>` is one (escaped) folder.
///
/// ```
/// use capture_runtime::store::layout::function_dir;
/// assert_eq!(function_dir("shop::checkout::price"), "calls/shop/checkout/price");
/// assert_eq!(
///     function_dir("shop::<Cart as Pricing>::total"),
///     "calls/shop/%3CCart%20as%20Pricing%3E/total"
/// );
/// ```
pub fn function_dir(function: &str) -> String {
    function_dir_in(CALLS, function)
}

/// `pending/<crate>/<module>/.../<fn>`: where the pending captures of a
/// function are (see [`function_dir`]).
///
/// ```
/// use capture_runtime::store::layout::pending_dir;
/// assert_eq!(pending_dir("shop::checkout::price"), "pending/shop/checkout/price");
/// ```
pub fn pending_dir(function: &str) -> String {
    function_dir_in(PENDING, function)
}

fn function_dir_in(root: &str, function: &str) -> String {
    let mut key = String::from(root);
    for seg in id_segments(function) {
        key.push('/');
        key.push_str(&escape_segment(seg));
    }
    key
}
