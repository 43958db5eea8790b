//! The background writer's queue is drained when the process exits normally:
//! a child process (this test binary, re-run in child mode) captures calls
//! with the background writer and returns without `flush()`; its captures
//! must all be on disk afterwards.

use std::process::Command;

use capture_runtime::config::{WhenFull, WriterMode};
use capture_runtime::{capture_args, configure, CaptureLoader, Config};

const CALLS: u64 = 200;

#[capture_args(ret, retention = 1000)]
fn square(x: u64) -> u64 {
    x * x
}

#[test]
fn child_captures_and_exits_without_flushing() {
    let Some(dir) = std::env::var_os("EXIT_DRAIN_CHILD_STORE") else {
        return; // only meaningful in the child the test below starts
    };
    configure(Config {
        dir: Some(dir.into()),
        enabled: Some(true),
        writer: Some(WriterMode::Background {
            capacity: 4096,
            when_full: WhenFull::Block,
        }),
        ..Config::default()
    });
    for x in 0..CALLS {
        assert_eq!(square(x), x * x);
    }
    // No flush, no guard: libtest returns and the process exits.
}

#[test]
fn a_normal_exit_drains_the_background_queue() {
    let store = tempfile::tempdir().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_captures_and_exits_without_flushing",
            "--test-threads",
            "1",
        ])
        .env("EXIT_DRAIN_CHILD_STORE", store.path())
        .status()
        .unwrap();
    assert!(status.success());
    let calls = CaptureLoader::new(store.path()).load_all("exit_drain::square").unwrap();
    assert_eq!(calls.len() as u64, CALLS, "every queued capture reached the disk");
}
