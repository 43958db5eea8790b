//! The object-storage backend against a real S3-compatible server on
//! loopback (moto, installed and started by `scripts/s3-server.sh`; the tests
//! start it themselves when `CAPTURE_S3_URL` is not set):
//!
//! ```sh
//! cargo test -p capture-runtime --features object-store --test object_store
//! ```
#![cfg(feature = "object-store")]

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Duration;

use capture_runtime::checkpoint::Checkpoints;
use capture_runtime::record::Outcome;
use capture_runtime::store::object::{open_location, ObjectBackend};
use capture_runtime::store::Backend;
use capture_runtime::{cache, capture_args, CaptureLoader, Config, Store};
use serde::{Deserialize, Serialize};

/// The server's base URL. When `CAPTURE_S3_URL` is not set, the project's own
/// script installs and starts the loopback server (idempotent, serialized by a
/// lock file) and its `export` lines become this process's environment, so
/// `cargo test --workspace --all-features` works on a fresh machine as is.
fn base_url() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        if let Ok(url) = std::env::var("CAPTURE_S3_URL") {
            return url;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/s3-server.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg("start")
            .stderr(std::process::Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} start failed (see its messages above); it needs python3 with venv and access to PyPI",
            script.display()
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((key, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
                // Every test reaches the server through this function first, and
                // child processes inherit the variables.
                std::env::set_var(key, value);
            }
        }
        std::env::var("CAPTURE_S3_URL").expect("the script exports CAPTURE_S3_URL")
    })
}

/// A fresh prefix on the server for one test.
fn url(test: &str) -> String {
    let base = base_url();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{base}/{test}-{}-{nanos}", std::process::id())
}

