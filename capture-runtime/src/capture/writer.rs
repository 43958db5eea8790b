//! Getting captures to the store: hashing encoded arguments, writing objects
//! (deduplicated) and call records, applying retention; counting failures.
//!
//! Two modes (see [`WriterMode`]):
//!
//! - **Sync**: the calling thread hashes and writes the start record when the
//!   call begins and the final record when it ends. Simple, and every capture
//!   is on disk when the call returns; each call pays for two file writes.
//! - **Background**: the calling thread only encodes the arguments and
//!   enqueues them on a bounded queue; one writer thread hashes, deduplicates,
//!   batches and writes (in the private `background` module). A full queue drops the capture
//!   and counts it ([`WhenFull::Drop`], the default: the caller never waits) or
//!   waits for room ([`WhenFull::Block`]). [`flush`] drains the queue;
//!   [`init`] returns a [`WorkerGuard`] that flushes when dropped.

pub(crate) mod background;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::call::{End, Start};
use super::outgoing::{give_back, ObjectRef};
use super::site::Resolved;
use crate::codec::FORMAT_VERSION;
use crate::config::{Accept, WhenFull, WriterMode};
use crate::hash::ContentId;
use crate::record::{ArgRecord, CallRecord, Outcome, Slot};
use crate::store::segment::{EntryRef, InlineRef, INLINE_MAX};
use crate::store::Store;

/// An encoded value with its record (used by replay to compare outputs).
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct PendingArg {
    pub record: ArgRecord,
    pub body: Option<Vec<u8>>,
}

/// Counters of what capturing did in this process.
///
/// ```
/// let s = capture_runtime::stats();
/// assert!(s.failed <= s.failed + s.written);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Call records written (in sync mode the start and the end write of a call count once each).
    pub written: u64,
    /// Captures dropped (full background queue with [`WhenFull::Drop`]).
    pub dropped: u64,
    /// Captures that failed to be written (I/O errors and the like).
    pub failed: u64,
    /// Finished calls the background writer did not write because they were
    /// identical (same argument ids, return value, after-state and outcome) to
    /// the function's previous recorded call: dedup of repeated calls.
    pub coalesced: u64,
    /// Finished calls the background writer did not write because retention
    /// would have removed them within the same batch (newer calls of the same
    /// function filled the `retention` slots first).
    pub evicted: u64,
}

static WRITTEN: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);
pub(crate) static COALESCED: AtomicU64 = AtomicU64::new(0);
pub(crate) static EVICTED: AtomicU64 = AtomicU64::new(0);

/// What capturing has done so far in this process.
pub fn stats() -> Stats {
    Stats {
        written: WRITTEN.load(Ordering::Relaxed),
        dropped: DROPPED.load(Ordering::Relaxed),
        failed: FAILED.load(Ordering::Relaxed),
        coalesced: COALESCED.load(Ordering::Relaxed),
        evicted: EVICTED.load(Ordering::Relaxed),
    }
}

pub(crate) fn count_dropped() {
    DROPPED.fetch_add(1, Ordering::Relaxed);
}

/// Make every capture recorded so far written, visible to loaders and (with
/// [`crate::store::Durability::OnFlush`]) synced to disk.
///
/// With the background writer this waits until the writer has handled
/// everything queued before the call; calls still running get their start
/// record written. Cheap when there is nothing to do (two atomic loads), so
/// tests, examples and replay harnesses can call it freely.
///
/// ```
/// capture_runtime::flush();
/// ```
pub fn flush() {
    background::flush();
    let stores = SYNC_TOUCHED.lock().unwrap_or_else(|e| e.into_inner()).take();
    for s in stores.unwrap_or_default().into_values() {
        if let Err(e) = s.sync() {
            FAILED.fetch_add(1, Ordering::Relaxed);
            crate::config::report(
                &format!("sync {}: {}", s.describe(), e.kind_label()),
                &format!("could not sync {}: {e}", s.describe()),
            );
        }
    }
}

/// Flushes captures when dropped: hold it in `main` (like tracing-appender's
/// `WorkerGuard`) so a program that uses the background writer does not exit
/// with captures still queued.
///
/// Rust runs no destructors for statics at exit; the background writer
/// drains its queue from an `atexit` handler when the process exits
/// normally (`main` returns, `std::process::exit`), but not when it is killed
/// or aborts: keep the guard alive for the life of the program, or call
/// [`flush`], to be sure at a point of your choosing.
///
/// ```
/// let _capture = capture_runtime::init();
/// // ... the program; captures are flushed when `_capture` drops.
/// ```
#[must_use = "captures are flushed when the guard drops: bind it, e.g. `let _capture = capture_runtime::init();`"]
#[derive(Debug)]
pub struct WorkerGuard {
    _private: (),
}

