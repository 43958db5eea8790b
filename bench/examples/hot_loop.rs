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
    // `SPLIT=1`: the writer thread on CPU 1 and the caller on CPU 0 (the
    // writer inherits the affinity of the thread that starts it, on the
    // first capture), to tell the caller's own cost from the cost of
    // sharing a core or cache lines with the writer.
    if std::env::var_os("SPLIT").is_some() {
        pin_to(1);
        black_box(capture_bench::captured::price(&o, 0.1, "hunter2"));
        pin_to(0);
    }
    // `ROW=off`: capture switched off at run time; `ROW=plain`: no macro
    // (for instruction counts of the disabled path against the baseline).
    let row = std::env::var("ROW").unwrap_or_default();
    if row == "off" {
        capture_runtime::set_enabled(false);
    }
    let cpu = thread_cpu_ns();
    let t = std::time::Instant::now();
    if row == "plain" {
        for _ in 0..n {
            black_box(capture_bench::plain::price(black_box(&o), 0.1, "hunter2"));
        }
    } else {
        for _ in 0..n {
            black_box(capture_bench::captured::price(black_box(&o), 0.1, "hunter2"));
        }
    }
    let el = t.elapsed();
    let cpu = thread_cpu_ns() - cpu;
    if std::env::var_os("RUSAGE").is_some() {
        // SAFETY: `ru` is a valid, writable rusage.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
        eprintln!(
            "caller user {} ms, sys {} ms, involuntary switches {}, minor faults {}",
            ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000,
            ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000,
            ru.ru_nivcsw,
            ru.ru_minflt
        );
    }
    capture_runtime::flush();
    println!(
        "{:?} per call, {} ns on the caller's CPU; {:?}",
        el / n as u32,
        cpu / n,
        capture_runtime::stats()
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Run this thread on `cpu` only.
fn pin_to(cpu: usize) {
    // SAFETY: `set` is a plain bit set, initialised by CPU_ZERO before use.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// On-CPU time of this thread, as the `micro` benchmark measures it.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
