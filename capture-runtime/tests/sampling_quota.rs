//! Sampling (by rate and deterministic by arguments), the production preset
//! and the store-wide quota, observed through real `#[capture_args]`
//! functions.
//!
//! `configure` is process-wide, so every test takes the lock in
//! `support::setup` and configures its own temporary store.

mod support;

use std::path::Path;

use capture_runtime::record::Slot;
use capture_runtime::{capture_args, CaptureLoader, Config};

use support::{calls, setup};

// ------------------------------------------------------------ sampling

#[capture_args(sample = 0.1)]
fn sampled(i: u32) {
    let _ = i;
}

/// `n` draws at rate `p` land within 4 standard deviations of `n * p`.
fn within_4_sigma(hits: usize, n: usize, p: f64) {
    let mean = n as f64 * p;
    let sigma = (n as f64 * p * (1.0 - p)).sqrt();
    assert!(
        (hits as f64 - mean).abs() <= 4.0 * sigma,
        "{hits} of {n} at rate {p}: expected {mean} ± {}",
        4.0 * sigma
    );
}

#[test]
fn sample_rate_is_within_binomial_bounds() {
    let (_g, dir) = setup(Config::default());
    let counted = || {
        let s = capture_runtime::stats();
        s.written + s.evicted + s.coalesced + s.dropped
    };
    let before = counted();
    for i in 0..10_000 {
        sampled(i);
    }
    // Every sampled call is written, or skipped by the writer for a newer
    // one (retention) or as a repeat: each is counted once.
    capture_runtime::flush();
    let n = (counted() - before) as usize;
    within_4_sigma(n, 10_000, 0.1);
    let kept = calls(dir.path(), "sampled").len();
    assert!(
        (10..20).contains(&kept),
        "default retention keeps the newest 10 (and fewer than 20): {kept}"
    );
}

#[capture_args(sample = 0.3, sample_by = "args", retention = 100000)]
fn checked_out(cart: u32, password: &str) {
    let _ = (cart, password);
}

#[test]
fn deterministic_sampling_keeps_the_same_inputs_and_ignores_secrets() {
    let (_g, dir) = setup(Config::default());
    let round = |pw: &str| {
        for cart in 0..1000 {
            checked_out(cart, pw);
        }
    };
    round("first-password");
    let first: Vec<u32> = calls(dir.path(), "checked_out")
        .iter()
        .map(|c| c.arg::<u32>("cart").unwrap())
        .collect();
    within_4_sigma(first.len(), 1000, 0.3);
    // Same carts again, with another (redacted) password: exactly the same
    // carts are captured, each a second time.
    round("other-password");
    let mut both: Vec<u32> = calls(dir.path(), "checked_out")
        .iter()
        .map(|c| c.arg::<u32>("cart").unwrap())
        .collect();
    both.sort_unstable();
    let mut twice: Vec<u32> = first.iter().flat_map(|c| [*c, *c]).collect();
    twice.sort_unstable();
    assert_eq!(both, twice);
}

// ------------------------------------------------------------ failures

#[capture_args(ret, sample = 0.01)]
fn parse_amount(text: &str) -> Result<u64, String> {
    text.parse().map_err(|e| format!("{text}: {e}"))
}

#[capture_args(ret, sample(ok = 0.01, err = 0.0))]
fn parse_plainly(text: &str) -> Result<u64, String> {
    text.parse().map_err(|e| format!("{text}: {e}"))
}

#[capture_args(sample(ok = 0.0, err = 1.0))]
fn may_panic(x: u32) -> u32 {
    assert!(!x.is_multiple_of(10), "boom {x}");
    x
}

#[test]
fn failures_are_kept_at_their_own_rate_while_successes_are_sampled() {
    let (_g, dir) = setup(Config {
        retention: Some(1_000_000),
        ..Config::default()
    });
    let (oks, errs) = (3000, 40);
    for i in 0..oks {
        assert_eq!(parse_amount(&i.to_string()), Ok(i));
        assert_eq!(parse_plainly(&i.to_string()), Ok(i));
    }
    for i in 0..errs {
        assert!(
            parse_amount(&format!("x{i}")).is_err(),
            "the function still fails as written"
        );
        assert!(parse_plainly(&format!("x{i}")).is_err());
    }
    capture_runtime::flush();
    let split = |f: &str| {
        let calls = calls(dir.path(), f);
        let failed = calls
            .iter()
            .filter(|c| c.ret::<Result<u64, String>>().unwrap().is_err())
            .count();
        (calls.len() - failed, failed)
    };
    let (ok, err) = split("parse_amount");
    assert_eq!(err, errs as usize, "every failure is kept (err rate 1 by default)");
    within_4_sigma(ok, oks as usize, 0.01);
    // `err = 0`: failures are sampled like successes.
    let (ok, err) = split("parse_plainly");
    within_4_sigma(ok, oks as usize, 0.01);
    assert!(err <= 5, "{err} of {errs} failures kept at 1%");

    // Panics are failures too (the attribute names an `err` rate).
    for x in 0..100 {
        let r = std::panic::catch_unwind(|| may_panic(x));
        assert_eq!(r.is_err(), x.is_multiple_of(10));
    }
    capture_runtime::flush();
    let kept = calls(dir.path(), "may_panic");
    assert_eq!(kept.len(), 10, "the ten panics, none of the 90 returns");
    assert!(kept
        .iter()
        .all(|c| c.metadata().outcome == capture_runtime::record::Outcome::Panicked));
}

