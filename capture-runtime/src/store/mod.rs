//! The content-addressed store: objects, call records, retention and garbage
//! collection, over any [`Backend`].

mod backend;
pub mod layout;
mod local_read;
pub mod object;
pub mod pending;
pub mod quota;
pub mod segment;
mod trim;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[doc(hidden)]
pub use backend::observe_temp_files;
pub use backend::{
    Appended, Backend, Durability, Listing, LocalBackend, DEAD_WRITER_GRACE, MAX_FILE_LEN, STALE_TEMP_AGE,
};
pub use pending::{PendingCapture, PendingListing};
pub use quota::{Quota, QuotaReport};

use crate::codec::{frame, framed_len, object_id, unframe, Codec, FileKind};
use crate::error::{CaptureError, Result};
use crate::hash::ContentId;
use crate::record::{CallRecord, Slot};
use layout::{function_dir, object_key, unescape_segment, CALLS, CALL_EXT, OBJECTS};

/// How many calls of a function are kept, and for how long.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep at most this many calls per function (newest first).
    pub max_count: Option<usize>,
    /// Drop calls older than this.
    pub max_age: Option<Duration>,
}

/// What [`Store::gc`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Objects still referenced.
    pub kept: usize,
    /// Unreferenced objects deleted.
    pub removed: usize,
    /// Unreferenced objects kept because they are younger than the grace period.
    pub young: usize,
    /// Leftovers of interrupted writes (`tmp/` files) older than the grace
    /// period, deleted.
    pub temp_removed: usize,
}

/// A capture store.
///
/// ```
/// use capture_runtime::Store;
/// let dir = tempfile::tempdir().unwrap();
/// let store = Store::open(dir.path());
/// let id = store.put_object(b"payload").unwrap();
/// assert_eq!(store.get_object(&id).unwrap().1, b"payload");
/// ```
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    codec: Codec,
    quota: Option<Arc<Quota>>,
    trims: Arc<trim::Trims>,
    segments: Arc<pending::Segments>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({}, {:?})", self.backend.describe(), self.codec)
    }
}

impl Store {
    /// A store in a local folder.
    pub fn open(root: impl Into<PathBuf>) -> Store {
        Store::with_backend(Arc::new(LocalBackend::new(root)))
    }

    /// A store over any backend.
    pub fn with_backend(backend: Arc<dyn Backend>) -> Store {
        Store {
            backend,
            codec: Codec::MsgPack,
            quota: None,
            trims: Arc::default(),
            segments: Arc::default(),
        }
    }