impl WorkerGuard {
    /// Flush now (the guard stays usable and flushes again on drop).
    pub fn flush(&self) {
        flush();
    }
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        flush();
    }
}

/// Read the configuration (reporting invalid environment values once) and
/// return a guard that flushes captures when dropped. Optional: capturing
/// works without it, and the background writer starts on the first capture.
///
/// ```
/// let guard = capture_runtime::init();
/// drop(guard); // flushes
/// ```
pub fn init() -> WorkerGuard {
    let _ = crate::config::enabled();
    WorkerGuard { _private: () }
}

/// Stores written synchronously since the last flush (to sync them on flush).
static SYNC_TOUCHED: Mutex<Option<HashMap<String, Store>>> = Mutex::new(None);

fn touched(store: &Store) {
    let mut map = SYNC_TOUCHED.lock().unwrap_or_else(|e| e.into_inner());
    let map = map.get_or_insert_with(HashMap::new);
    map.entry(store.describe()).or_insert_with(|| store.clone());
}

/// What the end of a call must do, decided when it started.
pub(crate) enum InFlightMode {
    /// Background: the start went to the writer; the end follows it.
    Queued(WhenFull),
    /// Background: the start was dropped (full queue), so is the end.
    Dropped,
    /// Sync: the start record is on disk; the final record replaces it.
    Sync(Box<SyncStart>),
    /// Sampled out, held until the call ends: written only if it failed
    /// (returned `Err` or panicked) and the failure rate keeps it.
    Held(Box<Start>),
}

impl InFlightMode {
    /// Whether nothing of this call is recorded (its start was dropped).
    pub(crate) fn dropped(&self) -> bool {
        matches!(self, InFlightMode::Dropped)
    }

    /// Whether the call was sampled out and is held for its outcome.
    pub(crate) fn held(&self) -> bool {
        matches!(self, InFlightMode::Held(_))
    }
}

/// A synchronous call's start as written: its record and the objects it
/// refers to (bytes for those it encoded), written again with the final entry.
pub(crate) struct SyncStart {
    record: CallRecord,
    objects: Vec<(ContentId, Option<Vec<u8>>)>,
}

/// The record of a call's start (arguments `args`, outcome `Started`).
pub(crate) fn start_record(start: &Start, args: Vec<ArgRecord>) -> CallRecord {
    CallRecord {
        function: start.resolved.fn_id.clone(),
        crate_name: start.site.crate_name.to_owned(),
        crate_version: start.site.crate_version.to_owned(),
        format_version: FORMAT_VERSION,
        unix_nanos: start.unix_nanos,
        pid: std::process::id(),
        seq: start.seq,
        thread_name: start.thread_name.map(str::to_owned),
        thread_id: start.thread_id,
        depth: start.depth,
        args,
        ret: None,
        after: Vec::new(),
        outcome: Outcome::Started,
    }
}

/// Put the outcome `end` (its parts hashed to `ids`) into `record`.
pub(crate) fn finish_record(record: &mut CallRecord, end: &End, ids: &[Option<ContentId>]) {
    record.outcome = end.outcome;
    if let Some(parts) = &end.parts {
        let mut args = parts.records(ids);
        if end.has_ret && !args.is_empty() {
            record.ret = Some(args.remove(0));
        }
        record.after = args;
    }
}

/// Make sure `store` holds object `id`: write `body` (this call encoded
/// it) or, for an object reused from an earlier call, mark it as used.
/// `Ok(false)` when a reused object is no longer there.
pub(crate) fn ensure_object(store: &Store, id: ContentId, body: Option<&[u8]>) -> Result<bool, crate::CaptureError> {
    match body {
        Some(body) => store.put_object_with_id(id, body).map(|_| true),
        None => {
            let present = store.touch_object(&id)?;
            if !present {
                super::sampled::forget_object(store, id);
            }
            Ok(present)
        }
    }
}

