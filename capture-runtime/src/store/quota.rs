//! Store-wide disk quota with oldest-first eviction.
//!
//! # Keeping the per-write cost flat
//!
//! A write never scans the store. Each process counts the bytes it writes
//! (call records, their objects, cache entries, checkpoints: an atomic add)
//! and, every [`FLUSH_WRITES`] writes or every `min(64 KiB, quota / 16)`
//! bytes, adds them to a small ledger file (`quota.ledger`, the store's
//! estimated size) under the `quota.lock` lock, shared by every process
//! writing to the store. Only when the ledger passes the quota does that
//! process measure the store (one walk) and evict, oldest first across
//! functions, pending segments (with the objects only they referenced) and
//! cache entries (by last use), until the store is under [`LOW_WATERMARK_PERCENT`]
//! of the quota. The next walk therefore needs at least a fifth of the quota
//! in new writes: the cost of a walk is spread over the writes that made it
//! necessary.
//!
//! # What is never evicted
//!
//! Accepted captures (`calls/`) and the objects they name: they are the
//! reviewed regression fixtures. Checkpoints are roots: their records and the objects they name
//! ([`crate::gc_roots`]) stay, as do objects younger than a minute that no
//! record references yet (a writer may be about to reference them). When
//! such pinned bytes keep the store above the low watermark, the next
//! enforcement waits for another fifth of the quota of new writes (the
//! ledger keeps that threshold), so a quota that cannot be met never turns
//! into a walk per flush; it is reported once.
//!
//! The ledger over-estimates (objects already present and records removed
//! by retention are still counted until the next walk corrects it) and may
//! miss the last few writes of a process that exits: the quota is a bound
//! enforced within one flush interval, not to the byte.
//!
//! Sizes come from the file system, so quotas apply to local stores; other
//! backends should use their own lifecycle rules.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::layout::{CALLS, CALL_EXT, OBJECTS, PENDING};
use super::segment::SEG_EXT;
use super::Store;
use crate::cache::{CACHE, ENTRY_EXT};
use crate::codec::{unframe, FileKind};
use crate::error::{CaptureError, Result};
use crate::hash::ContentId;
use crate::record::{CallRecord, Slot};

/// Ledger file at the store root: `usage <bytes>`.
pub const LEDGER: &str = "quota.ledger";
/// Lock guarding the ledger and eviction.
pub const LOCK: &str = "quota.lock";
/// Flush the local count to the ledger at least every this many writes.
pub const FLUSH_WRITES: u64 = 32;
/// Eviction brings the store down to this share of the quota.
pub const LOW_WATERMARK_PERCENT: u64 = 80;
/// Temp files older than this are leftovers of crashed writers.
const STALE_TMP: Duration = Duration::from_secs(3600);
/// Unreferenced objects younger than this may be about to be referenced.
const ORPHAN_GRACE: Duration = Duration::from_secs(60);

/// The quota of one store, shared by every handle on it in this process.
#[derive(Debug)]
pub struct Quota {
    limit: u64,
    pending_bytes: AtomicU64,
    pending_writes: AtomicU64,
}

/// What one enforcement found and removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuotaReport {
    /// Bytes under the store before eviction.
    pub before: u64,
    /// Bytes after eviction.
    pub after: u64,
    /// Pending captures evicted (whole segments, oldest first, any function).
    pub calls_removed: usize,
    /// Cache entries evicted (least recently used first, with the calls).
    pub cache_removed: usize,
    /// Objects removed (referenced only by evicted calls, or by none).
    pub objects_removed: usize,
    /// Stale temp files removed.
    pub tmp_removed: usize,
}

impl Quota {
    /// A quota of `limit` bytes.
    pub fn new(limit: u64) -> Quota {
        Quota {
            limit,
            pending_bytes: AtomicU64::new(0),
            pending_writes: AtomicU64::new(0),
        }
    }

