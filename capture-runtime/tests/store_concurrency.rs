//! The store under concurrent use: `gc` racing writers never leaves a call
//! record pointing at a deleted object, leftovers of interrupted writes are
//! cleaned, and retention touches only the written function's folder.

use std::any::Any;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use capture_runtime::codec::FORMAT_VERSION;
use capture_runtime::record::{ArgRecord, CallRecord, Outcome, Slot};
use capture_runtime::store::{layout, Backend, Listing, LocalBackend, Retention};
use capture_runtime::{CaptureLoader, Codec, ContentId, Result, Store};

const HOUR: Duration = Duration::from_secs(3_600);
const GRACE: Duration = Duration::from_secs(600);

fn record(function: &str, seq: u64, id: ContentId, len: u64) -> CallRecord {
    CallRecord {
        function: function.into(),
        crate_name: "demo".into(),
        crate_version: "1.0.0".into(),
        format_version: FORMAT_VERSION,
        unix_nanos: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
        pid: std::process::id(),
        seq,
        thread_name: None,
        thread_id: 1,
        depth: 0,
        args: vec![ArgRecord {
            name: "x".into(),
            type_name: "u32".into(),
            slot: Slot::Stored { id, len },
            schema: None,
            redacted: vec![],
        }],
        ret: None,
        after: vec![],
        outcome: Outcome::Returned,
    }
}

fn body(value: u32) -> Vec<u8> {
    Codec::MsgPack.encode(&value).unwrap()
}

/// Store `value` and reference it from a new call record of `function`:
/// what a capture does.
fn capture(store: &Store, function: &str, seq: u64, value: u32) {
    let b = body(value);
    let id = store.put_object(&b).unwrap();
    store
        .write_call(&record(function, seq, id, b.len() as u64), Retention::default())
        .unwrap();
}

/// An orphan object last touched an hour ago: what `gc` deletes.
fn old_orphan(root: &Path, value: u32) -> ContentId {
    let id = Store::open(root).put_object(&body(value)).unwrap();
    age(&root.join(layout::object_key(&id)), HOUR);
    id
}

fn age(path: &Path, by: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - by).unwrap();
}

/// Every argument of every stored call of `function` loads: no record
/// points at a deleted object.
fn assert_no_dangling(root: &Path, function: &str) -> usize {
    let calls = CaptureLoader::new(root).load_all(function).unwrap();
    for call in &calls {
        if let Err(e) = call.arg::<u32>("x") {
            panic!("dangling record {}: {e}", call.key());
        }
    }
    calls.len()
}

type Hook = Box<dyn FnOnce() + Send>;

/// A local backend that runs a hook at one chosen moment, to replay a race
/// deterministically.
struct Hooked {
    inner: LocalBackend,
    /// Runs after a `put_if_absent` that found the key already there.
    after_dedup_hit: Mutex<Option<Hook>>,
    /// Runs when `gc` is about to delete an old unreferenced object.
    before_delete_if_older: Mutex<Option<Hook>>,
}

impl Hooked {
    fn new(root: &Path) -> Arc<Hooked> {
        Arc::new(Hooked {
            inner: LocalBackend::new(root),
            after_dedup_hit: Mutex::new(None),
            before_delete_if_older: Mutex::new(None),
        })
    }
}

fn run(hook: &Mutex<Option<Hook>>) {
    if let Some(f) = hook.lock().unwrap().take() {
        f();
    }
}

