//! The object-storage backend against a real S3-compatible server on
//! loopback (moto, installed and started by `scripts/s3-server.sh`; `.ci/run`
//! starts it and exports `CAPTURE_S3_URL`, and the tests start it themselves
//! when that is not set):
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
use capture_runtime::store::object::ObjectBackend;
use capture_runtime::store::Backend;
use capture_runtime::{cache, capture_args, CaptureLoader, Store};
use serde::{Deserialize, Serialize};

/// The test server: its base URL and the variables that reach it.
struct Server {
    url: String,
    /// `(name, value)` pairs from the script's `export` lines (empty when
    /// the environment already has them: `CAPTURE_S3_URL` was set).
    vars: Vec<(String, String)>,
}

/// The server. When `CAPTURE_S3_URL` is not set, the project's own script
/// installs and starts the loopback server (idempotent, serialized by a lock
/// file) and its `export` lines are kept here: they are handed to backends
/// as options and to child processes as their environment, never written
/// into this process's environment (other test threads may be reading it).
/// So `cargo test --workspace --all-features` works on a fresh machine as is;
/// `.ci/run` starts the server itself and stops it at exit.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("CAPTURE_S3_URL") {
            return Server { url, vars: Vec::new() };
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
        let vars: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let url = vars
            .iter()
            .find(|(k, _)| k == "CAPTURE_S3_URL")
            .map(|(_, v)| v.clone())
            .expect("the script exports CAPTURE_S3_URL");
        Server { url, vars }
    })
}

/// A backend on the server for `url`, configured from the server's variables.
fn backend(url: &str) -> ObjectBackend {
    let options = server().vars.iter().filter(|(k, _)| k.starts_with("AWS_"));
    ObjectBackend::from_url_with_options(url, options.map(|(k, v)| (k.as_str(), v.as_str()))).unwrap()
}

fn open(url: &str) -> Store {
    Store::with_backend(Arc::new(backend(url)))
}

/// A fresh prefix on the server for one test.
fn url(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}/{test}-{}-{nanos}", server().url, std::process::id())
}

#[test]
fn backend_round_trip() {
    let b = backend(&url("backend"));
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
    let store = open(&url("store"));
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
    let store = open(&url("race"));
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
/// replays what they captured and reads their checkpoints, then starts a
/// reader process whose calls must all be hits from the writers' cache
/// entries. Children (the same test, re-run with `CAPTURE_TEST_ROLE`) reach
/// the store through `CAPTURE_DIR=s3://...`.
#[test]
fn captures_from_other_processes_replay_from_the_object_store() {
    const TEST: &str = "captures_from_other_processes_replay_from_the_object_store";
    match std::env::var(ROLE).as_deref() {
        Ok("reader") => {
            for i in 0..4 {
                assert_eq!(quote(&sample_order(i)), 2000 + i as u64);
            }
            assert_eq!(
                PRICED_RUNS.load(Ordering::SeqCst),
                0,
                "every call was a hit from the object store"
            );
            assert_eq!(cache::stats().hits, 4);
            return;
        }
        Ok(worker) => {
            let worker: u32 = worker.parse().unwrap();
            for i in 0..4 {
                priced(&sample_order(i), worker);
                quote(&sample_order(i));
            }
            capture_runtime::checkpoint("progress", &(worker, "done")).unwrap();
            return;
        }
        Err(_) => {}
    }
    let location = url("replay");
    let spawn = |role: &str| {
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST, "--nocapture"])
            .envs(server().vars.iter().map(|(k, v)| (k, v)))
            .env(ROLE, role)
            .env("CAPTURE_DIR", &location)
            .env("CAPTURE_ENABLED", "1")
            .spawn()
            .unwrap()
    };
    let children: Vec<_> = (0..3).map(|w| spawn(&w.to_string())).collect();
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a writer process failed");
    }

    let store = open(&location);
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

    // The cache entries the writers stored answer another process's calls.
    assert_eq!(cache::entries(&store, "object_store::quote").unwrap().len(), 4);
    assert!(spawn("reader").wait().unwrap().success(), "the reader saw misses");
}

#[test]
fn store_urls_name_their_service_or_say_what_is_missing() {
    let err = |url: &str| ObjectBackend::from_url(url).unwrap_err().to_string();
    let ftp = err("ftp://host/captures");
    assert!(ftp.contains("ftp://host/captures") && ftp.contains("s3://"), "{ftp}");
    let gs = "gs://capture-no-such-bucket/captures";
    if cfg!(feature = "object-store-gcp") {
        // Built in: either it opens (credentials are checked per request) or
        // the builder says which GOOGLE_* setting it lacks; never "unknown scheme".
        if let Err(e) = ObjectBackend::from_url(gs) {
            assert!(e.to_string().contains("GOOGLE_"), "{e}");
        }
    } else {
        assert!(err(gs).contains("object-store-gcp"), "{}", err(gs));
    }
    if cfg!(feature = "object-store-azure") {
        let b = ObjectBackend::from_url_with_options(
            "az://container/captures",
            [
                ("azure_storage_account_name", "devstoreaccount1"),
                ("azure_storage_use_emulator", "true"),
            ],
        )
        .unwrap();
        assert_eq!(b.describe(), "az://container/captures");
    } else {
        let az = err("az://container/captures");
        assert!(az.contains("object-store-azure"), "{az}");
    }
    // The crate is re-exported: any ObjectStore wraps without a second dependency.
    let mem: Arc<dyn capture_runtime::object_store::ObjectStore> =
        Arc::new(capture_runtime::object_store::memory::InMemory::new());
    let store = Store::with_backend(Arc::new(ObjectBackend::new(mem, "captures", "memory://mine")));
    let id = store.put_object(b"x").unwrap();
    assert_eq!(store.get_object(&id).unwrap().1, b"x");
}
