//! The background writer: one thread fed by a bounded queue.
//!
//! The calling thread sends two messages per call: `Start` (the encoded
//! arguments) when the call begins and `End` (outcome, return value,
//! after-state) when it ends. The writer drains the queue in batches of up to
//! [`MAX_BATCH`] messages and, per batch:
//!
//! 1. hashes argument bodies (SHA-256) into content ids;
//! 2. pairs each `End` with its `Start`: a call whose start and end arrive
//!    before its start record was written gets one record, not two;
//! 3. drops a finished call identical to its function's previous recorded call
//!    (same argument ids, return value, after-state and outcome): dedup of
//!    repeated calls, counted in [`Stats::coalesced`](super::Stats);
//! 4. applies count retention inside the batch: of `n` new calls of a function
//!    with `retention = r`, only the newest `r` are written (the others would be
//!    deleted by the same write), counted in [`Stats::evicted`](super::Stats);
//! 5. writes objects not known to exist (an in-memory set spares a `stat` per
//!    argument), then all records of a function under one lock and one
//!    retention pass ([`Store::write_calls`]).
//!
//! A call still running [`STARTED_AFTER`] after its start was queued (or at a
//! [`flush`]) gets its start record written (outcome `Started`), so a call that
//! hangs or a process that dies mid-call still leaves a trace; the final record
//! later replaces it under the same key.

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::{count, count_dropped, PendingArg, PendingCall, COALESCED, EVICTED};
use crate::config::WhenFull;
use crate::hash::ContentId;
use crate::record::{ArgRecord, CallRecord, Outcome, Slot};
use crate::store::{Retention, Store};

/// Most messages handled in one batch.
pub const MAX_BATCH: usize = 4096;
/// A call still running this long after its start was queued gets its start record written.
pub const STARTED_AFTER: Duration = Duration::from_millis(50);
/// Sleep of the writer between polls while captures flow.
const POLL: Duration = Duration::from_millis(1);
/// Empty polls before the writer blocks until the next message.
const IDLE_POLLS: u32 = 200;
/// Content ids remembered as present per store before the set is reset.
const KNOWN_CAP: usize = 1 << 20;

// `End` stays inline: boxing it would add an allocation to every call's end.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Start(Box<Start>),
    End(End),
    Flush(SyncSender<()>),
}

struct Start {
    store: Store,
    call: PendingCall,
}

struct End {
    seq: u64,
    outcome: Outcome,
    ret: Option<PendingArg>,
    after: Vec<PendingArg>,
}

struct Queue {
    tx: SyncSender<Msg>,
    capacity: usize,
    thread: Option<std::thread::Thread>,
}

static QUEUE: OnceLock<Queue> = OnceLock::new();
/// Messages sent and not yet handled.
static QUEUED: AtomicUsize = AtomicUsize::new(0);
/// Calls whose start was handled but whose start record is not on disk.
static OPEN_UNWRITTEN: AtomicUsize = AtomicUsize::new(0);
/// Something was written since the last flush (stores may need a sync).
static DIRTY: AtomicBool = AtomicBool::new(false);

/// The queue, starting the writer thread on first use. The first capture's
/// `capacity` sizes it for the life of the process.
fn queue(capacity: usize) -> &'static Queue {
    QUEUE.get_or_init(|| {
        let capacity = capacity.max(1);
        // Room for an `End` of every accepted `Start`: starts are admitted up
        // to `capacity`, so ends practically never find the channel full.
        let (tx, rx) = mpsc::sync_channel(capacity.saturating_mul(2));
        let spawned = std::thread::Builder::new()
            .name("capture-writer".into())
            .spawn(move || Worker::default().run(rx));
        let thread = match spawned {
            Ok(handle) => Some(handle.thread().clone()),
            Err(e) => {
                crate::config::report_once(&format!(
                    "could not start the capture writer thread ({e}); captures will be dropped"
                ));
                None
            }
        };
        Queue { tx, capacity, thread }
    })
}

fn send(q: &Queue, msg: Msg, when_full: WhenFull) -> bool {
    QUEUED.fetch_add(1, Ordering::AcqRel);
    let ok = if super::blocks(when_full) {
        q.tx.send(msg).is_ok()
    } else {
        q.tx.try_send(msg).is_ok()
    };
    if !ok {
        QUEUED.fetch_sub(1, Ordering::AcqRel);
        count_dropped();
    }
    ok
}

/// Caller side of a call start: move the record and the encoded arguments to
/// the writer; `call` keeps only its sequence number.
pub(crate) fn start(store: &Store, call: &mut PendingCall, capacity: usize, when_full: WhenFull) {
    let q = queue(capacity);
    if when_full == WhenFull::Drop && QUEUED.load(Ordering::Relaxed) >= q.capacity {
        count_dropped();
        return;
    }
    let seq = call.record.seq;
    let record = std::mem::replace(&mut call.record, placeholder(seq));
    let moved = PendingCall {
        record,
        args: std::mem::take(&mut call.args),
        ret: None,
        after: Vec::new(),
        retention: call.retention,
        queued: false,
    };
    let msg = Msg::Start(Box::new(Start {
        store: store.clone(),
        call: moved,
    }));
    call.queued = send(q, msg, when_full);
}

