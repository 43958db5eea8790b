//! The background writer: one thread fed by a bounded queue.
//!
//! The calling thread sends two messages per call: `Start` (the encoded
//! arguments) when the call begins and `End` (outcome, return value,
//! after-state) when it ends. The writer drains the queue in batches (all
//! that is queued, within [`MIN_BATCH`]..=[`MAX_BATCH`] messages) and, per batch:
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
//! 5. appends the calls of a function to this process's pending segment for
//!    it, small objects inline ([`Store::append_pending`]); objects too large
//!    to inline that are not known to exist (an in-memory set spares a
//!    `stat` per argument) go to `objects/` first. Finished calls are
//!    written as accepted captures instead when `CAPTURE_ACCEPT` says so.
//!
//! A call still running [`STARTED_AFTER`] after its start was queued (or at a
//! [`flush`]) gets its start record written (outcome `Started`), so a call that
//! hangs or a process that dies mid-call still leaves a trace; the final record
//! later replaces it under the same key.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::super::call::{End, Start};
use super::super::outgoing::{give_back, ObjectRef, Parts};
use super::{count, count_dropped, finish_record, start_record, COALESCED, EVICTED};
use crate::config::{Accept, WhenFull};
use crate::hash::ContentId;
use crate::record::CallRecord;
use crate::store::Store;

/// Fewest messages a batch may take (when the queue has them).
pub const MIN_BATCH: usize = 4096;
/// Most messages handled in one batch.
pub const MAX_BATCH: usize = 1 << 16;

/// How many queued messages one batch takes at most: the whole queue (two
/// messages per call), within [`MIN_BATCH`]..=[`MAX_BATCH`]. Under load a
/// batch costs about the same whatever its size (retention keeps only the
/// newest calls of each function, and repeats coalesce), so draining more
/// per batch is what lets the writer keep up: with 4096 messages per batch
/// the sustained benchmark wrote 4,900 records per million calls and ran at
/// 100-180k captures/s; draining the 32k-message queue it writes a quarter
/// of them (see docs/performance.md).
fn batch_limit(capacity: usize) -> usize {
    capacity.saturating_mul(2).clamp(MIN_BATCH, MAX_BATCH)
}
/// A call still running this long after its start was queued gets its start record written.
pub const STARTED_AFTER: Duration = Duration::from_millis(50);
/// Sleep of the writer between polls while captures flow.
const POLL: Duration = Duration::from_millis(1);
/// Empty polls before the writer blocks until the next message.
const IDLE_POLLS: u32 = 200;
/// Records of one function written per lock, each group right after its
/// objects (see `write_finished`).
const WRITE_CHUNK: usize = 64;
/// Content ids remembered as present per store before the set is reset.
const KNOWN_CAP: usize = 1 << 20;
/// How long an object stored (or marked as used) by this writer is taken
/// as present without asking the store again. Asking again refreshes its
/// time, so `gc` (whose grace period should be minutes while writers run)
/// never removes an object that new records are still referring to.
const KNOWN_FOR: Duration = Duration::from_secs(30);

