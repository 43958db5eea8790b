//! Pending captures in a store: appended to per-process segments
//! ([`super::segment`]), listed, trimmed by retention, removed on review.
//!
//! Each process appends the captures of one function to its own segment,
//! `pending/<fn>/<nanos>-<pid>-<nonce>-<n>.seg`. A segment is rolled (a new
//! one started) when it holds the function's retention count of entries (or
//! [`SEGMENT_ROLL_BYTES`]); whenever this process has written the first
//! entries of a new segment it trims the function's segments down to the
//! newest `retention` captures (deleting older segments, rewriting the one
//! that straddles the count), so the per-capture cost of retention is a
//! few file operations per `retention` captures. Between two trims a
//! process holds up to twice its retention. The segments of other running
//! processes are left to them (deleting or rewriting a segment another
//! process appends to would lose its appends); those of processes that
//! exited are trimmed by the next writer. Age retention deletes segments
//! not appended to within `max_age` (a process whose segment is deleted
//! under it starts a new one). Nothing here touches accepted captures
//! (`calls/`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use super::layout::{pending_dir, PENDING};
use super::segment::{self, Entry, EntryRef, InlineObject, SEG_EXT};
use super::{process_nonce, Appended, Retention, Store, MAX_FILE_LEN};
use crate::codec::Codec;
use crate::error::{CaptureError, Result};
use crate::record::CallRecord;

/// The file a local store writes at its root to keep local files out of git.
pub const GITIGNORE: &str = ".gitignore";

/// What [`GITIGNORE`] holds: everything but the accepted captures, their
/// objects and checkpoints.
pub const GITIGNORE_TEXT: &str = "\
# Written by capture. Commit calls/ (accepted captures), objects/ and
# checkpoints/; the rest is local to this machine.
pending/
tmp/
cache/
.lock
*.lock
quota.ledger
gc-epoch
";

/// A segment is rolled once it holds this many bytes, whatever the
/// retention (a sixteenth of the store's quota, when that is less).
pub const SEGMENT_ROLL_BYTES: u64 = 16 << 20;

/// One pending capture read back from a segment.
#[derive(Clone, Debug)]
pub struct PendingCapture {
    /// `pending/<fn>/<segment>.seg#<index>`: valid until the segment is
    /// rewritten by [`Store::remove_pending`].
    pub key: String,
    /// The call record.
    pub record: CallRecord,
    /// The codec of the segment (and of the inline objects).
    pub codec: Codec,
    /// The objects kept inline with it.
    pub objects: Vec<InlineObject>,
}

/// What [`Store::pending`] found for a function.
#[derive(Debug, Default)]
pub struct PendingListing {
    /// The captures that read back, oldest first; of a call written twice
    /// (its start, then its end) only the last entry.
    pub captures: Vec<PendingCapture>,
    /// Segments, or entries of them, that did not read back: (key, why).
    pub bad: Vec<(String, CaptureError)>,
    /// Bytes at segment ends that do not form a whole entry (a writer was
    /// killed mid-write, or is writing now); ignored.
    pub torn_bytes: u64,
}

/// This process's open segment for one function of one store.
#[derive(Debug)]
pub(crate) struct OpenSegment {
    name: String,
    entries: u64,
    bytes: u64,
}

/// A store handle's pending-segment state (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct Segments {
    /// This process's open segment per function folder.
    open: Mutex<HashMap<String, OpenSegment>>,
    /// Captures counted in segments at a given length (key -> (bytes,
    /// captures)), so that retention parses each segment once, not at every
    /// roll (a function kept at a large retention has many segments).
    counted: Mutex<HashMap<String, (u64, usize)>>,
}

/// Segment counts remembered before the map is cleared.
const COUNTED_CAP: usize = 1 << 16;

static SEGMENT_COUNTER: AtomicU64 = AtomicU64::new(0);

