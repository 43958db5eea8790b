//! Capture and replay in an edition-2015 crate (see `src/lib.rs`).
#![deny(warnings)]

// No `extern crate`: everything is named by path, through the extern prelude.

fn passed(outcomes: &[(String, capture_test::ReplayOutcome)]) -> usize {
    assert!(!outcomes.is_empty());
    for (name, o) in outcomes {
        match o {
            capture_test::ReplayOutcome::Passed { .. } => {}
            other => panic!("{}: {:?}", name, other),
        }
    }
    outcomes.len()
}

#[test]
#[allow(deprecated)]
fn capture_and_replay_work_in_edition_2015() {
    let dir = tempfile::tempdir().unwrap();
    capture_runtime::configure(capture_runtime::Config {
        dir: Some(dir.path().to_path_buf()),
        enabled: Some(true),
        // Accepted as recorded: the replays below run accepted captures.
        accept: Some(capture_runtime::config::Accept::New),
        ..Default::default()
    });
    assert_eq!(capture_compat_2015::double(4), 8);
    let mut acc = capture_compat_2015::Acc { n: 1 };
    assert_eq!(acc.add(2), 3);
    assert_eq!(acc.to_string(), "acc 3");
    assert_eq!(capture_compat_2015::cached(1), Ok(4));
    assert_eq!(capture_compat_2015::old_double(2), 4);
    capture_runtime::flush();
    assert_eq!(passed(&capture_test::replay_outcomes!(capture_compat_2015::double)), 1);
    assert_eq!(
        passed(&capture_test::replay_outcomes!(capture_compat_2015::Acc::add)),
        1
    );
    assert_eq!(
        passed(&capture_test::replay_outcomes!(
            <capture_compat_2015::Acc as ::std::fmt::Display>::fmt
        )),
        1
    );
    assert_eq!(
        passed(&capture_test::replay_outcomes!(capture_compat_2015::old_double)),
        1
    );
}
