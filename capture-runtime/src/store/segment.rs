//! Pending-capture segments: append-only files of framed entries.
//!
//! A segment holds the pending captures one process recorded for one
//! function (`pending/<crate>/<module>/<fn>/<nanos>-<pid>-<nonce>.seg`). It
//! starts with an 8-byte header (magic `CAPS`, format version, codec id) and
//! continues with entries, each framed as
//!
//! ```text
//! u32 LE  body length
//! u32 LE  CRC-32 of the body
//! body    the codec's encoding of an [`Entry`]: the call record and the
//!         small objects it refers to, inline
//! ```
//!
//! Appending is one `write` of whole entries, so a reader sees a prefix of
//! what was written. A tail that stops inside an entry (the process was
//! killed mid-write, or is writing now) is ignored: [`parse`] returns the
//! complete entries before it. An entry whose bytes are all there but whose
//! checksum, encoding or inline objects do not verify is an error naming
//! the entry; entries after it are not trusted either (their framing may be
//! off) and are not returned.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::codec::{object_id, Codec};
use crate::error::{CaptureError, Result};
use crate::hash::ContentId;
use crate::record::CallRecord;

/// First four bytes of every segment.
pub const MAGIC: &[u8; 4] = b"CAPS";
/// Segment format version.
pub const VERSION: u16 = 1;
/// Bytes of the segment header.
pub const HEADER_LEN: usize = 8;
/// Bytes framing each entry (length and checksum).
pub const FRAME_LEN: usize = 8;
/// Extension of segment files.
pub const SEG_EXT: &str = ".seg";
/// Largest entry a reader accepts: a record plus its inline objects.
pub const MAX_ENTRY_LEN: u32 = 96 << 20;
/// Objects up to this size are kept inline in the entry that refers to
/// them; larger ones are written to `objects/` and shared between entries.
pub const INLINE_MAX: usize = 64 << 10;

/// One pending capture as stored in a segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The call record; its `Slot::Stored` ids name objects inline here or in `objects/`.
    pub record: CallRecord,
    /// Objects kept inline: (content id, encoded body).
    #[serde(default)]
    pub objects: Vec<InlineObject>,
}

/// An object kept inline in an [`Entry`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineObject {
    /// Its content id ([`object_id`] of `body` in the segment's codec).
    pub id: ContentId,
    /// The encoded value.
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
}

/// An [`Entry`] borrowed from where its parts are: encodes to the same
/// bytes, without copying the record or the objects (the writer's path).
#[derive(Serialize)]
pub struct EntryRef<'a> {
    /// The call record.
    pub record: &'a CallRecord,
    /// Objects kept inline.
    pub objects: Vec<InlineRef<'a>>,
}

/// An [`InlineObject`] borrowed.
#[derive(Serialize)]
pub struct InlineRef<'a> {
    /// Its content id.
    pub id: ContentId,
    /// The encoded value.
    #[serde(with = "serde_bytes")]
    pub body: &'a [u8],
}

impl Entry {
    /// This entry, borrowed.
    pub fn as_ref(&self) -> EntryRef<'_> {
        EntryRef {
            record: &self.record,
            objects: self
                .objects
                .iter()
                .map(|o| InlineRef {
                    id: o.id,
                    body: &o.body,
                })
                .collect(),
        }
    }
}

/// The header of a new segment written in `codec`.
pub fn header(codec: Codec) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(MAGIC);
    h[4..6].copy_from_slice(&VERSION.to_le_bytes());
    h[6] = codec.id();
    h
}

