//! Process-wide cache settings: store-wide limits and the on/off switch.
//! They are global, so this file's tests run one at a time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use capture_runtime::cache::{self, CacheLimits};
use capture_runtime::{capture_args, Config, Store};

static SERIAL: Mutex<()> = Mutex::new(());

fn store() -> Store {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        capture_runtime::configure(Config {
            dir: Some(dir.clone()),
            enabled: Some(true),
            ..Config::default()
        });
        dir
    });
    Store::open(dir)
}

fn count(function: &str) -> usize {
    cache::entries(&store(), function).unwrap().len()
}

static A_RUNS: AtomicUsize = AtomicUsize::new(0);
static B_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn fa(x: u32) -> u32 {
    A_RUNS.fetch_add(1, Ordering::SeqCst);
    x
}

#[capture_args(cache)]
fn fb(x: u32) -> u32 {
    B_RUNS.fetch_add(1, Ordering::SeqCst);
    x
}

#[test]
fn store_wide_max_entries_evicts_lru_across_functions() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = store();
    cache::clear(&s, None).unwrap();
    cache::set_limits(CacheLimits {
        max_entries: Some(3),
        ..CacheLimits::default()
    });
    let a0 = A_RUNS.load(Ordering::SeqCst);
    fa(1);
    fb(1);
    fa(2);
    fa(1); // hit: fa(1) is now the most recent; fb(1) is the least
    assert_eq!(A_RUNS.load(Ordering::SeqCst), a0 + 2);
    fb(2); // store-wide 4 > 3: evicts fb(1)
    assert_eq!(count("cache_limits::fa") + count("cache_limits::fb"), 3);
    let b = B_RUNS.load(Ordering::SeqCst);
    fb(1);
    assert_eq!(B_RUNS.load(Ordering::SeqCst), b + 1, "fb(1) was evicted");
    // and that evicted fa(2), now the least recently used
    let a = A_RUNS.load(Ordering::SeqCst);
    fa(1);
    assert_eq!(A_RUNS.load(Ordering::SeqCst), a, "fa(1) stayed");
    fa(2);
    assert_eq!(A_RUNS.load(Ordering::SeqCst), a + 1, "fa(2) was evicted");
    cache::set_limits(CacheLimits::default());
}

#[test]
fn store_wide_max_bytes_holds_after_every_write() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = store();
    cache::clear(&s, None).unwrap();
    cache::set_limits(CacheLimits {
        max_bytes: Some(1500),
        ..CacheLimits::default()
    });
    for i in 0..20 {
        if i % 2 == 0 {
            fa(1000 + i);
        } else {
            fb(1000 + i);
        }
        let total: u64 = ["cache_limits::fa", "cache_limits::fb"]
            .iter()
            .flat_map(|f| cache::entries(&s, f).unwrap())
            .map(|e| e.bytes)
            .sum();
        assert!(total <= 1500, "after write {i}: {total} bytes");
    }
    assert!(count("cache_limits::fa") + count("cache_limits::fb") >= 2);
    cache::set_limits(CacheLimits::default());
}

static OFF_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn switchable(x: u32) -> u32 {
    OFF_RUNS.fetch_add(1, Ordering::SeqCst);
    x
}

#[test]
fn set_enabled_false_turns_memoization_off() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    store();
    cache::set_enabled(false);
    switchable(1);
    switchable(1);
    cache::set_enabled(true);
    assert_eq!(OFF_RUNS.load(Ordering::SeqCst), 2);
    assert_eq!(count("cache_limits::switchable"), 0);
    switchable(1);
    switchable(1);
    assert_eq!(OFF_RUNS.load(Ordering::SeqCst), 3);
    // Capture off turns memoization off too.
    capture_runtime::set_enabled(false);
    switchable(1);
    capture_runtime::set_enabled(true);
    assert_eq!(OFF_RUNS.load(Ordering::SeqCst), 4);
}
