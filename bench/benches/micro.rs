//! Per-call rows of `cargo xtask bench`, measured with criterion:
//! baseline, disabled, the default configuration, background writer,
//! synchronous store, `tracing::instrument`.
//!
//! Every row calls the same `price(order, discount, password)` body.

use std::hint::black_box;

use capture_bench::{captured, order, plain, traced};
use capture_runtime::config::{WhenFull, WriterMode};
use capture_runtime::{configure, set_enabled, Config};
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// On-CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`): the machine
/// is shared, so wall time would mostly measure other people's builds. Work
/// the background writer does on its own thread is, by design, not counted.
struct ThreadCpu;

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        "ns"
    }
    fn scale_throughputs(&self, _typical: f64, _t: &Throughput, _values: &mut [f64]) -> &'static str {
        "ns"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, i: u64) -> u64 {
        thread_cpu_ns().saturating_sub(i)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NsFormatter
    }
}

fn rows(c: &mut Criterion<ThreadCpu>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = order(42);
    let mut g = c.benchmark_group("price");

    g.bench_function("baseline", |b| {
        b.iter(|| plain::price(black_box(&o), black_box(0.1), black_box("hunter2")))
    });

    // `set_enabled(false)` stores the same state `CAPTURE_ENABLED=0` does
    // (MODE_OFF): the generated prelude then does one relaxed load and a branch.
    set_enabled(false);
    g.bench_function("disabled", |b| {
        b.iter(|| captured::price(black_box(&o), black_box(0.1), black_box("hunter2")))
    });

    // What a user gets with no options: the default writer (background,
    // queue of `config::DEFAULT_QUEUE`, dropping when full), default
    // retention, size limit and redaction. First, so the writer's queue is
    // sized by the default.
    configure(Config {
        enabled: Some(true),
        dir: Some(dir.path().join("default")),
        ..Config::default()
    });
    set_enabled(true);
    g.bench_function("default", |b| {
        b.iter(|| captured::price(black_box(&o), black_box(0.1), black_box("hunter2")))
    });
    capture_runtime::flush();

    configure(Config {
        enabled: Some(true),
        dir: Some(dir.path().join("bg")),
        writer: Some(WriterMode::Background {
            capacity: 1 << 16,
            when_full: WhenFull::Drop,
        }),
        ..Config::default()
    });
    set_enabled(true);
    g.bench_function("background", |b| {
        b.iter(|| captured::price(black_box(&o), black_box(0.1), black_box("hunter2")))
    });
    capture_runtime::flush();

    configure(Config {
        enabled: Some(true),
        dir: Some(dir.path().join("sync")),
        writer: Some(WriterMode::Sync),
        ..Config::default()
    });
    g.bench_function("sync", |b| {
        b.iter(|| captured::price(black_box(&o), black_box(0.1), black_box("hunter2")))
    });

    set_enabled(false);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        g.bench_function("tracing", |b| {
            b.iter(|| traced::price(black_box(&o), black_box(0.1), black_box("hunter2")))
        });
    });
    g.finish();
    let s = capture_runtime::stats();
    println!("capture stats: {s:?}");
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = rows
}
criterion_main!(benches);
