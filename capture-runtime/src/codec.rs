//! File framing and value codecs.
//!
//! Every file in a store starts with a 48-byte header:
//!
//! | bytes | content |
//! |---|---|
//! | 0..4 | magic `CAPT` |
//! | 4..6 | format version, u16 little-endian ([`FORMAT_VERSION`]) |
//! | 6 | codec id: 0 MessagePack (rmp-serde), 1 JSON |
//! | 7 | file kind: 1 object, 2 call record, 3 cache entry, 4 checkpoint |
//! | 8..16 | length of the body in bytes, u64 little-endian |
//! | 16..48 | SHA-256 of bytes 0..16 followed by the body ([`digest`]) |
//!
//! followed by the body and nothing else. The hash covers every byte a
//! reader interprets: flipping the codec, the kind, the version or the length
//! is caught exactly like flipping a byte of the body. An object's content
//! id *is* this hash, so its name checks its header too. Readers check all
//! of it before decoding, and decoders reject trailing bytes.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{CaptureError, Result};
use crate::hash::ContentId;

/// Magic bytes at the start of every store file.
pub const MAGIC: &[u8; 4] = b"CAPT";
/// The on-disk format version this build writes and the only one it reads.
///
/// Version 1 (until 0.1) hashed the body alone, so a flipped codec byte went
/// unnoticed; its files are refused with a message that says to re-record.
pub const FORMAT_VERSION: u16 = 2;
/// Length of the header.
pub const HEADER_LEN: usize = 48;
/// How deeply nested a MessagePack value may be when it is decoded: deeper
/// input is an error, never a stack overflow, even in a debug build on a
/// 2 MiB thread. (JSON keeps serde_json's own limit of 128.)
pub const MAX_DECODE_DEPTH: usize = 512;
/// Length of the part of the header the hash covers (magic to body length).
const PREFIX_LEN: usize = 16;

/// How values are encoded in a store.
///
/// ```
/// use capture_runtime::Codec;
/// assert_eq!("json".parse::<Codec>().unwrap(), Codec::Json);
/// assert_eq!(Codec::default(), Codec::MsgPack);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Codec {
    /// MessagePack by rmp-serde, structs as maps of field names. The default.
    #[default]
    MsgPack,
    /// JSON by serde_json (feature `json`), for stores humans read.
    Json,
}

impl Codec {
    /// The id stored in headers.
    pub fn id(self) -> u8 {
        match self {
            Codec::MsgPack => 0,
            Codec::Json => 1,
        }
    }

    /// The codec for a header id.
    pub fn from_id(id: u8) -> Option<Codec> {
        match id {
            0 => Some(Codec::MsgPack),
            1 => Some(Codec::Json),
            _ => None,
        }
    }

    /// Encode `value`.
    pub fn encode<T: Serialize + ?Sized>(self, value: &T) -> std::result::Result<Vec<u8>, String> {
        let mut buf = Vec::new();
        self.encode_into(value, &mut buf)?;
        Ok(buf)
    }

    /// Encode `value`, appending to `buf` (reused buffers on the hot path).
    pub fn encode_into<T: Serialize + ?Sized>(self, value: &T, buf: &mut Vec<u8>) -> std::result::Result<(), String> {
        match self {
            Codec::MsgPack => value
                .serialize(&mut rmp_serde::Serializer::new(&mut *buf).with_struct_map())
                .map_err(|e| e.to_string()),
            #[cfg(feature = "json")]
            Codec::Json => serde_json::to_writer(&mut *buf, value).map_err(|e| e.to_string()),
            #[cfg(not(feature = "json"))]
            Codec::Json => Err("the JSON codec needs capture-runtime's `json` feature".into()),
        }
    }

    /// Decode a `T` from `bytes`.
    pub fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> std::result::Result<T, String> {
        match self {
            Codec::MsgPack => {
                let mut de = rmp_serde::Deserializer::new(std::io::Cursor::new(bytes));
                de.set_max_depth(MAX_DECODE_DEPTH);
                let value = T::deserialize(&mut de).map_err(|e| e.to_string())?;
                // rmp-serde stops after one value; whatever follows is not
                // part of it, and silently ignoring it would hide damage.
                let rest = bytes.len() as u64 - de.position().min(bytes.len() as u64);
                if rest != 0 {
                    return Err(format!(
                        "{rest} trailing byte(s) after the encoded value: the bytes are damaged or not one value"
                    ));
                }
                Ok(value)
            }
            #[cfg(feature = "json")]
            Codec::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
            #[cfg(not(feature = "json"))]
            Codec::Json => Err("the JSON codec needs capture-runtime's `json` feature".into()),
        }
    }
}

impl std::str::FromStr for Codec {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "msgpack" | "messagepack" | "rmp" => Ok(Codec::MsgPack),
            "json" => Ok(Codec::Json),
            _ => Err("expected `msgpack` or `json`".into()),
        }
    }
}

/// What a store file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FileKind {
    /// An encoded value (content-addressed).
    Object = 1,
    /// A call record.
    Call = 2,
    /// A memoized result.
    Cache = 3,
    /// A named checkpoint.
    Checkpoint = 4,
}

fn prefix(codec: Codec, kind: FileKind, version: u16, len: u64) -> [u8; PREFIX_LEN] {
    let mut p = [0u8; PREFIX_LEN];
    p[0..4].copy_from_slice(MAGIC);
    p[4..6].copy_from_slice(&version.to_le_bytes());
    p[6] = codec.id();
    p[7] = kind as u8;
    p[8..16].copy_from_slice(&len.to_le_bytes());
    p
}

