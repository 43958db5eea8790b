//! A writer for the store's hostile tests (`tests/store_kill.rs`,
//! `tests/store_concurrency.rs`): it captures calls whose arguments can be
//! checked against each other after the fact, so a torn or misattributed
//! value is visible to any reader.
//!
//! - `store_hammer loop <sync|background> <small|large>` captures calls of
//!   `hammer_small` (a number and a tag derived from it) or `hammer_large`
//!   (a number and a 1 MiB text derived from it) until it is killed;
//! - `store_hammer calls <sync|background> <worker> <threads> <calls>`
//!   captures `threads x calls` distinct calls of `conc_all` (every call
//!   kept) and `conc_kept` (retention 7), then flushes and prints its stats;
//! - `store_hammer fill <sync|background>` captures 600 calls of `conc_all`
//!   (on a store too small for them, `tests/store_disk_full.rs`), then
//!   reads back what is on disk and prints what it found.
//!
//! Every value is derived from `i`: `tag == format!("t{i}")` ([`kept_tag`]
//! for `conc_kept`: one in eight is too large to be kept inline in a
//! pending capture, so it is an object of its own, which becomes garbage
//! for gc once retention drops its call), every byte of `blob` is `blob_byte(i)` and the return value is
//! `3 * i`.

use capture_runtime::config::{WhenFull, WriterMode};
use capture_runtime::{capture_args, configure, Config};

/// The byte every character of `hammer_large`'s text is for call `i`:
/// only a few distinct texts, so the store dedups them.
pub fn blob_byte(i: u64) -> u8 {
    b'a' + (i % 5) as u8
}

#[capture_args(ret, retention = 20)]
pub fn hammer_small(i: u64, tag: String) -> u64 {
    debug_assert_eq!(tag, format!("t{i}"));
    3 * i
}

#[capture_args(ret, retention = 4, max_size = "16MiB")]
pub fn hammer_large(i: u64, blob: String) -> u64 {
    debug_assert_eq!(blob.len(), 1 << 20);
    3 * i
}

#[capture_args(ret, retention = 1000000)]
pub fn conc_all(worker: u32, thread: u32, i: u64, tag: String) -> u64 {
    let _ = (worker, thread, tag);
    3 * i
}

#[capture_args(ret, retention = 7)]
pub fn conc_kept(worker: u32, thread: u32, i: u64, tag: String) -> u64 {
    let _ = (worker, thread, tag);
    3 * i
}

/// `conc_kept`'s tag for call `i`: `k{i}`, padded with dots past the
/// inline limit of pending captures when `i % 8 == 0`.
pub fn kept_tag(i: u64) -> String {
    let tag = format!("k{i}");
    if i.is_multiple_of(8) {
        tag + &".".repeat(capture_runtime::store::segment::INLINE_MAX)
    } else {
        tag
    }
}

fn writer(mode: &str) -> WriterMode {
    match mode {
        "sync" => WriterMode::Sync,
        "background" => WriterMode::Background {
            capacity: 1024,
            // Nothing may be dropped: the tests count every call.
            when_full: WhenFull::Block,
        },
        other => panic!("writer mode `{other}`: expected sync or background"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    match arg(1) {
        "loop" => {
            configure(Config {
                writer: Some(writer(arg(2))),
                ..Default::default()
            });
            let large = arg(3) == "large";
            // Distinct numbers per process, so records of killed processes
            // and of the next ones never share arguments by accident.
            let mut i = u64::from(std::process::id()) << 20;
            println!("ready");
            loop {
                if large {
                    hammer_large(i, String::from(blob_byte(i) as char).repeat(1 << 20));
                } else {
                    hammer_small(i, format!("t{i}"));
                }
                i += 1;
            }
        }
        "calls" => {
            configure(Config {
                writer: Some(writer(arg(2))),
                ..Default::default()
            });
            let num = |i: usize| arg(i).parse::<u32>().expect("calls <mode> <worker> <threads> <calls>");
            let (worker, threads, calls) = (num(3), num(4), num(5));
            std::thread::scope(|s| {
                for t in 0..threads {
                    s.spawn(move || {
                        for n in 0..calls {
                            let i = (u64::from(worker) << 40) | (u64::from(t) << 20) | u64::from(n);
                            conc_all(worker, t, i, format!("t{i}"));
                            conc_kept(worker, t, i, kept_tag(i));
                        }
                    });
                }
            });
            capture_runtime::flush();
            let s = capture_runtime::stats();
            println!(
                "written={} failed={} dropped={} coalesced={} evicted={}",
                s.written, s.failed, s.dropped, s.coalesced, s.evicted
            );
        }
        "fill" => {
            // Writes on until well past a full disk, then reads back what
            // made it: every call must have returned its own value, and
            // every record on disk must read back whole.
            configure(Config {
                writer: Some(writer(arg(2))),
                ..Default::default()
            });
            for n in 0..600u64 {
                let i = (9 << 40) | n;
                assert_eq!(conc_all(9, 0, i, format!("t{i}")), 3 * i, "the function's own result");
            }
            capture_runtime::flush();
            let s = capture_runtime::stats();
            let (mut whole, mut wrong, mut lost) = (0, 0, 0);
            let loaded = match capture_runtime::CaptureLoader::new(std::env::var("CAPTURE_DIR").expect("CAPTURE_DIR"))
                .load_checked("store_hammer::conc_all")
            {
                Ok(loaded) => loaded,
                // Not one record fitted.
                Err(capture_runtime::CaptureError::NotFound { .. }) => capture_runtime::Loaded::default(),
                Err(e) => panic!("the store does not list: {e}"),
            };
            for call in &loaded.calls {
                let read = || -> Result<bool, capture_runtime::CaptureError> {
                    let i: u64 = call.arg("i")?;
                    let ok = call.arg::<String>("tag")? == format!("t{i}")
                        && (!call.has_ret() || call.ret::<u64>()? == 3 * i);
                    Ok(ok)
                };
                match read() {
                    Ok(true) => whole += 1,
                    Ok(false) => wrong += 1,
                    Err(_) => lost += 1,
                }
            }
            println!(
                "written={} failed={} whole={whole} wrong={wrong} unreadable={} lost={lost}",
                s.written,
                s.failed,
                loaded.bad.len()
            );
        }
        _ => {
            eprintln!(
                "usage: store_hammer loop <sync|background> <small|large> | calls <sync|background> <worker> <threads> <calls> | fill <sync|background>"
            );
            std::process::exit(2);
        }
    }
}
