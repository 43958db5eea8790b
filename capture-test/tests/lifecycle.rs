//! The capture lifecycle end to end: recording makes *pending* captures,
//! accepted ones are the fixtures nothing automatic evicts, replay runs
//! accepted captures and never writes, CI fails an entry with nothing to
//! replay, and a replayed `cache` function runs its body.
//!
//! Each scenario runs this test binary again as a child process (one
//! `--exact` test, selected by `LIFECYCLE_CHILD`), so that every child is
//! a fresh process with its own environment (`CAPTURE_DIR`, `CI`,
//! `CAPTURE_ACCEPT`), as separate `cargo test` runs would be.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use capture_runtime::capture_args;
use capture_test::{replay_outcomes, ReplayOutcome};
use serde::{Deserialize, Deserializer, Serialize};

#[capture_args(ret)]
pub fn price(cents: u64) -> u64 {
    cents * 2
}

#[capture_args(ret)]
pub fn never_called(x: u32) -> u32 {
    x
}

/// A code whose `Deserialize` goes through a captured constructor: rebuilding
/// it for replay calls `parse_code`, which must record nothing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Code(pub String);

#[capture_args(ret)]
pub fn parse_code(text: &str) -> Code {
    Code(text.to_uppercase())
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Code, D::Error> {
        let text = String::deserialize(d)?;
        Ok(parse_code(&text))
    }
}

#[capture_args(ret)]
pub fn describe(code: Code) -> String {
    format!("code {}", code.0)
}

static BODY_RUNS: AtomicU32 = AtomicU32::new(0);

#[capture_args(ret, cache)]
pub fn slow_square(x: u64) -> u64 {
    BODY_RUNS.fetch_add(1, Ordering::SeqCst);
    x * x
}

const CHILD: &str = "LIFECYCLE_CHILD";

/// Run test `name` of this binary in a child process with `env`; its output.
fn child(name: &str, dir: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(std::env::current_exe().expect("this test binary"));
    cmd.args(["--exact", name, "--nocapture", "--test-threads", "1"])
        .env(CHILD, name)
        .env("CAPTURE_DIR", dir)
        .env_remove("CI")
        .env_remove("CAPTURE_ACCEPT")
        .env_remove("CAPTURE_REPLAY")
        .env_remove("CAPTURE_ENABLED");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the child");
    assert!(
        out.status.success(),
        "child {name} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn is_child(name: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|c| c == name)
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn go(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                go(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    go(dir, dir, &mut out);
    out
}

fn under<'a>(all: &'a BTreeMap<String, Vec<u8>>, prefix: &str) -> BTreeMap<&'a str, &'a Vec<u8>> {
    all.iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.as_str(), v))
        .collect()
}

/// Child: record `price` for the inputs `LIFECYCLE_FROM..LIFECYCLE_FROM+5`.
#[test]
fn record_prices() {
    if !is_child("record_prices") {
        return;
    }
    let from: u64 = std::env::var("LIFECYCLE_FROM").unwrap().parse().unwrap();
    for cents in from..from + 5 {
        assert_eq!(price(cents), cents * 2);
    }
    capture_runtime::flush();
}

/// Child: replay `price` (accepted captures only, by default); print the test names.
#[test]
fn replay_prices() {
    if !is_child("replay_prices") {
        return;
    }
    for (name, outcome) in replay_outcomes!(price) {
        assert!(matches!(outcome, ReplayOutcome::Passed { .. }), "{name}: {outcome:?}");
        println!("REPLAYED {name}");
    }
}

