//! Memoization with `#[capture_args(cache)]`: hits skip the body, misses run
//! it and store the result (`async fn`s too), concurrent misses compute
//! once; per-function TTL and size limits, arguments left out of the key,
//! methods, `clear` and sampled keys. Damaged and foreign entries, and
//! entries whose result type changed, are in `cache_safety.rs`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Duration;

use capture_runtime::cache::{self, EntryInfo, EntryMeta};
use capture_runtime::codec::{frame, Codec, FileKind};
use capture_runtime::{capture_args, Config, Store};
use serde::{Deserialize, Serialize};

fn store_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        capture_runtime::configure(Config {
            dir: Some(dir.clone()),
            enabled: Some(true),
            ..Config::default()
        });
        dir
    })
}

fn store() -> Store {
    Store::open(store_dir())
}

fn entries(function: &str) -> Vec<EntryInfo> {
    cache::entries(&store(), function).unwrap()
}

/// Run a future to completion on this thread (no runtime needed).
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

static SQUARE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn square(x: u64) -> u64 {
    SQUARE_RUNS.fetch_add(1, Ordering::SeqCst);
    x * x
}

#[test]
fn hit_returns_stored_result_without_running_the_body() {
    store_dir();
    assert_eq!(square(7), 49);
    assert_eq!(SQUARE_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(square(7), 49);
    assert_eq!(square(7), 49);
    assert_eq!(SQUARE_RUNS.load(Ordering::SeqCst), 1, "hits must not run the body");
    assert_eq!(square(8), 64, "another argument is another key");
    assert_eq!(SQUARE_RUNS.load(Ordering::SeqCst), 2);
    let e = entries("cache::square");
    assert_eq!(e.len(), 2);
    let meta = e[0].meta.as_ref().unwrap();
    assert_eq!(meta.function, "cache::square");
    assert_eq!(meta.type_name, "u64");
    assert_eq!(meta.arg_names, ["x"], "argument names only: no values, no hashes");
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Order {
    id: u32,
    items: Vec<(String, u32)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Total {
    cents: u64,
    lines: usize,
}

static TOTAL_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn total(order: &Order, tax_percent: u32) -> Total {
    TOTAL_RUNS.fetch_add(1, Ordering::SeqCst);
    let sum: u64 = order.items.iter().map(|(_, c)| *c as u64).sum();
    Total {
        cents: sum * (100 + tax_percent as u64) / 100,
        lines: order.items.len(),
    }
}

#[test]
fn struct_arguments_key_by_content() {
    store_dir();
    let a = Order {
        id: 1,
        items: vec![("pen".into(), 100), ("ink".into(), 300)],
    };
    let t = total(&a, 10);
    assert_eq!(t, Total { cents: 440, lines: 2 });
    assert_eq!(total(&a.clone(), 10), t, "an equal value is the same key");
    assert_eq!(TOTAL_RUNS.load(Ordering::SeqCst), 1);
    let mut b = a.clone();
    b.items[1].1 = 301;
    assert_eq!(total(&b, 10).cents, 441, "a changed nested field is another key");
    assert_eq!(total(&a, 20).cents, 480);
    assert_eq!(TOTAL_RUNS.load(Ordering::SeqCst), 3);
}

static PARSE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn parse(text: &str) -> Result<u32, String> {
    PARSE_RUNS.fetch_add(1, Ordering::SeqCst);
    text.parse::<u32>().map_err(|e| e.to_string())
}

static PARSE_ALL_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache, cache_errors)]
fn parse_all(text: &str) -> Result<u32, String> {
    PARSE_ALL_RUNS.fetch_add(1, Ordering::SeqCst);
    text.parse::<u32>().map_err(|e| e.to_string())
}

#[test]
fn results_cache_only_ok_unless_asked() {
    store_dir();
    assert_eq!(parse("12"), Ok(12));
    assert_eq!(parse("12"), Ok(12));
    assert_eq!(PARSE_RUNS.load(Ordering::SeqCst), 1);
    assert!(parse("x").is_err());
    assert!(parse("x").is_err());
    assert_eq!(PARSE_RUNS.load(Ordering::SeqCst), 3, "errors are recomputed");
    assert_eq!(entries("cache::parse").len(), 1);

    assert!(parse_all("x").is_err());
    let again = parse_all("x");
    assert_eq!(PARSE_ALL_RUNS.load(Ordering::SeqCst), 1, "cache_errors stores Err too");
    assert_eq!(again, "x".parse::<u32>().map_err(|e| e.to_string()));
}

static ASYNC_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
async fn fetch(id: u32) -> Result<String, std::io::Error> {
    ASYNC_RUNS.fetch_add(1, Ordering::SeqCst);
    let name = async { format!("user-{id}") }.await;
    if id == 0 {
        return Err(std::io::Error::other("no user 0"));
    }
    Ok(name)
}

#[test]
fn async_functions_are_memoized() {
    store_dir();
    assert_eq!(block_on(fetch(3)).unwrap(), "user-3");
    assert_eq!(block_on(fetch(3)).unwrap(), "user-3");
    assert_eq!(ASYNC_RUNS.load(Ordering::SeqCst), 1);
    assert!(block_on(fetch(0)).is_err());
    assert!(block_on(fetch(0)).is_err());
    assert_eq!(ASYNC_RUNS.load(Ordering::SeqCst), 3);
}

static SLOW_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn slow(x: u32) -> Vec<u32> {
    SLOW_RUNS.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(100));
    vec![x; 3]
}