    /// Bound the whole store to `bytes`, evicting the oldest calls of any
    /// function and the least recently used cache entries past it
    /// (checkpoints are never evicted; see [`quota`] for how writes stay
    /// cheap). Local stores only: other backends report an error when
    /// enforcing.
    ///
    /// ```
    /// use capture_runtime::Store;
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path()).with_quota(1 << 20);
    /// assert_eq!(store.quota_limit(), Some(1 << 20));
    /// ```
    pub fn with_quota(mut self, bytes: u64) -> Store {
        self.quota = Some(Arc::new(Quota::new(bytes)));
        self
    }

    /// The store-wide quota in bytes, if any.
    pub fn quota_limit(&self) -> Option<u64> {
        self.quota.as_ref().map(|q| q.limit())
    }

    /// Measure the store now and evict down to the quota's low watermark if
    /// it is above it (`Ok(None)` without a quota).
    pub fn enforce_quota(&self) -> Result<Option<QuotaReport>> {
        match &self.quota {
            Some(q) => q.flush(self, true),
            None => Ok(None),
        }
    }

    /// Bytes of every file under a local store (one walk of the folder).
    pub fn disk_usage(&self) -> Result<u64> {
        match self.local_root() {
            Some(root) => quota::measure(root),
            None => Ok(0),
        }
    }

    /// Use `codec` for what this handle writes (reads follow each file's header).
    pub fn with_codec(mut self, codec: Codec) -> Store {
        self.codec = codec;
        self
    }

    /// The codec this handle writes with.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The local folder, for local stores.
    pub fn local_root(&self) -> Option<&Path> {
        self.backend.local_root()
    }

    /// Where the store is, for messages.
    pub fn describe(&self) -> String {
        self.backend.describe()
    }

    /// Store an encoded value (deduplicated): returns its content id
    /// ([`object_id`] in this handle's codec).
    pub fn put_object(&self, body: &[u8]) -> Result<ContentId> {
        let id = object_id(self.codec, body);
        self.put_object_with_id(id, body)?;
        Ok(id)
    }

    /// Store an encoded value whose id ([`object_id`] in this handle's
    /// codec) the caller already computed.
    pub fn put_object_with_id(&self, id: ContentId, body: &[u8]) -> Result<bool> {
        self.backend
            .put_if_absent(&object_key(&id), &frame(self.codec, FileKind::Object, body))
    }

    /// Mark object `id` as used now (protecting it from `gc` for its grace
    /// period, as storing it again would); `false` when it is not in the store.
    pub fn touch_object(&self, id: &ContentId) -> Result<bool> {
        self.backend.touch(&object_key(id))
    }

    /// Read and verify an object: its codec and body. Reads at most
    /// [`MAX_FILE_LEN`] bytes; when a record states the object's length, use
    /// [`Store::get_stored`], which reads no more than that.
    pub fn get_object(&self, id: &ContentId) -> Result<(Codec, Vec<u8>)> {
        self.read_object(id, None)
    }

    /// Read and verify the object a record refers to as `Slot::Stored { id,
    /// len }`: a file longer than `len` plus the header is refused before it
    /// is read, and one whose body is not `len` bytes is an error.
    ///
    /// ```
    /// use capture_runtime::Store;
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path());
    /// let id = store.put_object(b"\x2a").unwrap();
    /// assert_eq!(store.get_stored(&id, 1).unwrap().1, b"\x2a");
    /// assert!(store.get_stored(&id, 0).is_err(), "longer than its record says");
    /// ```
    pub fn get_stored(&self, id: &ContentId, len: u64) -> Result<(Codec, Vec<u8>)> {
        self.read_object(id, Some(len))
    }

    fn read_object(&self, id: &ContentId, len: Option<u64>) -> Result<(Codec, Vec<u8>)> {
        let key = object_key(id);
        let path = self.key_path(&key);
        let limit = len.map_or(MAX_FILE_LEN, framed_len);
        let bytes = self
            .backend
            .get_bounded(&key, limit)?
            .ok_or_else(|| CaptureError::BadFile {
                path: path.clone(),
                reason: "object is missing (deleted by gc or never written); re-record the call".into(),
            })?;
        let un = unframe(&path, &bytes, FileKind::Object)?;
        if let Some(len) = len.filter(|&l| l != un.body.len() as u64) {
            return Err(CaptureError::BadFile {
                path,
                reason: format!(
                    "its record states {len} bytes but the object holds {}; delete the record and re-record",
                    un.body.len()
                ),
            });
        }
        if un.id != *id {
            return Err(CaptureError::Corrupted {
                path,
                expected: id.to_hex(),
                actual: un.id.to_hex(),
            });
        }
        Ok((un.codec, un.body.to_vec()))
    }

    fn key_path(&self, key: &str) -> PathBuf {
        match self.backend.local_root() {
            Some(root) => root.join(key),
            None => PathBuf::from(format!("{}/{key}", self.backend.describe())),
        }
    }

    /// Write (or rewrite) a call record, then apply `retention` to its function.
    /// Returns the record's key.
    pub fn write_call(&self, record: &CallRecord, retention: Retention) -> Result<String> {
        let mut keys = self.write_calls(std::slice::from_ref(record), retention)?;
        Ok(keys.pop().expect("one record in, one key out"))
    }

    /// Write (or rewrite) several call records of one function under one lock,
    /// then apply `retention` once: the background writer's batch path.
    /// Returns the keys, in the order of `records`.
    ///
    /// ```
    /// # use capture_runtime::{record::*, store::{Retention, Store}};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path());
    /// # let rec = |seq| CallRecord { function: "shop::price".into(), crate_name: "shop".into(),
    /// #     crate_version: "0.1.0".into(), format_version: 1, unix_nanos: 1_000 + seq, pid: 1, seq,
    /// #     thread_name: None, thread_id: 1, depth: 0, args: vec![], ret: None, after: vec![],
    /// #     outcome: Outcome::Returned };
    /// let keep_two = Retention { max_count: Some(2), max_age: None };
    /// store.write_calls(&[rec(1), rec(2), rec(3)], keep_two).unwrap();
    /// assert_eq!(store.calls("shop::price").unwrap().len(), 2);
    /// ```
    pub fn write_calls(&self, records: &[CallRecord], retention: Retention) -> Result<Vec<String>> {
        let Some(first) = records.first() else {
            return Ok(Vec::new());
        };
        let dir = function_dir(&first.function);
        if let Some(other) = records.iter().find(|r| r.function != first.function) {
            return Err(CaptureError::Encode {
                what: "call records".into(),
                message: format!(
                    "one batch mixes functions `{}` and `{}`; write each function's records separately",
                    first.function, other.function
                ),
            });
        }
        let mut framed = Vec::with_capacity(records.len());
        for record in records {
            let body = self.codec.encode(record).map_err(|message| CaptureError::Encode {
                what: "call record".into(),
                message,
            })?;
            framed.push((
                format!("{dir}/{}", record.file_name()),
                frame(self.codec, FileKind::Call, &body),
            ));
        }
        let trim = retention.max_count.is_some() || retention.max_age.is_some();
        let mut lock = if trim {
            Some(self.backend.lock(&format!("{dir}/.lock"))?)
        } else {
            None
        };
        // Counted before the puts: a batch that fails part-way then leaves the
        // count ahead of the folder (other processes list it), never behind.
        let writes_before = match lock.as_deref_mut() {
            Some(lock) => self.backend.count_writes(lock, framed.len() as u64)?,
            None => None,
        };
        for (key, bytes) in &framed {
            self.backend.put(key, bytes)?;
        }
        if trim {
            self.trims
                .after_write(self.backend.as_ref(), &dir, framed.len(), writes_before, retention)?;
        }
        if self.quota.is_some() {
            let added: u64 = framed.iter().map(|(_, bytes)| bytes.len() as u64).sum::<u64>()
                + records.iter().map(quota::new_object_bytes).sum::<u64>();
            self.note_quota(added);
        }
        for (record, (key, _)) in records.iter().zip(&framed) {
            self.emit_call(record, key);
        }
        Ok(framed.into_iter().map(|(k, _)| k).collect())
    }

    /// Tell `on_capture` hooks that `record` was written at `key`.
    pub(crate) fn emit_call(&self, record: &CallRecord, key: &str) {
        if crate::hooks::active() {
            crate::hooks::emit(crate::hooks::CaptureEvent::Call {
                store: self.describe(),
                function: record.function.clone(),
                key: key.to_owned(),
                outcome: record.outcome,
            });
        }
    }

    /// Count `bytes` just written (call records, cache entries, checkpoints)
    /// against the quota, if any: an atomic add, and now and then a flush
    /// (see [`quota`]). Callers must hold no cache lock.
    pub(crate) fn note_quota(&self, bytes: u64) {
        if let Some(q) = &self.quota {
            if let Err(e) = q.note(self, bytes) {
                crate::config::report(
                    &format!("quota: {}", e.kind_label()),
                    &format!("could not apply the store quota: {e}"),
                );
            }
        }
    }

    /// Force what this store wrote so far to stable storage (a no-op unless the
    /// backend buffers durability, see [`Durability::OnFlush`]).
    pub fn sync(&self) -> Result<()> {
        self.backend.sync()
    }

    /// Every function id with at least one capture, accepted or pending, sorted.
    pub fn functions(&self) -> Result<Vec<String>> {
        let mut out = self.accepted_functions()?;
        out.extend(self.pending_functions()?);
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Every function id with at least one accepted capture, sorted.
    pub fn accepted_functions(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        self.walk_functions(CALLS, CALL_EXT, &mut Vec::new(), &mut out)?;
        out.sort();
        Ok(out)
    }

    fn walk_functions(&self, prefix: &str, ext: &str, segs: &mut Vec<String>, out: &mut Vec<String>) -> Result<()> {
        let listing = self.backend.list(prefix)?;
        if listing.files.iter().any(|(n, _)| n.ends_with(ext)) && !segs.is_empty() {
            out.push(segs.join("::"));
        }
        for d in listing.dirs {
            segs.push(unescape_segment(&d));
            self.walk_functions(&format!("{prefix}/{d}"), ext, segs, out)?;
            segs.pop();
        }
        Ok(())
    }

    /// Write `record` as an accepted capture: its objects not kept in
    /// `objects/` yet (`objects`, encoded in `codec`) are stored there, then
    /// the record under its stable name, `calls/<fn>/<input id>.call` (see
    /// [`CallRecord::input_id`]). An accepted capture with the same inputs
    /// is replaced when `replace`, else left as it is (`Ok(None)`).
    /// Returns the record's key when it was written.
    ///
    /// ```
    /// # use capture_runtime::{record::*, store::Store};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path());
    /// # let rec = CallRecord { function: "shop::price".into(), crate_name: "shop".into(),
    /// #     crate_version: "0.1.0".into(), format_version: 2, unix_nanos: 1_000, pid: 1, seq: 0,
    /// #     thread_name: None, thread_id: 1, depth: 0, args: vec![], ret: None, after: vec![],
    /// #     outcome: Outcome::Returned };
    /// let codec = capture_runtime::codec::Codec::MsgPack;
    /// let key = store.write_accepted(&rec, codec, &[], false).unwrap().unwrap();
    /// assert_eq!(key, format!("calls/shop/price/{}.call", rec.input_id()));
    /// assert_eq!(store.write_accepted(&rec, codec, &[], false).unwrap(), None, "already accepted");
    /// assert_eq!(store.read_call(&key).unwrap(), rec);
    /// ```
    pub fn write_accepted(
        &self,
        record: &CallRecord,
        codec: Codec,
        objects: &[(ContentId, &[u8])],
        replace: bool,
    ) -> Result<Option<String>> {
        let key = format!("{}/{}{CALL_EXT}", function_dir(&record.function), record.input_id());
        for (id, body) in objects {
            self.backend
                .put_if_absent(&object_key(id), &frame(codec, FileKind::Object, body))?;
        }
        let body = self.codec.encode(record).map_err(|message| CaptureError::Encode {
            what: "call record".into(),
            message,
        })?;
        let bytes = frame(self.codec, FileKind::Call, &body);
        if replace {
            self.backend.put(&key, &bytes)?;
        } else if !self.backend.put_if_absent(&key, &bytes)? {
            return Ok(None);
        }
        if self.quota.is_some() {
            self.note_quota(bytes.len() as u64);
        }
        self.emit_call(record, &key);
        Ok(Some(key))
    }

    /// Keys of the stored calls of `function`, oldest first.
    pub fn calls(&self, function: &str) -> Result<Vec<String>> {
        let dir = function_dir(function);
        let mut keys: Vec<String> = self
            .backend
            .list_names(&dir)?
            .into_iter()
            .filter(|n| n.ends_with(CALL_EXT))
            .map(|n| format!("{dir}/{n}"))
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Read and verify one call record: its header and hash, then that it
    /// holds what its place says (its function's folder, and the time,
    /// process and sequence number of its file name), so a record moved or
    /// swapped into another function's folder is a
    /// [`CaptureError::Misplaced`], never another call's data. Reads at most
    /// [`MAX_RECORD_LEN`] bytes.
    pub fn read_call(&self, key: &str) -> Result<CallRecord> {
        let path = self.key_path(key);
        let bytes = self
            .backend
            .get_bounded(key, MAX_RECORD_LEN)?
            .ok_or_else(|| CaptureError::BadFile {
                path: path.clone(),
                reason: "call record vanished (removed by retention?)".into(),
            })?;
        let un = unframe(&path, &bytes, FileKind::Call)?;
        let record: CallRecord = un.codec.decode(un.body).map_err(|e| CaptureError::BadFile {
            path: path.clone(),
            reason: format!("undecodable call record: {e}"),
        })?;
        check_placement(&path, key, &record)?;
        Ok(record)
    }

    /// The gc epoch of the backend (see [`Backend::gc_epoch`]); `u64::MAX`
    /// when it cannot be read.
    pub fn gc_epoch(&self) -> u64 {
        self.backend.gc_epoch().unwrap_or(u64::MAX)
    }

    /// Delete objects no call record references, except those written or
    /// marked as used within `grace`; and the temp files of writers that are
    /// gone, older than `grace` (those of live writers only once they are
    /// [`STALE_TEMP_AGE`] old). `extra_roots` are ids referenced from
    /// elsewhere (cache entries, checkpoints).
    ///
    /// Safe while other threads and processes write, for every `grace`
    /// including zero, on local stores: gc first raises the store's gc epoch
    /// ([`Backend::gc_epoch`]); every writer reads the epoch before it stores
    /// objects and again after it wrote the records referring to them, and
    /// when it changed in between (so this gc may have listed the records
    /// before they existed) it stores those objects again, which either finds
    /// them (marking them as just used, so gc's second look at their age
    /// keeps them) or writes them anew. The grace period then only protects
    /// objects written by writers that keep no epoch (object-storage
    /// backends), where it should be minutes while writers run.
    pub fn gc(&self, grace: Duration, extra_roots: &HashSet<ContentId>) -> Result<GcReport> {
        // The cutoff is taken before the epoch is raised: an object a writer
        // stores or marks as used after that is younger than the cutoff,
        // whether or not the scan below sees the record it goes with.
        let cutoff = SystemTime::now().checked_sub(grace).unwrap_or(SystemTime::UNIX_EPOCH);
        self.backend.bump_gc_epoch()?;
        let mut live: HashSet<ContentId> = extra_roots.clone();
        let mut refer = |rec: &CallRecord| {
            for a in rec.args.iter().chain(rec.ret.iter()).chain(rec.after.iter()) {
                if let Slot::Stored { id, .. } = a.slot {
                    live.insert(id);
                }
            }
        };
        for f in self.accepted_functions()? {
            for key in self.calls(&f)? {
                if let Ok(rec) = self.read_call(&key) {
                    refer(&rec);
                }
            }
        }
        for f in self.pending_functions()? {
            for capture in self.pending(&f)?.captures {
                refer(&capture.record);
            }
        }
        let mut report = GcReport::default();
        for a in self.backend.list(OBJECTS)?.dirs {
            for b in self.backend.list(&format!("{OBJECTS}/{a}"))?.dirs {
                let prefix = format!("{OBJECTS}/{a}/{b}");
                for (rest, modified) in self.backend.list(&prefix)?.files {
                    let Ok(id) = format!("{a}{b}{rest}").parse::<ContentId>() else {
                        continue;
                    };
                    if live.contains(&id) {
                        report.kept += 1;
                    } else if modified.is_some_and(|m| m > cutoff)
                        || !self.backend.delete_if_older(&format!("{prefix}/{rest}"), cutoff)?
                    {
                        report.young += 1;
                    } else {
                        report.removed += 1;
                    }
                }
            }
        }
        report.temp_removed = self.backend.sweep_temp(cutoff)?;
        Ok(report)
    }
}

/// The most bytes a call record file may hold: records carry names, type
/// names, schemas and capped `Debug` text, never the values themselves.
pub const MAX_RECORD_LEN: u64 = 64 << 20;

/// Check that `record`, read from `key`, is the record its place names.
fn check_placement(path: &Path, key: &str, record: &CallRecord) -> Result<()> {
    let (dir, name) = key.rsplit_once('/').unwrap_or(("", key));
    let expected_dir = function_dir(&record.function);
    let misplaced = |expected: String, found: String| CaptureError::Misplaced {
        path: path.to_owned(),
        expected,
        found,
    };
    if dir != expected_dir {
        return Err(misplaced(
            format!("a call of the function stored in `{dir}`"),
            format!("a call of `{}`", record.function),
        ));
    }
    let stem = name.strip_suffix(CALL_EXT).unwrap_or(name);
    if !stem.contains('-') {
        // An accepted capture's stable name: its inputs' id.
        let input = record.input_id();
        return if stem == input {
            Ok(())
        } else {
            Err(misplaced(
                format!("a call whose inputs have the id in the name `{name}`"),
                format!("a call whose inputs have the id {input}"),
            ))
        };
    }
    let fields: Vec<&str> = stem.split('-').collect();
    let named = (
        fields.first().and_then(|f| f.parse::<u64>().ok()),
        fields.get(1).and_then(|f| f.parse::<u32>().ok()),
        fields.get(2).and_then(|f| f.parse::<u64>().ok()),
    );
    if named != (Some(record.unix_nanos), Some(record.pid), Some(record.seq)) {
        return Err(misplaced(
            format!("time, pid and sequence as in the name `{name}`"),
            format!(
                "time {}, pid {}, sequence {}",
                record.unix_nanos, record.pid, record.seq
            ),
        ));
    }
    Ok(())
}

/// The timestamp encoded in a call record's file name: the first field of
/// `<nanos>-<pid>-<seq>-<nonce>.call`, and of the older
/// `<nanos>-<pid>-<seq>.call`.
pub(crate) fn call_nanos(name: &str) -> Option<u64> {
    name.rsplit('/').next()?.split('-').next()?.parse().ok()
}

/// This process's random nonce (64 bits from the OS, drawn once), part of
/// every call record name it writes, so two machines or containers whose
/// processes share a pid (often 1) and record in the same nanosecond never
/// write the same key.
///
/// ```
/// assert_eq!(capture_runtime::store::process_nonce(), capture_runtime::store::process_nonce());
/// ```
pub fn process_nonce() -> u64 {
    static NONCE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *NONCE.get_or_init(|| {
        getrandom::u64().unwrap_or_else(|_| {
            // No OS randomness: std's per-process random hash keys, mixed with
            // the pid and the time, still differ between machines.
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u32(std::process::id());
            h.write_u128(
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
            );
            h.finish()
        })
    })
}

#[cfg(test)]
mod naming_tests {
    use super::*;

    fn record(unix_nanos: u64, pid: u32, seq: u64) -> CallRecord {
        crate::record::test_record(unix_nanos, pid, seq)
    }

    #[test]
    fn names_carry_the_process_nonce_and_old_names_still_read() {
        let name = record(5, 1, 0).file_name();
        let fields: Vec<&str> = name.strip_suffix(".call").unwrap().split('-').collect();
        assert_eq!(fields.len(), 4, "{name}");
        assert_eq!(fields[0], format!("{:020}", 5));
        assert_eq!(fields[3], format!("{:016x}", process_nonce()));
        assert_eq!(call_nanos(&name), Some(5));

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path());
        // A record another machine wrote with the same time, pid and sequence
        // under the old naming (no nonce): this process's record does not
        // replace it, and both read back.
        let theirs = record(1_000, 1, 0);
        let body = Codec::MsgPack.encode(&theirs).unwrap();
        let old_key = format!("{}/{:020}-{:010}-{:012}.call", function_dir("shop::price"), 1_000, 1, 0);
        store
            .backend()
            .put(&old_key, &frame(Codec::MsgPack, FileKind::Call, &body))
            .unwrap();
        let mut ours = record(1_000, 1, 0);
        ours.thread_id = 2;
        let ours_key = store.write_call(&ours, Retention::default()).unwrap();
        assert_ne!(ours_key, old_key);
        let keys = store.calls("shop::price").unwrap();
        assert_eq!(keys.len(), 2, "{keys:?}");
        let read: Vec<u64> = keys.iter().map(|k| store.read_call(k).unwrap().thread_id).collect();
        assert!(read.contains(&1) && read.contains(&2));
        // Both sort by time with newer records, and retention counts both.
        store.write_call(&record(2_000, 1, 1), Retention::default()).unwrap();
        let keep_one = Retention {
            max_count: Some(1),
            max_age: None,
        };
        store.write_call(&record(3_000, 1, 2), keep_one).unwrap();
        let left = store.calls("shop::price").unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(store.read_call(&left[0]).unwrap().unix_nanos, 3_000);
    }
}