impl Backend for Hooked {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<bool> {
        let wrote = self.inner.put_if_absent(key, bytes)?;
        if !wrote {
            run(&self.after_dedup_hit);
        }
        Ok(wrote)
    }
    fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        self.inner.put(key, bytes)
    }
    fn list(&self, prefix: &str) -> Result<Listing> {
        self.inner.list(prefix)
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key)
    }
    fn delete_if_older(&self, key: &str, cutoff: SystemTime) -> Result<bool> {
        run(&self.before_delete_if_older);
        self.inner.delete_if_older(key, cutoff)
    }
    fn sweep_temp(&self, cutoff: SystemTime) -> Result<usize> {
        self.inner.sweep_temp(cutoff)
    }
    fn lock(&self, key: &str) -> Result<Box<dyn Any + Send>> {
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
fn gc_between_a_dedup_hit_and_its_record_keeps_the_object() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let id = old_orphan(&root, 7);
    let backend = Hooked::new(&root);
    let gc_root = root.clone();
    // The writer finds the old orphan already stored; before it writes the
    // record that references it, a gc runs to completion.
    *backend.after_dedup_hit.lock().unwrap() = Some(Box::new(move || {
        let report = Store::open(&gc_root).gc(GRACE, &HashSet::new()).unwrap();
        assert_eq!((report.removed, report.young), (0, 1), "{report:?}");
    }));
    let store = Store::with_backend(backend.clone());
    capture(&store, "demo::f", 0, 7);
    assert!(
        backend.after_dedup_hit.lock().unwrap().is_none(),
        "the race was replayed"
    );
    assert!(store.get_object(&id).is_ok());
    assert_eq!(assert_no_dangling(&root, "demo::f"), 1);
}

#[test]
fn a_writer_between_gc_listing_and_deletion_keeps_the_object() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let id = old_orphan(&root, 7);
    let backend = Hooked::new(&root);
    let writer_root = root.clone();
    // gc listed the orphan with its old time; before it deletes it, a writer
    // re-references it (dedup hit) and writes its record.
    *backend.before_delete_if_older.lock().unwrap() = Some(Box::new(move || {
        capture(&Store::open(&writer_root), "demo::f", 0, 7);
    }));
    let report = Store::with_backend(backend.clone()).gc(GRACE, &HashSet::new()).unwrap();
    assert!(
        backend.before_delete_if_older.lock().unwrap().is_none(),
        "the race was replayed"
    );
    assert_eq!((report.removed, report.young), (0, 1), "{report:?}");
    assert!(Store::open(&root).get_object(&id).is_ok());
    assert_eq!(assert_no_dangling(&root, "demo::f"), 1);
    // Nothing was left aside in tmp/.
    assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0);
}

