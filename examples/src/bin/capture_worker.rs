//! A second binary that captures into a store named by `CAPTURE_DIR`, used by
//! the cross-process tests (`tests/cross_process.rs`):
//!
//! - `capture_worker write <worker-id> <threads> <calls-per-thread>` captures
//!   `threads x calls` calls of `work_item` and of `kept_five` (retention 5);
//! - `capture_worker count <function>` loads the store through the default
//!   location (`CAPTURE_DIR`) and prints how many calls it holds, and the
//!   arguments of the latest;
//! - `capture_worker precedence [n]` makes 12 calls of `plain_item` and
//!   `kept_five`, after `configure(retention = n)` when `n` is given.

use capture_runtime::capture_args;

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
            let stats = capture_runtime::stats();
            println!(
                "written={} failed={} dropped={}",
                stats.written, stats.failed, stats.dropped
            );
        }
        Some("count") => {
            let function = args.get(2).expect("count <function>");
            let loader = capture_runtime::CaptureLoader::default_location().expect("default store");
            let all = loader.load_all(function).expect("load");
            let latest = capture_runtime::load_latest(function).expect("latest");
            let worker: u32 = latest.arg("worker").expect("typed arg");
            println!("count={} latest_worker={worker}", all.len());
        }
        _ => {
            eprintln!("usage: capture_worker write <worker> <threads> <calls> | count <function>");
            std::process::exit(2);
        }
    }
}
