//! Whole-system rows of `cargo xtask bench` (no criterion: each is one long
//! measurement). Prints one `ROW|name|value|unit|note` line per row for the
//! xtask to put in its table. `--quick` shrinks the workloads (and says so).

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use capture_bench::{captured, order, plain, replayed, Order};
use capture_runtime::config::{WhenFull, WriterMode};
use capture_runtime::hash::{exact_hash, sampled_hash};
use capture_runtime::record::{ArgRecord, CallRecord, Outcome, Slot};
use capture_runtime::replay::ReplayOutcome;
use capture_runtime::store::Retention;
use capture_runtime::{configure, flush, stats, CaptureLoader, Codec, Config, Store};

fn row(name: &str, value: f64, unit: &str, note: &str) {
    println!("ROW|{name}|{value:.3}|{unit}|{note}");
}

/// On-CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let only: Vec<String> = std::env::args()
        .filter_map(|a| a.strip_prefix("--only=").map(str::to_owned))
        .collect();
    let want = |n: &str| only.is_empty() || only.iter().any(|o| o == n);
    let tmp = tempfile::tempdir().expect("temp dir");
    if want("paired") {
        disabled_paired(if quick { 201 } else { 1001 });
    }
    if want("sustained") {
        sustained(tmp.path(), if quick { 200_000 } else { 1_000_000 });
    }
    if want("distinct") {
        distinct(tmp.path(), if quick { 200_000 } else { 1_000_000 });
    }
    if want("disk") {
        disk_bytes(tmp.path(), 5_000);
    }
    if want("hash") {
        hashing(quick);
    }
    if want("retention") {
        per_write(tmp.path(), if quick { 5_000 } else { 100_000 });
    }
    if want("replay") {
        replay(tmp.path(), if quick { 2_000 } else { 10_000 });
    }
}

/// Capture disabled against the plain function, in alternating batches: a
/// batch of plain calls, then a batch of disabled calls (the order flips
/// every round), each timed on the caller's CPU clock, and the median of the
/// per-round differences. Criterion measures the two rows seconds apart, so
/// when the shared host changes speed in between (it does, by up to 2x)
/// their difference is mostly that change; two batches a fraction of a
/// millisecond apart see the same machine.
fn disabled_paired(rounds: usize) {
    const BATCH: u32 = 20_000;
    capture_runtime::set_enabled(false);
    let o = order(42);
    let plain_batch = || {
        let t = thread_cpu();
        for _ in 0..BATCH {
            black_box(plain::price(black_box(&o), black_box(0.1), black_box("hunter2")));
        }
        thread_cpu() - t
    };
    let off_batch = || {
        let t = thread_cpu();
        for _ in 0..BATCH {
            black_box(captured::price(black_box(&o), black_box(0.1), black_box("hunter2")));
        }
        thread_cpu() - t
    };
    // Warm both (code, branch predictors, the frequency governor).
    for _ in 0..20 {
        plain_batch();
        off_batch();
    }
    let mut diffs = Vec::with_capacity(rounds);
    let (mut plains, mut offs) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for i in 0..rounds {
        let (p, d) = if i % 2 == 0 {
            let p = plain_batch();
            (p, off_batch())
        } else {
            let d = off_batch();
            (plain_batch(), d)
        };
        diffs.push((d.as_nanos() as f64 - p.as_nanos() as f64) / f64::from(BATCH));
        plains.push(p);
        offs.push(d);
    }
    diffs.sort_by(f64::total_cmp);
    let q = |f: f64| diffs[((diffs.len() - 1) as f64 * f).round() as usize];
    let per_call = |d: Duration| d.as_nanos() as f64 / f64::from(BATCH);
    row(
        "disabled_paired",
        q(0.5),
        "ns",
        &format!(
            "median of {rounds} paired batches of {BATCH} calls (caller CPU time): plain {:.2} ns, disabled {:.2} ns; \
             differences p25 {:+.2} / p75 {:+.2} ns",
            per_call(median(plains)),
            per_call(median(offs)),
            q(0.25),
            q(0.75)
        ),
    );
}

