//! `#[reduce(hash = sampled)]` on a field of a `#[derive(Reducible)]` type:
//! in a cache key the field counts by its sampled id (length, element type,
//! shape, first/middle/last blocks, a stride sample), so a change in the
//! middle of the buffer is another key while a change where no sample looks
//! is the same key (the documented trade-off, asserted). Fields left `exact`
//! count every byte, and captures always store the whole value.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use capture_runtime::hash::sampled_hash;
use capture_runtime::{cache, capture_args, Reducible, Store};
use common::{loader, store};

#[derive(Reducible, Clone, Debug, PartialEq)]
struct Dataset {
    name: String,
    #[reduce(hash = sampled)]
    values: Vec<f64>,
    /// `exact` is the default; spelled out here.
    #[reduce(hash = exact)]
    weights: Vec<f64>,
}

const LEN: usize = 1 << 17; // 1 MiB per buffer: far beyond what is hashed whole

fn dataset() -> Dataset {
    Dataset {
        name: "survey".into(),
        values: (0..LEN).map(|i| i as f64 * 0.5).collect(),
        weights: vec![1.0; LEN],
    }
}

/// An index of `v` whose change leaves its sampled id as it is.
fn unsampled_index(v: &[f64]) -> usize {
    let base = sampled_hash(v);
    let mut probe = v.to_vec();
    (v.len() / 3..v.len())
        .step_by(7)
        .find(|&i| {
            probe[i] += 1.0;
            let same = sampled_hash(&probe) == base;
            probe[i] -= 1.0;
            same
        })
        .expect("an unsampled element")
}

fn entries(function: &str) -> usize {
    cache::entries(&Store::open(store()), function).unwrap().len()
}

fn total(d: &Dataset) -> f64 {
    d.values.iter().zip(&d.weights).map(|(v, w)| v * w).sum()
}

static MIDDLE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn middle_total(d: &Dataset) -> f64 {
    MIDDLE_RUNS.fetch_add(1, Ordering::SeqCst);
    total(d)
}

#[test]
fn the_same_value_hits_and_a_change_in_the_middle_of_a_sampled_field_misses() {
    store();
    let mut d = dataset();
    let first = middle_total(&d);
    assert_eq!(middle_total(&d), first);
    assert_eq!(MIDDLE_RUNS.load(Ordering::SeqCst), 1, "same value: a hit");
    // The seed's case: the middle block is always sampled.
    d.values[LEN / 2] = -1.0;
    let changed = middle_total(&d);
    assert_eq!(MIDDLE_RUNS.load(Ordering::SeqCst), 2, "middle changed: another key");
    assert_ne!(changed, first);
    assert_eq!(middle_total(&d), changed);
    assert_eq!(MIDDLE_RUNS.load(Ordering::SeqCst), 2, "and that key hits");
    // Fields that are not sampled still count.
    d.name = "census".into();
    middle_total(&d);
    assert_eq!(MIDDLE_RUNS.load(Ordering::SeqCst), 3);
    assert_eq!(entries("reducible_sampled::middle_total"), 3);
}

static OUTSIDE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn outside_total(d: &Dataset) -> f64 {
    OUTSIDE_RUNS.fetch_add(1, Ordering::SeqCst);
    total(d)
}

#[test]
fn a_change_outside_the_samples_is_the_same_key_as_documented() {
    store();
    let mut d = dataset();
    let first = outside_total(&d);
    let i = unsampled_index(&d.values);
    d.values[i] += 1000.0;
    // The trade-off: the key is the sampled id, so this is a hit and the
    // result of the earlier value comes back.
    assert_eq!(outside_total(&d), first);
    assert_eq!(OUTSIDE_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(entries("reducible_sampled::outside_total"), 1);
}

static EXACT_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn exact_total(d: &Dataset) -> f64 {
    EXACT_RUNS.fetch_add(1, Ordering::SeqCst);
    total(d)
}

#[test]
fn an_exact_field_sees_every_change() {
    store();
    let mut d = dataset();
    exact_total(&d);
    // The same kind of index the sampled field would miss, in the exact field.
    let i = unsampled_index(&d.weights);
    d.weights[i] = 2.0;
    exact_total(&d);
    assert_eq!(EXACT_RUNS.load(Ordering::SeqCst), 2, "exact: any change is another key");
    exact_total(&d);
    assert_eq!(EXACT_RUNS.load(Ordering::SeqCst), 2);
    assert_eq!(entries("reducible_sampled::exact_total"), 2);
}

// The buffer is larger than the default 1 MiB argument limit: captured whole on request.
#[capture_args(retention = 10, max_size = "64MiB")]
fn recorded_total(d: &Dataset) -> f64 {
    total(d)
}

#[test]
fn captures_store_the_whole_value_of_a_sampled_field() {
    store();
    let mut d = dataset();
    recorded_total(&d);
    let before = d.clone();
    let i = unsampled_index(&d.values);
    d.values[i] = -7.0;
    recorded_total(&d);
    capture_runtime::flush();
    let calls = loader().load_all("reducible_sampled::recorded_total").unwrap();
    assert_eq!(calls.len(), 2);
    // Only keys are sampled: each capture holds its own, complete buffer.
    let rebuilt = |i: usize| -> Dataset {
        calls[i]
            .rebuild_arg("d", &mut capture_runtime::RebuildCtx::new())
            .unwrap()
    };
    assert_eq!(rebuilt(0), before);
    assert_eq!(rebuilt(1), d);
    assert_ne!(
        calls[0].arg_record("d").unwrap().slot,
        calls[1].arg_record("d").unwrap().slot
    );
}
