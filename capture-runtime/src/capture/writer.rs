//! Getting captures to the store: hashing encoded arguments, writing objects
//! (deduplicated) and call records, applying retention; counting failures.

use std::sync::atomic::{AtomicU64, Ordering};

use super::site::Resolved;
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
}

/// Counters of what capturing did in this process.
///
/// ```
/// let s = capture_runtime::stats();
/// assert!(s.failed <= s.failed + s.written);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Call records written (start and end writes of a call count once each).
    pub written: u64,
    /// Captures dropped (full queue).
    pub dropped: u64,
    /// Captures that failed to be written (I/O errors and the like).
    pub failed: u64,
}

static WRITTEN: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);

/// What capturing has done so far in this process.
pub fn stats() -> Stats {
    Stats {
        written: WRITTEN.load(Ordering::Relaxed),
        dropped: DROPPED.load(Ordering::Relaxed),
        failed: FAILED.load(Ordering::Relaxed),
    }
}

#[allow(dead_code)]
pub(crate) fn count_dropped() {
    DROPPED.fetch_add(1, Ordering::Relaxed);
}

/// Make every capture recorded so far durable and visible to loaders.
/// Synchronous writes are already visible, so this is then a no-op.
///
/// ```
/// capture_runtime::flush();
/// ```
pub fn flush() {}

/// Write the start record of a call (arguments stored, outcome `Started`).
/// Argument bodies are stored here and replaced by their ids, so the final
/// write does not hash them again.
pub(crate) fn submit_start(resolved: &Resolved, call: &mut PendingCall) {
    let store = &resolved.store;
    let result = (|| {
        for a in call.args.iter_mut() {
            store_pending(store, a)?;
        }
        let mut record = call.record.clone();
        record.args = call.args.iter().map(|a| a.record.clone()).collect();
        store.write_call(&record, call.retention)
    })();
    count(&call.record.function, result);
}

/// Write the final record of a call.
pub(crate) fn submit(resolved: &Resolved, call: PendingCall) {
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
    count(&fn_id, result);
}

fn count(fn_id: &str, result: Result<String, crate::CaptureError>) {
    match result {
        Ok(_) => {
            WRITTEN.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            FAILED.fetch_add(1, Ordering::Relaxed);
            crate::config::report_once(&format!("could not write a capture of `{fn_id}`: {e}"));
        }
    }
}