/// In `record`, turn the slots of objects that left the store (`gone`)
/// into failures that say so.
pub(crate) fn mark_gone(record: &mut CallRecord, gone: &[ContentId]) {
    if gone.is_empty() {
        return;
    }
    let slots = record
        .args
        .iter_mut()
        .chain(record.ret.iter_mut())
        .chain(record.after.iter_mut());
    for a in slots {
        if matches!(&a.slot, Slot::Stored { id, .. } if gone.contains(id)) {
            a.slot = Slot::Failed {
                error: "reused the stored buffer of an earlier call (`hash(.. = sampled)`), which left the store before this call was written; the next call stores it again".into(),
            };
            a.schema = None;
        }
    }
}

/// Store the objects of some calls with `put`, then the records that refer
/// to them with `write` (given the ids of reused objects found gone), safe
/// against a concurrent [`Store::gc`] of any grace period.
///
/// gc raises the store's gc epoch before it lists references. If the epoch
/// changed between the objects and the records, that gc may have listed the
/// records before they existed and judged their objects unreferenced: `put`
/// runs again with `recheck` (trusting no memory of what the store holds),
/// which finds each object and marks it as just used, so gc's second look at
/// its age keeps it, or writes it anew; records are rewritten only if a
/// reused object turned out gone. `put` gets the epoch it runs under.
pub(crate) fn put_then_write(
    store: &Store,
    mut put: impl FnMut(u64, bool) -> Result<Vec<ContentId>, crate::CaptureError>,
    mut write: impl FnMut(&[ContentId]) -> Result<u64, crate::CaptureError>,
) -> Result<u64, crate::CaptureError> {
    let epoch = store.gc_epoch();
    let gone = put(epoch, false)?;
    let n = write(&gone)?;
    let now = store.gc_epoch();
    if now != epoch {
        let again = put(now, true)?;
        if again.iter().any(|id| !gone.contains(id)) {
            let mut all = gone;
            all.extend(again);
            write(&all)?;
        }
    }
    Ok(n)
}