#[test]
fn backend_round_trip() {
    let b = ObjectBackend::from_url(&url("backend")).unwrap();
    assert_eq!(b.get("objects/ab/cd/missing").unwrap(), None);
    assert!(b.put_if_absent("objects/ab/cd/ef01", b"first").unwrap());
    assert!(!b.put_if_absent("objects/ab/cd/ef01", b"second").unwrap());
    assert_eq!(b.get("objects/ab/cd/ef01").unwrap().unwrap(), b"first");
    b.put("calls/shop/price/0001.call", b"v1").unwrap();
    b.put("calls/shop/price/0001.call", b"v2 longer").unwrap();
    b.put("calls/shop/%2E%2E/0002.call", b"escaped").unwrap();
    assert_eq!(b.get("calls/shop/price/0001.call").unwrap().unwrap(), b"v2 longer");
    let l = b.list("calls/shop").unwrap();
    assert_eq!(l.dirs, ["%2E%2E", "price"], "escaped segments survive as they are");
    let l = b.list("calls/shop/price").unwrap();
    assert_eq!(l.files.len(), 1);
    assert_eq!(l.files[0].0, "0001.call");
    assert!(l.files[0].1.is_some(), "modification time known");
    assert_eq!(
        b.list_sizes("calls/shop/price").unwrap(),
        [("0001.call".to_string(), 9)]
    );
    assert_eq!(b.list("").unwrap().dirs, ["calls", "objects"]);
    b.delete("calls/shop/price/0001.call").unwrap();
    b.delete("calls/shop/price/0001.call").unwrap(); // absent: not an error
    assert_eq!(b.get("calls/shop/price/0001.call").unwrap(), None);
    assert!(b.describe().starts_with("s3://"));
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Order {
    id: u32,
    lines: Vec<(String, u32)>,
}

#[test]
fn store_objects_records_checkpoints_and_gc() {
    let store = open_location(&url("store")).unwrap();
    let id = store.put_object(b"payload").unwrap();
    assert_eq!(store.get_object(&id).unwrap().1, b"payload");
    let cps = Checkpoints::new(store.clone());
    let order = Order {
        id: 7,
        lines: vec![("pen".into(), 2)],
    };
    cps.save("order", &order).unwrap();
    assert_eq!(cps.save("order", &order).unwrap().version, 2);
    assert_eq!(cps.load::<Order>("order").unwrap(), order);
    assert_eq!(cps.names().unwrap(), ["order"]);
    let garbage = store.put_object(b"nobody refers to me").unwrap();
    let roots = capture_runtime::gc_roots(&store).unwrap();
    let report = store.gc(Duration::ZERO, &roots).unwrap();
    assert_eq!(report.removed, 2, "the payload and the garbage object");
    assert!(store.get_object(&garbage).is_err());
    assert_eq!(
        cps.load_version::<Order>("order", 1).unwrap(),
        order,
        "checkpoints are roots"
    );
}

#[test]
fn concurrent_writers_one_winner_per_key_and_no_torn_objects() {
    let store = open_location(&url("race")).unwrap();
    let backend = store.backend().clone();
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let (b, barrier) = (backend.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (0..10)
                    .filter(|k| b.put_if_absent(&format!("race/key-{k}"), &[t; 4096]).unwrap())
                    .map(|k| (k, t))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let wins: Vec<(i32, u8)> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    for k in 0..10 {
        let winners: Vec<u8> = wins.iter().filter(|(key, _)| *key == k).map(|(_, t)| *t).collect();
        assert_eq!(winners.len(), 1, "key {k}: winners {winners:?}");
        let stored = backend.get(&format!("race/key-{k}")).unwrap().unwrap();
        assert_eq!(stored, vec![winners[0]; 4096], "the winner's bytes, whole");
    }
}

static PRICED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(ret, retention = 100)]
fn priced(order: &Order, worker: u32) -> u64 {
    let _ = worker;
    order.lines.iter().map(|(_, n)| *n as u64 * 250).sum()
}

#[capture_args(cache)]
fn quote(order: &Order) -> u64 {
    PRICED_RUNS.fetch_add(1, Ordering::SeqCst);
    order.lines.len() as u64 * 1000 + order.id as u64
}

fn sample_order(i: u32) -> Order {
    Order {
        id: i,
        lines: vec![("pen".into(), i), ("ink".into(), 1)],
    }
}

const ROLE: &str = "CAPTURE_TEST_ROLE";

/// Parent: starts three writer processes at once against one prefix, then
/// replays what they captured, reads their cache entries as hits and their
/// checkpoints. Child (the same test, re-run with `CAPTURE_TEST_ROLE`):
/// captures calls, fills the cache and saves a checkpoint, through
/// `CAPTURE_DIR=s3://...`.
#[test]
fn captures_from_other_processes_replay_from_the_object_store() {
    if let Ok(worker) = std::env::var(ROLE) {
        let worker: u32 = worker.parse().unwrap();
        for i in 0..4 {
            priced(&sample_order(i), worker);
            quote(&sample_order(i));
        }
        capture_runtime::checkpoint("progress", &(worker, "done")).unwrap();
        return;
    }
    let location = url("replay");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..3)
        .map(|w| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "captures_from_other_processes_replay_from_the_object_store",
                    "--nocapture",
                ])
                .env(ROLE, w.to_string())
                .env("CAPTURE_DIR", &location)
                .env("CAPTURE_ENABLED", "1")
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a writer process failed");
    }

    let store = open_location(&location).unwrap();
    let loader = CaptureLoader::from_store(store.clone());
    let calls = loader.load_all("object_store::priced").unwrap();
    assert_eq!(calls.len(), 12, "3 processes x 4 calls");
    let mut seen = HashSet::new();
    for call in &calls {
        assert_eq!(call.metadata().outcome, Outcome::Returned);
        let order: Order = call.arg("order").unwrap();
        let worker: u32 = call.arg("worker").unwrap();
        assert_eq!(
            call.ret::<u64>().unwrap(),
            priced(&order, worker),
            "replays to the recorded result"
        );
        seen.insert((order.id, worker));
    }
    assert_eq!(seen.len(), 12);

    let cps = Checkpoints::new(store.clone());
    let versions = cps.versions("progress").unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1, 2, 3],
        "concurrent saves get distinct versions"
    );
    let workers: HashSet<u32> = (1..=3)
        .map(|v| cps.load_version::<(u32, String)>("progress", v).unwrap().0)
        .collect();
    assert_eq!(workers, HashSet::from([0, 1, 2]));

    // The cache entries the writers stored answer this process's calls.
    assert_eq!(cache::entries(&store, "object_store::quote").unwrap().len(), 4);
    capture_runtime::configure(Config {
        dir: Some(location.clone().into()),
        enabled: Some(true),
        ..Config::default()
    });
    for i in 0..4 {
        assert_eq!(quote(&sample_order(i)), 2000 + i as u64);
    }
    assert_eq!(
        PRICED_RUNS.load(Ordering::SeqCst),
        0,
        "every call was a hit from the object store"
    );
    let _ = Store::describe(&store);
}
