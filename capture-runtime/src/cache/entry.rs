//! Cache keys and the on-disk form of a cache entry.
//!
//! An entry lives at `cache/<crate>/<module>/<fn>/<64 hex of the key>.entry`
//! and is one framed file (kind 3, see [`crate::codec`]) whose body is
//!
//! | bytes | content |
//! |---|---|
//! | 0..4 | length `n` of the metadata, u32 little-endian |
//! | 4..4+n | [`EntryMeta`], encoded with the file's codec |
//! | 4+n.. | the result, encoded with the file's codec by its own `Serialize` |
//!
//! The result is stored inline (not as a shared object), so evicting an entry
//! frees its bytes at once and the size limits count real bytes. It is
//! stored as the function returned it, without redaction (a hit must return
//! it whole). The arguments are not stored at all: the file name is a
//! SHA-256 salted with the store's secret (see [`super::salt`]), and the
//! metadata keeps only their names.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec::{frame, unframe, Codec, FileKind};
use crate::error::{CaptureError, Result};
use crate::hash::ContentId;
use crate::store::layout::escape_segment;

/// Folder of cache entries.
pub const CACHE: &str = "cache";
/// Extension of cache entry files.
pub const ENTRY_EXT: &str = ".entry";
/// Version of the key derivation; bumping it invalidates every entry.
const KEY_VERSION: &[u8] = b"capture-cache-key/2";

/// What an entry says about itself (for type checks, TTL and inspection).
/// It never holds argument values nor their hashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryMeta {
    /// Function id.
    pub function: String,
    /// `std::any::type_name` of the stored result.
    pub type_name: String,
    /// When the entry was written, nanoseconds since the Unix epoch.
    pub created_nanos: u64,
    /// Version of the crate that wrote it.
    pub crate_version: String,
    /// Names of the arguments in the key (values and hashes are not kept).
    #[serde(default)]
    pub arg_names: Vec<String>,
    /// Schema fingerprint of the result type when it was written (see
    /// [`crate::replay::schema::schema_of`]; `None` without the `schema`
    /// feature or for types that cannot be traced). A different fingerprint
    /// now means the type's definition changed: the entry is a miss.
    #[serde(default)]
    pub schema: Option<String>,
    /// The function's own `cache_ttl` in seconds, if it has one (the
    /// store-wide TTL sweep leaves such entries to their function's TTL).
    #[serde(default)]
    pub ttl_secs: Option<u64>,
}

/// `cache/<crate>/<module>/.../<fn>` for a function id.
///
/// ```
/// use capture_runtime::cache::cache_dir;
/// assert_eq!(cache_dir("shop::checkout::price"), "cache/shop/checkout/price");
/// ```
pub fn cache_dir(function: &str) -> String {
    let mut key = String::from(CACHE);
    for seg in crate::store::layout::id_segments(function) {
        key.push('/');
        key.push_str(&escape_segment(seg));
    }
    key
}

/// The store key of an entry.
pub(crate) fn entry_key(function: &str, key: &ContentId) -> String {
    format!("{}/{}{ENTRY_EXT}", cache_dir(function), key.to_hex())
}

/// Builds a cache key: SHA-256 over the store's secret salt, the key
/// version, the function id, the compile-time hash of the function's tokens,
/// the crate version, the result type and each hashed argument's name, type
/// and content id, all length-prefixed (so generic instantiations never
/// share entries). Without the salt, a key cannot be checked against guessed
/// arguments.
pub(crate) struct KeyBuilder {
    hasher: Sha256,
    pub(crate) names: Vec<&'static str>,
}

impl KeyBuilder {
    pub(crate) fn new(
        salt: &[u8; 32],
        function: &str,
        fn_hash: &str,
        crate_version: &str,
        ret_type: &str,
    ) -> KeyBuilder {
        let mut b = KeyBuilder {
            hasher: Sha256::new(),
            names: Vec::new(),
        };
        let parts = [
            salt.as_slice(),
            KEY_VERSION,
            function.as_bytes(),
            fn_hash.as_bytes(),
            crate_version.as_bytes(),
            ret_type.as_bytes(),
        ];
        for part in parts {
            b.part(part);
        }
        b
    }

    fn part(&mut self, bytes: &[u8]) {
        self.hasher.update((bytes.len() as u64).to_le_bytes());
        self.hasher.update(bytes);
    }

