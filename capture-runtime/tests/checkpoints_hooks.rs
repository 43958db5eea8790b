//! Named checkpoints (versions, concurrency, bad input, gc, cache policy) and
//! `on_capture` hooks (every kind of event, off the calling thread, a
//! panicking hook).

use std::collections::HashSet;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use capture_runtime::cache::{self, CacheLimits};
use capture_runtime::checkpoint::Checkpoints;
use capture_runtime::hooks::{drain, on_capture, remove_hook, CaptureEvent};
use capture_runtime::{capture_args, gc_roots, CaptureError, Config, Store};

fn fresh() -> (tempfile::TempDir, Checkpoints) {
    let dir = tempfile::tempdir().unwrap();
    let cps = Checkpoints::new(Store::open(dir.path()));
    (dir, cps)
}

#[test]
fn versions_are_numbered_listed_loaded_and_deleted() {
    let (_dir, cps) = fresh();
    for epoch in 0..3u32 {
        let info = cps.save("weights", &vec![epoch as f64; 4]).unwrap();
        assert_eq!(info.version, epoch as u64 + 1);
    }
    cps.save("vocab", &["a", "b"]).unwrap();
    assert_eq!(cps.names().unwrap(), ["vocab", "weights"]);
    assert_eq!(cps.load::<Vec<f64>>("weights").unwrap(), vec![2.0; 4]);
    assert_eq!(cps.load_version::<Vec<f64>>("weights", 1).unwrap(), vec![0.0; 4]);
    let versions: Vec<u64> = cps.versions("weights").unwrap().iter().map(|v| v.version).collect();
    assert_eq!(versions, [1, 2, 3]);
    assert!(cps.delete_version("weights", 2).unwrap());
    assert!(!cps.delete_version("weights", 2).unwrap(), "already gone");
    assert_eq!(cps.delete("weights").unwrap(), 2);
    assert_eq!(cps.names().unwrap(), ["vocab"]);
}

#[test]
fn version_numbers_are_never_handed_out_twice() {
    let (_dir, cps) = fresh();
    for v in 1..=3u32 {
        assert_eq!(cps.save("run", &v).unwrap().version, v as u64);
    }
    assert!(cps.delete_version("run", 3).unwrap());
    let next = cps.save("run", &4u32).unwrap();
    assert_eq!(next.version, 4, "the deleted latest number is not reused");
    assert_eq!(cps.delete("run").unwrap(), 3);
    assert!(cps.names().unwrap().is_empty(), "a deleted name is not listed");
    assert!(matches!(cps.load::<u32>("run"), Err(CaptureError::NoCheckpoint { .. })));
    let again = cps.save("run", &5u32).unwrap();
    assert_eq!(again.version, 5, "numbering continues after deleting every version");
    assert_eq!(cps.load::<u32>("run").unwrap(), 5);
    assert_eq!(
        cps.versions("run")
            .unwrap()
            .iter()
            .map(|v| v.version)
            .collect::<Vec<_>>(),
        [5]
    );
}

const ROLE: &str = "CHECKPOINTS_HOOKS_ROLE";

/// The four free functions against `CAPTURE_DIR` (set for a child process,
/// never with `set_var` in this one).
#[test]
fn free_functions_use_the_store_capture_dir_names() {
    if std::env::var(ROLE).as_deref() == Ok("free-functions") {
        use capture_runtime::{checkpoint, delete_checkpoint, list_checkpoints, load_checkpoint};
        assert_eq!(checkpoint("epoch", &1u32).unwrap().version, 1);
        assert_eq!(checkpoint("epoch", &2u32).unwrap().version, 2);
        checkpoint("vocab", &["a", "b"]).unwrap();
        assert_eq!(load_checkpoint::<u32>("epoch").unwrap(), 2);
        assert_eq!(list_checkpoints().unwrap(), ["epoch", "vocab"]);
        assert_eq!(delete_checkpoint("vocab").unwrap(), 1);
        assert_eq!(list_checkpoints().unwrap(), ["epoch"]);
        assert!(matches!(
            load_checkpoint::<Vec<String>>("vocab"),
            Err(CaptureError::NoCheckpoint { .. })
        ));
        assert_eq!(delete_checkpoint("epoch").unwrap(), 2);
        assert_eq!(checkpoint("epoch", &3u32).unwrap().version, 3, "monotonic");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "free_functions_use_the_store_capture_dir_names",
            "--nocapture",
        ])
        .env(ROLE, "free-functions")
        .env("CAPTURE_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // What the child saved is in CAPTURE_DIR, nowhere else.
    let cps = Checkpoints::new(Store::open(dir.path()));
    assert_eq!(cps.names().unwrap(), ["epoch"]);
    assert_eq!(cps.info("epoch").unwrap().version, 3);
    assert_eq!(cps.load::<u32>("epoch").unwrap(), 3);
}

