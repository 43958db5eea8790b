//! Per-call rows of `cargo xtask bench`, measured with criterion:
//! baseline, disabled, background writer, synchronous store, `tracing::instrument`.
//!
//! Every row calls the same `price(order, discount, password)` body.

use std::hint::black_box;

use capture_bench::{captured, order, plain, traced};
use capture_runtime::config::{WhenFull, WriterMode};
use capture_runtime::{configure, set_enabled, Config};
use criterion::{criterion_group, criterion_main, Criterion};

fn rows(c: &mut Criterion) {
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

criterion_group!(benches, rows);
criterion_main!(benches);
