//! The environment layer: `CAPTURE_IGNORE_ARGS`, `CAPTURE_SAMPLE_RATE`,
//! `CAPTURE_DETECTORS` (detectors, and a user filter turned off by name),
//! `CAPTURE_SAMPLE_BY`, `CAPTURE_QUOTA`,
//! `CAPTURE_PRODUCTION`. The environment is read once per process, so this
//! binary sets it before the first capture, in its only test.

use capture_runtime::config::{EnvConfig, SampleBy};
use capture_runtime::filter::{DetectorSet, PiiKind, Policy};
use capture_runtime::record::Slot;
use capture_runtime::{capture_args, configure, CaptureError, CaptureLoader, Config};

#[capture_args]
fn notify(note: &str, text: &str, n: u32) {
    let _ = (note, text, n);
}

#[test]
fn environment_variables_apply_and_bad_values_are_errors() {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    std::env::set_var("CAPTURE_DIR", dir.path());
    std::env::set_var("CAPTURE_IGNORE_ARGS", "note, other");
    std::env::set_var("CAPTURE_SAMPLE_RATE", "0.5");
    std::env::set_var("CAPTURE_DETECTORS", "all,-email,-internal_host,-no_such_filter");
    // Two filters in the base policy: the environment turns one off by name.
    configure(Config {
        enabled: Some(true),
        policy: Some(
            Policy::default()
                .filter("internal_host", |s: &str| {
                    s.contains(".corp.internal")
                        .then(|| s.replace("db1.corp.internal", "[REDACTED:internal_host]"))
                })
                .filter("ticket", |s: &str| {
                    s.contains("TCK-").then(|| s.replace("TCK-42", "[REDACTED:ticket]"))
                }),
        ),
        ..Config::default()
    });
    let counted = || {
        let s = capture_runtime::stats();
        s.written + s.evicted + s.coalesced + s.dropped
    };
    let before = counted();
    for n in 0..2000 {
        notify(
            "private",
            "ann@example.com 4111 1111 1111 1111 db1.corp.internal TCK-42",
            n,
        );
    }
    // Each sampled call is written, or skipped by the writer for a newer
    // one (retention) or as a repeat: counted once either way.
    capture_runtime::flush();
    let captured = (counted() - before) as f64;
    let (mean, four_sigma) = (1000.0, 4.0 * (2000.0f64 * 0.25).sqrt());
    assert!((captured - mean).abs() <= four_sigma, "{captured} of 2000 at 0.5");
    let loader = CaptureLoader::new(dir.path());
    let calls = loader.load_all("notify").unwrap();
    let c = &calls[0];
    assert_eq!(c.arg_record("note").unwrap().slot, Slot::Ignored);
    // The e-mail detector is off, the card detector on; the `internal_host`
    // filter is off, the `ticket` filter on.
    assert_eq!(
        c.arg::<String>("text").unwrap(),
        "ann@example.com [REDACTED:credit_card] db1.corp.internal [REDACTED:ticket]"
    );
    assert!(capture_runtime::check_config().is_ok());
    // A `-name` that is neither a detector nor a filter of the policy is reported.
    let reported = capture_runtime::config::reported_messages();
    assert!(
        reported.iter().any(|m| m.contains("CAPTURE_DETECTORS")
            && m.contains("-no_such_filter")
            && m.contains("internal_host, ticket")),
        "{reported:?}"
    );

    // Parsing, with every problem reported (never a silent default).
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        EnvConfig::from_env(move |k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string()))
    };
    let ok = env(&[
        ("CAPTURE_SAMPLE_BY", "args"),
        ("CAPTURE_DETECTORS", "email, jwt"),
        ("CAPTURE_QUOTA", "1GiB"),
        ("CAPTURE_PRODUCTION", "1"),
    ]);
    assert!(ok.errors.is_empty(), "{:?}", ok.errors);
    assert_eq!(ok.sample_by, Some(SampleBy::Args));
    assert_eq!(
        ok.detectors,
        Some(DetectorSet::NONE.with(PiiKind::Email).with(PiiKind::Jwt))
    );
    assert_eq!(ok.quota, Some(1 << 30));
    assert_eq!(ok.production, Some(true));
    let bad = env(&[
        ("CAPTURE_SAMPLE_BY", "sometimes"),
        ("CAPTURE_DETECTORS", "emails"),
        ("CAPTURE_QUOTA", "0"),
        ("CAPTURE_SAMPLE_RATE", "1.5"),
    ]);
    assert_eq!(
        (bad.sample_by, bad.detectors, bad.quota, bad.sample_rate),
        (None, None, None, None)
    );
    let keys: Vec<String> = bad
        .errors
        .iter()
        .map(|e| match e {
            CaptureError::Config { key, .. } => key.clone(),
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(
        keys,
        [
            "CAPTURE_SAMPLE_RATE",
            "CAPTURE_SAMPLE_BY",
            "CAPTURE_DETECTORS",
            "CAPTURE_QUOTA"
        ]
    );
    assert!(
        bad.errors[2].to_string().contains("`emails` is not a detector"),
        "{}",
        bad.errors[2]
    );
}