/// Captures/s into the local store through the macro and the background
/// writer: dedup on, distinct arguments every 10th call, default retention.
fn sustained(root: &Path, calls: u64) {
    let dir = root.join("sustained");
    configure(Config {
        enabled: Some(true),
        dir: Some(dir.clone()),
        writer: Some(WriterMode::Background {
            capacity: 1 << 14,
            when_full: WhenFull::Block,
        }),
        ..Config::default()
    });
    let orders: Vec<Order> = (0..calls / 10 + 1).map(order).collect();
    let before = stats();
    let t = Instant::now();
    for i in 0..calls {
        black_box(captured::price(&orders[(i / 10) as usize], 0.1, "hunter2"));
    }
    flush();
    let el = t.elapsed();
    let s = stats();
    let stored = CaptureLoader::new(&dir).load_all("price").map(|c| c.len()).unwrap_or(0);
    row(
        "sustained",
        calls as f64 / el.as_secs_f64(),
        "captures/s",
        &format!(
            "{calls} calls in {:.2} s incl. flush; {} records written, {} coalesced (repeats), {} evicted in batch (retention 10), {} dropped; {stored} on disk",
            el.as_secs_f64(),
            s.written - before.written,
            s.coalesced - before.coalesced,
            s.evicted - before.evicted,
            s.dropped - before.dropped
        ),
    );
    configure(Config {
        enabled: Some(false),
        ..Config::default()
    });
}

/// The default writer's queue, but waiting when full (nothing dropped), and
/// a retention that keeps every capture (every capture written): the
/// configuration of the rows that count what reaches the disk.
fn keep_every_capture(dir: &Path) {
    configure(Config {
        enabled: Some(true),
        dir: Some(dir.to_path_buf()),
        retention: Some(usize::MAX),
        writer: Some(WriterMode::Background {
            capacity: capture_runtime::config::DEFAULT_QUEUE,
            when_full: WhenFull::Block,
        }),
        ..Config::default()
    });
}

/// Captures/s written to the local store with the default writer settings
/// but a full queue waiting (nothing dropped) and a retention that keeps
/// every call (every capture written): distinct arguments on every call.
fn distinct(root: &Path, calls: u64) {
    let dir = root.join("distinct");
    keep_every_capture(&dir);
    // Made before the clock starts: the row measures capturing, not building orders.
    let orders: Vec<Order> = (0..calls).map(|i| order(1_000_000 + i)).collect();
    let before = stats();
    let t = Instant::now();
    for o in &orders {
        black_box(captured::price(o, 0.1, "hunter2"));
    }
    let calling = t.elapsed();
    flush();
    let el = t.elapsed();
    let s = stats();
    let written = s.written - before.written;
    let stored = CaptureLoader::new(&dir).load_all("price").map(|c| c.len()).unwrap_or(0);
    row(
        "distinct",
        written as f64 / el.as_secs_f64(),
        "captures/s",
        &format!(
            "{calls} calls of distinct orders in {:.2} s incl. flush (the calls themselves {:.2} s, waiting for a full queue included); {written} written, {} dropped, {} coalesced, {} evicted; {stored} read back",
            el.as_secs_f64(),
            calling.as_secs_f64(),
            s.dropped - before.dropped,
            s.coalesced - before.coalesced,
            s.evicted - before.evicted,
        ),
    );
    configure(Config {
        enabled: Some(false),
        ..Config::default()
    });
}