/// Append the framed encoding of `entry` (an [`Entry`] or an [`EntryRef`])
/// to `out`.
///
/// ```
/// use capture_runtime::codec::Codec;
/// use capture_runtime::store::segment::{encode_entry, header, parse, Entry};
/// # use capture_runtime::record::*;
/// # let record = CallRecord { function: "shop::price".into(), crate_name: "shop".into(),
/// #     crate_version: "0.1.0".into(), format_version: 2, unix_nanos: 1, pid: 1, seq: 0,
/// #     thread_name: None, thread_id: 1, depth: 0, args: vec![], ret: None, after: vec![],
/// #     outcome: Outcome::Returned };
/// let mut seg = header(Codec::MsgPack).to_vec();
/// encode_entry(Codec::MsgPack, &Entry { record, objects: vec![] }, &mut seg).unwrap();
/// let whole = seg.len();
/// seg.extend_from_slice(&[7, 0, 0]); // a torn tail
/// let parsed = parse(std::path::Path::new("x.seg"), &seg).unwrap();
/// assert_eq!(parsed.entries.len(), 1);
/// assert_eq!(parsed.torn_tail, seg.len() - whole);
/// ```
pub fn encode_entry(codec: Codec, entry: &impl Serialize, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_LEN]);
    codec
        .encode_into(entry, out)
        .map_err(|message| CaptureError::Encode {
            what: "pending capture".into(),
            message,
        })
        .inspect_err(|_| out.truncate(start))?;
    let len = out.len() - start - FRAME_LEN;
    if len > MAX_ENTRY_LEN as usize {
        out.truncate(start);
        return Err(CaptureError::Encode {
            what: "pending capture".into(),
            message: format!("{len} bytes, more than the {MAX_ENTRY_LEN}-byte entry limit"),
        });
    }
    let crc = crc32fast::hash(&out[start + FRAME_LEN..]);
    out[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// What [`parse`] read from a segment.
#[derive(Debug)]
pub struct Parsed {
    /// The codec of the segment's entries.
    pub codec: Codec,
    /// The complete, verified entries, in the order they were written.
    pub entries: Vec<Entry>,
    /// Where each entry's frame is in the segment (for rewriting it without some).
    pub spans: Vec<std::ops::Range<usize>>,
    /// Bytes at the end that do not form a complete entry (ignored).
    pub torn_tail: usize,
    /// The first complete entry that does not verify, with its index; no
    /// entry after it is returned.
    pub bad: Option<(usize, CaptureError)>,
}

/// Read a segment's entries; `path` is only used in errors. A file without
/// a valid header is an error; see the module documentation for entries.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Parsed> {
    let bad = |reason: String| CaptureError::BadFile {
        path: path.to_owned(),
        reason,
    };
    if bytes.len() < HEADER_LEN {
        // A segment whose header is being written, or was torn: nothing in it yet.
        return if MAGIC.starts_with(&bytes[..bytes.len().min(4)]) {
            Ok(Parsed {
                codec: Codec::MsgPack,
                entries: Vec::new(),
                spans: Vec::new(),
                torn_tail: bytes.len(),
                bad: None,
            })
        } else {
            Err(bad("not a capture segment (bad magic); delete it".into()))
        };
    }
    if &bytes[0..4] != MAGIC {
        return Err(bad("not a capture segment (bad magic); delete it".into()));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != VERSION {
        return Err(bad(format!(
            "segment format version {version}, this build reads {VERSION}; use the capture version that wrote it, or delete it"
        )));
    }
    let codec = Codec::from_id(bytes[6]).ok_or_else(|| bad(format!("unknown codec id {}", bytes[6])))?;
    let mut out = Parsed {
        codec,
        entries: Vec::new(),
        spans: Vec::new(),
        torn_tail: 0,
        bad: None,
    };
    let mut at = HEADER_LEN;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < FRAME_LEN {
            out.torn_tail = rest.len();
            break;
        }
        let len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        let index = out.entries.len();
        if len > MAX_ENTRY_LEN {
            out.bad = Some((
                index,
                bad(format!(
                    "entry {index} states {len} bytes, more than the {MAX_ENTRY_LEN}-byte limit; the segment is damaged from there on"
                )),
            ));
            break;
        }
        let Some(body) = rest.get(FRAME_LEN..FRAME_LEN + len as usize) else {
            out.torn_tail = rest.len();
            break;
        };
        match check_entry(codec, body, crc) {
            Ok(entry) => {
                out.entries.push(entry);
                out.spans.push(at..at + FRAME_LEN + len as usize);
            }
            Err(reason) => {
                out.bad = Some((
                    index,
                    bad(format!("entry {index}: {reason}; the segment is damaged from there on")),
                ));
                break;
            }
        }
        at += FRAME_LEN + len as usize;
    }
    Ok(out)
}