#[test]
fn identical_versions_share_one_object() {
    let (dir, cps) = fresh();
    let a = cps.save("same", &vec![7u8; 1000]).unwrap();
    let b = cps.save("same", &vec![7u8; 1000]).unwrap();
    assert_eq!(a.value, b.value);
    assert_ne!(a.version, b.version);
    let objects = walk(&dir.path().join("objects"));
    assert_eq!(objects.len(), 1, "{objects:?}");
}

#[test]
fn concurrent_saves_get_distinct_versions_and_lose_nothing() {
    let (_dir, cps) = fresh();
    let cps = Arc::new(cps);
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8u32)
        .map(|t| {
            let (cps, barrier) = (cps.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (0..5u32)
                    .map(|i| cps.save("shared", &(t, i)).unwrap().version)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let versions: Vec<u64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let distinct: HashSet<u64> = versions.iter().copied().collect();
    assert_eq!(distinct.len(), 40, "every save got its own version: {versions:?}");
    assert_eq!(distinct, (1..=40).collect());
    let mut values: Vec<(u32, u32)> = (1..=40)
        .map(|v| cps.load_version::<(u32, u32)>("shared", v).unwrap())
        .collect();
    values.sort();
    let expected: Vec<(u32, u32)> = (0..8).flat_map(|t| (0..5).map(move |i| (t, i))).collect();
    assert_eq!(values, expected, "no save overwrote another");
}

#[test]
fn bad_names_missing_checkpoints_wrong_types_and_corrupted_files_are_typed_errors() {
    let (dir, cps) = fresh();
    for bad in ["", "   "] {
        let err = cps.save(bad, &1u8).unwrap_err();
        assert!(matches!(err, CaptureError::Config { .. }), "{bad:?}: {err}");
    }
    // Any other name is one escaped folder: it cannot leave `checkpoints/`.
    for odd in ["../escape", "a/b", "."] {
        cps.save(odd, &1u8).unwrap();
        assert_eq!(cps.load::<u8>(odd).unwrap(), 1);
    }
    let top: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        top.iter().all(|n| n == "checkpoints" || n == "objects" || n == "tmp"),
        "{top:?}"
    );
    assert_eq!(cps.names().unwrap(), [".", "../escape", "a/b"]);
    let err = cps.load::<u8>("nothing").unwrap_err();
    assert!(matches!(err, CaptureError::NoCheckpoint { .. }), "{err}");
    assert!(err.to_string().contains("nothing"), "{err}");

    cps.save("typed", &"text").unwrap();
    let err = cps.load::<Vec<u64>>("typed").unwrap_err();
    assert!(matches!(err, CaptureError::TypeMismatch { .. }), "{err}");

    // Flip a byte of the record: the checksum catches it, nothing panics.
    let record = walk(&dir.path().join("checkpoints"))
        .into_iter()
        .find(|p| p.to_string_lossy().contains("typed"))
        .unwrap();
    let mut bytes = std::fs::read(&record).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&record, bytes).unwrap();
    let err = cps.load::<String>("typed").unwrap_err();
    assert!(
        matches!(err, CaptureError::BadFile { .. } | CaptureError::Corrupted { .. }),
        "{err}"
    );
}