/// Bytes on disk (allocated blocks) of `n` pending captures of distinct
/// small calls, against their payload: the bytes of their encoded records
/// and values (each entry's body in its segment).
fn disk_bytes(root: &Path, n: u64) {
    use std::os::unix::fs::MetadataExt;
    let dir = root.join("disk");
    keep_every_capture(&dir);
    for i in 0..n {
        black_box(captured::small(i, "tag"));
    }
    flush();
    let store = capture_runtime::Store::open(&dir);
    let mut payload = 0u64;
    let mut allocated = 0u64;
    let mut files = 0;
    for key in store
        .pending_segments("capture_bench::captured::small")
        .unwrap_or_default()
    {
        let bytes = std::fs::read(dir.join(&key)).expect("segment");
        let parsed = capture_runtime::store::segment::parse(&dir.join(&key), &bytes).expect("segment parses");
        payload += parsed
            .spans
            .iter()
            .map(|r| (r.len() - capture_runtime::store::segment::FRAME_LEN) as u64)
            .sum::<u64>();
        allocated += std::fs::metadata(dir.join(&key)).map(|m| m.blocks() * 512).unwrap_or(0);
        files += 1;
    }
    let captures = store
        .pending("capture_bench::captured::small")
        .map(|p| p.captures.len())
        .unwrap_or(0);
    row(
        "disk_ratio",
        allocated as f64 / payload.max(1) as f64,
        "x",
        &format!(
            "{captures} pending captures of `small(i, tag)`: {allocated} bytes allocated in {files} segment file(s) for {payload} bytes of encoded records and values"
        ),
    );
    configure(Config {
        enabled: Some(false),
        ..Config::default()
    });
}

/// Exact SHA-256 over 800 MB of f64 vs `openssl speed`, and the sampled hash.
fn hashing(quick: bool) {
    let n = 100_000_000usize; // 800 MB
    let mut v: Vec<f64> = Vec::with_capacity(n);
    v.extend((0..n).map(|i| i as f64));
    let runs = if quick { 1 } else { 3 };
    let mut times = Vec::new();
    let mut walls = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let cpu = thread_cpu();
        black_box(exact_hash(black_box(&v)));
        times.push(thread_cpu() - cpu);
        walls.push(t.elapsed());
    }
    // CPU time of this thread, as `openssl speed` divides by CPU (user) time
    // by default: on a shared machine wall time would halve either figure.
    let t = median(times);
    let wall = median(walls);
    let ours = 800.0 / t.as_secs_f64();
    let secs = if quick { "1" } else { "3" };
    let openssl = Command::new("openssl")
        .args(["speed", "-evp", "sha256", "-bytes", "16384", "-seconds", secs])
        .output()
        .ok()
        .and_then(|o| parse_openssl(&String::from_utf8_lossy(&o.stdout)));
    match openssl {
        Some(mbs) => row(
            "sha256_exact",
            ours,
            "MB/s",
            &format!(
                "{:.0} ms CPU ({:.0} ms wall) for 800 MB; openssl speed -evp sha256 (16 KiB blocks, 1 core, CPU time): {mbs:.0} MB/s; ratio {:.1}%",
                t.as_secs_f64() * 1e3,
                wall.as_secs_f64() * 1e3,
                100.0 * ours / mbs
            ),
        ),
        None => row(
            "sha256_exact",
            ours,
            "MB/s",
            "openssl CLI not found or unparsable: no reference figure",
        ),
    }
    let mut times = Vec::new();
    for _ in 0..if quick { 51 } else { 501 } {
        let t = Instant::now();
        black_box(sampled_hash(black_box(&v)));
        times.push(t.elapsed());
    }
    let m = median(times);
    row(
        "sha256_sampled",
        m.as_secs_f64() * 1e6,
        "µs",
        "median; 3 x 4 KiB blocks + 256 strided cache lines of the same 800 MB buffer",
    );
}

/// `openssl speed` prints `sha256   <k/s per size> ...`; the last column is
/// the largest block size, in thousands of bytes per second.
fn parse_openssl(out: &str) -> Option<f64> {
    let line = out.lines().rev().find(|l| l.starts_with("sha256"))?;
    let last = line.split_whitespace().last()?;
    let k: f64 = last.trim_end_matches('k').parse().ok()?;
    Some(k * 1000.0 / 1e6)
}

fn record(function: &str, seq: u64, args: Vec<ArgRecord>) -> CallRecord {
    CallRecord {
        function: function.into(),
        crate_name: "capture_bench".into(),
        crate_version: "0.1.0".into(),
        format_version: capture_runtime::codec::FORMAT_VERSION,
        unix_nanos: 1_700_000_000_000_000_000 + seq * 1000,
        pid: 1,
        seq,
        thread_name: None,
        thread_id: 1,
        depth: 0,
        args,
        ret: None,
        after: Vec::new(),
        outcome: Outcome::Returned,
    }
}

