//! Snapshot mode: the output of each replay is an insta snapshot named after
//! the function and the capture's replay id (stored in `tests/snapshots/`,
//! reviewed with `cargo insta review`, accepted with `INSTA_UPDATE=always`).

mod common;

use capture_runtime::capture_args;
use capture_test::replay_outcomes;
use common::{all_passed, init};

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

#[test]
fn each_capture_is_a_named_snapshot() {
    init();
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
