//! Memoization and store backends.
//!
//! - `cache/hit` vs `cache/run_1ms`: answering a memoized call from the store
//!   against running the 1 ms body it replaces.
//! - `store/put_get/local` vs `store/put_get/object`: writing a new 1 KiB
//!   object (put-if-absent) and reading it back. The object-store row needs
//!   the `object-store` feature and a server:
//!   `s3_env="$(scripts/s3-server.sh start)" && eval "$s3_env"` (not
//!   `eval "$(...)"`, which hides a failed start; it exports `CAPTURE_S3_URL`,
//!   the `AWS_*` variables and `NO_PROXY`); without them it is skipped.
//!
//! `cargo bench -p capture-runtime --bench cache [--features object-store]`

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use capture_runtime::{capture_args, Config, Store};
use criterion::{criterion_group, criterion_main, Criterion};

/// Busy-wait 1 ms (sleeping overshoots by the timer slack).
fn work_1ms(x: u64) -> u64 {
    let start = Instant::now();
    let mut acc = x;
    while start.elapsed() < Duration::from_millis(1) {
        acc = black_box(acc.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    x * 2
}

#[capture_args(cache)]
fn memoized_1ms(x: u64) -> u64 {
    work_1ms(x)
}

fn cache_rows(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    capture_runtime::configure(Config {
        dir: Some(dir.path().to_owned()),
        enabled: Some(true),
        ..Config::default()
    });
    assert_eq!(memoized_1ms(21), 42); // warm the entry
    let mut g = c.benchmark_group("cache");
    g.bench_function("hit", |b| b.iter(|| memoized_1ms(black_box(21))));
    g.bench_function("run_1ms", |b| b.iter(|| work_1ms(black_box(21))));
    g.finish();
}

static SEQ: AtomicU64 = AtomicU64::new(0);

fn put_get(store: &Store) {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let mut body = vec![0u8; 1024];
    body[..8].copy_from_slice(&n.to_le_bytes());
    let id = store.put_object(&body).unwrap();
    black_box(store.get_object(&id).unwrap());
}

fn store_rows(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let local = Store::open(dir.path());
    let mut g = c.benchmark_group("store/put_get");
    g.bench_function("local", |b| b.iter(|| put_get(&local)));
    #[cfg(feature = "object-store")]
    match std::env::var("CAPTURE_S3_URL") {
        Ok(url) => {
            let url = format!("{url}/bench-{}", std::process::id());
            let backend = capture_runtime::store::object::ObjectBackend::from_url(&url).unwrap();
            let object = Store::with_backend(std::sync::Arc::new(backend));
            g.bench_function("object", |b| b.iter(|| put_get(&object)));
        }
        Err(_) => eprintln!("store/put_get/object skipped: start scripts/s3-server.sh and export its variables"),
    }
    g.finish();
}

criterion_group!(benches, cache_rows, store_rows);
criterion_main!(benches);
