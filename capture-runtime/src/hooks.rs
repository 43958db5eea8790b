//! `on_capture` hooks: user callbacks run after a call record, a cache entry
//! or a checkpoint is stored.
//!
//! Hooks run on one background thread, never on the thread that captured, so
//! a slow or panicking hook cannot slow down or break the instrumented code.
//! With no hook registered, storing costs one relaxed atomic load more:
//! every store site checks it before building an event. A `CacheEntry` event
//! means the entry is in the store when it is sent.
//! Events wait in a bounded queue (4096); when it is full new events are
//! dropped and counted ([`dropped`]).
//!
//! ```
//! use capture_runtime::hooks::{on_capture, remove_hook, drain, CaptureEvent};
//! use std::sync::{Arc, Mutex};
//!
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let s = seen.clone();
//! let id = on_capture(move |e: &CaptureEvent| {
//!     if let CaptureEvent::Checkpoint { name, .. } = e { s.lock().unwrap().push(name.clone()) }
//! });
//! let dir = tempfile::tempdir().unwrap();
//! let cps = capture_runtime::checkpoint::Checkpoints::new(capture_runtime::Store::open(dir.path()));
//! cps.save("model", &vec![1.0f32, 2.0]).unwrap();
//! drain();
//! assert_eq!(*seen.lock().unwrap(), ["model"]);
//! remove_hook(id);
//! ```

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};

use crate::record::Outcome;

/// What was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaptureEvent {
    /// A call record was written (the final record of a call, or the start
    /// record of one that has not finished yet).
    Call {
        /// Where (the store's description).
        store: String,
        /// Function id.
        function: String,
        /// Store key of the record.
        key: String,
        /// How the call ended (`Started` for the record written at call start).
        outcome: Outcome,
    },
    /// A memoized result was stored.
    CacheEntry {
        /// Where.
        store: String,
        /// Function id.
        function: String,
        /// Store key of the entry.
        key: String,
        /// Size of the entry file.
        bytes: u64,
    },
    /// A checkpoint version was saved.
    Checkpoint {
        /// Where.
        store: String,
        /// Checkpoint name.
        name: String,
        /// Version saved (1, 2, ...).
        version: u64,
        /// Store key of the checkpoint record.
        key: String,
    },
}

/// Handle of a registered hook, for [`remove_hook`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HookId(u64);

type Hook = Arc<dyn Fn(&CaptureEvent) + Send + Sync>;

static ANY: AtomicBool = AtomicBool::new(false);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static HOOKS: RwLock<Vec<(HookId, Hook)>> = RwLock::new(Vec::new());
static DROPPED: AtomicU64 = AtomicU64::new(0);
const QUEUE: usize = 4096;

struct Pending {
    count: Mutex<u64>,
    idle: Condvar,
}

static PENDING: Pending = Pending {
    count: Mutex::new(0),
    idle: Condvar::new(),
};

/// Register `hook`; it runs (on the hooks thread) for every event from now on.
pub fn on_capture(hook: impl Fn(&CaptureEvent) + Send + Sync + 'static) -> HookId {
    let id = HookId(NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let mut hooks = HOOKS.write().unwrap_or_else(|e| e.into_inner());
    hooks.push((id, Arc::new(hook)));
    ANY.store(true, Ordering::Release);
    id
}

/// Unregister a hook; returns whether it was registered.
pub fn remove_hook(id: HookId) -> bool {
    let mut hooks = HOOKS.write().unwrap_or_else(|e| e.into_inner());
    let before = hooks.len();
    hooks.retain(|(h, _)| *h != id);
    ANY.store(!hooks.is_empty(), Ordering::Release);
    hooks.len() != before
}

/// Events dropped because the hook queue was full.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Block until every event queued so far has been handed to the hooks.
pub fn drain() {
    let mut n = PENDING.count.lock().unwrap_or_else(|e| e.into_inner());
    while *n > 0 {
        n = PENDING.idle.wait(n).unwrap_or_else(|e| e.into_inner());
    }
}

/// Whether any hook is registered (one relaxed load: the cost with none).
#[inline(always)]
pub(crate) fn active() -> bool {
    ANY.load(Ordering::Relaxed)
}

/// Queue an event for the hooks (no-op without hooks; never blocks).
pub(crate) fn emit(event: CaptureEvent) {
    if !active() {
        return;
    }
    let Some(tx) = sender() else { return };
    *PENDING.count.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    match tx.try_send(event) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
            DROPPED.fetch_add(1, Ordering::Relaxed);
            done_one();
        }
    }
}

fn done_one() {
    let mut n = PENDING.count.lock().unwrap_or_else(|e| e.into_inner());
    *n = n.saturating_sub(1);
    if *n == 0 {
        PENDING.idle.notify_all();
    }
}

fn sender() -> Option<&'static SyncSender<CaptureEvent>> {
    static TX: OnceLock<Option<SyncSender<CaptureEvent>>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = sync_channel::<CaptureEvent>(QUEUE);
        let spawned = std::thread::Builder::new().name("capture-hooks".into()).spawn(move || {
            for event in rx {
                let hooks: Vec<Hook> = HOOKS
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .map(|(_, h)| h.clone())
                    .collect();
                for h in hooks {
                    if catch_unwind(AssertUnwindSafe(|| h(&event))).is_err() {
                        crate::config::report_once("an on_capture hook panicked; later events still run");
                    }
                }
                done_one();
            }
        });
        match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                crate::config::report_once(&format!("could not start the on_capture hooks thread: {e}"));
                None
            }
        }
    })
    .as_ref()
}