    /// The limit in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    fn flush_bytes(&self) -> u64 {
        (self.limit / 16).clamp(1, 64 * 1024)
    }

    /// Count `bytes` just written; flush to the ledger (and evict when over
    /// the quota) when a flush is due. Cheap otherwise.
    pub(crate) fn note(&self, store: &Store, bytes: u64) -> Result<Option<QuotaReport>> {
        let total = self.pending_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let writes = self.pending_writes.fetch_add(1, Ordering::Relaxed) + 1;
        if total < self.flush_bytes() && writes < FLUSH_WRITES {
            return Ok(None);
        }
        self.flush(store, false)
    }

    /// Add the local count to the ledger; measure and evict when the ledger
    /// passes the quota (or always, with `force`).
    pub(crate) fn flush(&self, store: &Store, force: bool) -> Result<Option<QuotaReport>> {
        let root = local_root(store)?;
        let _lock = store.backend().lock(LOCK)?;
        let delta = self.pending_bytes.swap(0, Ordering::Relaxed);
        self.pending_writes.store(0, Ordering::Relaxed);
        let ledger = match read_ledger(store)? {
            Some(l) => Ledger {
                usage: l.usage.saturating_add(delta),
                ..l
            },
            None => Ledger {
                usage: measure(root)?,
                next: None,
            },
        };
        if !force && ledger.usage <= self.trigger(&ledger) {
            write_ledger(store, &ledger)?;
            return Ok(None);
        }
        let target = self.target();
        let report = evict(store, root, target)?;
        // Pinned bytes (checkpoints, young objects) kept the store above the
        // low watermark: wait for another fifth of the quota before the next walk.
        let next = (report.after > target).then(|| report.after + (self.limit - target));
        if report.after > self.limit {
            crate::config::report(
                &format!("quota of {} cannot be met", store.describe()),
                &format!(
                "the store quota of {} bytes for {} cannot be met: {} bytes remain after evicting every call record and cache entry it could (checkpoints and objects written in the last minute are never evicted); raise the quota or delete checkpoints",
                self.limit,
                store.describe(),
                report.after
            ),
            );
        }
        write_ledger(
            store,
            &Ledger {
                usage: report.after,
                next,
            },
        )?;
        Ok(Some(report))
    }

    /// Eviction brings the store down to this many bytes.
    fn target(&self) -> u64 {
        self.limit / 100 * LOW_WATERMARK_PERCENT
    }

    /// The ledger usage past which the next flush measures and evicts.
    fn trigger(&self, ledger: &Ledger) -> u64 {
        ledger.next.map_or(self.limit, |n| n.max(self.limit))
    }
}

/// The ledger: estimated usage, and the threshold of the next walk when
/// pinned bytes keep the store above the low watermark.
#[derive(Debug, PartialEq, Eq)]
struct Ledger {
    usage: u64,
    next: Option<u64>,
}

fn local_root(store: &Store) -> Result<&Path> {
    store.local_root().ok_or_else(|| CaptureError::Config {
        key: "quota".into(),
        value: store.describe(),
        expected: "a local store: quotas measure files on disk; use the object store's lifecycle rules instead".into(),
    })
}

fn read_ledger(store: &Store) -> Result<Option<Ledger>> {
    let Some(text) = store.backend().get(LEDGER)?.and_then(|b| String::from_utf8(b).ok()) else {
        return Ok(None);
    };
    Ok(parse_ledger(&text))
}

fn parse_ledger(text: &str) -> Option<Ledger> {
    let mut usage = None;
    let mut next = None;
    for line in text.lines() {
        match line.trim().split_once(' ') {
            Some(("usage", n)) => usage = n.trim().parse().ok(),
            Some(("next", n)) => next = n.trim().parse().ok(),
            _ => {}
        }
    }
    Some(Ledger { usage: usage?, next })
}

fn write_ledger(store: &Store, ledger: &Ledger) -> Result<()> {
    let text = match ledger.next {
        Some(n) => format!("usage {}\nnext {n}\n", ledger.usage),
        None => format!("usage {}\n", ledger.usage),
    };
    store.backend().put(LEDGER, text.as_bytes())
}

/// One file under the store.
struct Entry {
    key: String,
    size: u64,
    modified: Option<SystemTime>,
}

/// Every file under `root`, by top-level folder.
fn walk(root: &Path) -> Result<Vec<Entry>> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<Entry>) -> Result<()> {
        let rd = match fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(CaptureError::io(dir, e)),
        };
        for entry in rd.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            let path = entry.path();
            if meta.is_dir() {
                go(root, &path, out)?;
            } else if let Ok(rel) = path.strip_prefix(root) {
                let key = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>();
                out.push(Entry {
                    key: key.join("/"),
                    size: meta.len(),
                    modified: meta.modified().ok(),
                });
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    go(root, root, &mut out)?;
    Ok(out)
}

