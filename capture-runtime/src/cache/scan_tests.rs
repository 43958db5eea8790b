//! Per-write cost: a counting backend shows that memoized writes and hits
//! never list the store after the index's one initial listing (and never at
//! all without limits), and that call-record writes only list their own
//! function's folder.

use std::sync::{Arc, Mutex};

use super::call::{CacheOptions, CacheSite};
use crate::capture::site::SiteOptions;
use crate::hash::ContentId;
use crate::record::{CallRecord, Outcome};
use crate::store::{Backend, Listing, LocalBackend, Retention, Store};

/// Every backend operation, as (operation, key or prefix).
struct Counting {
    inner: LocalBackend,
    ops: Mutex<Vec<(&'static str, String)>>,
}

impl Counting {
    fn store(dir: &std::path::Path) -> (Store, Arc<Counting>) {
        let c = Arc::new(Counting {
            inner: LocalBackend::new(dir),
            ops: Mutex::new(Vec::new()),
        });
        (Store::with_backend(c.clone()), c)
    }

    fn note(&self, op: &'static str, key: &str) {
        self.ops.lock().unwrap().push((op, key.to_owned()));
    }

    fn ops(&self, op: &str) -> Vec<String> {
        self.ops
            .lock()
            .unwrap()
            .iter()
            .filter(|(o, _)| *o == op)
            .map(|(_, k)| k.clone())
            .collect()
    }

    fn listings(&self) -> usize {
        self.ops("list").len() + self.ops("list_sizes").len()
    }
}

impl Backend for Counting {
    fn get(&self, key: &str) -> crate::Result<Option<Vec<u8>>> {
        self.note("get", key);
        self.inner.get(key)
    }
    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> crate::Result<bool> {
        self.note("put_if_absent", key);
        self.inner.put_if_absent(key, bytes)
    }
    fn put(&self, key: &str, bytes: &[u8]) -> crate::Result<()> {
        self.note("put", key);
        self.inner.put(key, bytes)
    }
    fn list(&self, prefix: &str) -> crate::Result<Listing> {
        self.note("list", prefix);
        self.inner.list(prefix)
    }
    fn list_sizes(&self, prefix: &str) -> crate::Result<Vec<(String, u64)>> {
        self.note("list_sizes", prefix);
        self.inner.list_sizes(prefix)
    }
    fn delete(&self, key: &str) -> crate::Result<()> {
        self.note("delete", key);
        self.inner.delete(key)
    }
    fn lock(&self, key: &str) -> crate::Result<Box<dyn std::any::Any + Send>> {
        self.inner.lock(key)
    }
    fn count_writes(&self, lock: &mut (dyn std::any::Any + Send), n: u64) -> crate::Result<Option<u64>> {
        self.inner.count_writes(lock, n)
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn local_root(&self) -> Option<&std::path::Path> {
        self.inner.local_root()
    }
}

static SITE: SiteOptions = SiteOptions {
    fn_name: "f",
    trait_name: None,
    module_path: "scan",
    name: None,
    crate_name: "scan",
    crate_version: "0.1.0",
    manifest_dir: "",
    path: None,
    retention: None,
    max_age_secs: None,
    ignore: &[],
    redact: &[],
    allow: &[],
    sample: None,
    sample_err: None,
    fallible: false,
    sample_by_args: None,
    max_size: None,
    ret: false,
};

static LIMITED: CacheSite = CacheSite::new(
    &SITE,
    &CacheOptions {
        fn_hash: "limited",
        ttl_secs: Some(3600),
        max_entries: Some(10),
        max_bytes: Some(1 << 20),
        cache_errors: false,
    },
);

static UNLIMITED: CacheSite = CacheSite::new(
    &SITE,
    &CacheOptions {
        fn_hash: "unlimited",
        ttl_secs: None,
        max_entries: None,
        max_bytes: None,
        cache_errors: false,
    },
);

/// One memoized call of `site` for argument `x`: returns whether it was a hit.
fn call(site: &'static CacheSite, store: &Store, x: u64) -> bool {
    let mut c = site.begin_in(store, "scan::f", "u64", |k| {
        k.arg_id("x", "u64", ContentId::of(&x.to_le_bytes()))
    });
    match c.lookup::<u64>() {
        Some(v) => {
            assert_eq!(v, x * 2);
            true
        }
        None => {
            c.store(&(x * 2), false);
            false
        }
    }
}

#[test]
fn limited_cache_writes_and_hits_list_the_store_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, counting) = Counting::store(dir.path());
    assert!(!call(&LIMITED, &store, 0));
    let initial = counting.listings();
    assert!(initial >= 1, "the index is built by one listing of cache/");
    let gets_before = counting.ops("get").len();
    for x in 1..200 {
        assert!(!call(&LIMITED, &store, x));
    }
    for x in 190..200 {
        assert!(call(&LIMITED, &store, x), "the 10 most recent stay");
    }
    assert_eq!(counting.listings(), initial, "no listing per write or hit");
    // A miss reads its key twice (before and after the single-flight lock),
    // a hit once: constant per call, whatever the store holds.
    let gets = counting.ops("get").len() - gets_before;
    assert!(gets <= 2 * 199 + 10, "{gets} reads");
    assert_eq!(
        counting.ops("delete").len(),
        190,
        "one eviction per write past the limit"
    );
    assert_eq!(super::entries(&store, "scan::f").unwrap().len(), 10);
}

#[test]
fn without_limits_no_index_is_built_and_nothing_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, counting) = Counting::store(dir.path());
    for x in 0..50 {
        assert!(!call(&UNLIMITED, &store, x));
        assert!(call(&UNLIMITED, &store, x));
    }
    assert_eq!(counting.listings(), 0, "{:?}", counting.ops.lock().unwrap());
    assert!(super::index::existing(&store).is_none());
}

#[test]
fn call_record_writes_list_only_their_own_function_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (store, counting) = Counting::store(dir.path());
    let store = store.with_quota(1 << 30);
    let record = |function: &str, seq: u64| CallRecord {
        function: function.into(),
        crate_name: "scan".into(),
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
    // Other functions' calls exist: a full scan would list them.
    for seq in 0..20 {
        store
            .write_call(&record("scan::other", seq), Retention::default())
            .unwrap();
    }
    let keep_five = Retention {
        max_count: Some(5),
        max_age: None,
    };
    counting.ops.lock().unwrap().clear();
    for seq in 0..100 {
        store.write_call(&record("scan::f", seq), keep_five).unwrap();
    }
    let lists = counting.ops("list");
    // Retention lists the folder on the first write (nothing memoised yet),
    // skips writes 2..=5 (still within max_count), then lists on every write
    // that takes the folder past max_count: 1 + 95 listings, never more.
    assert_eq!(lists.len(), 96, "listings for retention: {lists:?}");
    assert!(lists.iter().all(|p| p == "calls/scan/f"), "{lists:?}");
    // The quota reads only its ledger, once per flush (every 32 writes).
    let gets = counting.ops("get");
    assert!(gets.iter().all(|k| k == crate::store::quota::LEDGER), "{gets:?}");
    assert!(gets.len() <= 100 / 32 + 1, "{} ledger reads", gets.len());
    assert_eq!(store.calls("scan::f").unwrap().len(), 5);
}
