//! Where a capture goes and where a loader looks, seen from other processes:
//! the attribute's `path` beats `CAPTURE_DIR` and is relative to the
//! capturing crate's folder; a relative `CAPTURE_DIR` is relative to that
//! folder on the capture side and on the loading side, and a loader that
//! cannot know the crate's folder says so instead of guessing.

use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output};

use capture_runtime::CaptureLoader;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// Run the worker in `cwd`, with `CAPTURE_DIR=capture_dir`, and without
/// `CARGO_MANIFEST_DIR` unless `manifest` is given.
fn worker(cwd: &Path, capture_dir: &Path, manifest: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_capture_worker"));
    cmd.args(args)
        .current_dir(cwd)
        .env("CAPTURE_DIR", capture_dir)
        .env("CAPTURE_ENABLED", "1")
        .env_remove("CAPTURE_RETENTION")
        .env_remove("CARGO_MANIFEST_DIR");
    if let Some(m) = manifest {
        cmd.env("CARGO_MANIFEST_DIR", m);
    }
    cmd.output().expect("run worker")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `target` as a path relative to `from` (both absolute).
fn relative(from: &Path, target: &Path) -> PathBuf {
    let ups = from.components().filter(|c| matches!(c, Component::Normal(_))).count();
    let mut rel: PathBuf = std::iter::repeat_n("..", ups).collect();
    rel.push(target.strip_prefix("/").unwrap());
    rel
}

#[test]
fn path_beats_capture_dir_and_is_relative_to_the_crate() {
    let capture_dir = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let out = worker(
        cwd.path(),
        capture_dir.path(),
        None,
        &["path-option", &nonce.to_string()],
    );
    assert!(out.status.success(), "{out:?}");

    let own = CaptureLoader::new(Path::new(MANIFEST).join("../target/capture-path-option"));
    let calls = own.load_all("capture_worker::with_path").unwrap();
    assert!(
        calls.iter().any(|c| c.arg::<u64>("nonce").unwrap() == nonce),
        "the call is in the attribute's folder, under the crate"
    );
    assert!(!capture_dir.path().join("calls").exists(), "CAPTURE_DIR got nothing");
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "the working directory got nothing"
    );
}

#[test]
fn a_relative_capture_dir_is_relative_to_the_crate_on_both_sides() {
    let store = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let rel = relative(Path::new(MANIFEST), store.path());
    assert!(rel.is_relative());
    let cwd = tempfile::tempdir().unwrap();

    // Capture: the crate's compile-time folder anchors the relative folder.
    let out = worker(cwd.path(), &rel, None, &["write", "7", "1", "3"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        CaptureLoader::new(store.path())
            .load_all("capture_worker::work_item")
            .unwrap()
            .len(),
        3
    );
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);

    // Load outside cargo: the crate's folder is unknown, so a relative
    // folder is an error that says what to do, never the working directory.
    let out = worker(cwd.path(), &rel, None, &["count", "work_item"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.contains("CAPTURE_DIR") && err.contains("an absolute folder") && err.contains("CaptureLoader::for_crate"),
        "{err}"
    );

    // Under cargo (CARGO_MANIFEST_DIR set), the same folder is found.
    let out = worker(cwd.path(), &rel, Some(MANIFEST), &["count", "work_item"]);
    assert!(out.status.success(), "{out:?}");
    assert!(text(&out.stdout).contains("count=3"), "{}", text(&out.stdout));

    // And `for_crate(env!("CARGO_MANIFEST_DIR"))` finds it without cargo.
    let out = worker(cwd.path(), &rel, None, &["locate"]);
    let line = text(&out.stdout);
    let found = line
        .trim()
        .strip_prefix("for_crate=")
        .unwrap_or_else(|| panic!("{line}"));
    assert_eq!(
        Path::new(found).canonicalize().unwrap(),
        store.path().canonicalize().unwrap()
    );
}