/// Bytes of every file under the store.
pub(crate) fn measure(root: &Path) -> Result<u64> {
    Ok(walk(root)?.iter().map(|e| e.size).sum())
}

/// The timestamp in a call record's file name (see [`super::call_nanos`]).
fn call_nanos(key: &str) -> u64 {
    super::call_nanos(key).unwrap_or(0)
}

fn nanos(t: Option<SystemTime>) -> u64 {
    t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

fn object_id(key: &str) -> Option<ContentId> {
    let rest = key.strip_prefix(OBJECTS)?.strip_prefix('/')?;
    rest.replace('/', "").parse().ok()
}

/// Object bytes a record adds, as an estimate without asking the store:
/// the arguments for a start record, the return value and after-states
/// for a final one (objects already present are counted again; the next
/// measurement corrects that).
pub(crate) fn new_object_bytes(record: &CallRecord) -> u64 {
    let len = |a: &crate::record::ArgRecord| match a.slot {
        Slot::Stored { len, .. } => len + crate::codec::HEADER_LEN as u64,
        _ => 0,
    };
    if record.outcome == crate::record::Outcome::Started {
        record.args.iter().map(len).sum()
    } else {
        record.ret.iter().chain(record.after.iter()).map(len).sum()
    }
}

fn stored_ids(record: &CallRecord) -> impl Iterator<Item = ContentId> + '_ {
    record
        .args
        .iter()
        .chain(record.ret.iter())
        .chain(record.after.iter())
        .filter_map(|a| match a.slot {
            Slot::Stored { id, .. } => Some(id),
            _ => None,
        })
}

/// What eviction may remove, oldest first.
enum Victim<'a> {
    /// A pending segment (index into the segments and what they hold).
    Call(usize),
    /// A cache entry (results are inline: deleting it frees its bytes).
    Cache(&'a Entry),
}

/// Measure the store and, when it is over `target` bytes, remove stale temp
/// files and old orphan objects, then the oldest pending segments (and the
/// objects only they referenced) and least recently used cache entries, in
/// one oldest-first order, until it is at most `target` bytes. Accepted
/// captures, checkpoint records and the objects they name are never removed.
fn evict(store: &Store, root: &Path, target: u64) -> Result<QuotaReport> {
    let files = walk(root)?;
    let before: u64 = files.iter().map(|e| e.size).sum();
    let mut report = QuotaReport {
        before,
        after: before,
        ..QuotaReport::default()
    };
    if before <= target {
        return Ok(report);
    }
    // Checkpoint values are referenced from `checkpoints/`, not from calls;
    // accepted captures are never evicted, and nor is what they refer to.
    let mut roots = crate::checkpoint::gc_roots(store)?;
    let now = SystemTime::now();
    let older_than = |e: &Entry, age: Duration| {
        e.modified
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|a| a >= age)
    };
    let mut usage = before;
    let mut objects: HashMap<ContentId, (String, u64, bool)> = HashMap::new();
    let mut calls: Vec<(u64, &Entry)> = Vec::new();
    let mut entries: Vec<(u64, &Entry)> = Vec::new();
    for e in &files {
        if e.key.starts_with("tmp/") {
            if older_than(e, STALE_TMP) {
                store.backend().delete(&e.key)?;
                usage = usage.saturating_sub(e.size);
                report.tmp_removed += 1;
            }
        } else if let Some(id) = object_id(&e.key) {
            objects.insert(id, (e.key.clone(), e.size, older_than(e, ORPHAN_GRACE)));
        } else if e.key.starts_with(CALLS) && e.key.ends_with(CALL_EXT) {
            if let Some(r) = read_record(store, root, &e.key) {
                roots.extend(stored_ids(&r));
            }
        } else if e.key.starts_with(PENDING) && e.key.ends_with(SEG_EXT) {
            calls.push((call_nanos(&e.key), e));
        } else if e.key.starts_with(CACHE) && e.key.ends_with(ENTRY_EXT) {
            // The modification time is the last use (hits refresh it).
            entries.push((nanos(e.modified), e));
        }
    }
    // Reference counts, and which objects each call holds.
    let mut refs: HashMap<ContentId, u32> = HashMap::new();
    let mut held: Vec<Vec<ContentId>> = Vec::with_capacity(calls.len());
    let mut captures: Vec<usize> = Vec::with_capacity(calls.len());
    // A segment is as old as the newest call in it (a batch writes calls
    // of one function after another, so names tell write order, not age).
    let mut times: Vec<u64> = Vec::with_capacity(calls.len());
    calls.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.key.cmp(&b.1.key)));
    for (_, e) in &calls {
        let (ids, n, newest) = segment_ids(store, root, &e.key);
        captures.push(n);
        times.push(newest);
        for id in &ids {
            *refs.entry(*id).or_default() += 1;
        }
        held.push(ids);
    }
    // Orphans first: garbage whatever the quota (checkpoint values are not orphans).
    for (id, (key, size, old)) in &objects {
        if *old && !refs.contains_key(id) && !roots.contains(id) {
            store.backend().delete(key)?;
            usage = usage.saturating_sub(*size);
            report.objects_removed += 1;
        }
    }
    let mut victims: Vec<(u64, &str, Victim)> = calls
        .iter()
        .enumerate()
        .map(|(i, (t, e))| {
            (
                if times[i] > 0 { times[i] } else { *t },
                e.key.as_str(),
                Victim::Call(i),
            )
        })
        .chain(entries.iter().map(|(t, e)| (*t, e.key.as_str(), Victim::Cache(e))))
        .collect();
    victims.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    for (_, _, victim) in victims {
        if usage <= target {
            break;
        }
        match victim {
            Victim::Cache(e) => {
                store.backend().delete(&e.key)?;
                crate::cache::forget_entry(store, &e.key);
                usage = usage.saturating_sub(e.size);
                report.cache_removed += 1;
            }
            Victim::Call(i) => {
                let e = calls[i].1;
                store.backend().delete(&e.key)?;
                usage = usage.saturating_sub(e.size);
                report.calls_removed += captures[i];
                for id in std::mem::take(&mut held[i]) {
                    let n = refs.get_mut(&id).expect("counted above");
                    *n -= 1;
                    if *n == 0 && !roots.contains(&id) {
                        if let Some((key, size, _)) = objects.get(&id) {
                            store.backend().delete(key)?;
                            usage = usage.saturating_sub(*size);
                            report.objects_removed += 1;
                        }
                    }
                }
            }
        }
    }
    report.after = usage;
    Ok(report)
}

