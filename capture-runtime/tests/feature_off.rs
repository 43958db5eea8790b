//! The `enabled` cargo feature. CI runs this file twice: with the default
//! features, and with `--no-default-features --features json`, where
//! `#[capture_args]` must compile to the function exactly as written: it runs
//! the same, records nothing and adds no state, even with capturing switched
//! on at run time.

use capture_runtime::{capture_args, CaptureLoader, Config};

#[capture_args(ret)]
fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[capture_args]
async fn annotated(a: u64, b: [u64; 4]) -> u64 {
    std::future::ready(()).await;
    a + b.iter().sum::<u64>()
}

async fn plain(a: u64, b: [u64; 4]) -> u64 {
    std::future::ready(()).await;
    a + b.iter().sum::<u64>()
}

#[test]
fn the_enabled_feature_decides_whether_anything_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    capture_runtime::configure(Config {
        dir: Some(dir.path().into()),
        enabled: Some(true),
        ..Config::default()
    });
    assert_eq!(add(2, 3), 5);
    let fut = annotated(1, [1, 2, 3, 4]);
    let annotated_size = std::mem::size_of_val(&fut);
    drop(fut);
    capture_runtime::flush();
    let recorded = CaptureLoader::new(dir.path()).load_all("feature_off::add");
    if cfg!(feature = "enabled") {
        assert_eq!(recorded.unwrap()[0].ret::<u32>().unwrap(), 5);
    } else {
        assert!(recorded.is_err(), "nothing recorded without the `enabled` feature");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the store is not even created"
        );
        assert_eq!(capture_runtime::stats().written, 0);
        // The future carries no capture state: the same size as the same
        // function without the attribute.
        assert_eq!(annotated_size, std::mem::size_of_val(&plain(1, [1, 2, 3, 4])));
    }
}
