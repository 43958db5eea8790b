//! Configuration precedence, observed from outside the process:
//! attribute > environment > `configure(..)` > defaults, and
//! `CAPTURE_ENABLED=0` turns everything off.

use std::path::Path;
use std::process::{Command, Output};

use capture_runtime::CaptureLoader;

fn run(store: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_capture_worker"));
    cmd.arg("precedence")
        .args(args)
        .env("CAPTURE_DIR", store)
        .env_remove("CAPTURE_RETENTION")
        // Precedence outside CI (where recording is on by default).
        .env_remove("CI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run worker");
    assert!(out.status.success(), "{out:?}");
    out
}

fn count(store: &Path, f: &str) -> usize {
    CaptureLoader::new(store).load_all(f).map(|c| c.len()).unwrap_or(0)
}

#[test]
fn attribute_beats_environment_beats_configure_beats_default() {
    let defaults = tempfile::tempdir().unwrap();
    run(defaults.path(), &[], &[]);
    assert_eq!(
        count(defaults.path(), "plain_item"),
        capture_runtime::config::DEFAULT_RETENTION
    );

    let configured = tempfile::tempdir().unwrap();
    run(configured.path(), &[], &["4"]);
    assert_eq!(
        count(configured.path(), "plain_item"),
        4,
        "configure() beats the default"
    );

    let env = tempfile::tempdir().unwrap();
    run(env.path(), &[("CAPTURE_RETENTION", "2")], &["4"]);
    assert_eq!(count(env.path(), "plain_item"), 2, "environment beats configure()");
    assert_eq!(count(env.path(), "kept_five"), 5, "the attribute beats the environment");
}

#[test]
fn capture_enabled_0_turns_everything_off() {
    let store = tempfile::tempdir().unwrap();
    run(store.path(), &[("CAPTURE_ENABLED", "0")], &["4"]);
    assert!(
        std::fs::read_dir(store.path()).map_or(true, |mut d| d.next().is_none()),
        "nothing written"
    );
}

#[test]
fn invalid_values_are_reported_once_never_silently() {
    let store = tempfile::tempdir().unwrap();
    let out = run(
        store.path(),
        &[("CAPTURE_RETENTION", "many"), ("CAPTURE_SAMPLE_RATE", "2")],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("CAPTURE_RETENTION=\"many\"").count(), 1, "{stderr}");
    assert!(stderr.contains("expected a whole number >= 1"), "{stderr}");
    assert!(stderr.contains("CAPTURE_SAMPLE_RATE=\"2\""), "{stderr}");
    // The invalid value is ignored (with the error above): the default applies.
    assert_eq!(
        count(store.path(), "plain_item"),
        capture_runtime::config::DEFAULT_RETENTION
    );
}

#[test]
fn capture_format_json_writes_json_that_loads() {
    let store = tempfile::tempdir().unwrap();
    run(store.path(), &[("CAPTURE_FORMAT", "json")], &[]);
    let call = CaptureLoader::new(store.path()).latest("plain_item").unwrap();
    assert_eq!(call.arg::<u32>("i").unwrap(), 11);
    let capture_runtime::record::Slot::Stored { id, len } = call.metadata().args[0].slot else {
        panic!("stored")
    };
    let (codec, body) = call.stored_value(&id, len).unwrap();
    assert_eq!(codec, capture_runtime::Codec::Json);
    assert_eq!(body, b"11");
}