/// Caller side of a call end: enqueue the outcome (nothing when the start was dropped).
pub(crate) fn end(call: PendingCall, when_full: WhenFull) {
    if !call.queued {
        return;
    }
    let Some(q) = QUEUE.get() else { return };
    let msg = Msg::End(End {
        seq: call.record.seq,
        outcome: call.record.outcome,
        ret: call.ret,
        after: call.after,
    });
    send(q, msg, when_full);
}

/// Wait until the writer has handled everything queued before this call.
pub(crate) fn flush() {
    let Some(q) = QUEUE.get() else { return };
    if QUEUED.load(Ordering::Acquire) == 0
        && OPEN_UNWRITTEN.load(Ordering::Acquire) == 0
        && !DIRTY.load(Ordering::Acquire)
    {
        return;
    }
    let (ack, done) = mpsc::sync_channel(1);
    QUEUED.fetch_add(1, Ordering::AcqRel);
    if q.tx.send(Msg::Flush(ack)).is_ok() {
        if let Some(t) = &q.thread {
            t.unpark();
        }
        let _ = done.recv();
    } else {
        QUEUED.fetch_sub(1, Ordering::AcqRel);
    }
}

fn placeholder(seq: u64) -> CallRecord {
    CallRecord {
        function: String::new(),
        crate_name: String::new(),
        crate_version: String::new(),
        format_version: 0,
        unix_nanos: 0,
        pid: 0,
        seq,
        thread_name: None,
        thread_id: 0,
        depth: 0,
        args: Vec::new(),
        ret: None,
        after: Vec::new(),
        outcome: Outcome::Started,
    }
}

/// A call whose start the writer has handled.
struct Open {
    store: Store,
    record: CallRecord,
    bodies: Vec<(ContentId, Vec<u8>)>,
    retention: Retention,
    on_disk: bool,
    since: Instant,
}

/// Identity of a store inside the writer (stores are shared per folder).
fn store_key(store: &Store) -> usize {
    Arc::as_ptr(store.backend()) as *const () as usize
}

#[derive(Default)]
struct Worker {
    open: HashMap<u64, Open>,
    /// Objects known to be in each store.
    known: HashMap<usize, HashSet<ContentId>>,
    /// Each function's most recent recorded call, for dedup.
    last: HashMap<(usize, String), CallRecord>,
    /// Stores written since the last flush.
    touched: HashMap<usize, Store>,
}

