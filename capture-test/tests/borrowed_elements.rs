//! Arguments whose elements are borrowed (`&[&str]`, `Vec<&str>`,
//! `Option<&str>`, `(&str, u32)`, `&Option<&str>`, `&[&T]`, ...): captured,
//! and replayed from owned storage the adapter rebuilds (`Vec<String>`),
//! passing borrowed views of it. Shapes replay cannot rebuild are captured
//! and skipped with the reason.

mod common;

use std::collections::HashMap;

use capture_runtime::capture_args;
use capture_test::replay_outcomes;
use common::{all_passed, init, skipped};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub sku: String,
    pub qty: u32,
}

#[capture_args(ret)]
pub fn join_all(parts: &[&str]) -> String {
    parts.join("+")
}

#[capture_args(ret)]
pub fn count_vec(parts: Vec<&str>) -> usize {
    parts.len()
}

#[capture_args(ret)]
pub fn maybe(name: Option<&str>) -> String {
    name.unwrap_or("none").to_owned()
}

#[capture_args(ret)]
pub fn pair(p: (&str, u32)) -> String {
    format!("{}{}", p.0, p.1)
}

#[capture_args(ret)]
pub fn opt_ref(o: &Option<&str>) -> usize {
    o.map(str::len).unwrap_or(0)
}

#[capture_args(ret)]
pub fn total_qty(items: &[&Item]) -> u32 {
    items.iter().map(|i| i.qty).sum()
}

#[capture_args(ret)]
pub fn largest_ref<T: PartialOrd + Copy + Serialize>(xs: &[&T]) -> T {
    let mut best = *xs[0];
    for &&x in xs {
        if x > best {
            best = x;
        }
    }
    best
}

#[capture_args(ret)]
pub fn first<'a>(words: &[&'a str]) -> &'a str {
    words[0]
}

#[capture_args(ret)]
pub fn push_word<'a>(words: &mut Vec<&'a str>, w: &'a str) -> usize {
    words.push(w);
    words.len()
}

#[capture_args(ret)]
pub fn nested(groups: Option<Vec<(&str, Item)>>, arr: [&str; 2], boxed: Box<&[u8]>) -> String {
    let n = groups.map(|g| g.iter().map(|(k, i)| format!("{k}{}", i.qty)).collect::<String>());
    format!("{n:?}{}{}{}", arr[0], arr[1], boxed.len())
}

#[capture_args(ret)]
pub fn keyed(m: HashMap<&str, u32>) -> u32 {
    m.values().sum()
}

#[capture_args(ret)]
pub fn bump(xs: Vec<&mut u32>) -> usize {
    xs.len()
}

#[capture_args(ret)]
pub fn statics(xs: Vec<&'static str>) -> usize {
    xs.len()
}

#[test]
fn slices_vecs_options_tuples_of_borrowed_elements_replay() {
    init();
    assert_eq!(join_all(&["a", "b"]), "a+b");
    assert_eq!(count_vec(vec!["a", "b"]), 2);
    assert_eq!(maybe(Some("x")), "x");
    assert_eq!(maybe(None), "none");
    assert_eq!(pair(("a", 1)), "a1");
    assert_eq!(opt_ref(&Some("abc")), 3);
    all_passed(&replay_outcomes!(join_all => ret));
    all_passed(&replay_outcomes!(count_vec => ret));
    assert_eq!(all_passed(&replay_outcomes!(maybe => ret)), 2);
    all_passed(&replay_outcomes!(pair => ret));
    all_passed(&replay_outcomes!(opt_ref => ret));
}

#[test]
fn references_to_values_and_generic_elements_replay() {
    init();
    let (a, b) = (
        Item {
            sku: "pen".into(),
            qty: 2,
        },
        Item {
            sku: "ink".into(),
            qty: 5,
        },
    );
    assert_eq!(total_qty(&[&a, &b]), 7);
    assert_eq!(largest_ref(&[&3u32, &9, &4]), 9);
    all_passed(&replay_outcomes!(total_qty => ret));
    all_passed(&replay_outcomes!(largest_ref::<u32> => ret));
}

#[test]
fn borrowed_outputs_and_mut_after_states_replay() {
    init();
    assert_eq!(first(&["x", "y"]), "x");
    let mut words = vec!["a"];
    assert_eq!(push_word(&mut words, "b"), 2);
    all_passed(&replay_outcomes!(first => ret));
    all_passed(&replay_outcomes!(push_word));
    // The check closure sees the borrowed views: the after-state of `words`.
    all_passed(&replay_outcomes!(push_word => |words, w, n| {
        assert_eq!(words, &vec!["a", "b"]);
        assert_eq!((w, *n), ("b", 2));
    }));
}

#[test]
fn nested_shapes_replay_and_checks_see_views() {
    init();
    let item = Item {
        sku: "pen".into(),
        qty: 3,
    };
    let out = nested(Some(vec![("k", item.clone())]), ["p", "q"], Box::new(&[1, 2][..]));
    assert_eq!(out, "Some(\"k3\")pq2");
    all_passed(&replay_outcomes!(nested => ret));
    all_passed(&replay_outcomes!(nested => |groups, arr, boxed, out| {
        assert_eq!(groups.as_ref().unwrap()[0].0, "k");
        assert_eq!(arr, &["p", "q"]);
        assert_eq!(**boxed, [1u8, 2]);
        assert!(out.ends_with("pq2"));
    }));
}

#[test]
fn shapes_replay_cannot_rebuild_are_captured_and_skipped_with_the_reason() {
    let store = init();
    assert_eq!(keyed(HashMap::from([("a", 1), ("b", 2)])), 3);
    let (mut x, mut y) = (1, 2);
    assert_eq!(bump(vec![&mut x, &mut y]), 2);
    assert_eq!(statics(vec!["s"]), 1);
    // Captured all the same.
    for f in ["keyed", "bump", "statics"] {
        let loader = capture_runtime::CaptureLoader::new(store);
        let calls = loader
            .load_all(&format!("borrowed_elements::{f}"))
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(calls.len(), 1, "{f}");
    }
    let reason = skipped(&replay_outcomes!(keyed));
    assert!(reason.contains("argument `m`"), "{reason}");
    assert!(reason.contains("`HashMap<&str, u32>` holds borrowed data"), "{reason}");
    let reason = skipped(&replay_outcomes!(bump));
    assert!(reason.contains("`&mut` reference inside"), "{reason}");
    let reason = skipped(&replay_outcomes!(statics));
    assert!(reason.contains("borrows for `'static`"), "{reason}");
}

#[capture_args(ret)]
pub fn counts<'a>(words: &[&'a str]) -> std::collections::BTreeMap<&'a str, usize> {
    let mut m = std::collections::BTreeMap::new();
    for w in words {
        *m.entry(*w).or_insert(0) += 1;
    }
    m
}

#[test]
fn outputs_keyed_by_borrowed_data_compare_as_stored_values() {
    init();
    assert_eq!(counts(&["a", "b", "a"])["a"], 2);
    all_passed(&replay_outcomes!(counts => ret));
}

#[capture_args(ret)]
pub fn labels(parts: Vec<(&str, std::borrow::Cow<'static, str>)>, title: std::borrow::Cow<'static, str>) -> String {
    let body: Vec<String> = parts.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{title}: {}", body.join(","))
}

#[test]
fn lifetime_parameters_without_references_are_rebuilt_as_they_are() {
    init();
    assert_eq!(labels(vec![("a", "x".into())], "t".into()), "t: a=x");
    all_passed(&replay_outcomes!(labels => ret));
}