#[test]
fn concurrent_misses_compute_once() {
    store_dir();
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                slow(5)
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), vec![5, 5, 5]);
    }
    assert_eq!(
        SLOW_RUNS.load(Ordering::SeqCst),
        1,
        "eight concurrent misses, one computation"
    );
}

static SLOW_ASYNC_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
async fn slow_async(x: u32) -> u32 {
    SLOW_ASYNC_RUNS.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(100));
    x + 1
}

#[test]
fn concurrent_async_misses_compute_once() {
    store_dir();
    let barrier = Arc::new(Barrier::new(6));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                block_on(slow_async(41))
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 42);
    }
    assert_eq!(SLOW_ASYNC_RUNS.load(Ordering::SeqCst), 1);
}

static PANICKY_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn panicky(x: u32) -> u32 {
    if PANICKY_RUNS.fetch_add(1, Ordering::SeqCst) == 0 {
        panic!("first call fails");
    }
    x
}

#[test]
fn a_panicking_computation_releases_waiters_and_stores_nothing() {
    store_dir();
    assert!(std::panic::catch_unwind(|| panicky(1)).is_err());
    assert!(entries("cache::panicky").is_empty());
    assert_eq!(panicky(1), 1, "the next caller computes");
    assert_eq!(panicky(1), 1);
    assert_eq!(PANICKY_RUNS.load(Ordering::SeqCst), 2);
}

fn only_entry(function: &str) -> (PathBuf, EntryMeta) {
    let e = entries(function);
    assert_eq!(e.len(), 1, "{function}: {e:?}");
    (store_dir().join(&e[0].key), e[0].meta.clone().unwrap())
}

/// Write an entry file by hand, as another build (or a disk fault) would have.
fn write_entry<T: Serialize>(path: &Path, meta: &EntryMeta, value: &T) {
    let mut body = vec![0u8; 4];
    Codec::MsgPack.encode_into(meta, &mut body).unwrap();
    let n = (body.len() - 4) as u32;
    body[0..4].copy_from_slice(&n.to_le_bytes());
    Codec::MsgPack.encode_into(value, &mut body).unwrap();
    std::fs::write(path, frame(Codec::MsgPack, FileKind::Cache, &body)).unwrap();
}