/// The objects in `objects/` that the entries of a pending segment refer
/// to (inline ones are freed with the segment), how many captures it
/// holds, and when the newest of them started.
fn segment_ids(store: &Store, root: &Path, key: &str) -> (Vec<ContentId>, usize, u64) {
    let Ok(Some(bytes)) = store.backend().get(key) else {
        return (Vec::new(), 0, 0);
    };
    let Ok(parsed) = super::segment::parse(&root.join(key), &bytes) else {
        return (Vec::new(), 0, 0);
    };
    let newest = parsed.entries.iter().map(|e| e.record.unix_nanos).max().unwrap_or(0);
    let mut ids: Vec<ContentId> = parsed
        .entries
        .iter()
        .flat_map(|e| stored_ids(&e.record).filter(|id| !e.objects.iter().any(|o| o.id == *id)))
        .collect();
    ids.sort();
    ids.dedup();
    (ids, parsed.entries.len(), newest)
}

fn read_record(store: &Store, root: &Path, key: &str) -> Option<CallRecord> {
    let bytes = store.backend().get(key).ok()??;
    let un = unframe(&root.join(key), &bytes, FileKind::Call).ok()?;
    un.codec.decode(un.body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_round_trips_and_reads_the_old_form() {
        assert_eq!(parse_ledger("usage 12\n"), Some(Ledger { usage: 12, next: None }));
        assert_eq!(
            parse_ledger("usage 12\nnext 40\n"),
            Some(Ledger {
                usage: 12,
                next: Some(40)
            })
        );
        assert_eq!(parse_ledger("garbage"), None);
        let q = Quota::new(1000);
        assert_eq!(q.trigger(&Ledger { usage: 0, next: None }), 1000);
        assert_eq!(
            q.trigger(&Ledger {
                usage: 0,
                next: Some(1500)
            }),
            1500
        );
        assert_eq!(
            q.trigger(&Ledger {
                usage: 0,
                next: Some(10)
            }),
            1000
        );
    }
}
