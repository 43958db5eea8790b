//! Four processes of eight threads write (two synchronous, two with the
//! background writer) while this process reads continuously and runs gc:
//! no torn read, no misattributed record, no lost object, and retention
//! bounding what is kept at the end.
//!
//! Two rounds on one store. In the first, gc runs with a grace of a few
//! seconds (a writer would have to stall that long between storing an
//! argument and writing its record): the reader never meets a missing
//! object. In the second, gc runs with a grace of zero, back to back: a
//! reader may then meet a record whose object gc deleted and its writer has
//! not stored again yet (a typed error, counted and printed), but nothing
//! stays lost: afterwards every record's every value reads back.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use capture_runtime::{CaptureLoader, Store};
use common::hammered::{conc_agrees, hammer, look, no_lock_held, Seen};

const THREADS: u32 = 8;
const CALLS: u32 = 60;
/// `conc_kept`'s retention.
const KEPT: usize = 7;
const MODES: [&str; 4] = ["sync", "background", "sync", "background"];

/// One round: four writer processes (worker ids `first..first + 4`), a
/// reader and a gc loop with `grace`; what the reader saw, gc runs and the
/// objects they removed.
fn round(root: &Path, first: usize, grace: Duration) -> (Seen, usize, usize) {
    let mut children: Vec<_> = MODES
        .iter()
        .enumerate()
        .map(|(w, mode)| {
            hammer(
                root,
                &[
                    "calls",
                    mode,
                    &(first + w).to_string(),
                    &THREADS.to_string(),
                    &CALLS.to_string(),
                ],
            )
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn store_hammer")
        })
        .collect();
    let done = AtomicBool::new(false);
    let gcs = AtomicUsize::new(0);
    let removed = AtomicUsize::new(0);
    let seen = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut seen = Seen::default();
            while !done.load(Ordering::Acquire) {
                seen += look(root, "store_hammer::conc_all", conc_agrees);
                seen += look(root, "store_hammer::conc_kept", conc_agrees);
            }
            seen
        });
        s.spawn(|| {
            let store = Store::open(root);
            while !done.load(Ordering::Acquire) {
                let report = store.gc(grace, &HashSet::new()).expect("gc");
                gcs.fetch_add(1, Ordering::Relaxed);
                removed.fetch_add(report.removed, Ordering::Relaxed);
            }
        });
        for child in &mut children {
            let status = child.wait().unwrap();
            assert!(status.success(), "a writer failed: {status}");
        }
        done.store(true, Ordering::Release);
        reader.join().unwrap()
    });
    for child in children {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("failed=0") && text.contains(" dropped=0"), "{text}");
    }
    (seen, gcs.into_inner(), removed.into_inner())
}

#[test]
fn writers_a_reader_and_gc_at_once() {
    let store = tempfile::tempdir().unwrap();
    let root = store.path();

    let (seen, gcs, removed) = round(root, 1, Duration::from_secs(3));
    eprintln!("round 1, grace 3 s: {gcs} gc runs removed {removed} objects; the reader saw {seen:?}");
    assert!(
        gcs > 0 && seen.whole > 0,
        "the reader saw calls while they were written"
    );
    assert_eq!(
        (seen.wrong, seen.misplaced, seen.unreadable, seen.lost),
        (0, 0, 0, 0),
        "torn, misattributed, unreadable or missing while writing and collecting"
    );

    let (seen, gcs, removed) = round(root, 5, Duration::ZERO);
    eprintln!("round 2, grace 0: {gcs} gc runs removed {removed} objects; the reader saw {seen:?}");
    assert!(removed > 0, "gc collected while the writers wrote");
    assert_eq!(
        (seen.wrong, seen.misplaced, seen.unreadable),
        (0, 0, 0),
        "torn, misattributed or unreadable while writing and collecting"
    );

    // Afterwards: one more gc, then everything is there, exactly.
    let report = Store::open(root).gc(Duration::ZERO, &HashSet::new()).unwrap();
    eprintln!("final gc: {report:?}");
    let total = 2 * MODES.len() * (THREADS * CALLS) as usize;
    let all = look(root, "store_hammer::conc_all", conc_agrees);
    assert_eq!(
        all,
        Seen {
            whole: total,
            ..Seen::default()
        },
        "every call kept, every object there"
    );
    let kept = look(root, "store_hammer::conc_kept", conc_agrees);
    assert_eq!(
        kept,
        Seen {
            whole: kept.whole,
            ..Seen::default()
        },
        "every kept call reads back whole"
    );
    // Retention bounds pending captures: each writer trims to the newest
    // `KEPT` when it starts a segment, so at least that many stay, and
    // fewer than twice that per writer of the last round.
    assert!((KEPT..2 * KEPT * MODES.len()).contains(&kept.whole), "{kept:?}");
    let mut is: Vec<u64> = CaptureLoader::new(root)
        .load_all("store_hammer::conc_all")
        .unwrap()
        .iter()
        .map(|c| c.arg::<u64>("i").unwrap())
        .collect();
    is.sort_unstable();
    is.dedup();
    assert_eq!(is.len(), total, "no call recorded twice or lost");
    no_lock_held(root);
}
