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
//!   batches and writes (see [`background`]). A full queue drops the capture
//!   and counts it ([`WhenFull::Drop`], the default: the caller never waits) or
//!   waits for room ([`WhenFull::Block`]). [`flush`] drains the queue;
//!   [`init`] returns a [`WorkerGuard`] that flushes when dropped.

pub(crate) mod background;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::site::Resolved;
use crate::config::{WhenFull, WriterMode};
use crate::hash::ContentId;
use crate::record::{ArgRecord, CallRecord, Slot};
use crate::store::{Retention, Store};

/// An argument whose encoded body may still need hashing and storing.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct PendingArg {
    pub record: ArgRecord,
    pub body: Option<Vec<u8>>,
}

/// A call on its way to the store.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct PendingCall {
    pub record: CallRecord,
    pub args: Vec<PendingArg>,
    pub ret: Option<PendingArg>,
    pub after: Vec<PendingArg>,
    pub retention: Retention,
    /// Background mode: the start went to the writer (so the end must follow).
    pub queued: bool,
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
            crate::config::report_once(&format!("could not sync {}: {e}", s.describe()));
        }
    }
}

/// Flushes captures when dropped: hold it in `main` (like tracing-appender's
/// `WorkerGuard`) so a program that uses the background writer does not exit
/// with captures still queued.
///
/// Rust runs no destructors for statics at exit, so there is no reliable
/// automatic flush at process exit: keep the guard alive for the life of the
/// program, or call [`flush`] before exiting.
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

/// Start of a call: in sync mode write the start record (arguments stored,
/// outcome `Started`; bodies replaced by their ids so the final write does not
/// hash them again). In background mode move the arguments to the writer.
pub(crate) fn submit_start(resolved: &Arc<Resolved>, call: &mut PendingCall) {
    if let WriterMode::Background { capacity, when_full } = resolved.writer {
        background::start(&resolved.store, call, capacity, when_full);
        return;
    }
    let store = &resolved.store;
    let result = (|| {
        for a in call.args.iter_mut() {
            store_pending(store, a)?;
        }
        let mut record = call.record.clone();
        record.args = call.args.iter().map(|a| a.record.clone()).collect();
        store.write_call(&record, call.retention)
    })();
    touched(store);
    count(&call.record.function, result.map(|_| 1));
}

/// End of a call: write the final record (sync) or enqueue the outcome.
pub(crate) fn submit(resolved: &Arc<Resolved>, call: PendingCall) {
    if let WriterMode::Background { when_full, .. } = resolved.writer {
        background::end(call, when_full);
        return;
    }
    touched(&resolved.store);
    write_now(&resolved.store, call);
}

fn store_pending(store: &Store, arg: &mut PendingArg) -> Result<(), crate::CaptureError> {
    if let (Some(body), Slot::Stored { len, .. }) = (arg.body.take(), &arg.record.slot) {
        let id = ContentId::of(&body);
        store.put_object_with_id(id, &body)?;
        arg.record.slot = Slot::Stored { id, len: *len };
    }
    Ok(())
}

/// Resolve and write a call synchronously.
pub(crate) fn write_now(store: &Store, call: PendingCall) {
    let fn_id = call.record.function.clone();
    let result = (|| {
        let mut record = call.record;
        let all = |args: Vec<PendingArg>| -> Result<Vec<ArgRecord>, crate::CaptureError> {
            args.into_iter()
                .map(|mut a| {
                    store_pending(store, &mut a)?;
                    Ok(a.record)
                })
                .collect()
        };
        record.args = all(call.args)?;
        record.ret = all(call.ret.into_iter().collect())?.pop();
        record.after = all(call.after)?;
        store.write_call(&record, call.retention)
    })();
    count(&fn_id, result.map(|_| 1));
}

/// Count `n` records written, or one failure (reported once per message).
pub(crate) fn count(fn_id: &str, result: Result<u64, crate::CaptureError>) {
    match result {
        Ok(n) => {
            WRITTEN.fetch_add(n, Ordering::Relaxed);
        }
        Err(e) => {
            FAILED.fetch_add(1, Ordering::Relaxed);
            crate::config::report_once(&format!("could not write a capture of `{fn_id}`: {e}"));
        }
    }
}

/// Whether a full queue drops (the default) or waits.
pub(crate) fn blocks(when_full: WhenFull) -> bool {
    when_full == WhenFull::Block
}