/// Write calls of one function (records with the objects they refer to):
/// objects of at most [`INLINE_MAX`] bytes that this call encoded go inline
/// into its pending entry; larger ones, and objects reused from earlier
/// calls, go to `objects/` through `put` (safe against a concurrent gc, see
/// [`put_then_write`]). Finished calls are written as accepted captures
/// instead when `accept` says so. Returns how many calls were written.
///
/// The bytes appended are added to `quota_bytes` when given (the caller
/// counts them against the store's quota later), else counted at once.
pub(crate) fn write_calls_of(
    store: &Store,
    calls: &mut [(CallRecord, Vec<ObjectRef<'_>>)],
    retention: crate::store::Retention,
    accept: Accept,
    mut quota_bytes: Option<&mut u64>,
    mut put: impl FnMut(&[ObjectRef<'_>], u64, bool) -> Result<Vec<ContentId>, crate::CaptureError>,
) -> Result<u64, crate::CaptureError> {
    let external: Vec<ObjectRef<'_>> = calls
        .iter()
        .flat_map(|(_, objects)| objects.iter().filter(|(_, body)| !inline(*body)).copied())
        .collect();
    put_then_write(
        store,
        |epoch, recheck| put(&external, epoch, recheck),
        |gone| {
            // Borrowed, not copied: records and object bytes are encoded
            // where they are.
            let mut entries: Vec<EntryRef<'_>> = Vec::with_capacity(calls.len());
            let mut written = 0;
            for (record, _) in calls.iter_mut() {
                mark_gone(record, gone);
            }
            for (record, objects) in calls.iter() {
                let mut inlined: Vec<InlineRef<'_>> = Vec::new();
                for (id, body) in objects {
                    if let Some(body) = body.filter(|_| inline(*body)) {
                        if !inlined.iter().any(|o| o.id == *id) {
                            inlined.push(InlineRef { id: *id, body });
                        }
                    }
                }
                if accept != Accept::No && record.outcome != Outcome::Started {
                    let objects: Vec<(ContentId, &[u8])> = inlined.iter().map(|o| (o.id, o.body)).collect();
                    store.write_accepted(record, store.codec(), &objects, accept == Accept::Always)?;
                    written += 1;
                } else {
                    entries.push(EntryRef {
                        record,
                        objects: inlined,
                    });
                }
            }
            let (keys, bytes) = store.append_pending_unnoted(&entries, retention)?;
            match quota_bytes.as_deref_mut() {
                Some(total) => *total += bytes,
                None => store.note_quota(bytes),
            }
            written += keys.len() as u64;
            Ok(written)
        },
    )
}

/// Whether an object this call encoded (`Some` bytes) is small enough to
/// be kept inline in its pending entry.
fn inline(body: Option<&[u8]>) -> bool {
    body.is_some_and(|b| b.len() <= INLINE_MAX)
}

/// Store objects straight to `objects/`: the ids of reused objects that are gone.
fn put_refs(
    store: &Store,
) -> impl FnMut(&[ObjectRef<'_>], u64, bool) -> Result<Vec<ContentId>, crate::CaptureError> + '_ {
    move |objects, _, _| {
        let mut gone = Vec::new();
        for (id, body) in objects {
            if !ensure_object(store, *id, *body)? {
                gone.push(*id);
            }
        }
        Ok(gone)
    }
}

/// Start of a call: in sync mode write the start record (arguments stored,
/// outcome `Started`); in background mode hand the start to the writer.
pub(crate) fn submit_start(start: Start) -> InFlightMode {
    let resolved = start.resolved;
    if let WriterMode::Background { capacity, when_full } = resolved.writer {
        return if background::start(start, capacity, when_full) {
            InFlightMode::Queued(when_full)
        } else {
            InFlightMode::Dropped
        };
    }
    let store = &resolved.store;
    let ids = start.parts.ids(store.codec());
    start.parts.remember_sampled(store, &ids);
    let record = start_record(&start, start.parts.records(&ids));
    let objects = start.parts.objects(&ids);
    let kept: Vec<(ContentId, Option<Vec<u8>>)> = objects.iter().map(|(id, b)| (*id, b.map(<[u8]>::to_vec))).collect();
    let mut calls = [(record, objects)];
    // Recordings accepted as they end leave no pending start entry behind.
    if resolved.accept == Accept::No {
        let result = write_calls_of(store, &mut calls, resolved.retention, Accept::No, None, put_refs(store));
        count(&calls[0].0.function, 1, result);
    }
    let [(record, _)] = calls;
    give_back([start.parts]);
    touched(store);
    InFlightMode::Sync(Box::new(SyncStart { record, objects: kept }))
}

/// End of a call: write the final record (sync) or hand the outcome to the writer.
pub(crate) fn submit_end(resolved: &'static Resolved, mode: InFlightMode, end: End) {
    match mode {
        InFlightMode::Dropped => {
            give_back(end.parts);
        }
        InFlightMode::Held(start) => {
            // Decided by the caller (`InFlight::end`) before it gets here.
            give_back(std::iter::once(start.parts).chain(end.parts));
        }
        InFlightMode::Queued(when_full) => background::end(end, when_full),
        InFlightMode::Sync(start) => {
            let SyncStart {
                mut record,
                objects: start_objects,
            } = *start;
            let store = &resolved.store;
            let ids = end.parts.as_ref().map(|p| p.ids(store.codec())).unwrap_or_default();
            finish_record(&mut record, &end, &ids);
            // The start entry's objects are in the store already (inline in
            // its entry, or in `objects/`): inline them again with this one.
            let mut objects = end.parts.as_ref().map(|p| p.objects(&ids)).unwrap_or_default();
            objects.extend(start_objects.iter().map(|(id, body)| (*id, body.as_deref())));
            let mut calls = [(record, objects)];
            let result = write_calls_of(
                store,
                &mut calls,
                resolved.retention,
                resolved.accept,
                None,
                put_refs(store),
            );
            let [(record, _)] = calls;
            give_back(end.parts);
            touched(store);
            count(&record.function, 1, result);
        }
    }
}

/// Count `n` records written, or, on failure, `calls` captures lost (the
/// failure is reported once per kind, with a count).
pub(crate) fn count(fn_id: &str, calls: u64, result: Result<u64, crate::CaptureError>) {
    match result {
        Ok(n) => {
            WRITTEN.fetch_add(n, Ordering::Relaxed);
        }
        Err(e) => {
            FAILED.fetch_add(calls, Ordering::Relaxed);
            crate::config::report(
                &format!("write `{fn_id}`: {}", e.kind_label()),
                &format!("could not write a capture of `{fn_id}`: {e}"),
            );
        }
    }
}

/// Whether a full queue drops (the default) or waits.
pub(crate) fn blocks(when_full: WhenFull) -> bool {
    when_full == WhenFull::Block
}
