//! Several processes with several threads each capture into one store at
//! once; another binary (this test) and another working directory read it
//! back: nothing is lost, nothing is torn, retention bounds what is kept.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use capture_runtime::CaptureLoader;

const WORKER: &str = env!("CARGO_BIN_EXE_capture_worker");
const THREADS: u32 = 8;
const CALLS: u32 = 40;

fn run(store: &Path, cwd: &Path, args: &[&str]) -> std::process::Child {
    Command::new(WORKER)
        .args(args)
        .current_dir(cwd)
        .env("CAPTURE_DIR", store)
        .env("CAPTURE_ENABLED", "1")
        .env_remove("CARGO_MANIFEST_DIR")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn worker")
}

#[test]
fn eight_threads_times_two_processes_into_one_store() {
    let store = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let threads = THREADS.to_string();
    let calls = CALLS.to_string();
    let children: Vec<_> = ["1", "2"]
        .iter()
        .map(|w| run(store.path(), elsewhere.path(), &["write", w, &threads, &calls]))
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "worker failed: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("failed=0") && text.contains(" dropped=0") && text.contains("hook_dropped=0"),
            "{text}"
        );
        // Every call is accounted for: written, or left out by the writer
        // for a newer call of `kept_five` in the same batch (retention).
        let field = |name: &str| -> u64 {
            text.split_whitespace()
                .find_map(|w| w.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
                .unwrap_or_else(|| panic!("{name} in {text}"))
        };
        assert_eq!(
            field("written") + field("evicted") + field("coalesced"),
            u64::from(2 * THREADS * CALLS),
            "{text}"
        );
        assert_eq!(field("events"), field("written"), "a hook event per capture written");
    }

    let loader = CaptureLoader::new(store.path());
    let all = loader.load_all("capture_worker::work_item").unwrap();
    assert_eq!(
        all.len() as u32,
        2 * THREADS * CALLS,
        "every call of every thread of both processes is stored"
    );
    let mut seen = HashSet::new();
    for call in &all {
        let key: (u32, u32, u32) = (
            call.arg("worker").unwrap(),
            call.arg("thread").unwrap(),
            call.arg("i").unwrap(),
        );
        assert!(seen.insert(key), "duplicate record {key:?}");
        assert_eq!(call.metadata().outcome, capture_runtime::record::Outcome::Returned);
    }
    assert_eq!(seen.len() as u32, 2 * THREADS * CALLS);

    // Retention bounds pending captures under concurrent writers: each
    // process keeps its newest five, and fewer than twice that.
    let kept = loader.load_all("capture_worker::kept_five").unwrap();
    assert!((5..20).contains(&kept.len()), "{} kept", kept.len());
    let mut kept_seen = HashSet::new();
    for call in &kept {
        let key: (u32, u32, u32) = (
            call.arg("worker").unwrap(),
            call.arg("thread").unwrap(),
            call.arg("i").unwrap(),
        );
        assert!(kept_seen.insert(key), "duplicate record {key:?}");
    }

    // A third process, in yet another working directory, finds the store
    // through CAPTURE_DIR alone.
    let out = run(store.path(), Path::new("/"), &["count", "work_item"])
        .wait_with_output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("count={}", 2 * THREADS * CALLS)), "{text}");
}