// ------------------------------------------------------------ production

#[capture_args]
fn ingest(payload: &str, seq: u32) {
    let _ = (payload, seq);
}

#[test]
fn production_preset_samples_limits_and_keeps_one() {
    let (_g, dir) = setup(Config {
        production: Some(true),
        ..Config::default()
    });
    let big = "y".repeat(20_000);
    let n = 3000;
    let counted = || {
        let s = capture_runtime::stats();
        s.written + s.evicted + s.coalesced + s.dropped
    };
    let before = counted();
    for seq in 0..n {
        ingest(&big, seq);
    }
    // The preset uses the background writer: one record per call, written
    // when flushed; retention 1 lets the writer skip calls that a newer one
    // of the same batch replaces (counted as evicted).
    capture_runtime::flush();
    let captured = (counted() - before) as usize;
    within_4_sigma(captured, n as usize, 0.01);
    let kept = calls(dir.path(), "ingest");
    assert_eq!(kept.len(), 1, "retention 1");
    assert_eq!(
        kept[0].arg_record("payload").unwrap().slot,
        Slot::TooLarge { limit: 16 * 1024 }
    );
}

// ------------------------------------------------------------ quota

#[capture_args(retention = 100000)]
fn archive(seq: u32, body: &str) {
    let _ = (seq, body);
}

#[capture_args(retention = 100000)]
fn audit(seq: u32, body: &str) {
    let _ = (seq, body);
}

#[test]
fn quota_evicts_oldest_calls_store_wide() {
    let quota = 64 * 1024;
    let (_g, dir) = setup(Config {
        quota: Some(quota),
        ..Config::default()
    });
    // Two functions, interleaved (one `seq` counter across both), at
    // different rates: eviction must follow time, not function.
    for seq in 0..400u32 {
        let body = format!("{seq:>6} {}", "z".repeat(400));
        if seq % 3 == 0 {
            audit(seq, &body);
        } else {
            archive(seq, &body);
        }
    }
    capture_runtime::flush();
    let store = CaptureLoader::new(dir.path()).store().clone();
    let usage = store.disk_usage().unwrap();
    // Enforced within one flush interval (quota / 16 bytes, 32 writes).
    assert!(usage <= quota + quota / 8, "{usage} > {quota}");
    let seqs = |f: &str| -> Vec<u32> {
        calls(dir.path(), f)
            .iter()
            .map(|c| c.arg::<u32>("seq").unwrap())
            .collect()
    };
    let (archived, audited) = (seqs("archive"), seqs("audit"));
    assert!(
        !archived.is_empty() && !audited.is_empty(),
        "both functions keep their newest calls"
    );
    // Oldest first across both functions (whole pending segments, each a
    // sixteenth of the quota at most): each function keeps its newest
    // calls, and what either lost is older than what the other kept but
    // for one segment's worth.
    for seqs in [&archived, &audited] {
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        let all: Vec<u32> = (0..400u32).filter(|s| (s % 3 == 0) == (seqs == &audited)).collect();
        assert_eq!(
            sorted,
            all[all.len() - sorted.len()..],
            "a function keeps its newest calls"
        );
    }
    let kept = archived.len() + audited.len();
    assert!(kept > 20 && kept < 400, "{kept}");
    let oldest_kept = archived.iter().chain(&audited).min().unwrap();
    assert!(*oldest_kept >= 100, "the oldest calls went first: {oldest_kept}");
    // Every kept call rebuilds; evicted calls took their values along.
    for c in calls(dir.path(), "archive").iter().chain(&calls(dir.path(), "audit")) {
        c.arg::<String>("body").unwrap();
    }
    assert_eq!(count_files(&dir.path().join("objects")), 0, "small values are inline");
}

fn count_files(p: &Path) -> usize {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| if e.path().is_dir() { count_files(&e.path()) } else { 1 })
                .sum()
        })
        .unwrap_or(0)
}