#[test]
fn gc_keeps_checkpoint_objects_only_when_given_their_roots() {
    let (_dir, cps) = fresh();
    cps.save("keep", &vec![1u32, 2, 3]).unwrap();
    let store = cps.store().clone();
    let roots = gc_roots(&store).unwrap();
    assert_eq!(roots.len(), 1);
    let report = store.gc(Duration::ZERO, &roots).unwrap();
    assert_eq!((report.kept, report.removed), (1, 0));
    assert_eq!(cps.load::<Vec<u32>>("keep").unwrap(), vec![1, 2, 3]);
    // Without the roots the object is unreferenced: gc removes it, and the
    // checkpoint then reports a missing object instead of a wrong value.
    let report = store.gc(Duration::ZERO, &HashSet::new()).unwrap();
    assert_eq!(report.removed, 1);
    assert!(cps.load::<Vec<u32>>("keep").is_err());
}

static RUNS: Mutex<u32> = Mutex::new(0);

#[capture_args(cache)]
fn cached_double(x: u32) -> u32 {
    *RUNS.lock().unwrap() += 1;
    x * 2
}

#[test]
fn cache_eviction_never_touches_checkpoints_and_hooks_see_every_kind_of_event() {
    let dir = tempfile::tempdir().unwrap();
    capture_runtime::configure(Config {
        dir: Some(dir.path().to_owned()),
        enabled: Some(true),
        ..Config::default()
    });
    let log = Arc::new(Mutex::new(Vec::<(String, std::thread::ThreadId)>::new()));
    let seen = log.clone();
    let id = on_capture(move |e: &CaptureEvent| {
        let kind = match e {
            CaptureEvent::Call { function, .. } => format!("call {function}"),
            CaptureEvent::CacheEntry { function, .. } => format!("cache {function}"),
            CaptureEvent::Checkpoint { name, version, .. } => format!("checkpoint {name} v{version}"),
            _ => "other".to_string(),
        };
        seen.lock().unwrap().push((kind, std::thread::current().id()));
    });
    // A hook that panics does not stop the others, nor the caller.
    let boom = on_capture(|_| panic!("a broken hook"));

    let cps = Checkpoints::new(Store::open(dir.path()));
    cps.save("model", &vec![0.5f32; 16]).unwrap();
    cache::set_limits(CacheLimits {
        max_entries: Some(2),
        ..CacheLimits::default()
    });
    for x in 0..6 {
        assert_eq!(cached_double(x), x * 2);
    }
    // An entry larger than the store-wide byte limit is not stored, so no
    // hook hears of it (it would be evicted by its own write).
    cache::set_limits(CacheLimits {
        max_bytes: Some(8),
        ..CacheLimits::default()
    });
    assert_eq!(cached_double(100), 200);
    cache::set_limits(CacheLimits::default());
    let store = Store::open(dir.path());
    assert!(
        cache::entries(&store, "checkpoints_hooks::cached_double")
            .unwrap()
            .len()
            <= 2
    );
    assert_eq!(
        cps.load::<Vec<f32>>("model").unwrap(),
        vec![0.5; 16],
        "eviction left the checkpoint"
    );

    capture_runtime::flush();
    drain();
    assert!(remove_hook(id));
    assert!(remove_hook(boom));
    let events = log.lock().unwrap().clone();
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert!(kinds.contains(&"checkpoint model v1"), "{kinds:?}");
    let stored = kinds
        .iter()
        .filter(|k| **k == "cache checkpoints_hooks::cached_double")
        .count();
    assert_eq!(
        stored, 6,
        "one event per stored entry, none for the oversized one: {kinds:?}"
    );
    assert!(kinds.contains(&"call checkpoints_hooks::cached_double"), "{kinds:?}");
    let me = std::thread::current().id();
    assert!(
        events.iter().all(|(_, t)| *t != me),
        "hooks run off the capturing thread"
    );

    // Removed hooks see nothing more.
    cps.save("model", &vec![1.0f32]).unwrap();
    drain();
    assert_eq!(log.lock().unwrap().len(), events.len());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else if !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                out.push(p);
            }
        }
    }
    out
}
