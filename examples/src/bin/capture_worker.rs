//! A second binary that captures into a store named by `CAPTURE_DIR`, used by
//! the cross-process tests (`tests/cross_process.rs`):
//!
//! - `capture_worker write <worker-id> <threads> <calls-per-thread>` captures
//!   `threads x calls` calls of `work_item` and of `kept_five` (retention 5),
//!   and prints its capture counters and how many capture events its hook saw;
//! - `capture_worker count <function>` loads the store through the default
//!   location (`CAPTURE_DIR`) and prints how many calls it holds, and the
//!   arguments of the latest (or the loader's error, exit code 3);
//! - `capture_worker precedence [n]` makes 12 calls of `plain_item` and
//!   `kept_five`, after `configure(retention = n)` when `n` is given;
//! - `capture_worker path-option <nonce>` calls `with_path(nonce)`, whose
//!   attribute names its own store folder;
//! - `capture_worker locate` prints where `CaptureLoader::for_crate` finds
//!   this crate's default store.

use std::sync::{Arc, Mutex};

use capture_runtime::capture_args;
use capture_runtime::hooks::CaptureEvent;

/// Every call is kept (retention far above what the test makes).
#[capture_args(retention = 1000000)]
pub fn work_item(worker: u32, thread: u32, i: u32) -> u32 {
    worker * 1_000_000 + thread * 1_000 + i
}

/// Only the five newest calls are kept.
#[capture_args(retention = 5)]
pub fn kept_five(worker: u32, thread: u32, i: u32) -> u32 {
    worker + thread + i
}

/// Its own store folder, relative to this crate's folder (`examples/`):
/// `target/` of the workspace, whatever the working directory or `CAPTURE_DIR`.
#[capture_args(path = "../target/capture-path-option")]
pub fn with_path(nonce: u64) -> u64 {
    nonce
}

/// No options: retention comes from the environment, `configure` or the default.
#[capture_args]
pub fn plain_item(i: u32) -> u32 {
    i
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("precedence") => {
            // `precedence [configure-retention]`: 12 calls of `plain_item` and `kept_five`.
            if let Some(n) = args.get(2).and_then(|s| s.parse().ok()) {
                capture_runtime::configure(capture_runtime::Config {
                    retention: Some(n),
                    ..Default::default()
                });
            }
            for i in 0..12 {
                plain_item(i);
                kept_five(0, 0, i);
            }
            capture_runtime::flush();
        }
        Some("write") => {
            let num = |i: usize| {
                args.get(i)
                    .and_then(|s| s.parse::<u32>().ok())
                    .expect("write <worker> <threads> <calls>")
            };
            let (worker, threads, calls) = (num(2), num(3), num(4));
            // Every capture event of this process, counted by the hooks.
            let events = Arc::new(Mutex::new(0u64));
            let seen = events.clone();
            capture_runtime::on_capture(move |e: &CaptureEvent| {
                if let CaptureEvent::Call { .. } = e {
                    *seen.lock().unwrap() += 1;
                }
            });
            std::thread::scope(|s| {
                for t in 0..threads {
                    s.spawn(move || {
                        for i in 0..calls {
                            work_item(worker, t, i);
                            kept_five(worker, t, i);
                        }
                    });
                }
            });
            capture_runtime::flush();
            capture_runtime::hooks::drain();
            let stats = capture_runtime::stats();
            println!(
                "written={} evicted={} coalesced={} failed={} dropped={} hook_dropped={} events={}",
                stats.written,
                stats.evicted,
                stats.coalesced,
                stats.failed,
                stats.dropped,
                capture_runtime::hooks::dropped(),
                events.lock().unwrap()
            );
        }
        Some("count") => {
            let function = args.get(2).expect("count <function>");
            let loaded = capture_runtime::CaptureLoader::default_location()
                .and_then(|loader| loader.load_all(function))
                .and_then(|all| Ok((all.len(), capture_runtime::load_latest(function)?)));
            match loaded {
                Ok((count, latest)) => {
                    let worker: u32 = latest.arg("worker").expect("typed arg");
                    println!("count={count} latest_worker={worker}");
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(3);
                }
            }
        }
        Some("path-option") => {
            let nonce = args.get(2).and_then(|s| s.parse().ok()).expect("path-option <nonce>");
            with_path(nonce);
            capture_runtime::flush();
        }
        Some("locate") => match capture_runtime::CaptureLoader::for_crate(env!("CARGO_MANIFEST_DIR")) {
            Ok(loader) => println!("for_crate={}", loader.store().describe()),
            Err(e) => println!("for_crate error: {e}"),
        },
        _ => {
            eprintln!(
                "usage: capture_worker write <worker> <threads> <calls> | count <function> | precedence [n] | path-option <nonce> | locate"
            );
            std::process::exit(2);
        }
    }
}
