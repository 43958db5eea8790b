//! Methods and associated functions: trait-impl methods (adapters placed
//! beside the `impl` block), associated functions named after their type,
//! `&mut self` after-states, generic functions recorded at several types.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use capture_runtime::capture_args;
use capture_test::{replay_outcomes, ReplayOutcome};
use common::{all_passed, failed, init};
use serde::{Deserialize, Serialize};

pub trait Pricing {
    type Money;
    fn total(&self, tax_percent: u32) -> Self::Money;
    fn label() -> String;
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub cents: Vec<u64>,
}

#[capture_args]
impl Pricing for Cart {
    type Money = u64;

    #[capture_args(self, ret)]
    fn total(&self, tax_percent: u32) -> Self::Money {
        let sum: u64 = self.cents.iter().sum();
        sum + sum * tax_percent as u64 / 100
    }

    #[capture_args(ret)]
    fn label() -> String {
        "cart".into()
    }
}

pub struct Foo;
pub struct Bar;

#[capture_args]
impl Foo {
    // Neither `self` nor `Self`: the attribute on the block says where it is.
    #[capture_args(ret)]
    pub fn new(n: u32) -> u32 {
        n + 1
    }
}

impl Bar {
    #[capture_args(ret, assoc)]
    pub fn new(n: u32) -> u32 {
        n + 2
    }
}

static STEP: AtomicU32 = AtomicU32::new(1);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub count: u32,
}

impl Tally {
    /// Mutates `self`, returns nothing the check could compare.
    #[capture_args(self, ret)]
    pub fn bump(&mut self) -> bool {
        self.count += STEP.load(Ordering::SeqCst);
        true
    }
}

#[capture_args(ret)]
pub fn largest<T: PartialOrd + Copy + Serialize>(xs: &[T]) -> T {
    let mut best = xs[0];
    for &x in xs {
        if x > best {
            best = x;
        }
    }
    best
}

#[capture_args(ret)]
pub fn parse_num<T: std::str::FromStr + Serialize>(text: &str) -> Option<T> {
    text.parse().ok()
}

#[test]
fn trait_impl_methods_replay_as_type_as_trait() {
    init();
    let cart = Cart { cents: vec![100, 250] };
    assert_eq!(cart.total(10), 385);
    assert_eq!(Cart::label(), "cart");
    let outcomes = replay_outcomes!(<Cart as Pricing>::total);
    assert_eq!(all_passed(&outcomes), 1);
    assert!(
        outcomes[0].0.starts_with("<Cart as Pricing>::total::"),
        "{}",
        outcomes[0].0
    );
    all_passed(&replay_outcomes!(<Cart as Pricing>::label => ret));
    // The closure sees `Self::Money` as `u64`.
    all_passed(&replay_outcomes!(<Cart as Pricing>::total => |tax, out| assert_eq!((*tax, *out), (10, 385))));
}

#[test]
fn associated_functions_are_named_after_their_type() {
    let root = init();
    assert_eq!(Foo::new(1), 2);
    assert_eq!(Bar::new(1), 3);
    let functions = capture_runtime::CaptureLoader::new(root).functions().unwrap();
    for id in ["methods::Foo::new", "methods::Bar::new"] {
        assert!(functions.iter().any(|f| f == id), "{id} in {functions:?}");
    }
    assert!(!functions.iter().any(|f| f == "methods::new"), "{functions:?}");
    // Each replays its own captures, not the other's.
    all_passed(&replay_outcomes!(Foo::new => ret));
    all_passed(&replay_outcomes!(Bar::new => ret));
}

#[test]
fn mut_self_after_state_is_recorded_and_compared() {
    let root = init();
    let mut t = Tally { count: 1 };
    assert!(t.bump());
    let call = capture_runtime::CaptureLoader::new(root).latest("Tally::bump").unwrap();
    let after = &call.metadata().after;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].name, "self");
    all_passed(&replay_outcomes!(Tally::bump));
    // Same return value, different state: the after-state catches it.
    STEP.store(5, Ordering::SeqCst);
    let message = failed(&replay_outcomes!(Tally::bump));
    STEP.store(1, Ordering::SeqCst);
    assert!(
        message.contains(
            "`&mut self` after the call differs from the recorded after-state:\n  self.count: recorded 2, now 6"
        ),
        "{message}"
    );
}

#[test]
fn generic_functions_recorded_at_another_type_are_skipped() {
    init();
    assert_eq!(largest(&[3u32, 9, 4]), 9);
    assert_eq!(largest(&[-3i64, -1]), -1);
    let outcomes = replay_outcomes!(largest::<u32> => ret);
    assert_eq!(outcomes.len(), 2, "{outcomes:#?}");
    let (mut passed, mut skipped) = (0, Vec::new());
    for (_, o) in &outcomes {
        match o {
            ReplayOutcome::Passed { .. } => passed += 1,
            ReplayOutcome::Skipped { reason } => skipped.push(reason.clone()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(passed, 1);
    assert_eq!(
        skipped,
        ["argument `xs` was recorded as `[i64]`, but this entry replays it as `[u32]`: list `largest::<u32>` with the type parameters it was recorded at"]
    );
    // Listed at the other type, the other capture replays.
    let at_i64 = replay_outcomes!(largest::<i64> => ret);
    assert_eq!(
        at_i64
            .iter()
            .filter(|(_, o)| matches!(o, ReplayOutcome::Passed { .. }))
            .count(),
        1
    );
}

#[test]
fn a_generic_return_type_must_be_the_recorded_one() {
    init();
    assert_eq!(parse_num::<u8>("7"), Some(7));
    all_passed(&replay_outcomes!(parse_num::<u8> => ret));
    let reason = common::skipped(&replay_outcomes!(parse_num::<i64> => ret));
    assert_eq!(
        reason,
        "recorded returning `core::option::Option<u8>`, but this entry replays it returning `core::option::Option<i64>`: list `parse_num::<i64>` with the type parameters it was recorded at"
    );
}