    /// Add an argument by the content id of its encoding.
    pub(crate) fn arg(&mut self, name: &'static str, type_name: &str, id: ContentId) {
        self.part(name.as_bytes());
        self.part(type_name.as_bytes());
        self.part(&id.0);
        self.names.push(name);
    }

    pub(crate) fn finish(self) -> (ContentId, Vec<&'static str>) {
        (ContentId(self.hasher.finalize().into()), self.names)
    }
}

/// Frame an entry.
pub(crate) fn encode_entry<T: Serialize + ?Sized>(
    codec: Codec,
    meta: &EntryMeta,
    value: &T,
) -> std::result::Result<Vec<u8>, String> {
    let mut body = vec![0u8; 4];
    codec.encode_into(meta, &mut body)?;
    let n = u32::try_from(body.len() - 4).map_err(|_| "entry metadata too large".to_string())?;
    body[0..4].copy_from_slice(&n.to_le_bytes());
    codec.encode_into(value, &mut body)?;
    Ok(frame(codec, FileKind::Cache, &body))
}

/// A checked entry: codec, metadata and the encoded result.
#[derive(Debug)]
pub(crate) struct DecodedEntry<'a> {
    pub codec: Codec,
    pub meta: EntryMeta,
    pub value: &'a [u8],
}

/// Check an entry's frame and split it; `path` is for messages.
pub(crate) fn decode_entry<'a>(path: &std::path::Path, bytes: &'a [u8]) -> Result<DecodedEntry<'a>> {
    let un = unframe(path, bytes, FileKind::Cache)?;
    let bad = |reason: String| CaptureError::BadFile {
        path: path.to_owned(),
        reason,
    };
    let body = un.body;
    if body.len() < 4 {
        return Err(bad("cache entry shorter than its metadata length".into()));
    }
    let n = u32::from_le_bytes(body[0..4].try_into().expect("4 bytes")) as usize;
    let meta_bytes = body
        .get(4..4 + n)
        .ok_or_else(|| bad("cache entry metadata length past the end".into()))?;
    let meta: EntryMeta = un
        .codec
        .decode(meta_bytes)
        .map_err(|e| bad(format!("undecodable cache entry metadata: {e}")))?;
    Ok(DecodedEntry {
        codec: un.codec,
        meta,
        value: &body[4 + n..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_round_trip_and_key_sensitivity() {
        let meta = EntryMeta {
            function: "a::f".into(),
            type_name: "u32".into(),
            created_nanos: 5,
            crate_version: "1.0.0".into(),
            arg_names: vec!["x".into()],
            schema: Some("0123456789abcdef".into()),
            ttl_secs: Some(60),
        };
        for codec in [Codec::MsgPack, Codec::Json] {
            let bytes = encode_entry(codec, &meta, &42u32).unwrap();
            let d = decode_entry(std::path::Path::new("e"), &bytes).unwrap();
            assert_eq!(d.meta, meta);
            assert_eq!(d.codec.decode::<u32>(d.value).unwrap(), 42);
        }
        let salt = [1u8; 32];
        let key = |salt: &[u8; 32], f: &str, h: &str, v: &str, arg: &[u8]| {
            let mut b = KeyBuilder::new(salt, f, h, v, "u32");
            b.arg("x", "u8", ContentId::of(arg));
            b.finish().0
        };
        let base = key(&salt, "a::f", "h1", "1.0.0", b"1");
        assert_eq!(base, key(&salt, "a::f", "h1", "1.0.0", b"1"));
        assert_ne!(
            base,
            key(&[2u8; 32], "a::f", "h1", "1.0.0", b"1"),
            "another store, another key"
        );
        assert_ne!(base, key(&salt, "a::g", "h1", "1.0.0", b"1"));
        assert_ne!(base, key(&salt, "a::f", "h2", "1.0.0", b"1"));
        assert_ne!(base, key(&salt, "a::f", "h1", "1.0.1", b"1"));
        assert_ne!(base, key(&salt, "a::f", "h1", "1.0.0", b"2"));
        // Length prefixes: moving bytes between parts changes the key.
        assert_ne!(
            key(&salt, "a::f", "h1", "1.0.0", b"1"),
            key(&salt, "a::f", "h", "11.0.0", b"1")
        );
    }
}
