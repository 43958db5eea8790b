//! `CAPTURE_PRODUCTION=1`, set before the first capture, through real
//! `#[capture_args]` functions: 1% sampling, retention 1, the 16 KiB size
//! limit, every PII detector on whatever the base policy says, and the
//! 256 MiB store-wide quota.
//!
//! The environment is read once per process, so this binary sets it before
//! anything reads it; its tests share one store and take turns.

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use capture_runtime::config::PRODUCTION_QUOTA;
use capture_runtime::filter::{DetectorSet, Policy};
use capture_runtime::record::Slot;
use capture_runtime::store::quota::LEDGER;
use capture_runtime::{capture_args, configure, CaptureLoader, CapturedCall, Config};

static SERIAL: Mutex<()> = Mutex::new(());

/// The shared store folder, after setting the environment (once) and a base
/// policy with every detector off.
fn setup() -> (MutexGuard<'static, ()>, &'static Path) {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_, dir) = DIR.get_or_init(|| {
        std::env::set_var("CAPTURE_PRODUCTION", "1");
        let tmp = support::tempdir();
        let dir = tmp.path().join("store");
        configure(Config {
            dir: Some(dir.clone()),
            policy: Some(Policy::default().detectors(DetectorSet::NONE)),
            ..Config::default()
        });
        assert_eq!(capture_runtime::config::env_config().production, Some(true));
        (tmp, dir)
    });
    (guard, dir)
}

fn calls(dir: &Path, function: &str) -> Vec<CapturedCall> {
    CaptureLoader::new(dir).load_all(function).unwrap_or_default()
}

#[capture_args(retention = 100000)]
fn sampled(seq: u32) {
    let _ = seq;
}

#[test]
fn one_percent_of_calls_are_sampled() {
    let (_g, dir) = setup();
    let n = 20_000u32;
    let dropped = capture_runtime::stats().dropped;
    for seq in 0..n {
        sampled(seq);
    }
    capture_runtime::flush();
    // What reached the store, plus anything a full queue dropped.
    let captured = calls(dir, "sampled").len() as u64 + (capture_runtime::stats().dropped - dropped);
    let (mean, sd) = (f64::from(n) * 0.01, (f64::from(n) * 0.01 * 0.99).sqrt());
    assert!(
        (captured as f64 - mean).abs() <= 4.0 * sd,
        "{captured} of {n} captured at 1%"
    );
}

#[capture_args(sample = 1.0)]
fn ingest(payload: &str, seq: u32) {
    let _ = (payload, seq);
}

#[test]
fn retention_is_one_and_arguments_over_16_kib_are_dropped() {
    let (_g, dir) = setup();
    let big = "y".repeat(20_000);
    for seq in 0..5 {
        ingest(&big, seq);
        capture_runtime::flush();
    }
    let kept = calls(dir, "ingest");
    assert_eq!(kept.len(), 1, "retention 1");
    assert_eq!(kept[0].arg::<u32>("seq").unwrap(), 4, "the newest call is kept");
    assert_eq!(
        kept[0].arg_record("payload").unwrap().slot,
        Slot::TooLarge { limit: 16 * 1024 }
    );
}

#[capture_args(sample = 1.0)]
fn contact(text: &str) {
    let _ = text;
}

#[test]
fn every_detector_is_on_although_the_base_policy_turned_them_off() {
    let (_g, dir) = setup();
    contact("mail ann@example.com or call 123-45-6789");
    capture_runtime::flush();
    let call = calls(dir, "contact").pop().expect("captured");
    assert_eq!(
        call.arg::<String>("text").unwrap(),
        "mail [REDACTED:email] or call [REDACTED:us_ssn]"
    );
}

#[capture_args(sample = 1.0, retention = 100000)]
fn archive(seq: u32, body: &str) {
    let _ = (seq, body);
}

fn ledger(dir: &Path) -> u64 {
    let text = std::fs::read_to_string(dir.join(LEDGER)).expect("the quota keeps a ledger");
    text.trim().strip_prefix("usage ").unwrap().parse().unwrap()
}

fn write_calls(from: u32) {
    for seq in from..from + 70 {
        archive(seq, &format!("{seq} {}", "z".repeat(1000)));
        capture_runtime::flush();
    }
}

/// The quota is only measured once the ledger (the store's estimated size)
/// passes it, so seeding the ledger just under and just over 256 MiB shows
/// which quota is attached without writing 256 MiB.
#[test]
fn the_store_has_the_256_mib_quota() {
    let (_g, dir) = setup();
    write_calls(0);
    assert!(dir.join(LEDGER).exists(), "a quota is attached");

    // Just under the quota: the writes are added, nothing is measured.
    let under = PRODUCTION_QUOTA - (4 << 20);
    std::fs::write(dir.join(LEDGER), format!("usage {under}\n")).unwrap();
    write_calls(100);
    let after = ledger(dir);
    assert!(after > under && after < PRODUCTION_QUOTA, "{after}");

    // At the quota: the next flush passes it, measures the store (small, so
    // nothing is evicted) and writes its real size back.
    std::fs::write(dir.join(LEDGER), format!("usage {PRODUCTION_QUOTA}\n")).unwrap();
    write_calls(200);
    let measured = ledger(dir);
    assert!(measured < 4 << 20, "measured {measured}");
    assert_eq!(
        calls(dir, "archive").len(),
        210,
        "under 80% of the quota: nothing evicted"
    );
}
