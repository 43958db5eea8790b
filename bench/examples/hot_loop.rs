//! A plain loop over the captured `price` with the background writer, for
//! profilers (`perf record target/release/examples/hot_loop`).

use std::hint::black_box;

use capture_runtime::config::{WhenFull, WriterMode};
use capture_runtime::{configure, Config};

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    // Queue capacity (default as in the `micro` benchmark): `CAPACITY=4096`.
    let capacity = std::env::var("CAPACITY")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1 << 16);
    let dir = std::env::temp_dir().join(format!("capture-hot-loop-{}", std::process::id()));
    configure(Config {
        enabled: Some(true),
        dir: Some(dir.clone()),
        writer: Some(WriterMode::Background {
            capacity,
            when_full: WhenFull::Drop,
        }),
        ..Config::default()
    });
    let o = capture_bench::order(1);
    let cpu = thread_cpu_ns();
    let t = std::time::Instant::now();
    for _ in 0..n {
        black_box(capture_bench::captured::price(black_box(&o), 0.1, "hunter2"));
    }
    let el = t.elapsed();
    let cpu = thread_cpu_ns() - cpu;
    capture_runtime::flush();
    println!(
        "{:?} per call, {} ns on the caller's CPU; {:?}",
        el / n as u32,
        cpu / n,
        capture_runtime::stats()
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// On-CPU time of this thread, as the `micro` benchmark measures it.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