#[test]
fn writers_and_gc_running_at_once_leave_no_dangling_record() {
    const VALUES: u32 = 64;
    const WRITERS: u32 = 4;
    const ROUNDS: u32 = 3;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    for v in 0..VALUES {
        old_orphan(&root, v);
    }
    let done = AtomicBool::new(false);
    let gcs = std::thread::scope(|s| {
        let collector = s.spawn(|| {
            let store = Store::open(&root);
            let mut runs = 0u32;
            while !done.load(Ordering::Relaxed) || runs == 0 {
                store.gc(GRACE, &HashSet::new()).unwrap();
                runs += 1;
            }
            runs
        });
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let root = &root;
                s.spawn(move || {
                    let store = Store::open(root);
                    for round in 0..ROUNDS {
                        for v in 0..VALUES {
                            // Each writer references every old orphan again.
                            let seq = ((w * ROUNDS + round) * VALUES + v) as u64;
                            capture(&store, &format!("demo::w{w}"), seq, (v + w * 17) % VALUES);
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        collector.join().unwrap()
    });
    assert!(gcs >= 1);
    let mut calls = 0;
    for w in 0..WRITERS {
        calls += assert_no_dangling(&root, &format!("demo::w{w}"));
    }
    assert_eq!(calls as u32, WRITERS * ROUNDS * VALUES, "nothing lost");
    // Every object is referenced by now: a final gc keeps all of them.
    let report = Store::open(&root).gc(Duration::ZERO, &HashSet::new()).unwrap();
    assert_eq!((report.kept, report.removed), (VALUES as usize, 0), "{report:?}");
}

#[test]
fn gc_removes_stale_temp_files_and_keeps_writes_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path());
    store.put_object(b"creates tmp/").unwrap();
    // A writer that is gone (a pid above the kernel's maximum).
    let stale = dir.path().join("tmp/4194305-0-0.tmp");
    let live = dir.path().join(format!("tmp/{}-0-0.tmp", std::process::id()));
    std::fs::write(&live, b"this process's write in progress").unwrap();
    std::fs::write(&stale, b"a crashed writer's half-written file").unwrap();
    let report = store.gc(GRACE, &HashSet::new()).unwrap();
    assert_eq!(
        report.temp_removed, 0,
        "younger than the grace period: maybe being written"
    );
    assert!(stale.exists());
    let report = store.gc(Duration::ZERO, &HashSet::new()).unwrap();
    assert_eq!(report.temp_removed, 1);
    assert!(!stale.exists());
    assert!(live.exists(), "a live writer's temp file survives even a grace of zero");
}

/// A local backend that records every folder it is asked to list.
struct Counting {
    inner: LocalBackend,
    listed: Mutex<Vec<String>>,
}

impl Backend for Counting {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<bool> {
        self.inner.put_if_absent(key, bytes)
    }
    fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        self.inner.put(key, bytes)
    }
    fn list(&self, prefix: &str) -> Result<Listing> {
        self.listed.lock().unwrap().push(prefix.to_owned());
        self.inner.list(prefix)
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key)
    }
    fn lock(&self, key: &str) -> Result<Box<dyn Any + Send>> {
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
fn retention_lists_only_the_written_functions_folder() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(Counting {
        inner: LocalBackend::new(dir.path()),
        listed: Mutex::new(Vec::new()),
    });
    let store = Store::with_backend(backend.clone());
    let keep = |n| Retention {
        max_count: Some(n),
        max_age: Some(HOUR),
    };
    // A store with other functions, and calls of the one written.
    for (i, f) in ["shop::a", "shop::b", "shop::cart::c", "other::d"].iter().enumerate() {
        for seq in 0..5 {
            let b = body(seq as u32 + 10 * i as u32);
            let id = store.put_object(&b).unwrap();
            store.write_call(&record(f, seq, id, b.len() as u64), keep(3)).unwrap();
        }
    }
    backend.listed.lock().unwrap().clear();
    let b = body(99);
    let id = store.put_object(&b).unwrap();
    store
        .write_call(&record("shop::b", 9, id, b.len() as u64), keep(3))
        .unwrap();
    assert_eq!(
        *backend.listed.lock().unwrap(),
        [layout::function_dir("shop::b")],
        "one write lists its function's folder once, and nothing else"
    );
    assert_eq!(store.calls("shop::b").unwrap().len(), 3);
    assert_eq!(store.calls("shop::a").unwrap().len(), 3, "other functions untouched");
}

/// Two processes (two `Store`s, each with its own retention memo) take
/// turns writing one function: count retention stays exact, because each
/// write sees the other's through the folder's write count.
#[test]
fn count_retention_is_exact_when_two_stores_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (Store::open(dir.path()), Store::open(dir.path()));
    let keep = Retention {
        max_count: Some(5),
        max_age: None,
    };
    let mut written = Vec::new();
    for seq in 0..12u64 {
        let store = if seq % 2 == 0 { &one } else { &two };
        let b = body(seq as u32);
        let id = store.put_object(&b).unwrap();
        written.push(
            store
                .write_call(&record("demo::turns", seq, id, b.len() as u64), keep)
                .unwrap(),
        );
        assert!(one.calls("demo::turns").unwrap().len() <= 5, "after write {seq}");
    }
    let kept = one.calls("demo::turns").unwrap();
    assert_eq!(kept.len(), 5);
    let newest: Vec<&str> = written[7..].iter().map(|k| k.rsplit('/').next().unwrap()).collect();
    let kept: Vec<&str> = kept.iter().map(|k| k.rsplit('/').next().unwrap()).collect();
    assert_eq!(kept, newest, "the newest five survive");
}

#[test]
fn folders_that_already_exist_keep_their_mode_files_are_always_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // A store folder made by someone else (e.g. a git checkout), 0755.
    let objects: PathBuf = dir.path().join("objects");
    std::fs::create_dir(&objects).unwrap();
    std::fs::set_permissions(&objects, std::fs::Permissions::from_mode(0o755)).unwrap();
    let id = Store::open(dir.path()).put_object(b"secret-ish").unwrap();
    let file = dir.path().join(layout::object_key(&id));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(
        mode(file.parent().unwrap()),
        0o700,
        "folders capture creates are private"
    );
    assert_eq!(
        mode(&objects),
        0o755,
        "capture does not chmod a folder it did not create"
    );
}
