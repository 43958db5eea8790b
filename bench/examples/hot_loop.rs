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
    let dir = std::env::temp_dir().join(format!("capture-hot-loop-{}", std::process::id()));
    configure(Config {
        enabled: Some(true),
        dir: Some(dir.clone()),
        writer: Some(WriterMode::Background {
            capacity: 1 << 16,
            when_full: WhenFull::Drop,
        }),
        ..Config::default()
    });
    let o = capture_bench::order(1);
    let t = std::time::Instant::now();
    for _ in 0..n {
        black_box(capture_bench::captured::price(black_box(&o), 0.1, "hunter2"));
    }
    let el = t.elapsed();
    capture_runtime::flush();
    println!("{:?} per call; {:?}", el / n as u32, capture_runtime::stats());
    let _ = std::fs::remove_dir_all(dir);
}