fn new_segment_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!(
        "{nanos:020}-{:010}-{:016x}-{:06}{SEG_EXT}",
        std::process::id(),
        process_nonce(),
        SEGMENT_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The writer part of a segment name: `<pid>-<nonce>`.
fn writer_of(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(SEG_EXT)?;
    let (_nanos, rest) = stem.split_once('-')?;
    Some(rest.rsplit_once('-')?.0)
}

/// The pid in a segment name.
fn pid_of(name: &str) -> Option<u32> {
    writer_of(name)?.split('-').next()?.parse().ok()
}

impl Store {
    /// Append pending captures of one function to this process's segment
    /// for it (created on first use; rolled and the function's older
    /// segments trimmed by `retention`, see the module documentation).
    /// Returns the captures' keys.
    ///
    /// ```
    /// # use capture_runtime::{record::*, store::{Retention, Store, segment::Entry}};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path());
    /// # let rec = |seq| CallRecord { function: "shop::price".into(), crate_name: "shop".into(),
    /// #     crate_version: "0.1.0".into(), format_version: 2, unix_nanos: 1_000 + seq, pid: std::process::id(), seq,
    /// #     thread_name: None, thread_id: 1, depth: 0, args: vec![], ret: None, after: vec![],
    /// #     outcome: Outcome::Returned };
    /// let entries: Vec<Entry> = (0..3).map(|s| Entry { record: rec(s), objects: vec![] }).collect();
    /// store.append_pending(&entries, Retention::default()).unwrap();
    /// assert_eq!(store.pending("shop::price").unwrap().captures.len(), 3);
    /// assert!(store.calls("shop::price").unwrap().is_empty(), "nothing is accepted");
    /// ```
    pub fn append_pending(&self, entries: &[Entry], retention: Retention) -> Result<Vec<String>> {
        let entries: Vec<EntryRef<'_>> = entries.iter().map(Entry::as_ref).collect();
        let (keys, bytes) = self.append_pending_unnoted(&entries, retention)?;
        if self.quota.is_some() {
            self.note_quota(bytes);
        }
        Ok(keys)
    }

    /// [`Store::append_pending`] without counting the bytes against the
    /// quota: the background writer counts a whole batch at once, after
    /// writing it, so that eviction sees every function's new captures
    /// (a batch writes one function's calls after another's). Returns the
    /// keys and the bytes written.
    pub(crate) fn append_pending_unnoted(
        &self,
        entries: &[EntryRef<'_>],
        retention: Retention,
    ) -> Result<(Vec<String>, u64)> {
        let Some(first) = entries.first() else {
            return Ok((Vec::new(), 0));
        };
        let function = &first.record.function;
        if let Some(other) = entries.iter().find(|e| &e.record.function != function) {
            return Err(CaptureError::Encode {
                what: "pending captures".into(),
                message: format!(
                    "one batch mixes functions `{function}` and `{}`; append each function's captures separately",
                    other.record.function
                ),
            });
        }
        let dir = pending_dir(function);
        let codec = self.codec;
        let mut bytes = Vec::new();
        let mut ends = Vec::with_capacity(entries.len());
        for e in entries {
            segment::encode_entry(codec, e, &mut bytes)?;
            ends.push(bytes.len());
        }
        let roll_at = retention.max_count.map_or(u64::MAX, |n| n.max(1) as u64);
        // Under a quota, segments stay small against it: eviction removes
        // whole segments, oldest first.
        let roll_bytes = self
            .quota_limit()
            .map_or(SEGMENT_ROLL_BYTES, |q| (q / 16).clamp(1, SEGMENT_ROLL_BYTES));
        let mut keys = Vec::with_capacity(entries.len());
        let mut opened = false;
        let mut segments = self.segments.open.lock().unwrap_or_else(|e| e.into_inner());
        let mut i = 0;
        while i < entries.len() {
            let full = segments
                .get(&dir)
                .is_none_or(|s| s.entries >= roll_at || s.bytes >= roll_bytes);
            if full {
                opened = true;
                segments.insert(
                    dir.clone(),
                    OpenSegment {
                        name: new_segment_name(),
                        entries: 0,
                        bytes: 0,
                    },
                );
            }
            let open = segments.get_mut(&dir).expect("just made sure");
            // As many entries as the segment takes (at least one).
            let start = if i == 0 { 0 } else { ends[i - 1] };
            let mut j = i + 1;
            while j < entries.len()
                && open.entries + ((j - i) as u64) < roll_at
                && open.bytes + (ends[j] - start) as u64 <= roll_bytes
            {
                j += 1;
            }
            let chunk = &bytes[start..ends[j - 1]];
            let fresh = open.bytes == 0;
            let mut whole = Vec::new();
            let data = if fresh {
                whole.extend_from_slice(&segment::header(codec));
                whole.extend_from_slice(chunk);
                &whole[..]
            } else {
                chunk
            };
            let key = format!("{dir}/{}", open.name);
            match self.backend.append(&key, data, fresh)? {
                Appended::Done => {
                    keys.extend((open.entries..open.entries + (j - i) as u64).map(|n| format!("{key}#{n}")));
                    open.entries += (j - i) as u64;
                    open.bytes += data.len() as u64;
                    // This process's segment needs no parsing to be counted
                    // by retention: it holds what this process appended (a
                    // call written at its start and its end counts twice,
                    // which only errs towards keeping fewer).
                    self.remember_count(key, open.bytes, open.entries as usize);
                    i = j;
                }
                // Deleted or replaced by another process (retention, quota,
                // review) or the name taken: the same entries go to a new segment.
                Appended::Gone | Appended::Exists => {
                    segments.remove(&dir);
                }
                Appended::Unsupported => {
                    // No appends on this backend (object storage): every
                    // chunk is a segment of its own.
                    let mut whole = segment::header(codec).to_vec();
                    whole.extend_from_slice(chunk);
                    let key = format!("{dir}/{}", new_segment_name());
                    self.backend.put(&key, &whole)?;
                    keys.extend((0..j - i).map(|n| format!("{key}#{n}")));
                    segments.remove(&dir);
                    opened = true;
                    i = j;
                }
            }
        }
        drop(segments);
        if opened {
            // After the append, so the new segment's entries count.
            self.trim_pending(function, retention)?;
            self.write_gitignore();
        }
        for (e, k) in entries.iter().zip(&keys) {
            self.emit_call(e.record, k);
        }
        Ok((keys, bytes.len() as u64))
    }

    /// Give a local store a `.gitignore` (once, when it has none) that
    /// leaves what is local out of version control: pending captures, temp
    /// files, locks, the cache and the quota ledger. Accepted captures
    /// (`calls/`), the objects they refer to and checkpoints are what to
    /// commit. Best effort: a store that cannot take it still records.
    fn write_gitignore(&self) {
        let Some(root) = self.local_root() else { return };
        if std::fs::symlink_metadata(root.join(GITIGNORE)).is_ok() {
            return;
        }
        let _ = self.backend.put_if_absent(GITIGNORE, GITIGNORE_TEXT.as_bytes());
    }

    /// Every function with at least one pending segment, sorted.
    pub fn pending_functions(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        self.walk_functions(PENDING, SEG_EXT, &mut Vec::new(), &mut out)?;
        out.sort();
        Ok(out)
    }

    /// Segment keys of `function`'s pending captures, oldest first.
    pub fn pending_segments(&self, function: &str) -> Result<Vec<String>> {
        let dir = pending_dir(function);
        let mut names: Vec<String> = self
            .backend
            .list_names(&dir)?
            .into_iter()
            .filter(|n| n.ends_with(SEG_EXT))
            .collect();
        names.sort();
        Ok(names.into_iter().map(|n| format!("{dir}/{n}")).collect())
    }

    /// Read every pending capture of `function`, oldest first. Damaged
    /// segments and entries are listed apart, with typed errors; a torn
    /// tail (a writer killed mid-append) is skipped and counted.
    pub fn pending(&self, function: &str) -> Result<PendingListing> {
        let mut out = PendingListing::default();
        // (writer, seq) -> index in out.captures: a call's start entry is
        // replaced by its final entry.
        let mut seen: HashMap<(String, u64), usize> = HashMap::new();
        for key in self.pending_segments(function)? {
            let name = key.rsplit('/').next().unwrap_or(&key).to_owned();
            let path = self.key_path(&key);
            let bytes = match self.backend.get_bounded(&key, MAX_FILE_LEN) {
                Ok(Some(b)) => b,
                Ok(None) => continue, // trimmed meanwhile
                Err(e) => {
                    out.bad.push((key, e));
                    continue;
                }
            };
            let parsed = match segment::parse(&path, &bytes) {
                Ok(p) => p,
                Err(e) => {
                    out.bad.push((key, e));
                    continue;
                }
            };
            out.torn_bytes += parsed.torn_tail as u64;
            if let Some((index, e)) = parsed.bad {
                out.bad.push((format!("{key}#{index}"), e));
            }
            let writer = writer_of(&name).unwrap_or(&name).to_owned();
            for (index, entry) in parsed.entries.into_iter().enumerate() {
                let entry_key = format!("{key}#{index}");
                if let Err(e) = check_pending_placement(&path, &key, &name, &entry.record) {
                    out.bad.push((entry_key, e));
                    continue;
                }
                let capture = PendingCapture {
                    key: entry_key,
                    record: entry.record,
                    codec: parsed.codec,
                    objects: entry.objects,
                };
                match seen.get(&(writer.clone(), capture.record.seq)) {
                    Some(&i) => out.captures[i] = capture,
                    None => {
                        seen.insert((writer.clone(), capture.record.seq), out.captures.len());
                        out.captures.push(capture);
                    }
                }
            }
        }
        out.captures
            .sort_by_key(|c| (c.record.unix_nanos, c.record.pid, c.record.seq));
        Ok(out)
    }

    /// Remove pending captures by key (after they were accepted or
    /// rejected): each segment holding some is rewritten without them
    /// (atomically: a reader sees the old segment or the new one), or
    /// deleted when nothing is left. Keys of the other captures in those
    /// segments change. Returns how many were removed.
    ///
    /// A process still appending to a rewritten segment appends to the old
    /// file, which is gone: review captures after the programs recording
    /// them have finished.
    pub fn remove_pending(&self, keys: &[String]) -> Result<usize> {
        let mut by_segment: HashMap<&str, Vec<usize>> = HashMap::new();
        for k in keys {
            let (seg, index) = k.rsplit_once('#').ok_or_else(|| CaptureError::BadFile {
                path: self.key_path(k),
                reason: "not a pending capture key (`<segment>.seg#<index>`)".into(),
            })?;
            let index = index.parse().map_err(|_| CaptureError::BadFile {
                path: self.key_path(k),
                reason: "not a pending capture key (`<segment>.seg#<index>`)".into(),
            })?;
            if !seg.starts_with(PENDING) || !seg.ends_with(SEG_EXT) {
                return Err(CaptureError::BadFile {
                    path: self.key_path(k),
                    reason: "not a pending capture key (`pending/...seg#<index>`)".into(),
                });
            }
            by_segment.entry(seg).or_default().push(index);
        }
        let mut removed = 0;
        for (seg, drop) in by_segment {
            let Some(bytes) = self.backend.get_bounded(seg, MAX_FILE_LEN)? else {
                continue;
            };
            let parsed = segment::parse(&self.key_path(seg), &bytes)?;
            removed += self.rewrite_segment(seg, &bytes, &parsed, |i, _| !drop.contains(&i))?;
        }
        Ok(removed)
    }

    /// Apply `retention` to `function`'s pending segments: of the segments
    /// of this process and of processes that have exited, keep the newest
    /// `max_count` captures (the oldest segment kept is rewritten without
    /// its older entries when it holds more than the count needs) and
    /// delete older ones; delete any segment not written to within
    /// `max_age`. Segments of other running processes are left to them.
    /// Returns how many segments were deleted.
    pub fn trim_pending(&self, function: &str, retention: Retention) -> Result<usize> {
        if retention.max_count.is_none() && retention.max_age.is_none() {
            return Ok(0);
        }
        let dir = pending_dir(function);
        let mut files: Vec<(String, Option<SystemTime>)> = self
            .backend
            .list(&dir)?
            .files
            .into_iter()
            .filter(|(n, _)| n.ends_with(SEG_EXT))
            .collect();
        files.sort();
        let cutoff = retention.max_age.and_then(|age| SystemTime::now().checked_sub(age));
        let mut held = 0usize;
        let mut deleted = 0;
        let ours = format!("{:010}-{:016x}", std::process::id(), process_nonce());
        for (name, modified) in files.into_iter().rev() {
            let key = format!("{dir}/{name}");
            let aged = matches!((cutoff, modified), (Some(c), Some(m)) if m < c);
            // Another running process's segments are its own to trim by
            // count: deleting or rewriting one it still appends to would
            // lose what it appends meanwhile.
            let theirs =
                writer_of(&name).is_some_and(|w| w != ours) && pid_of(&name).is_some_and(super::backend::process_alive);
            if theirs && !aged {
                continue;
            }
            let full = retention.max_count.is_some_and(|max| held >= max);
            if aged || full {
                self.backend.delete(&key)?;
                deleted += 1;
                continue;
            }
            let Some(max) = retention.max_count else { continue };
            // A segment counted before at its present length needs no
            // parsing unless it straddles the count.
            let len = self
                .local_root()
                .and_then(|root| std::fs::symlink_metadata(root.join(&key)).ok())
                .map(|m| m.len());
            let known = len.and_then(|len| {
                let counted = self.segments.counted.lock().unwrap_or_else(|e| e.into_inner());
                counted.get(&key).filter(|(l, _)| *l == len).map(|(_, n)| *n)
            });
            if let Some(n) = known.filter(|n| held + n <= max) {
                held += n;
                continue;
            }
            let Ok(Some(bytes)) = self.backend.get_bounded(&key, MAX_FILE_LEN) else {
                continue;
            };
            let Ok(parsed) = segment::parse(&self.key_path(&key), &bytes) else {
                continue; // damaged: left for the reader to report
            };
            // Captures, not entries: a call written at its start and again
            // at its end is one capture.
            let mut seqs: Vec<u64> = parsed.entries.iter().map(|e| e.record.seq).collect();
            seqs.sort_unstable();
            seqs.dedup();
            self.remember_count(key.clone(), bytes.len() as u64, seqs.len());
            if held + seqs.len() > max {
                // The oldest segment kept holds more than the count needs:
                // keep the entries of its newest captures only (rewritten
                // atomically).
                let keep = max - held;
                let mut newest: Vec<u64> = Vec::with_capacity(keep);
                for e in parsed.entries.iter().rev() {
                    if newest.len() == keep {
                        break;
                    }
                    if !newest.contains(&e.record.seq) {
                        newest.push(e.record.seq);
                    }
                }
                self.rewrite_segment(&key, &bytes, &parsed, |_, e| newest.contains(&e.record.seq))?;
                held = max;
            } else {
                held += seqs.len();
            }
        }
        Ok(deleted)
    }

    /// Rewrite segment `key` (its `bytes`, `parsed`) with only the entries
    /// `keep` chooses (by index and entry), atomically (a reader sees the
    /// old segment or the new one), or delete it when none is left; this
    /// process then starts a new segment for what comes next. Returns how
    /// many entries were dropped.
    fn rewrite_segment(
        &self,
        key: &str,
        bytes: &[u8],
        parsed: &segment::Parsed,
        keep: impl Fn(usize, &Entry) -> bool,
    ) -> Result<usize> {
        let mut kept = bytes[..segment::HEADER_LEN].to_vec();
        let (mut left, mut dropped) = (0, 0);
        for (i, (e, span)) in parsed.entries.iter().zip(&parsed.spans).enumerate() {
            if keep(i, e) {
                kept.extend_from_slice(&bytes[span.clone()]);
                left += 1;
            } else {
                dropped += 1;
            }
        }
        if left == 0 {
            self.backend.delete(key)?;
        } else {
            self.backend.put(key, &kept)?;
        }
        self.forget_open(key);
        Ok(dropped)
    }

    /// Remember that segment `key` held `captures` captures at `len` bytes.
    fn remember_count(&self, key: String, len: u64, captures: usize) {
        let mut counted = self.segments.counted.lock().unwrap_or_else(|e| e.into_inner());
        if counted.len() >= COUNTED_CAP {
            counted.clear();
        }
        counted.insert(key, (len, captures));
    }

    /// Stop appending to `key` if it is this process's open segment (it was
    /// rewritten: appends would go to the replaced file).
    fn forget_open(&self, key: &str) {
        let dir = key.rsplit_once('/').map_or("", |(d, _)| d);
        let mut segments = self.segments.open.lock().unwrap_or_else(|e| e.into_inner());
        if segments.get(dir).is_some_and(|s| key.ends_with(&s.name)) {
            segments.remove(dir);
        }
    }
}

/// A pending entry must be a call of the function whose folder holds it,
/// recorded by the process its segment name says.
fn check_pending_placement(path: &std::path::Path, key: &str, name: &str, record: &CallRecord) -> Result<()> {
    let dir = key.rsplit_once('/').map_or("", |(d, _)| d);
    let expected = pending_dir(&record.function);
    if dir != expected {
        return Err(CaptureError::Misplaced {
            path: path.to_owned(),
            expected: format!(
                "a call of the function stored in `{}`",
                dir.strip_prefix(PENDING).unwrap_or(dir)
            ),
            found: format!("a call of `{}`", record.function),
        });
    }
    if pid_of(name).is_some_and(|pid| pid != record.pid) {
        return Err(CaptureError::Misplaced {
            path: path.to_owned(),
            expected: format!("a call recorded by the process its name `{name}` says"),
            found: format!("a call recorded by pid {}", record.pid),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64) -> Entry {
        Entry {
            record: crate::record::test_record(1_000 + seq, std::process::id(), seq),
            objects: vec![],
        }
    }

    #[test]
    fn links_fifos_and_foreign_files_in_pending_folders_are_typed_errors_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path());
        let keys = store.append_pending(&[entry(0)], Retention::default()).unwrap();
        let seg_dir = dir.path().join(pending_dir("shop::price"));
        // A link to a real segment elsewhere, a FIFO and garbage, all named like segments.
        let outside = tempfile::tempdir().unwrap();
        let real = dir.path().join(keys[0].split('#').next().unwrap());
        std::fs::copy(&real, outside.path().join("x.seg")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("x.seg"),
            seg_dir.join("00000000000000000001-0000000001-0000000000000000-000000.seg"),
        )
        .unwrap();
        let fifo = seg_dir.join("00000000000000000002-0000000001-0000000000000000-000000.seg");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        std::fs::write(
            seg_dir.join("00000000000000000003-0000000001-0000000000000000-000000.seg"),
            b"garbage!",
        )
        .unwrap();
        let listing = store.pending("shop::price").unwrap();
        assert_eq!(listing.captures.len(), 1, "the real one reads");
        assert_eq!(listing.bad.len(), 3, "{:?}", listing.bad);
        for (key, e) in &listing.bad {
            assert!(
                matches!(e, CaptureError::Refused { .. } | CaptureError::BadFile { .. }),
                "{key}: {e:?}"
            );
        }
        // Appending never follows a link either: a segment replaced by a
        // link is an error for the writer, and nothing is written through it.
        let open = store
            .segments
            .open
            .lock()
            .unwrap()
            .get(&pending_dir("shop::price"))
            .map(|s| s.name.clone())
            .unwrap();
        std::fs::remove_file(seg_dir.join(&open)).unwrap();
        std::os::unix::fs::symlink(outside.path().join("x.seg"), seg_dir.join(&open)).unwrap();
        let before = std::fs::read(outside.path().join("x.seg")).unwrap();
        assert!(store.append_pending(&[entry(1)], Retention::default()).is_err());
        assert_eq!(
            std::fs::read(outside.path().join("x.seg")).unwrap(),
            before,
            "nothing written through the link"
        );
    }

    #[test]
    fn a_segment_deleted_under_its_writer_is_started_again_with_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path());
        let first = store.append_pending(&[entry(0)], Retention::default()).unwrap();
        std::fs::remove_file(dir.path().join(first[0].split('#').next().unwrap())).unwrap();
        let second = store.append_pending(&[entry(1)], Retention::default()).unwrap();
        assert_ne!(first[0].split('#').next(), second[0].split('#').next());
        let listing = store.pending("shop::price").unwrap();
        assert!(listing.bad.is_empty(), "{:?}", listing.bad);
        assert_eq!(listing.captures.len(), 1);
        assert_eq!(listing.captures[0].record.seq, 1);
    }

    #[test]
    fn retention_keeps_the_newest_captures_rewriting_the_segment_that_straddles() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path());
        let keep = |n| Retention {
            max_count: Some(n),
            max_age: None,
        };
        for seq in 0..10 {
            store.append_pending(&[entry(seq)], keep(4)).unwrap();
        }
        let seqs: Vec<u64> = store
            .pending("shop::price")
            .unwrap()
            .captures
            .iter()
            .map(|c| c.record.seq)
            .collect();
        assert!(seqs.len() >= 4 && seqs.len() < 8, "{seqs:?}");
        assert_eq!(seqs[seqs.len() - 4..], [6, 7, 8, 9]);
        // One batch larger than the retention: rolled, then trimmed exactly.
        let batch: Vec<Entry> = (10..25).map(entry).collect();
        store.append_pending(&batch, keep(4)).unwrap();
        let seqs: Vec<u64> = store
            .pending("shop::price")
            .unwrap()
            .captures
            .iter()
            .map(|c| c.record.seq)
            .collect();
        assert_eq!(seqs, [21, 22, 23, 24]);
        // Nothing touches accepted captures.
        store
            .write_accepted(&entry(99).record, Codec::MsgPack, &[], false)
            .unwrap()
            .unwrap();
        store
            .append_pending(&(25..40).map(entry).collect::<Vec<_>>(), keep(1))
            .unwrap();
        assert_eq!(store.calls("shop::price").unwrap().len(), 1);
    }

    #[test]
    fn segment_names_carry_their_writer() {
        let name = new_segment_name();
        let writer = writer_of(&name).unwrap();
        assert_eq!(writer, format!("{:010}-{:016x}", std::process::id(), process_nonce()));
        assert_eq!(pid_of(&name), Some(std::process::id()));
        assert_ne!(new_segment_name(), new_segment_name());
    }
}