#[test]
fn fifteen_recording_runs_leave_every_accepted_capture_in_place() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Three reviewed fixtures.
    child(
        "record_prices",
        dir.path(),
        &[("LIFECYCLE_FROM", "1000"), ("CAPTURE_ACCEPT", "new")],
    );
    let before = files(dir.path());
    let accepted: BTreeMap<String, Vec<u8>> = before
        .iter()
        .filter(|(k, _)| k.starts_with("calls/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(accepted.len(), 5, "{:?}", before.keys().collect::<Vec<_>>());
    assert!(
        under(&before, "pending/").is_empty(),
        "accepted at once, nothing pending"
    );
    // Fifteen ordinary test runs, each recording five new inputs, with a
    // retention of 3: far more than retention holds.
    for run in 0..15 {
        let from = (run * 10).to_string();
        child(
            "record_prices",
            dir.path(),
            &[("LIFECYCLE_FROM", from.as_str()), ("CAPTURE_RETENTION", "3")],
        );
    }
    let after = files(dir.path());
    let still: BTreeMap<String, Vec<u8>> = after
        .iter()
        .filter(|(k, _)| k.starts_with("calls/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(still, accepted, "accepted captures are untouched, byte for byte");
    // Retention bounded the pending ones: at least the newest 3, at most about twice that.
    let pending = capture_runtime::Store::open(dir.path())
        .pending("lifecycle::price")
        .unwrap();
    assert!(pending.bad.is_empty(), "{:?}", pending.bad);
    let n = pending.captures.len();
    assert!((3..=10).contains(&n), "{n} pending captures kept");
    let newest: Vec<u64> = pending.captures.iter().map(|c| c.record.seq).collect();
    assert!(!newest.is_empty());
    // Replay runs the accepted captures only, and says what awaits review.
    let out = child("replay_prices", dir.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let replayed = stdout.matches("REPLAYED ").count();
    assert_eq!(replayed, 5, "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pending capture(s) await review"), "{stderr}");
    // And it wrote nothing.
    assert_eq!(files(dir.path()), after, "replay never writes");
}

/// Child: record `describe` (its argument's `Deserialize` calls `parse_code`).
#[test]
fn record_codes() {
    if !is_child("record_codes") {
        return;
    }
    for text in ["ab", "cd"] {
        let code = parse_code(text);
        assert_eq!(describe(code.clone()), format!("code {}", code.0));
    }
    capture_runtime::flush();
}

/// Child: replay `describe` and `parse_code`, accepted and pending alike.
#[test]
fn replay_codes() {
    if !is_child("replay_codes") {
        return;
    }
    let mut outcomes = replay_outcomes!(describe);
    outcomes.extend(replay_outcomes!(parse_code));
    assert!(outcomes.len() >= 4, "{outcomes:?}");
    for (name, outcome) in &outcomes {
        assert!(matches!(outcome, ReplayOutcome::Passed { .. }), "{name}: {outcome:?}");
    }
    capture_runtime::flush();
}

#[test]
fn replay_leaves_the_store_byte_for_byte_unchanged() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    child("record_codes", dir.path(), &[("CAPTURE_ACCEPT", "new")]);
    child("record_codes", dir.path(), &[]); // the same calls again, pending this time
    let before = files(dir.path());
    assert!(!under(&before, "calls/").is_empty() && !under(&before, "pending/").is_empty());
    child("replay_codes", dir.path(), &[("CAPTURE_REPLAY", "all")]);
    child(
        "replay_codes",
        dir.path(),
        &[("CAPTURE_REPLAY", "all"), ("CAPTURE_RETENTION", "1")],
    );
    assert_eq!(
        files(dir.path()),
        before,
        "replaying listed, rebuilt and ran, and wrote nothing"
    );
}

/// Child: replay a function with no captures, as CI would.
#[test]
fn replay_nothing() {
    if !is_child("replay_nothing") {
        return;
    }
    let strict = replay_outcomes!(never_called);
    let lenient = replay_outcomes!(never_called allow_empty);
    let message = match &strict[..] {
        [(name, ReplayOutcome::Failed { message })] if name == "never_called::no_captures" => message.clone(),
        other => panic!("expected one failure: {other:?}"),
    };
    println!("STRICT {message}");
    assert!(
        matches!(&lenient[..], [(_, ReplayOutcome::Skipped { .. })]),
        "{lenient:?}"
    );
}

/// Child: the same outside CI: nothing to replay is a skip, not a failure.
#[test]
fn replay_nothing_locally() {
    if !is_child("replay_nothing_locally") {
        return;
    }
    let outcomes = replay_outcomes!(never_called);
    assert!(
        matches!(&outcomes[..], [(_, ReplayOutcome::Skipped { .. })]),
        "{outcomes:?}"
    );
}

#[test]
fn ci_fails_an_entry_with_no_accepted_captures_unless_it_allows_empty() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = child("replay_nothing", dir.path(), &[("CI", "true")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let folder = dir.path().join("calls/lifecycle/never_called");
    assert!(
        stdout.contains(&folder.display().to_string()) && stdout.contains("allow_empty"),
        "names the folder to commit and the way out: {stdout}"
    );
    child("replay_nothing_locally", dir.path(), &[]);
}

/// Child: in CI nothing is recorded unless asked for.
#[test]
fn record_in_ci() {
    if !is_child("record_in_ci") {
        return;
    }
    assert_eq!(price(7), 14);
    capture_runtime::flush();
}

#[test]
fn ci_records_only_when_asked() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    child("record_in_ci", dir.path(), &[("CI", "true")]);
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()).keys());
    child("record_in_ci", dir.path(), &[("CI", "true"), ("CAPTURE_ENABLED", "1")]);
    assert!(!under(&files(dir.path()), "pending/").is_empty());
}

/// Child: record `slow_square`, then replay it: the body must run.
#[test]
fn replay_cached() {
    if !is_child("replay_cached") {
        return;
    }
    assert_eq!(slow_square(12), 144);
    assert_eq!(slow_square(12), 144);
    assert_eq!(BODY_RUNS.load(Ordering::SeqCst), 1, "the second call was a cache hit");
    capture_runtime::flush();
    let outcomes = replay_outcomes!(slow_square);
    assert!(
        outcomes.iter().all(|(_, o)| matches!(o, ReplayOutcome::Passed { .. })),
        "{outcomes:?}"
    );
    assert_eq!(BODY_RUNS.load(Ordering::SeqCst), 2, "the replay ran the body");
}

#[test]
fn a_cache_function_replay_runs_its_body() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    child("replay_cached", dir.path(), &[("CAPTURE_ACCEPT", "new")]);
}
