//! Looking for secrets in what a capture wrote: every temp file while it
//! exists, every file under the store, every log line; a secret counts as
//! leaked when any piece of it is found, not only the whole of it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// Bytes of each temp file, read by [`watch_temp_files`]'s observer the
/// moment it was written (before it was renamed or linked into place).
static TEMP: Mutex<Vec<(String, Vec<u8>)>> = Mutex::new(Vec::new());

fn record_temp(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| format!("<unreadable: {e}>").into_bytes());
    TEMP.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((path.display().to_string(), bytes));
}

/// Start keeping a copy of every temp file the local store writes.
pub fn watch_temp_files() {
    capture_runtime::store::observe_temp_files(Some(record_temp));
}

/// The temp files kept since the last call.
pub fn take_temp_files() -> Vec<(String, Vec<u8>)> {
    std::mem::take(&mut *TEMP.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Every file under `dir`, with its bytes.
pub fn files(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p.display().to_string(), b));
        }
    }
}

/// Length of the pieces searched for: a secret leaks if any run of this
/// many of its bytes is found. A piece made only of digits is made longer,
/// so that ordinary numbers (timestamps in JSON records) cannot match one by
/// chance.
const PIECE: usize = 8;
const DIGIT_PIECE: usize = 12;
const BLOOM_BITS: u32 = 18;

/// Every piece of a set of secrets, searched in one pass over a haystack.
pub struct Needles {
    secrets: Vec<Vec<u8>>,
    /// First 8 bytes of a piece (little-endian) -> (piece, secret index).
    by_head: HashMap<u64, Vec<(Vec<u8>, usize)>>,
    /// A bit per hash of a piece's head: most positions are ruled out here.
    bloom: Vec<u64>,
}

fn bloom_slot(head: u64) -> (usize, u64) {
    let h = (head.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - BLOOM_BITS)) as usize;
    (h / 64, 1 << (h % 64))
}

impl Needles {
    /// The pieces of `secrets` (each at least 8 bytes long).
    pub fn new(secrets: &[Vec<u8>]) -> Needles {
        let mut n = Needles {
            secrets: secrets.to_vec(),
            by_head: HashMap::new(),
            bloom: vec![0; (1 << BLOOM_BITS) / 64],
        };
        for (i, s) in secrets.iter().enumerate() {
            assert!(
                s.len() >= PIECE,
                "secret {:?} is too short to search for",
                String::from_utf8_lossy(s)
            );
            for at in 0..=s.len() - PIECE {
                let piece = match &s[at..] {
                    rest if !rest[..PIECE].iter().all(u8::is_ascii_digit) => &rest[..PIECE],
                    rest if rest.len() >= DIGIT_PIECE => &rest[..DIGIT_PIECE],
                    // A short secret of digits is searched whole.
                    rest if at == 0 => rest,
                    // The end of a longer run of digits: covered by the
                    // longer pieces before it.
                    _ => continue,
                };
                let head = u64::from_le_bytes(piece[..8].try_into().unwrap());
                let (word, bit) = bloom_slot(head);
                n.bloom[word] |= bit;
                n.by_head.entry(head).or_default().push((piece.to_vec(), i));
            }
        }
        n
    }

    /// The secret with index `i`.
    pub fn secret(&self, i: usize) -> &[u8] {
        &self.secrets[i]
    }

    /// Where a piece of some secret first occurs in `hay`: (secret, offset).
    pub fn find(&self, hay: &[u8]) -> Option<(usize, usize)> {
        if hay.len() < PIECE {
            return None;
        }
        let mut head = u64::from_le_bytes(hay[..8].try_into().unwrap());
        let mut at = 0;
        loop {
            let (word, bit) = bloom_slot(head);
            if self.bloom[word] & bit != 0 {
                if let Some(pieces) = self.by_head.get(&head) {
                    for (piece, i) in pieces {
                        if hay[at..].starts_with(piece) {
                            return Some((*i, at));
                        }
                    }
                }
            }
            if at + PIECE >= hay.len() {
                return None;
            }
            head = (head >> 8) | (u64::from(hay[at + PIECE]) << 56);
            at += 1;
        }
    }

    /// A message for a leak found at `at` in `hay` (named `name`).
    pub fn describe(&self, (i, at): (usize, usize), name: &str, hay: &[u8]) -> String {
        let lo = at.saturating_sub(40);
        let hi = (at + 60).min(hay.len());
        format!(
            "a piece of secret {:?} found in {name} at byte {at}: …{}…",
            String::from_utf8_lossy(self.secret(i)),
            String::from_utf8_lossy(&hay[lo..hi])
        )
    }
}
