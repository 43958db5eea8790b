//! Snapshot mode: the output of each replay is an insta snapshot named after
//! the function and the capture's replay id (stored in `tests/snapshots/`,
//! reviewed with `cargo insta review`, accepted with `INSTA_UPDATE=always`).
//! The `&mut` after-states are part of the snapshot.
//!
//! Snapshots are never written by this binary unless `INSTA_UPDATE` says so
//! (a mismatch must fail, not leave a `.snap.new` behind).

mod common;

use capture_runtime::capture_args;
use capture_test::replay_outcomes;
use common::{all_passed, failed, init};

fn no_snapshot_writes() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("INSTA_UPDATE").is_none() {
            std::env::set_var("INSTA_UPDATE", "no");
        }
    });
}

#[derive(Debug)]
pub struct Invoice {
    pub lines: Vec<String>,
    pub total_cents: u64,
}

/// The output has `Debug` but no serde: snapshots need only `Debug`.
#[capture_args]
pub fn invoice(items: &[(String, u64)]) -> Invoice {
    Invoice {
        lines: items.iter().map(|(n, c)| format!("{n}: {c}")).collect(),
        total_cents: items.iter().map(|(_, c)| c).sum(),
    }
}

/// Mutates its argument: the snapshot shows the after-state too.
#[capture_args]
pub fn apply_discount(total_cents: &mut u64, percent: u64) -> bool {
    *total_cents -= *total_cents * percent / 100;
    percent > 0
}

/// Its committed snapshot was deliberately edited to disagree.
#[capture_args]
pub fn greeting(name: &str) -> String {
    format!("hello, {name}")
}

pub struct NoDebug(pub u32);

#[capture_args]
pub fn opaque(n: u32) -> NoDebug {
    NoDebug(n)
}

#[test]
fn each_capture_is_a_named_snapshot() {
    init();
    no_snapshot_writes();
    invoice(&[("tea".into(), 450), ("cake".into(), 325)]);
    let outcomes = replay_outcomes!(invoice => snapshot);
    assert_eq!(all_passed(&outcomes), 1);
    let id = outcomes[0].0.rsplit("::").next().unwrap();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("snapshot__invoice__{id}.snap"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert!(text.contains("total_cents: 775"), "{text}");
    assert!(
        text.contains("description: \"replay of `snapshot::invoice` capture"),
        "{text}"
    );
}

#[test]
fn after_states_are_part_of_the_snapshot() {
    init();
    no_snapshot_writes();
    let mut total = 2000;
    assert!(apply_discount(&mut total, 25));
    let outcomes = replay_outcomes!(apply_discount => snapshot);
    assert_eq!(all_passed(&outcomes), 1);
    let id = outcomes[0].0.rsplit("::").next().unwrap();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("snapshot__apply_discount__{id}.snap"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert!(text.contains("return: true"), "{text}");
    assert!(text.contains("total_cents (after): 1500"), "{text}");
}

#[test]
fn a_snapshot_mismatch_fails_with_the_snapshot_name() {
    init();
    no_snapshot_writes();
    assert_eq!(greeting("ada"), "hello, ada");
    let outcomes = replay_outcomes!(greeting => snapshot);
    let id = outcomes[0].0.rsplit("::").next().unwrap().to_owned();
    let message = failed(&outcomes);
    assert!(
        message.contains(&format!("snapshot `greeting__{id}` does not match: ")),
        "{message}"
    );
    assert!(
        message.contains("review with `cargo insta review`, or accept with INSTA_UPDATE=always"),
        "{message}"
    );
    let new = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("snapshot__greeting__{id}.snap.new"));
    assert!(!new.exists(), "nothing written with INSTA_UPDATE=no");
}

#[test]
fn snapshots_need_debug() {
    init();
    no_snapshot_writes();
    assert_eq!(opaque(1).0, 1);
    let message = failed(&replay_outcomes!(opaque => snapshot));
    assert!(
        message.contains("snapshot mode needs `Debug` on the output type `snapshot::NoDebug`"),
        "{message}"
    );
}
