//! Cache limits across process restarts: a new process orders the store-wide
//! LRU by last use (not by folder), hits persist their recency for the next
//! process, and the store-wide TTL sweep leaves functions with their own
//! `cache_ttl` alone. Each step runs in a child process (this test binary,
//! re-run with `CACHE_RESTART_CALLS`), as a real restart.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use capture_runtime::{cache, capture_args, Store};

const CALLS: &str = "CACHE_RESTART_CALLS";

#[capture_args(cache)]
fn a_first(x: u32) -> u32 {
    x + 1
}

#[capture_args(cache)]
fn b_second(x: u32) -> u32 {
    x + 2
}

#[capture_args(cache)]
fn c_third(x: u32) -> u32 {
    x + 3
}

#[capture_args(cache)]
fn d_fourth(x: u32) -> u32 {
    x + 4
}

#[capture_args(cache, cache_ttl = "7d")]
fn weekly(x: u32) -> u32 {
    x * 7
}

#[capture_args(cache)]
fn plain(x: u32) -> u32 {
    x * 2
}

#[capture_args(cache)]
fn bystander(x: u32) -> u32 {
    x * 3
}

/// Child process: make the calls listed in `CACHE_RESTART_CALLS`
/// (`function:arg,...`) against `CAPTURE_DIR`, in order.
#[test]
fn child_calls() {
    let Ok(calls) = std::env::var(CALLS) else {
        return;
    };
    for call in calls.split(',') {
        let (f, x) = call.split_once(':').unwrap();
        let x: u32 = x.parse().unwrap();
        match f {
            "a_first" => drop(a_first(x)),
            "b_second" => drop(b_second(x)),
            "c_third" => drop(c_third(x)),
            "d_fourth" => drop(d_fourth(x)),
            "weekly" => drop(weekly(x)),
            "plain" => drop(plain(x)),
            "bystander" => drop(bystander(x)),
            other => panic!("no function {other}"),
        }
    }
}

/// Run `calls` in a new process on the store at `dir`, with extra environment.
fn run(dir: &Path, calls: &str, env: &[(&str, &str)]) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_calls", "--nocapture"])
        .env(CALLS, calls)
        .env("CAPTURE_DIR", dir)
        .env("CAPTURE_ENABLED", "1");
    for var in [
        "CAPTURE_CACHE",
        "CAPTURE_CACHE_TTL",
        "CAPTURE_CACHE_MAX_ENTRIES",
        "CAPTURE_CACHE_MAX_BYTES",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "child `{calls}` failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every entry file of the store.
fn entry_keys(dir: &Path) -> Vec<String> {
    let store = Store::open(dir);
    let mut out = Vec::new();
    for f in [
        "a_first",
        "b_second",
        "c_third",
        "d_fourth",
        "weekly",
        "plain",
        "bystander",
    ] {
        out.extend(
            cache::entries(&store, &format!("cache_restart::{f}"))
                .unwrap()
                .into_iter()
                .map(|e| e.key),
        );
    }
    out
}

/// Make one call in a new process and return the key of the entry it created.
fn new_entry(dir: &Path, call: &str) -> String {
    let before = entry_keys(dir);
    run(dir, call, &[]);
    let mut added: Vec<String> = entry_keys(dir).into_iter().filter(|k| !before.contains(k)).collect();
    assert_eq!(added.len(), 1, "{call}: {added:?}");
    added.pop().unwrap()
}

/// Pretend an entry was last used `hours` ago.
fn last_used(dir: &Path, key: &str, hours: u64) {
    let t = SystemTime::now() - Duration::from_secs(hours * 3600);
    std::fs::File::options()
        .write(true)
        .open(dir.join(key))
        .and_then(|f| f.set_modified(t))
        .unwrap();
}

#[test]
fn after_a_restart_store_wide_lru_follows_last_use_across_functions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Without limits nothing is indexed nor evicted.
    let a1 = new_entry(dir, "a_first:1");
    let a2 = new_entry(dir, "a_first:2");
    let b1 = new_entry(dir, "b_second:1");
    let b2 = new_entry(dir, "b_second:2");
    // By last use: a1 (5h), b1 (4h), a2 (3h), b2 (2h). Listing folder by
    // folder would order a_first's entries before b_second's.
    for (key, hours) in [(&a1, 5), (&b1, 4), (&a2, 3), (&b2, 2)] {
        last_used(dir, key, hours);
    }
    // With limits on, the write builds the index, so the hit after it is
    // recorded, and persisted to the entry file for later processes.
    run(dir, "d_fourth:1,a_first:1", &[("CAPTURE_CACHE_MAX_ENTRIES", "100")]);
    assert_eq!(entry_keys(dir).len(), 5);
    let a1_used = std::fs::metadata(dir.join(&a1)).unwrap().modified().unwrap();
    assert!(
        a1_used > SystemTime::now() - Duration::from_secs(3600),
        "the hit on a1 refreshed its last use on disk"
    );
    // A new process with room for 5: writing a sixth evicts the least
    // recently used of any function: b1 (a1 was used since; a2 is newer).
    run(dir, "c_third:1", &[("CAPTURE_CACHE_MAX_ENTRIES", "5")]);
    let keys = entry_keys(dir);
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert!(!keys.contains(&b1), "b1 was the least recently used: {keys:?}");
    for kept in [&a1, &a2, &b2] {
        assert!(keys.contains(kept), "{kept} kept: {keys:?}");
    }
}

#[test]
fn the_store_wide_ttl_sweep_leaves_functions_with_their_own_ttl_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let week = new_entry(dir, "weekly:1");
    let short = new_entry(dir, "plain:1");
    for key in [&week, &short] {
        last_used(dir, key, 2);
    }
    // Writing another function's entry sweeps store-wide.
    run(dir, "bystander:1", &[("CAPTURE_CACHE_TTL", "1h")]);
    let keys = entry_keys(dir);
    assert!(!keys.contains(&short), "unused for 2h > the 1h store-wide TTL: swept");
    assert!(keys.contains(&week), "its own 7d TTL governs it: kept");
    assert_eq!(keys.len(), 2, "{keys:?}");
}