fn stored_arg(store: &Store, name: &str, bytes: &[u8]) -> ArgRecord {
    let id = store.put_object(bytes).expect("object");
    ArgRecord {
        name: name.into(),
        type_name: "?".into(),
        slot: Slot::Stored {
            id,
            len: bytes.len() as u64,
        },
        schema: None,
        redacted: Vec::new(),
    }
}

/// Synchronous per-write cost (object + record + retention 3) once the store
/// has received 100 calls of the function, and once it has received `big`.
fn per_write(root: &Path, big: u64) {
    let store = Store::open(root.join("retention"));
    let keep3 = Retention {
        max_count: Some(3),
        max_age: None,
    };
    let f = "capture_bench::retention::price";
    let write = |seq: u64| {
        let body = Codec::MsgPack.encode(&order(seq)).expect("encode");
        let arg = stored_arg(&store, "order", &body);
        store.write_call(&record(f, seq, vec![arg]), keep3).expect("write");
    };
    let sample = |from: u64| {
        let v: Vec<Duration> = (from..from + 200)
            .map(|s| {
                let t = Instant::now();
                write(s);
                t.elapsed()
            })
            .collect();
        median(v)
    };
    (0..100).for_each(write);
    let at_small = sample(100);
    (300..big).for_each(write);
    let at_big = sample(big);
    let kept = store.calls(f).map(|c| c.len()).unwrap_or(0);
    row(
        "per_write_ratio",
        at_big.as_secs_f64() / at_small.as_secs_f64(),
        "x",
        &format!(
            "median sync write {:.0} µs after 100 calls vs {:.0} µs after {big} calls (distinct objects; {kept} records kept)",
            at_small.as_secs_f64() * 1e6,
            at_big.as_secs_f64() * 1e6
        ),
    );
}

/// Capture `n` calls with distinct inputs, accepted as they are recorded
/// (one file each, as committed fixtures are; not timed), then time the
/// replay harness over them: discover the accepted captures, rebuild each
/// one's arguments, call the function and compare the recorded return
/// value — what `replay_tests!` does per test, minus libtest's own
/// bookkeeping (`capture_test::replay_outcomes!`).
fn replay(root: &Path, n: u64) {
    let dir = root.join("replay");
    configure(Config {
        enabled: Some(true),
        dir: Some(dir.clone()),
        writer: Some(WriterMode::Sync),
        accept: Some(capture_runtime::config::Accept::New),
        ..Config::default()
    });
    let orders: Vec<Order> = (0..n / 10 + 1).map(order).collect();
    for seq in 0..n {
        // Distinct inputs each call (replay keeps one test per input); the
        // order object is shared by ten calls, as in the sustained row.
        black_box(replayed::price(&orders[(seq / 10) as usize], seq as f64 * 1e-7));
    }
    flush();
    // Capturing off while replaying (replay never captures anyway); the
    // replay adapter finds the store where the capture site did.
    configure(Config {
        enabled: Some(false),
        dir: Some(dir.clone()),
        ..Config::default()
    });
    let t = Instant::now();
    let outcomes = capture_test::replay_outcomes!(replayed::price => ret);
    let el = t.elapsed();
    let passed = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, ReplayOutcome::Passed { .. }))
        .count();
    assert_eq!(
        passed as u64,
        n,
        "every stored call replays and passes: {:?}",
        outcomes
            .iter()
            .find(|(_, o)| !matches!(o, ReplayOutcome::Passed { .. }))
    );
    row(
        "replay",
        el.as_secs_f64(),
        "s",
        &format!(
            "{passed} stored calls: discover + rebuild args + call + compare recorded return, via capture_test::replay_outcomes! ({:.0} µs per call)",
            el.as_secs_f64() * 1e6 / passed as f64
        ),
    );
}
