//! Content ids: SHA-256 of a value's canonical encoding, and the hash
//! strategies for large values (exact streaming, sampled).
//!
//! Where a strategy is chosen: per argument with
//! `#[capture_args(hash(arg = sampled))]` / `cache_hash(arg = sampled)`, and
//! per field of a `#[derive(Reducible)]` type with `#[reduce(hash = sampled)]`,
//! which makes memoization keys take the field's [`sampled_hash`] (captures
//! still store the field in full; see the guide's reducible chapter for the
//! collision trade-off):
//!
//! ```
//! use capture_runtime::{capture_args, Reducible};
//!
//! #[derive(Reducible)]
//! struct Scan {
//!     id: u32,
//!     #[reduce(hash = sampled)]
//!     voxels: Vec<u16>,
//! }
//!
//! #[capture_args(cache)]
//! fn brightest(scan: &Scan) -> u16 {
//!     scan.voxels.iter().copied().max().unwrap_or(0)
//! }
//! # let dir = tempfile::tempdir().unwrap();
//! # capture_runtime::configure(capture_runtime::Config {
//! #     dir: Some(dir.path().into()), enabled: Some(true), ..Default::default()
//! # });
//! assert_eq!(brightest(&Scan { id: 1, voxels: vec![7; 1 << 16] }), 7);
//! ```

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// A SHA-256 content id.
///
/// ```
/// use capture_runtime::ContentId;
/// let id = ContentId::of(b"abc");
/// assert_eq!(id.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// assert_eq!(id.to_hex().parse::<ContentId>().unwrap(), id);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentId(pub [u8; 32]);

impl ContentId {
    /// Hash `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        ContentId(Sha256::digest(bytes).into())
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(HEX[(b >> 4) as usize] as char);
            s.push(HEX[(b & 15) as usize] as char);
        }
        s
    }

    /// The first `n` hex characters (for short test names).
    pub fn short(&self, n: usize) -> String {
        let mut h = self.to_hex();
        h.truncate(n.min(64));
        h
    }
}

impl fmt::Debug for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentId({})", self.to_hex())
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The text was not 64 hex characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a sha256 content id (64 hex characters): {0:?}")]
pub struct BadContentId(pub String);

impl FromStr for ContentId {
    type Err = BadContentId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 {
            return Err(BadContentId(s.to_owned()));
        }
        let mut out = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hex = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            };
            match (hex(chunk[0]), hex(chunk[1])) {
                (Some(h), Some(l)) => out[i] = (h << 4) | l,
                _ => return Err(BadContentId(s.to_owned())),
            }
        }
        Ok(ContentId(out))
    }
}

impl serde::Serialize for ContentId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for ContentId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

mod strategy;

#[cfg(feature = "ndarray")]
mod ndarray_buffer;
pub use strategy::{
    exact_hash, hash_serialized, sampled_hash, HashStrategy, NumericBuffer, NumericElement, StreamingHasher,
};
