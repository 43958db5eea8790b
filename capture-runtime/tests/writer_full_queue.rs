//! A full background queue drops and counts (the caller never waits), or
//! waits with `WhenFull::Block`. The writer is held up deterministically by
//! holding the function folder's lock, which it needs to write records.

use capture_runtime::config::{WhenFull, WriterMode};
use capture_runtime::store::{Backend, LocalBackend};
use capture_runtime::{capture_args, configure, flush, set_enabled, stats, CaptureLoader, Config};

#[capture_args]
fn tick(n: u32) -> u32 {
    n
}

fn setup(dir: &std::path::Path, when_full: WhenFull) {
    configure(Config {
        enabled: Some(true),
        dir: Some(dir.to_owned()),
        retention: Some(1000),
        writer: Some(WriterMode::Background { capacity: 4, when_full }),
        ..Config::default()
    });
    set_enabled(true);
}

#[test]
fn full_queue_drops_and_counts_then_block_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), WhenFull::Drop);
    let fn_dir = "calls/writer_full_queue/tick";
    let lock = LocalBackend::new(dir.path()).lock(&format!("{fn_dir}/.lock")).unwrap();
    let before = stats().dropped;
    for n in 0..20 {
        assert_eq!(tick(n), n, "the function runs whatever the queue does");
    }
    let dropped = stats().dropped - before;
    // 4 slots, 2 messages per call: only a few calls get in while the writer is stuck.
    assert!(dropped >= 14, "dropped {dropped}");
    drop(lock);
    flush();
    let kept = CaptureLoader::new(dir.path()).load_all("tick").unwrap().len() as u64;
    assert_eq!(
        kept + dropped,
        20,
        "every call is either recorded or counted as dropped"
    );

    let dir2 = tempfile::tempdir().unwrap();
    setup(dir2.path(), WhenFull::Block);
    let before = stats().dropped;
    for n in 0..200 {
        tick(n);
    }
    flush();
    assert_eq!(stats().dropped, before, "Block never drops");
    assert_eq!(CaptureLoader::new(dir2.path()).load_all("tick").unwrap().len(), 200);
}
