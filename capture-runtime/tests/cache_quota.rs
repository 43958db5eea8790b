//! The store quota with cache entries and checkpoints in the store:
//! checkpoints and accepted captures are never evicted (their objects are
//! roots), cache entries and pending captures are evicted together, oldest first, and a quota that
//! pinned checkpoints make unreachable is reported and does not walk the
//! store at every flush.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use capture_runtime::checkpoint::Checkpoints;
use capture_runtime::record::{CallRecord, Outcome};
use capture_runtime::store::{Backend, Listing, LocalBackend, Retention};
use capture_runtime::{cache, capture_args, CaptureLoader, Config, Store};

#[capture_args(ret, retention = 100)]
fn ingest(batch: Vec<u8>) -> usize {
    batch.len()
}

#[capture_args(cache, retention = 100)]
fn render(page: u32) -> String {
    format!("{page}:").repeat(400)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn set_mtime(path: &Path, t: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(t))
        .unwrap();
}

#[test]
fn quota_keeps_checkpoints_and_evicts_cache_entries_and_calls_oldest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    capture_runtime::configure(Config {
        dir: Some(dir.to_owned()),
        enabled: Some(true),
        ..Config::default()
    });
    // The checkpoint lands in the store the capture sites use.
    let cps = capture_runtime::checkpoints!();
    cps.save("model", &vec![7u8; 10_000]).unwrap();
    for page in 0..30 {
        render(page);
    }
    for i in 0..40u32 {
        ingest(i.to_le_bytes().repeat(256));
    }
    capture_runtime::flush();
    let store = Store::open(dir);
    let entries: Vec<PathBuf> = cache::entries(&store, "cache_quota::render")
        .unwrap()
        .into_iter()
        .map(|e| dir.join(e.key))
        .collect();
    assert_eq!(entries.len(), 30);
    // Half the entries were last used an hour ago (before every call), half
    // are used "later" than every call. Objects are past the 60 s grace
    // within which unreferenced objects are spared.
    let now = SystemTime::now();
    let (old, recent) = entries.split_at(15);
    old.iter().for_each(|p| set_mtime(p, now - Duration::from_secs(3600)));
    recent
        .iter()
        .for_each(|p| set_mtime(p, now + Duration::from_secs(3600)));
    for p in files(&dir.join("objects")) {
        set_mtime(&p, now - Duration::from_secs(120));
    }
    let usage = store.disk_usage().unwrap();
    let old_bytes: u64 = old.iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
    // A quota whose low watermark is just below "everything but the old entries".
    let target = usage - old_bytes - 1;
    let quota = target * 100 / 80;
    let report = Store::open(dir)
        .with_quota(quota)
        .enforce_quota()
        .unwrap()
        .expect("over the quota");
    assert!(report.after <= quota / 100 * 80, "{report:?}");
    assert_eq!(
        report.cache_removed, 15,
        "the entries older than every call: {report:?}"
    );
    assert!(old.iter().all(|p| !p.exists()));
    assert!(recent.iter().all(|p| p.exists()), "entries used after the calls stay");
    // 70 calls were captured (30 misses of `render`, 40 of `ingest`), each
    // function's in one pending segment: the oldest segment went, not all.
    let pending = |f| store.pending(f).unwrap().captures.len();
    let left = pending("cache_quota::render") + pending("cache_quota::ingest");
    assert!(report.calls_removed >= 1, "{report:?}");
    assert_eq!(left, 70 - report.calls_removed);
    assert!(left > 0);
    assert_eq!(
        cps.load::<Vec<u8>>("model").unwrap(),
        vec![7u8; 10_000],
        "the checkpoint and its object survive"
    );
    // What is left replays.
    let loader = CaptureLoader::from_store(store.clone());
    let last = loader.load_all("cache_quota::ingest").unwrap().pop().unwrap();
    assert_eq!(last.arg::<Vec<u8>>("batch").unwrap().len(), 1024);
}

/// Counts listings of `checkpoints/` (one per quota walk: it reads the
/// checkpoint roots) and reads of the ledger (one per flush).
struct Counting {
    inner: LocalBackend,
    walks: Mutex<usize>,
    flushes: Mutex<usize>,
}

impl Backend for Counting {
    fn get(&self, key: &str) -> capture_runtime::Result<Option<Vec<u8>>> {
        if key == capture_runtime::store::quota::LEDGER {
            *self.flushes.lock().unwrap() += 1;
        }
        self.inner.get(key)
    }
    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> capture_runtime::Result<bool> {
        self.inner.put_if_absent(key, bytes)
    }
    fn put(&self, key: &str, bytes: &[u8]) -> capture_runtime::Result<()> {
        self.inner.put(key, bytes)
    }
    fn list(&self, prefix: &str) -> capture_runtime::Result<Listing> {
        if prefix == capture_runtime::checkpoint::CHECKPOINTS {
            *self.walks.lock().unwrap() += 1;
        }
        self.inner.list(prefix)
    }
    fn delete(&self, key: &str) -> capture_runtime::Result<()> {
        self.inner.delete(key)
    }
    fn lock(&self, key: &str) -> capture_runtime::Result<Box<dyn std::any::Any + Send>> {
        self.inner.lock(key)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn local_root(&self) -> Option<&Path> {
        self.inner.local_root()
    }
}

#[test]
fn an_unreachable_quota_is_reported_once_and_not_walked_at_every_flush() {
    let tmp = tempfile::tempdir().unwrap();
    let counting = Arc::new(Counting {
        inner: LocalBackend::new(tmp.path()),
        walks: Mutex::new(0),
        flushes: Mutex::new(0),
    });
    let quota: u64 = 32 << 10;
    let store = Store::with_backend(counting.clone()).with_quota(quota);
    // A checkpoint twice the quota: eviction can never get under it.
    let cps = Checkpoints::new(store.clone());
    cps.save("big", &vec![1u8; 64 << 10]).unwrap();
    // Names short enough that a record with the 48-byte header is no larger
    // than one with the old 40-byte header was: the walks-to-flushes ratio
    // below is 3.2 by design, and the bytes each flush overshoots by count.
    let record = |seq: u64| CallRecord {
        function: "quota::tick".into(),
        crate_name: "quota".into(),
        crate_version: "0.1.0".into(),
        format_version: 1,
        unix_nanos: 1_000 + seq,
        pid: 1,
        seq,
        thread_name: None,
        thread_id: 1,
        depth: 0,
        args: vec![],
        ret: None,
        after: vec![],
        outcome: Outcome::Returned,
    };
    let mut written = 0u64;
    for seq in 0..400 {
        let key = store.write_call(&record(seq), Retention::default()).unwrap();
        // Read before the next write's flush may evict it.
        written += std::fs::metadata(tmp.path().join(key)).map_or(0, |m| m.len());
    }
    let walks = *counting.walks.lock().unwrap();
    let flushes = *counting.flushes.lock().unwrap();
    // Each walk waits for a fifth of the quota of new writes.
    let bound = written.div_ceil(quota / 5) + 1;
    assert!(
        walks <= bound as usize,
        "{walks} walks for {written} bytes (bound {bound})"
    );
    assert!(walks * 3 < flushes, "{walks} walks, {flushes} flushes");
    let reported = capture_runtime::config::reported_messages().join("\n");
    assert!(reported.contains("cannot be met"), "{reported}");
    assert_eq!(cps.load::<Vec<u8>>("big").unwrap().len(), 64 << 10);
}