/// The hash in the header of a `kind` file holding `body` in `codec`: SHA-256
/// of the header's first 16 bytes (magic, version, codec, kind, length)
/// followed by the body. For objects this is the content id.
///
/// ```
/// use capture_runtime::codec::{digest, frame, Codec, FileKind};
/// let id = digest(Codec::MsgPack, FileKind::Object, b"\x2a");
/// assert_eq!(&frame(Codec::MsgPack, FileKind::Object, b"\x2a")[16..48], &id.0);
/// assert_ne!(id, digest(Codec::Json, FileKind::Object, b"\x2a"), "the codec is hashed");
/// ```
pub fn digest(codec: Codec, kind: FileKind, body: &[u8]) -> ContentId {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(prefix(codec, kind, FORMAT_VERSION, body.len() as u64));
    h.update(body);
    ContentId(h.finalize().into())
}

/// The content id of an object holding `body` in `codec` (its [`digest`]).
pub fn object_id(codec: Codec, body: &[u8]) -> ContentId {
    digest(codec, FileKind::Object, body)
}

/// Frame `body` with a header.
pub fn frame(codec: Codec, kind: FileKind, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&prefix(codec, kind, FORMAT_VERSION, body.len() as u64));
    out.extend_from_slice(&digest(codec, kind, body).0);
    out.extend_from_slice(body);
    out
}

/// A checked file: its codec and its body.
#[derive(Debug)]
pub struct Unframed<'a> {
    /// The codec of the body.
    pub codec: Codec,
    /// The body, whose hash was verified.
    pub body: &'a [u8],
    /// The verified hash of the file (for objects: their content id).
    pub id: ContentId,
}

/// Check a file's header and hash; `path` is only used in errors.
///
/// Everything is checked before anything is trusted: the magic, the version,
/// the codec, the kind, the stated body length against the bytes there are
/// (no more, no fewer), and the hash over all of it.
pub fn unframe<'a>(path: &Path, bytes: &'a [u8], want: FileKind) -> Result<Unframed<'a>> {
    let bad = |reason: String| CaptureError::BadFile {
        path: path.to_owned(),
        reason,
    };
    if bytes.len() < 6 || &bytes[0..4] != MAGIC {
        return Err(bad(if bytes.len() < 4 {
            format!("{} bytes, shorter than the {HEADER_LEN}-byte header", bytes.len())
        } else {
            "wrong magic bytes".into()
        }));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version == 1 {
        return Err(bad(
            "format version 1, whose header hash did not cover the codec; this build reads version 2 only: delete the store folder and re-record".into(),
        ));
    }
    if version != FORMAT_VERSION {
        return Err(CaptureError::UnknownVersion {
            path: path.to_owned(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if bytes.len() < HEADER_LEN {
        return Err(bad(format!(
            "{} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    let codec = Codec::from_id(bytes[6]).ok_or_else(|| bad(format!("unknown codec id {}", bytes[6])))?;
    if bytes[7] != want as u8 {
        return Err(bad(format!(
            "file kind {} where {:?} ({}) was expected",
            bytes[7], want, want as u8
        )));
    }
    let stated = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let body = &bytes[HEADER_LEN..];
    if stated != body.len() as u64 {
        return Err(bad(format!(
            "the header states a {stated}-byte body but {} byte(s) follow it (truncated or appended to)",
            body.len()
        )));
    }
    let expected = ContentId(bytes[16..48].try_into().expect("32 bytes"));
    let actual = digest(codec, want, body);
    if expected != actual {
        return Err(CaptureError::Corrupted {
            path: path.to_owned(),
            expected: expected.to_hex(),
            actual: actual.to_hex(),
        });
    }
    Ok(Unframed {
        codec,
        body,
        id: actual,
    })
}

/// The total file length a frame of a `body_len`-byte body has.
pub fn framed_len(body_len: u64) -> u64 {
    body_len.saturating_add(HEADER_LEN as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes: &[u8]) -> Result<Unframed<'_>> {
        unframe(Path::new("f"), bytes, FileKind::Object)
    }

    #[test]
    fn every_header_byte_and_every_body_byte_is_checked() {
        let good = frame(Codec::MsgPack, FileKind::Object, b"\x92\x01\x02");
        assert!(check(&good).is_ok());
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[i] ^= 1 << bit;
                assert!(check(&bad).is_err(), "flip of bit {bit} of byte {i} went unnoticed");
            }
        }
        for n in 0..good.len() {
            assert!(check(&good[..n]).is_err(), "truncated to {n} bytes");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(check(&longer).is_err(), "appended byte");
    }

    #[test]
    fn a_json_object_relabelled_as_msgpack_is_refused() {
        // The case a body-only hash missed: `57` in JSON read as MessagePack
        // is the fixint 53 followed by a byte that was ignored.
        let mut bytes = frame(Codec::Json, FileKind::Object, b"57");
        bytes[6] = Codec::MsgPack.id();
        assert!(matches!(check(&bytes), Err(CaptureError::Corrupted { .. })));
        assert!(
            Codec::MsgPack.decode::<u64>(b"57").is_err(),
            "trailing byte is an error"
        );
        assert_eq!(Codec::MsgPack.decode::<u64>(b"\x35").unwrap(), 53);
    }

    #[test]
    fn version_one_files_say_to_re_record() {
        let mut bytes = frame(Codec::MsgPack, FileKind::Object, b"\x01");
        bytes[4..6].copy_from_slice(&1u16.to_le_bytes());
        let err = check(&bytes).unwrap_err().to_string();
        assert!(err.contains("re-record"), "{err}");
    }
}