/// Verify one entry's checksum, encoding and inline objects.
fn check_entry(codec: Codec, body: &[u8], crc: u32) -> std::result::Result<Entry, String> {
    if crc32fast::hash(body) != crc {
        return Err("checksum mismatch".into());
    }
    let entry: Entry = codec.decode(body).map_err(|e| format!("undecodable: {e}"))?;
    for o in &entry.objects {
        let actual = object_id(codec, &o.body);
        if actual != o.id {
            return Err(format!(
                "inline object {} holds content {}",
                o.id.short(12),
                actual.short(12)
            ));
        }
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64) -> CallRecord {
        crate::record::test_record(1_000 + seq, 7, seq)
    }

    fn segment(n: u64) -> Vec<u8> {
        let mut seg = header(Codec::MsgPack).to_vec();
        for seq in 0..n {
            let body = vec![seq as u8; 3];
            let entry = Entry {
                record: record(seq),
                objects: vec![InlineObject {
                    id: object_id(Codec::MsgPack, &body),
                    body,
                }],
            };
            encode_entry(Codec::MsgPack, &entry, &mut seg).unwrap();
        }
        seg
    }

    #[test]
    fn every_cut_of_a_segment_reads_as_a_prefix() {
        let seg = segment(4);
        let whole = parse(Path::new("s"), &seg).unwrap();
        assert_eq!(whole.entries.len(), 4);
        let mut seen = 0;
        for cut in 0..=seg.len() {
            let p = parse(Path::new("s"), &seg[..cut]).unwrap();
            assert!(p.bad.is_none(), "cut {cut}");
            assert!(p.entries.len() >= seen, "cut {cut}: entries only grow");
            seen = p.entries.len();
            assert_eq!(p.entries[..], whole.entries[..seen], "cut {cut}");
        }
    }

    #[test]
    fn a_borrowed_entry_encodes_to_the_same_bytes() {
        let body = vec![9u8; 5];
        let entry = Entry {
            record: record(3),
            objects: vec![InlineObject {
                id: object_id(Codec::MsgPack, &body),
                body,
            }],
        };
        let (mut owned, mut borrowed) = (Vec::new(), Vec::new());
        encode_entry(Codec::MsgPack, &entry, &mut owned).unwrap();
        encode_entry(Codec::MsgPack, &entry.as_ref(), &mut borrowed).unwrap();
        assert_eq!(owned, borrowed);
    }

    #[test]
    fn a_flipped_byte_is_an_error_naming_the_entry_and_nothing_after_it_is_trusted() {
        let mut seg = segment(3);
        let first_len = u32::from_le_bytes(seg[HEADER_LEN..HEADER_LEN + 4].try_into().unwrap()) as usize;
        let second = HEADER_LEN + FRAME_LEN + first_len;
        seg[second + FRAME_LEN + 5] ^= 0x40;
        let p = parse(Path::new("s"), &seg).unwrap();
        assert_eq!(p.entries.len(), 1);
        let (index, err) = p.bad.unwrap();
        assert_eq!(index, 1);
        assert!(err.to_string().contains("checksum"), "{err}");
    }

    #[test]
    fn an_inline_object_that_is_not_its_id_is_refused() {
        let mut seg = header(Codec::MsgPack).to_vec();
        let entry = Entry {
            record: record(0),
            objects: vec![InlineObject {
                id: object_id(Codec::MsgPack, b"\x01"),
                body: b"\x02".to_vec(),
            }],
        };
        encode_entry(Codec::MsgPack, &entry, &mut seg).unwrap();
        let p = parse(Path::new("s"), &seg).unwrap();
        assert!(p.entries.is_empty());
        assert!(p.bad.unwrap().1.to_string().contains("inline object"));
    }

    #[test]
    fn hostile_headers_and_lengths_are_typed_errors() {
        assert!(parse(Path::new("s"), b"CALL\x01\x00\x01\x00").is_err());
        assert!(parse(Path::new("s"), b"CAPS\x09\x00\x01\x00").is_err());
        let mut seg = header(Codec::MsgPack).to_vec();
        seg.extend_from_slice(&u32::MAX.to_le_bytes());
        seg.extend_from_slice(&[0; 4]);
        let p = parse(Path::new("s"), &seg).unwrap();
        assert!(p.bad.unwrap().1.to_string().contains("limit"));
    }
}
