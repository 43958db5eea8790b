//! Each argument kind is rebuilt and passed back as the function expects:
//! `&T`, `&str`, `&[T]`, `&mut T` (after-state compared), owned, `self`
//! receivers, `async fn`, generic functions at a named type.

mod common;

use capture_runtime::capture_args;
use capture_test::{replay_outcomes, ReplayOutcome};
use common::{all_passed, init, skipped};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: u64,
    pub lines: Vec<(String, u32)>,
}

fn order() -> Order {
    Order {
        id: 7,
        lines: vec![("pen".into(), 3), ("ink".into(), 2)],
    }
}

#[capture_args(ret)]
pub fn units(order: &Order) -> u32 {
    order.lines.iter().map(|l| l.1).sum()
}

#[capture_args(ret)]
pub fn shout(text: &str) -> String {
    text.to_uppercase()
}

#[capture_args(ret)]
pub fn total(xs: &[u32]) -> u64 {
    xs.iter().map(|&x| x as u64).sum()
}

#[capture_args(ret)]
pub fn double_all(xs: &mut Vec<i32>, times: u32) -> usize {
    for x in xs.iter_mut() {
        *x *= 2i32.pow(times);
    }
    xs.len()
}

#[capture_args(ret)]
pub fn into_label(order: Order, prefix: String) -> String {
    format!("{prefix}-{}-{}", order.id, order.lines.len())
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    pub count: u32,
}

impl Counter {
    #[capture_args(self, ret)]
    pub fn add(&mut self, by: u32) -> u32 {
        self.count += by;
        self.count
    }

    #[capture_args(ret)]
    pub fn peek(&self, offset: u32) -> u32 {
        self.count + offset
    }

    #[capture_args(self, ret)]
    pub fn consume(self) -> String {
        format!("count={}", self.count)
    }
}

#[capture_args(ret)]
pub async fn fetch(id: u32) -> String {
    std::future::ready(()).await;
    format!("item-{id}")
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
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn by_reference_str_and_slice() {
    init();
    assert_eq!(units(&order()), 5);
    assert_eq!(shout("hi there"), "HI THERE");
    assert_eq!(total(&[1, 2, 3]), 6);
    all_passed(&replay_outcomes!(units => ret));
    all_passed(&replay_outcomes!(shout => ret));
    all_passed(&replay_outcomes!(total => ret));
}

#[test]
fn closure_receives_typed_inputs_and_output() {
    init();
    words("a bb ccc");
    let outcomes = replay_outcomes!(words => |text, out| {
        assert_eq!(text, "a bb ccc");
        assert_eq!(out.len(), 3);
    });
    all_passed(&outcomes);
    let failing = replay_outcomes!(words => |text, out| assert!(out.len() > text.len(), "too few words"));
    let message = common::failed(&failing);
    assert!(message.contains("the check closure failed: too few words"), "{message}");
}

#[test]
fn mut_reference_after_state_is_compared() {
    init();
    let mut xs = vec![1, 2];
    assert_eq!(double_all(&mut xs, 1), 2);
    assert_eq!(xs, [4, 8].map(|x| x / 2));
    all_passed(&replay_outcomes!(double_all));
    let outcomes = replay_outcomes!(double_all => |xs, times, len| {
        // the closure sees the after-state
        assert_eq!(xs, &vec![2, 4]);
        assert_eq!((*times, *len), (1, 2));
    });
    all_passed(&outcomes);
}

#[test]
fn owned_arguments() {
    init();
    assert_eq!(into_label(order(), "A".into()), "A-7-2");
    all_passed(&replay_outcomes!(into_label => |order, prefix, out| {
        assert_eq!(out, &format!("{prefix}-{}-2", order.id));
    }));
}

#[test]
fn self_receivers_when_recorded_or_supplied() {
    init();
    let mut c = Counter { count: 1 };
    assert_eq!(c.add(2), 3);
    assert_eq!(c.peek(10), 13);
    assert_eq!(Counter { count: 4 }.consume(), "count=4");
    all_passed(&replay_outcomes!(Counter::add => ret));
    all_passed(&replay_outcomes!(Counter::consume => ret));
    // `peek` did not record its receiver: skipped with the fix.
    let reason = skipped(&replay_outcomes!(Counter::peek));
    assert!(
        reason.contains("receiver not recorded: add `self` to #[capture_args(..)]"),
        "{reason}"
    );
    // A recorded receiver can still be replaced by a stand-in.
    let replaced = replay_outcomes!(Counter::consume with { self = Counter { count: 99 } } => ret);
    let message = common::failed(&replaced);
    assert!(
        message.contains("return: recorded \"count=4\", now \"count=99\""),
        "{message}"
    );
}

#[test]
fn async_functions_are_driven_without_a_runtime() {
    init();
    assert_eq!(capture_runtime::replay::block_on(fetch(5)), "item-5");
    all_passed(&replay_outcomes!(fetch => ret));
}

#[test]
fn generic_functions_replay_at_the_named_type() {
    init();
    assert_eq!(largest(&[3u32, 9, 4]), 9);
    let outcomes = replay_outcomes!(largest::<u32> => ret);
    all_passed(&outcomes);
    assert!(outcomes[0].0.starts_with("largest::<u32>::"), "{}", outcomes[0].0);
}

#[test]
fn identical_inputs_are_one_test_and_ids_are_stable() {
    init();
    assert_eq!(shout("same"), "SAME");
    assert_eq!(shout("same"), "SAME");
    let outcomes = replay_outcomes!(shout);
    let same: Vec<_> = outcomes.iter().map(|(n, _)| n.clone()).collect();
    let mut dedup = same.clone();
    dedup.dedup();
    assert_eq!(same, dedup, "test names are unique");
    assert!(outcomes.iter().all(|(_, o)| matches!(o, ReplayOutcome::Passed { .. })));
}
