//! Where captures go and where the loader looks: the attribute's `path` and
//! relative store folders resolve against the capturing crate's folder
//! (`CARGO_MANIFEST_DIR`), never against the working directory, and the
//! loader's default location is the folder the capture sites wrote.

use std::path::Path;

use capture_runtime::{capture_args, CaptureLoader, Config};

#[capture_args(path = "captures/path_option_test")]
fn with_path(nonce: u64) -> u64 {
    nonce
}

#[capture_args]
fn without_path(nonce: u64) -> u64 {
    nonce
}

fn has_nonce(loader: &CaptureLoader, function: &str, nonce: u64) -> bool {
    loader
        .load_all(function)
        .map(|calls| calls.iter().any(|c| c.arg::<u64>("nonce").ok() == Some(nonce)))
        .unwrap_or(false)
}

#[test]
fn relative_folders_resolve_against_the_crate_never_the_working_directory() {
    // Only `configure` speaks here (the environment would beat it).
    std::env::remove_var("CAPTURE_DIR");
    let cwd = tempfile::tempdir().unwrap();
    std::env::set_current_dir(cwd.path()).unwrap();
    let relative = "captures/relative_configured_test";
    capture_runtime::configure(Config {
        dir: Some(relative.into()),
        enabled: Some(true),
        ..Config::default()
    });
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert_eq!(with_path(nonce), nonce);
    assert_eq!(without_path(nonce), nonce);
    capture_runtime::flush();

    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let by_path = CaptureLoader::new(manifest.join("captures/path_option_test"));
    assert!(
        has_nonce(&by_path, "store_location::with_path", nonce),
        "`path` is relative to the crate's folder"
    );
    let configured = CaptureLoader::new(manifest.join(relative));
    assert!(
        has_nonce(&configured, "store_location::without_path", nonce),
        "a relative configured folder is relative to the crate's folder"
    );
    assert!(
        !has_nonce(&configured, "store_location::with_path", nonce),
        "`path` beats the configured folder"
    );
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "nothing is written under the working directory"
    );

    // The loader finds the same folder the capture site wrote.
    let expected = manifest.join(relative);
    let default = CaptureLoader::default_location().unwrap();
    assert_eq!(default.store().local_root(), Some(expected.as_path()));
    assert!(has_nonce(&default, "store_location::without_path", nonce));
    let for_crate = CaptureLoader::for_crate(env!("CARGO_MANIFEST_DIR")).unwrap();
    assert_eq!(for_crate.store().local_root(), Some(expected.as_path()));
}