static TTL_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache, cache_ttl = "1h")]
fn with_ttl(x: u8) -> u8 {
    TTL_RUNS.fetch_add(1, Ordering::SeqCst);
    x.wrapping_mul(3)
}

#[test]
fn entries_older_than_the_ttl_are_misses() {
    store_dir();
    assert_eq!(with_ttl(2), 6);
    assert_eq!(with_ttl(2), 6);
    assert_eq!(TTL_RUNS.load(Ordering::SeqCst), 1);
    let (path, mut meta) = only_entry("cache::with_ttl");
    // Age the entry by two hours.
    meta.created_nanos -= 2 * 3600 * 1_000_000_000;
    write_entry(&path, &meta, &6u8);
    let expired = cache::stats().expired;
    assert_eq!(with_ttl(2), 6);
    assert_eq!(TTL_RUNS.load(Ordering::SeqCst), 2, "expired: recomputed");
    assert!(cache::stats().expired > expired);
    // 59 minutes old is still fresh.
    let (path, mut meta) = only_entry("cache::with_ttl");
    meta.created_nanos -= 59 * 60 * 1_000_000_000;
    write_entry(&path, &meta, &6u8);
    assert_eq!(with_ttl(2), 6);
    assert_eq!(TTL_RUNS.load(Ordering::SeqCst), 2);
}

static LRU_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache, cache_max_entries = 2)]
fn lru(x: u32) -> u32 {
    LRU_RUNS.fetch_add(1, Ordering::SeqCst);
    x + 100
}

#[test]
fn max_entries_evicts_the_least_recently_used() {
    store_dir();
    let runs = || LRU_RUNS.load(Ordering::SeqCst);
    lru(1);
    lru(2);
    assert_eq!(runs(), 2);
    assert_eq!(lru(1), 101, "hit: 1 is now the most recently used");
    assert_eq!(runs(), 2);
    lru(3); // evicts 2, the least recently used
    assert_eq!(entries("cache::lru").len(), 2);
    assert_eq!(lru(1), 101);
    assert_eq!(lru(3), 103);
    assert_eq!(runs(), 3, "1 and 3 stayed");
    assert_eq!(lru(2), 102);
    assert_eq!(runs(), 4, "2 was evicted");
    assert_eq!(entries("cache::lru").len(), 2);
}

static BLOB_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache, cache_max_bytes = "1KiB")]
fn blob(seed: u8) -> Vec<u8> {
    BLOB_RUNS.fetch_add(1, Ordering::SeqCst);
    vec![seed; 200]
}

#[test]
fn max_bytes_bounds_a_functions_entries() {
    store_dir();
    for seed in 0..12u8 {
        assert_eq!(blob(seed), vec![seed; 200]);
        let e = entries("cache::blob");
        let bytes: u64 = e.iter().map(|e| e.bytes).sum();
        assert!(bytes <= 1024, "after {seed}: {bytes} bytes in {} entries", e.len());
    }
    let e = entries("cache::blob");
    assert!(e.len() >= 2 && e.len() < 12, "{} entries", e.len());
    // The most recent one survived.
    let runs = BLOB_RUNS.load(Ordering::SeqCst);
    assert_eq!(blob(11), vec![11; 200]);
    assert_eq!(BLOB_RUNS.load(Ordering::SeqCst), runs, "blob(11) is a hit");
}

#[derive(Debug)]
struct Logger; // neither Serialize nor Reducible: cannot be hashed

static LOG_RUNS: AtomicUsize = AtomicUsize::new(0);
static EXCL_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn with_logger(log: &Logger, x: u32) -> u32 {
    let _ = log;
    LOG_RUNS.fetch_add(1, Ordering::SeqCst);
    x
}

#[capture_args(cache, cache_exclude(log), cache_hash(x = exact))]
fn with_logger_excluded(log: &Logger, x: u32) -> u32 {
    let _ = log;
    EXCL_RUNS.fetch_add(1, Ordering::SeqCst);
    x
}

