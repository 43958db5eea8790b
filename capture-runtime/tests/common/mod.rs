//! Shared setup: one temporary store per test process, set through
//! `configure` (the layer below attributes and environment).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use capture_runtime::{CaptureLoader, Config};

#[allow(dead_code)]
pub fn store() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        capture_runtime::configure(Config {
            dir: Some(dir.clone()),
            enabled: Some(true),
            ..Config::default()
        });
        dir
    })
}

#[allow(dead_code)]
pub fn loader() -> CaptureLoader {
    CaptureLoader::new(store())
}
