//! The background writer: one record per call, dedup of repeated calls,
//! retention inside a batch, start records for long calls, panics.

use std::sync::OnceLock;

use capture_runtime::config::{WhenFull, WriterMode};
use capture_runtime::record::Outcome;
use capture_runtime::{capture_args, configure, flush, set_enabled, CaptureLoader, Config};

fn store() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        configure(Config {
            enabled: Some(true),
            dir: Some(dir.path().to_owned()),
            retention: Some(1000),
            writer: Some(WriterMode::Background {
                capacity: 4096,
                when_full: WhenFull::Block,
            }),
            ..Config::default()
        });
        set_enabled(true);
        dir
    })
    .path()
}

fn loader() -> CaptureLoader {
    CaptureLoader::new(store())
}

#[capture_args(ret)]
fn double(x: u64) -> u64 {
    x * 2
}

#[test]
fn each_call_gets_one_final_record_after_flush() {
    store();
    for x in 0..5 {
        assert_eq!(double(x), x * 2);
    }
    flush();
    let calls = loader().load_all("double").unwrap();
    assert_eq!(calls.len(), 5, "start and final records of a call coalesce into one");
    for (x, c) in calls.iter().enumerate() {
        assert_eq!(c.metadata().outcome, Outcome::Returned);
        assert_eq!(c.arg::<u64>("x").unwrap(), x as u64);
        assert_eq!(c.ret::<u64>().unwrap(), 2 * x as u64);
    }
}

#[capture_args]
fn greet(name: &str) -> usize {
    name.len()
}

#[test]
fn identical_repeated_calls_are_recorded_once() {
    store();
    let before = capture_runtime::stats().coalesced;
    for _ in 0..10 {
        greet("ada");
    }
    greet("grace");
    for _ in 0..3 {
        greet("grace");
    }
    flush();
    let names: Vec<String> = loader()
        .load_all("greet")
        .unwrap()
        .iter()
        .map(|c| c.arg::<String>("name").unwrap())
        .collect();
    assert_eq!(names, ["ada", "grace"]);
    assert!(capture_runtime::stats().coalesced >= before + 12);
}

#[capture_args(retention = 3)]
fn keep_three(n: u32) -> u32 {
    n + 1
}

#[test]
fn retention_applies_to_what_the_writer_batches() {
    store();
    for n in 0..50 {
        keep_three(n);
    }
    flush();
    let kept: Vec<u32> = loader()
        .load_all("keep_three")
        .unwrap()
        .iter()
        .map(|c| c.arg::<u32>("n").unwrap())
        .collect();
    assert_eq!(kept, [47, 48, 49], "the newest three calls are kept");
}

#[capture_args(ret)]
fn long_call(tag: u32) -> u32 {
    // While this call runs, a flush writes its start record.
    flush();
    let during = loader().load_all("long_call").unwrap();
    assert_eq!(during.len(), 1);
    assert_eq!(during[0].metadata().outcome, Outcome::Started);
    tag
}

#[test]
fn a_running_call_leaves_a_start_record_that_the_end_replaces() {
    store();
    assert_eq!(long_call(7), 7);
    flush();
    let after = loader().load_all("long_call").unwrap();
    assert_eq!(after.len(), 1, "the final record replaces the start record");
    assert_eq!(after[0].metadata().outcome, Outcome::Returned);
    assert_eq!(after[0].ret::<u32>().unwrap(), 7);
}

#[capture_args]
fn explode(n: u32) -> u32 {
    if n > 0 {
        panic!("boom");
    }
    n
}

#[test]
fn a_panicking_call_is_recorded_as_panicked() {
    store();
    let r = std::panic::catch_unwind(|| explode(1));
    assert!(r.is_err());
    flush();
    let calls = loader().load_all("explode").unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].metadata().outcome, Outcome::Panicked);
}

#[test]
fn flush_with_nothing_queued_returns() {
    store();
    flush();
    flush();
    let _guard = capture_runtime::init();
}
