//! How outputs are checked: the type's own `PartialEq` (with the `Debug` of
//! both sides on failure) when it has one, stored values path by path
//! otherwise; floats within a tolerance end to end; `&mut` after-states of
//! functions returning `()`; notes on what a passing replay did not check.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use capture_runtime::capture_args;
use capture_test::{replay_outcomes, ReplayOutcome};
use common::{all_passed, failed, init};
use serde::{Deserialize, Serialize};

static CENTS: AtomicU64 = AtomicU64::new(0);
static HITS: AtomicU64 = AtomicU64::new(0);

/// Equal when the amounts are: `hits` is bookkeeping.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Quote {
    pub cents: u64,
    pub hits: u64,
}

impl PartialEq for Quote {
    fn eq(&self, other: &Self) -> bool {
        self.cents == other.cents
    }
}

#[capture_args(ret)]
pub fn quote(base: u64) -> Quote {
    Quote {
        cents: base + CENTS.load(Ordering::SeqCst),
        hits: HITS.fetch_add(1, Ordering::SeqCst),
    }
}

/// `PartialEq` compares a field that is not stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub user: u32,
    #[serde(skip)]
    pub warm: bool,
}

#[capture_args(ret)]
pub fn open(user: u32) -> Session {
    Session { user, warm: true }
}

static NOISE: AtomicU64 = AtomicU64::new(0);

fn noise() -> f64 {
    f64::from_bits(NOISE.load(Ordering::SeqCst))
}

#[capture_args(ret)]
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64 + noise()
}

#[capture_args]
pub fn scale(v: &mut Vec<f64>, by: f64) {
    for x in v.iter_mut() {
        *x = *x * by + noise();
    }
}

#[capture_args]
pub fn normalize(v: &mut Vec<u32>) {
    v.sort_unstable();
    v.dedup();
}

static FLIP: AtomicU64 = AtomicU64::new(0);

/// Not deterministic: the same input gives another result after a flip.
#[capture_args(ret)]
pub fn flaky(x: u64) -> u64 {
    x + FLIP.load(Ordering::SeqCst)
}

#[capture_args]
pub fn plain(x: u32) -> u32 {
    x * 2
}

#[test]
fn return_values_use_partial_eq_and_show_both_sides() {
    init();
    assert_eq!(quote(100).cents, 100);
    // Stored forms differ in `hits`, but the type's `PartialEq` ignores it.
    all_passed(&replay_outcomes!(quote));
    CENTS.store(5, Ordering::SeqCst);
    let message = failed(&replay_outcomes!(quote));
    CENTS.store(0, Ordering::SeqCst);
    assert!(
        message.contains("the return value differs from the recorded one:\n  return.cents: recorded 100, now 105"),
        "{message}"
    );
    assert!(
        message.contains(
            "  recorded (Debug): Quote { cents: 100, hits: 0 }\n  now (Debug):      Quote { cents: 105, hits: "
        ),
        "{message}"
    );
}

#[test]
fn partial_eq_over_unstored_fields_is_explained() {
    init();
    assert!(open(9).warm);
    let message = failed(&replay_outcomes!(open));
    assert!(
        message.contains("`PartialEq` says they differ, but their stored forms are equal"),
        "{message}"
    );
    // A closure check is the way out, and it passes.
    all_passed(&replay_outcomes!(open => |user, s| assert_eq!(s.user, *user)));
}

#[test]
fn floats_within_a_tolerance_end_to_end() {
    init();
    assert_eq!(mean(&[1.0, 2.0, 4.5]), 2.5);
    let mut v = vec![1.5, 2.0];
    scale(&mut v, 2.0);
    NOISE.store(1e-12f64.to_bits(), Ordering::SeqCst);
    // Exactly: both fail, naming the values.
    let message = failed(&replay_outcomes!(mean => ret));
    assert!(message.contains("return: recorded 2.5, now 2.50000000000"), "{message}");
    let message = failed(&replay_outcomes!(scale));
    assert!(
        message.contains(
            "`&mut v` after the call differs from the recorded after-state:\n  v[0]: recorded 3.0, now 3.00000000000"
        ),
        "{message}"
    );
    // Within 1e-9 (relative above 1): both pass, the after-state too.
    all_passed(&replay_outcomes!(mean => ret(tolerance = 1e-9)));
    all_passed(&replay_outcomes!(scale => ret(tolerance = 1e-9)));
    // Outside the tolerance still fails.
    NOISE.store(1e-3f64.to_bits(), Ordering::SeqCst);
    failed(&replay_outcomes!(mean => ret(tolerance = 1e-9)));
    NOISE.store(0, Ordering::SeqCst);
}

#[test]
fn unit_functions_record_and_check_mut_after_states() {
    let root = init();
    let mut v = vec![3, 1, 3];
    normalize(&mut v);
    let call = capture_runtime::CaptureLoader::new(root)
        .latest("checks::normalize")
        .unwrap();
    assert!(!call.has_ret());
    assert_eq!(call.metadata().after.len(), 1, "after-state recorded without `ret`");
    let after = &call.metadata().after[0];
    let state: Vec<u32> = call.decode_record(after, |c, b| c.decode(b), "Vec<u32>").unwrap();
    assert_eq!((after.name.as_str(), state), ("v", vec![1, 3]));
    all_passed(&replay_outcomes!(normalize));
    all_passed(&replay_outcomes!(normalize => ret));
}

#[test]
fn passing_replays_say_what_was_not_checked() {
    init();
    assert_eq!(plain(2), 4);
    match &replay_outcomes!(plain)[..] {
        [(_, ReplayOutcome::Passed { notes })] => assert_eq!(
            notes,
            &["no return value was recorded (add `ret` to #[capture_args(..)]): checked only that the call returns"]
        ),
        other => panic!("{other:#?}"),
    }
}

#[test]
fn same_inputs_with_other_results_are_one_test_with_a_note() {
    init();
    assert_eq!(flaky(1), 1);
    FLIP.store(1, Ordering::SeqCst);
    assert_eq!(flaky(1), 2);
    let outcomes = replay_outcomes!(flaky);
    match &outcomes[..] {
        [(_, ReplayOutcome::Passed { notes })] => assert_eq!(
            notes,
            &["1 older stored call(s) with the same inputs recorded another outcome or return value (is the function deterministic?); the newest was replayed"]
        ),
        other => panic!("{other:#?}"),
    }
}
