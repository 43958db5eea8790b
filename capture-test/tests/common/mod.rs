//! A private store per test binary: captures of the test functions go to a
//! temporary folder, set once through `configure()`, and replay runs
//! pending captures too (the tests replay what they just recorded).

use std::sync::OnceLock;

use capture_test::ReplayOutcome;

static STORE: OnceLock<tempfile::TempDir> = OnceLock::new();

/// Point every capture site of this test binary at a fresh temporary store.
pub fn init() -> &'static std::path::Path {
    STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            capture_runtime::configure(capture_runtime::Config {
                dir: Some(dir.path().to_path_buf()),
                // These tests record on purpose (also where `CI` is set) and
                // replay what they just recorded, pending as it is.
                enabled: Some(true),
                replay: Some(capture_runtime::record::Kinds::All),
                ..Default::default()
            });
            dir
        })
        .path()
}

/// Every outcome passed, and there was at least one; returns how many.
#[allow(dead_code)]
pub fn all_passed(outcomes: &[(String, ReplayOutcome)]) -> usize {
    assert!(!outcomes.is_empty(), "no outcomes");
    for (name, o) in outcomes {
        assert!(matches!(o, ReplayOutcome::Passed { .. }), "{name}: {o:#?}");
    }
    outcomes.len()
}

/// The single outcome's skip reason.
#[allow(dead_code)]
pub fn skipped(outcomes: &[(String, ReplayOutcome)]) -> String {
    assert_eq!(outcomes.len(), 1, "{outcomes:#?}");
    match &outcomes[0].1 {
        ReplayOutcome::Skipped { reason } => reason.clone(),
        other => panic!("expected a skip, got {other:#?}"),
    }
}

/// The single outcome's failure message.
#[allow(dead_code)]
pub fn failed(outcomes: &[(String, ReplayOutcome)]) -> String {
    assert_eq!(outcomes.len(), 1, "{outcomes:#?}");
    match &outcomes[0].1 {
        ReplayOutcome::Failed { message } => message.clone(),
        other => panic!("expected a failure, got {other:#?}"),
    }
}
