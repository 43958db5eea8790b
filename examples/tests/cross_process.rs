//! Several processes with several threads each capture into one store at
//! once; another binary (this test) and another working directory read it
//! back: nothing is lost, nothing is torn, retention is exact.

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
    // Names of every `kept_five` record either process wrote.
    let mut kept_written: Vec<String> = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "worker failed: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("failed=0") && text.contains(" dropped=0") && text.contains("hook_dropped=0"),
            "{text}"
        );
        let names = text
            .lines()
            .find_map(|l| l.strip_prefix("kept_five="))
            .expect("the worker lists the kept_five records it wrote");
        kept_written.extend(names.split(',').map(str::to_owned));
    }
    assert_eq!(kept_written.len() as u32, 2 * THREADS * CALLS, "one record per call");

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

    let kept = loader.load_all("capture_worker::kept_five").unwrap();
    assert_eq!(kept.len(), 5, "retention is exact under concurrent writers");
    // Exactly the five newest (record names sort by start time) survive.
    kept_written.sort();
    let newest = &kept_written[kept_written.len() - 5..];
    let kept_names: Vec<&str> = kept.iter().map(|c| c.key().rsplit('/').next().unwrap()).collect();
    assert_eq!(kept_names, newest, "the newest five are kept, none older");

    // A third process, in yet another working directory, finds the store
    // through CAPTURE_DIR alone.
    let out = run(store.path(), Path::new("/"), &["count", "work_item"])
        .wait_with_output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("count={}", 2 * THREADS * CALLS)), "{text}");
}