impl Worker {
    fn run(mut self, rx: Receiver<Msg>) {
        // While captures flow, the writer polls (sleeping POLL between batches)
        // instead of blocking in `recv`: a blocked receiver makes every send a
        // futex wake-up, which would cost the calling thread microseconds.
        // After IDLE_POLLS empty polls it blocks again (no CPU when idle).
        let mut idle = 0u32;
        loop {
            let waiting = self.open.values().any(|o| !o.on_disk);
            let first = match rx.try_recv() {
                Ok(m) => {
                    idle = 0;
                    Some(m)
                }
                Err(mpsc::TryRecvError::Disconnected) => return,
                Err(mpsc::TryRecvError::Empty) if idle < IDLE_POLLS => {
                    idle += 1;
                    std::thread::park_timeout(POLL);
                    if !waiting {
                        continue;
                    }
                    None
                }
                Err(mpsc::TryRecvError::Empty) if waiting => match rx.recv_timeout(STARTED_AFTER) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                },
                Err(mpsc::TryRecvError::Empty) => match rx.recv() {
                    Ok(m) => {
                        idle = 0;
                        Some(m)
                    }
                    Err(_) => return,
                },
            };
            let mut batch: Vec<Msg> = first.into_iter().collect();
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
            let n = batch.len();
            let mut acks = Vec::new();
            let handled = catch_unwind(AssertUnwindSafe(|| self.handle(batch, &mut acks)));
            if handled.is_err() {
                crate::config::report_once("the capture writer panicked on a batch; its captures were lost");
            }
            QUEUED.fetch_sub(n, Ordering::AcqRel);
            for a in acks {
                let _ = a.send(());
            }
        }
    }

    fn handle(&mut self, batch: Vec<Msg>, acks: &mut Vec<SyncSender<()>>) {
        let mut done = Vec::new();
        for msg in batch {
            match msg {
                Msg::Start(s) => {
                    let Start { store, call } = *s;
                    let mut bodies = Vec::new();
                    let mut record = call.record;
                    record.args = resolve(call.args, &mut bodies);
                    OPEN_UNWRITTEN.fetch_add(1, Ordering::AcqRel);
                    self.open.insert(
                        record.seq,
                        Open {
                            store,
                            record,
                            bodies,
                            retention: call.retention,
                            on_disk: false,
                            since: Instant::now(),
                        },
                    );
                }
                Msg::End(e) => {
                    // No open call: its start was dropped (and counted).
                    if let Some(mut o) = self.open.remove(&e.seq) {
                        if !o.on_disk {
                            OPEN_UNWRITTEN.fetch_sub(1, Ordering::AcqRel);
                        }
                        o.record.ret = resolve(e.ret.into_iter().collect(), &mut o.bodies).pop();
                        o.record.after = resolve(e.after, &mut o.bodies);
                        o.record.outcome = e.outcome;
                        done.push(o);
                    }
                }
                Msg::Flush(ack) => acks.push(ack),
            }
        }
        self.write_finished(done);
        self.write_started(!acks.is_empty());
        if !acks.is_empty() {
            DIRTY.store(false, Ordering::Release);
            for (_, store) in self.touched.drain() {
                if let Err(e) = store.sync() {
                    count(&store.describe(), Err(e));
                }
            }
        }
    }

    /// Dedup, in-batch retention and grouped writes of finished calls.
    fn write_finished(&mut self, done: Vec<Open>) {
        let mut groups: Vec<Vec<Open>> = Vec::new();
        for o in done {
            let key = store_key(&o.store);
            match groups
                .iter_mut()
                .find(|g| store_key(&g[0].store) == key && g[0].record.function == o.record.function)
            {
                Some(g) => g.push(o),
                None => groups.push(vec![o]),
            }
        }
        for group in groups {
            let key = (store_key(&group[0].store), group[0].record.function.clone());
            let mut keep: Vec<Open> = Vec::with_capacity(group.len());
            for o in group {
                let previous = keep.last().map(|k| &k.record).or_else(|| self.last.get(&key));
                if !o.on_disk && previous.is_some_and(|p| same_call(p, &o.record)) {
                    COALESCED.fetch_add(1, Ordering::Relaxed);
                } else {
                    keep.push(o);
                }
            }
            let retention = keep.last().map(|o| o.retention).unwrap_or_default();
            if let Some(max) = retention.max_count {
                if keep.len() > max {
                    let cut = keep.len() - max;
                    let older: Vec<Open> = keep.drain(..cut).collect();
                    let mut survivors = Vec::new();
                    for o in older {
                        // A start record on disk must be replaced so retention sees it.
                        if o.on_disk {
                            survivors.push(o);
                        } else {
                            EVICTED.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    survivors.append(&mut keep);
                    keep = survivors;
                }
            }
            if keep.is_empty() {
                continue;
            }
            let store = keep[0].store.clone();
            let result = self.put_objects(&store, &keep).and_then(|()| {
                let records: Vec<CallRecord> = keep.iter().map(|o| o.record.clone()).collect();
                store.write_calls(&records, retention).map(|k| k.len() as u64)
            });
            count(&key.1, result);
            if let Some(last) = keep.pop() {
                self.last.insert(key, last.record);
            }
            DIRTY.store(true, Ordering::Release);
            self.touched.insert(store_key(&store), store);
        }
    }

    /// Start records of calls running for a while (all of them on flush).
    fn write_started(&mut self, all: bool) {
        let now = Instant::now();
        let due: Vec<u64> = self
            .open
            .iter()
            .filter(|(_, o)| !o.on_disk && (all || now.duration_since(o.since) >= STARTED_AFTER))
            .map(|(seq, _)| *seq)
            .collect();
        for seq in due {
            let Some(mut o) = self.open.remove(&seq) else { continue };
            let store = o.store.clone();
            let result = self
                .put_objects(&store, std::slice::from_ref(&o))
                .and_then(|()| store.write_call(&o.record, o.retention).map(|_| 1));
            count(&o.record.function, result);
            o.on_disk = true;
            o.bodies.clear();
            OPEN_UNWRITTEN.fetch_sub(1, Ordering::AcqRel);
            DIRTY.store(true, Ordering::Release);
            self.touched.insert(store_key(&store), store);
            self.open.insert(seq, o);
        }
    }

    fn put_objects(&mut self, store: &Store, calls: &[Open]) -> Result<(), crate::CaptureError> {
        let known = self.known.entry(store_key(store)).or_default();
        if known.len() > KNOWN_CAP {
            known.clear();
        }
        for o in calls {
            for (id, body) in &o.bodies {
                if known.contains(id) {
                    continue;
                }
                store.put_object_with_id(*id, body)?;
                known.insert(*id);
            }
        }
        Ok(())
    }
}

/// Two finished calls of one function that would replay identically.
fn same_call(a: &CallRecord, b: &CallRecord) -> bool {
    a.outcome == b.outcome && a.args == b.args && a.ret == b.ret && a.after == b.after
}

/// Hash the bodies of `args`, keeping the bodies (for writing) by id.
fn resolve(args: Vec<PendingArg>, bodies: &mut Vec<(ContentId, Vec<u8>)>) -> Vec<ArgRecord> {
    args.into_iter()
        .map(|mut a| {
            if let (Some(body), Slot::Stored { len, .. }) = (a.body.take(), &a.record.slot) {
                let id = ContentId::of(&body);
                a.record.slot = Slot::Stored { id, len: *len };
                if !bodies.iter().any(|(b, _)| *b == id) {
                    bodies.push((id, body));
                }
            }
            a.record
        })
        .collect()
}