#[test]
fn unhashable_arguments_run_uncached_unless_excluded() {
    store_dir();
    let before = cache::stats().uncacheable;
    assert_eq!(with_logger(&Logger, 1), 1);
    assert_eq!(with_logger(&Logger, 1), 1);
    assert_eq!(LOG_RUNS.load(Ordering::SeqCst), 2, "not cached, still correct");
    assert!(cache::stats().uncacheable >= before + 2);
    assert_eq!(with_logger_excluded(&Logger, 1), 1);
    assert_eq!(with_logger_excluded(&Logger, 1), 1);
    assert_eq!(EXCL_RUNS.load(Ordering::SeqCst), 1);
}

#[derive(Serialize)]
struct Pricer {
    markup: u32,
}

static METHOD_RUNS: AtomicUsize = AtomicUsize::new(0);

impl Pricer {
    #[capture_args(cache)]
    fn price(&self, cost: u32) -> u32 {
        METHOD_RUNS.fetch_add(1, Ordering::SeqCst);
        cost + self.markup
    }
}

#[test]
fn methods_key_on_self_too() {
    store_dir();
    let a = Pricer { markup: 5 };
    let b = Pricer { markup: 9 };
    assert_eq!(a.price(10), 15);
    assert_eq!(a.price(10), 15);
    assert_eq!(b.price(10), 19, "another receiver is another key");
    assert_eq!(METHOD_RUNS.load(Ordering::SeqCst), 2);
    assert_eq!(entries("cache::Pricer::price").len(), 2);
}

#[capture_args(cache)]
fn to_clear(x: u32) -> u32 {
    x
}

#[capture_args(cache)]
fn to_keep(x: u32) -> u32 {
    x
}

#[test]
fn clear_removes_a_functions_entries_only() {
    store_dir();
    to_clear(1);
    to_clear(2);
    to_keep(1);
    assert_eq!(cache::clear(&store(), Some("cache::to_clear")).unwrap(), 2);
    assert!(entries("cache::to_clear").is_empty());
    assert_eq!(entries("cache::to_keep").len(), 1);
}

static MEAN_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache, cache_hash(samples = sampled))]
fn mean(samples: &[f64], scale: f64) -> f64 {
    MEAN_RUNS.fetch_add(1, Ordering::SeqCst);
    samples.iter().sum::<f64>() / samples.len() as f64 * scale
}

#[test]
fn sampled_key_hits_for_the_same_buffer_and_sees_a_change_in_the_middle() {
    store_dir();
    let mut data = vec![0.5f64; 1 << 20]; // 8 MiB
    assert_eq!(mean(&data, 2.0), 1.0);
    assert_eq!(mean(&data, 2.0), 1.0);
    assert_eq!(MEAN_RUNS.load(Ordering::SeqCst), 1, "same buffer: a hit");
    // The middle block is always sampled: a change there is another key.
    data[1 << 19] = 0.5 + (1u64 << 20) as f64;
    let changed = mean(&data, 2.0);
    assert_eq!(MEAN_RUNS.load(Ordering::SeqCst), 2, "middle changed: a miss");
    assert!(changed > 1.0);
    // The other arguments still count exactly.
    mean(&data, 3.0);
    assert_eq!(MEAN_RUNS.load(Ordering::SeqCst), 3);
    // The key is the sampled id: a change where no sample looks is not seen
    // (the documented trade-off), so the call is a hit.
    let before = capture_runtime::hash::sampled_hash(&data[..]);
    let unsampled = (1..data.len())
        .step_by(997)
        .find(|&i| {
            let old = data[i];
            data[i] = 7.0;
            let same = capture_runtime::hash::sampled_hash(&data[..]) == before;
            data[i] = old;
            same
        })
        .expect("most elements are not sampled");
    data[unsampled] = 7.0;
    mean(&data, 3.0);
    assert_eq!(MEAN_RUNS.load(Ordering::SeqCst), 3, "keyed by the sampled id");
}