enum Msg {
    Start(Start),
    End(End),
    Flush(SyncSender<()>),
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
            .spawn(move || Worker::default().run(rx, batch_limit(capacity)));
        let thread = match spawned {
            Ok(handle) => {
                // Drain the queue when the process exits normally. Rust runs
                // no destructors at exit, but libc runs `atexit` handlers on
                // return from `main` and on `std::process::exit`.
                // SAFETY: registering a plain `extern "C" fn` has no
                // preconditions; a refusal (non-zero) only loses the drain.
                unsafe {
                    libc::atexit(flush_at_exit);
                }
                Some(handle.thread().clone())
            }
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
    let refused = if super::blocks(when_full) {
        q.tx.send(msg).err().map(|e| e.0)
    } else {
        q.tx.try_send(msg).err().map(|e| match e {
            mpsc::TrySendError::Full(m) | mpsc::TrySendError::Disconnected(m) => m,
        })
    };
    let ok = refused.is_none();
    if let Some(msg) = refused {
        QUEUED.fetch_sub(1, Ordering::AcqRel);
        count_dropped();
        match msg {
            Msg::Start(s) => give_back([s.parts]),
            Msg::End(e) => give_back(e.parts),
            Msg::Flush(_) => {}
        }
    }
    ok
}

/// Caller side of a call start: hand the start to the writer. `false` when
/// it was dropped (full queue, counted), so the end must not follow.
pub(crate) fn start(start: Start, capacity: usize, when_full: WhenFull) -> bool {
    let q = queue(capacity);
    if when_full == WhenFull::Drop && QUEUED.load(Ordering::Relaxed) >= q.capacity {
        count_dropped();
        give_back([start.parts]);
        return false;
    }
    send(q, Msg::Start(start), when_full)
}

/// Caller side of a call end: hand the outcome to the writer.
pub(crate) fn end(end: End, when_full: WhenFull) {
    let Some(q) = QUEUE.get() else { return };
    send(q, Msg::End(end), when_full);
}

/// The `atexit` drain: a bounded [`flush`], so that a writer that cannot
/// finish (a hung disk) delays the exit by seconds, not for ever.
extern "C" fn flush_at_exit() {
    // An `extern "C"` function must not unwind.
    let _ = std::panic::catch_unwind(|| flush_within(Some(EXIT_DRAIN)));
}

/// How long the exit drain waits for the writer.
const EXIT_DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Wait until the writer has handled everything queued before this call.
pub(crate) fn flush() {
    flush_within(None);
}

/// [`flush`], giving up after `limit` when one is given.
fn flush_within(limit: Option<std::time::Duration>) {
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
        match limit {
            Some(limit) => {
                let _ = done.recv_timeout(limit);
            }
            None => {
                let _ = done.recv();
            }
        }
    } else {
        QUEUED.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A call whose start the writer has handled: the caller's message as is.
/// Hashing and records wait until the call must be written, so a repeated
/// call (coalesced) or one retention drops within its batch costs neither.
struct Open {
    start: Start,
    end: Option<End>,
    /// The start record is on disk (the call ran long, or a flush came).
    on_disk: bool,
    since: Instant,
}

impl Open {
    fn store(&self) -> &Store {
        &self.start.resolved.store
    }

    fn function(&self) -> &str {
        &self.start.resolved.fn_id
    }

    /// The record of this call as it stands, and the objects it refers to
    /// (bytes for those it encoded, none for those reused from earlier calls).
    fn record(&self) -> (CallRecord, Vec<ObjectRef<'_>>) {
        let codec = self.store().codec();
        let ids = self.start.parts.ids(codec);
        self.start.parts.remember_sampled(self.store(), &ids);
        let mut objects = self.start.parts.objects(&ids);
        let mut record = start_record(&self.start, self.start.parts.records(&ids));
        if let Some(end) = &self.end {
            let end_ids = end.parts.as_ref().map(|p| p.ids(codec)).unwrap_or_default();
            if let Some(parts) = &end.parts {
                objects.extend(parts.objects(&end_ids));
            }
            finish_record(&mut record, end, &end_ids);
        }
        (record, objects)
    }

    /// Whether `self` and `other` (finished calls) would replay identically:
    /// the same encoded arguments, outcome, return value and after-state.
    /// Equal bytes are equal content ids, so this is the records' equality
    /// without hashing.
    fn same_as(&self, other: &Open) -> bool {
        fn same(a: &Parts, b: &Parts) -> bool {
            a.args == b.args && a.bytes == b.bytes
        }
        let ends = match (&self.end, &other.end) {
            (Some(a), Some(b)) => {
                a.outcome == b.outcome
                    && a.has_ret == b.has_ret
                    && match (&a.parts, &b.parts) {
                        (Some(x), Some(y)) => same(x, y),
                        (None, None) => true,
                        _ => false,
                    }
            }
            _ => false,
        };
        ends && same(&self.start.parts, &other.start.parts)
    }

    /// Give the buffers back for reuse.
    fn release(self) {
        give_back(std::iter::once(self.start.parts).chain(self.end.and_then(|e| e.parts)));
    }
}

/// Identity of a store inside the writer (stores are shared per folder).
fn store_key(store: &Store) -> usize {
    Arc::as_ptr(store.backend()) as *const () as usize
}

/// Objects known to be in one store, valid for one gc epoch only: a gc
/// that ran since may have deleted any of them.
#[derive(Default)]
struct Known {
    epoch: u64,
    at: HashMap<ContentId, Instant>,
}

#[derive(Default)]
struct Worker {
    open: HashMap<u64, Open>,
    /// Objects known to be in each store, and when they were last stored
    /// or marked as used (see [`KNOWN_FOR`]).
    known: HashMap<usize, Known>,
    /// Each function's most recent recorded call, for dedup.
    last: HashMap<(usize, String), Open>,
    /// Stores written since the last flush.
    touched: HashMap<usize, Store>,
    /// Bytes appended to each store in this batch, counted against its
    /// quota once the whole batch is written.
    quota_bytes: HashMap<usize, (Store, u64)>,
}

impl Worker {
    fn run(mut self, rx: Receiver<Msg>, max_batch: usize) {
        // While captures flow, the writer polls (sleeping POLL between batches)
        // instead of blocking in `recv`: a blocked receiver makes every send a
        // futex wake-up, which would cost the calling thread microseconds.
        // After IDLE_POLLS empty polls it blocks again (no CPU when idle).
        let mut idle = 0u32;
        loop {
            let waiting = OPEN_UNWRITTEN.load(Ordering::Acquire) > 0;
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
            while batch.len() < max_batch {
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
                Msg::Start(start) => {
                    OPEN_UNWRITTEN.fetch_add(1, Ordering::AcqRel);
                    let seq = start.seq;
                    let open = Open {
                        start,
                        end: None,
                        on_disk: false,
                        since: Instant::now(),
                    };
                    self.open.insert(seq, open);
                }
                Msg::End(e) => {
                    // No open call: its start was dropped (and counted).
                    if let Some(mut o) = self.open.remove(&e.seq) {
                        if !o.on_disk {
                            OPEN_UNWRITTEN.fetch_sub(1, Ordering::AcqRel);
                        }
                        o.end = Some(e);
                        done.push(o);
                    } else {
                        give_back(e.parts);
                    }
                }
                Msg::Flush(ack) => acks.push(ack),
            }
        }
        self.write_finished(done);
        for (_, (store, bytes)) in self.quota_bytes.drain() {
            if bytes > 0 {
                store.note_quota(bytes);
            }
        }
        self.write_started(!acks.is_empty());
        if !acks.is_empty() {
            DIRTY.store(false, Ordering::Release);
            for (_, store) in self.touched.drain() {
                if let Err(e) = store.sync() {
                    count(&store.describe(), 1, Err(e));
                }
            }
        }
    }

    /// Dedup, in-batch retention and grouped writes of finished calls.
    fn write_finished(&mut self, done: Vec<Open>) {
        let mut groups: Vec<Vec<Open>> = Vec::new();
        for o in done {
            let key = store_key(o.store());
            match groups
                .iter_mut()
                .find(|g| store_key(g[0].store()) == key && g[0].function() == o.function())
            {
                Some(g) => g.push(o),
                None => groups.push(vec![o]),
            }
        }
        for group in groups {
            let key = (store_key(group[0].store()), group[0].function().to_owned());
            let mut keep: Vec<Open> = Vec::with_capacity(group.len());
            for o in group {
                let previous = keep.last().or_else(|| self.last.get(&key));
                if !o.on_disk && previous.is_some_and(|p| p.same_as(&o)) {
                    COALESCED.fetch_add(1, Ordering::Relaxed);
                    o.release();
                } else {
                    keep.push(o);
                }
            }
            let retention = keep.last().map(|o| o.start.resolved.retention).unwrap_or_default();
            if let Some(max) = retention.max_count {
                if keep.len() > max {
                    let cut = keep.len() - max;
                    let mut survivors = Vec::with_capacity(keep.len());
                    for (i, o) in keep.into_iter().enumerate() {
                        // A start record on disk must be replaced so retention sees it.
                        if i >= cut || o.on_disk {
                            survivors.push(o);
                        } else {
                            EVICTED.fetch_add(1, Ordering::Relaxed);
                            o.release();
                        }
                    }
                    keep = survivors;
                }
            }
            let Some(store) = keep.first().map(|o| o.store().clone()) else {
                continue;
            };
            let accept = keep.last().map(|o| o.start.resolved.accept).unwrap_or_default();
            let mut calls: Vec<(CallRecord, Vec<ObjectRef<'_>>)> = keep.iter().map(Open::record).collect();
            let quota_bytes = &mut self
                .quota_bytes
                .entry(store_key(&store))
                .or_insert_with(|| (store.clone(), 0))
                .1;
            for chunk in calls.chunks_mut(WRITE_CHUNK) {
                let known = &mut self.known;
                let n = chunk.len() as u64;
                let result = super::write_calls_of(
                    &store,
                    chunk,
                    retention,
                    accept,
                    Some(&mut *quota_bytes),
                    |objects, epoch, recheck| put_objects(known, &store, objects.iter(), epoch, recheck),
                );
                count(&key.1, n, result);
            }
            drop(calls);
            if let Some(last) = keep.pop() {
                if let Some(old) = self.last.insert(key, last) {
                    old.release();
                }
            }
            keep.into_iter().for_each(Open::release);
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
            let store = o.store().clone();
            let known = &mut self.known;
            let retention = o.start.resolved.retention;
            let mut calls = [o.record()];
            let result = super::write_calls_of(
                &store,
                &mut calls,
                retention,
                Accept::No,
                None,
                |objects, epoch, recheck| put_objects(known, &store, objects.iter(), epoch, recheck),
            );
            let [(record, _)] = calls;
            count(&record.function, 1, result);
            o.on_disk = true;
            OPEN_UNWRITTEN.fetch_sub(1, Ordering::AcqRel);
            DIRTY.store(true, Ordering::Release);
            self.touched.insert(store_key(&store), store);
            self.open.insert(seq, o);
        }
    }
}

/// Store the objects not known to be in `store` (or known for longer than
/// [`KNOWN_FOR`], or known under an older gc epoch, or all of them when
/// `recheck`); the ids of reused objects that are gone.
fn put_objects<'b>(
    known: &mut HashMap<usize, Known>,
    store: &Store,
    objects: impl IntoIterator<Item = &'b ObjectRef<'b>>,
    epoch: u64,
    recheck: bool,
) -> Result<Vec<ContentId>, crate::CaptureError> {
    let known = known.entry(store_key(store)).or_default();
    if known.at.len() > KNOWN_CAP || known.epoch != epoch || recheck {
        known.at.clear();
        known.epoch = epoch;
    }
    let now = Instant::now();
    let mut gone = Vec::new();
    for (id, body) in objects {
        if known.at.get(id).is_some_and(|at| now.duration_since(*at) < KNOWN_FOR) {
            continue;
        }
        if super::ensure_object(store, *id, *body)? {
            known.at.insert(*id, now);
        } else {
            known.at.remove(id);
            gone.push(*id);
        }
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_takes_the_whole_queue_within_bounds() {
        assert_eq!(batch_limit(1), MIN_BATCH);
        assert_eq!(batch_limit(1 << 14), 1 << 15, "two messages per call");
        assert_eq!(batch_limit(usize::MAX), MAX_BATCH);
    }
}
