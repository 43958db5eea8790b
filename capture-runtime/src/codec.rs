//! File framing and value codecs.
//!
//! Every file in a store starts with a 40-byte header:
//!
//! | bytes | content |
//! |---|---|
//! | 0..4 | magic `CAPT` |
//! | 4..6 | format version, u16 little-endian ([`FORMAT_VERSION`]) |
//! | 6 | codec id: 0 MessagePack (rmp-serde), 1 JSON |
//! | 7 | file kind: 1 object, 2 call record, 3 cache entry, 4 checkpoint |
//! | 8..40 | SHA-256 of the body |
//!
//! followed by the body. Readers check all of it before decoding.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{CaptureError, Result};
use crate::hash::ContentId;

/// Magic bytes at the start of every store file.
pub const MAGIC: &[u8; 4] = b"CAPT";
/// The on-disk format version this build writes and the highest it reads.
pub const FORMAT_VERSION: u16 = 1;
/// Length of the header.
pub const HEADER_LEN: usize = 40;

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
            Codec::MsgPack => rmp_serde::from_slice(bytes).map_err(|e| e.to_string()),
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

/// Frame `body` with a header.
pub fn frame(codec: Codec, kind: FileKind, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(codec.id());
    out.push(kind as u8);
    out.extend_from_slice(&ContentId::of(body).0);
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
    /// The verified hash of the body.
    pub id: ContentId,
}

/// Check a file's header and hash; `path` is only used in errors.
pub fn unframe<'a>(path: &Path, bytes: &'a [u8], want: FileKind) -> Result<Unframed<'a>> {
    let bad = |reason: String| CaptureError::BadFile {
        path: path.to_owned(),
        reason,
    };
    if bytes.len() < HEADER_LEN {
        return Err(bad(format!(
            "{} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    if &bytes[0..4] != MAGIC {
        return Err(bad("wrong magic bytes".into()));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version == 0 || version > FORMAT_VERSION {
        return Err(CaptureError::UnknownVersion {
            path: path.to_owned(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let codec = Codec::from_id(bytes[6]).ok_or_else(|| bad(format!("unknown codec id {}", bytes[6])))?;
    if bytes[7] != want as u8 {
        return Err(bad(format!(
            "file kind {} where {:?} ({}) was expected",
            bytes[7], want, want as u8
        )));
    }
    let body = &bytes[HEADER_LEN..];
    let expected = ContentId(bytes[8..40].try_into().expect("32 bytes"));
    let actual = ContentId::of(body);
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
