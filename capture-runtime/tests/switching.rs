//! Switching capture off and on at run time reaches every annotated
//! function, whether it was first called before or after the switch: each
//! keeps its own copy of the mode (`SiteMode`), which every switch updates.
//! One test, so nothing else in this process switches the mode meanwhile.

use capture_runtime::{capture_args, configure, set_enabled, CaptureLoader, Config};

#[capture_args(retention = 100)]
fn early(n: u32) -> u32 {
    n + 1
}

#[capture_args(retention = 100)]
fn late(n: u32) -> u32 {
    n + 2
}

fn count(dir: &std::path::Path, function: &str) -> usize {
    CaptureLoader::new(dir).load_all(function).map(|c| c.len()).unwrap_or(0)
}

#[test]
fn every_site_follows_set_enabled_and_configure() {
    let dir = tempfile::tempdir().unwrap();
    let on = |enabled: bool| {
        configure(Config {
            enabled: Some(enabled),
            dir: Some(dir.path().to_owned()),
            ..Config::default()
        })
    };
    on(true);
    // `early` registers while capture is on.
    assert_eq!(early(1), 2);
    assert_eq!(count(dir.path(), "early"), 1);

    set_enabled(false);
    assert_eq!(early(2), 3, "the function's result does not depend on capture");
    // `late` registers while capture is off: its first call is not recorded.
    assert_eq!(late(2), 4);
    assert_eq!(count(dir.path(), "early"), 1, "early: off after set_enabled(false)");
    assert_eq!(count(dir.path(), "late"), 0, "late: first called while off");

    set_enabled(true);
    early(3);
    late(3);
    assert_eq!(count(dir.path(), "early"), 2, "early: on again");
    assert_eq!(count(dir.path(), "late"), 1, "late: on after its first call");

    // `configure` switches every site too.
    on(false);
    early(4);
    late(4);
    assert_eq!((count(dir.path(), "early"), count(dir.path(), "late")), (2, 1));
    on(true);
    early(5);
    late(5);
    assert_eq!((count(dir.path(), "early"), count(dir.path(), "late")), (3, 2));
}
