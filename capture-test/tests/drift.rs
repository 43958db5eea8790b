//! Schema drift: a value recorded as one version of a type and replayed into
//! another (same type name, different module, same function id via `name`)
//! fails with the function, capture id, recorded vs current type and
//! fingerprint, and what changed.

mod common;

use capture_runtime::capture_args;
use capture_test::replay_outcomes;
use common::{failed, init};

mod v1 {
    use serde::{Deserialize, Serialize};
    #[derive(Debug, Serialize, Deserialize)]
    pub struct Order {
        pub id: u64,
    }
    #[derive(Debug, Serialize, Deserialize)]
    pub struct Line {
        pub sku: String,
        pub qty: u32,
    }
    #[derive(Debug, Serialize, Deserialize)]
    pub enum Status {
        Pending,
        Paid(u64),
    }
    #[derive(Debug, Serialize, Deserialize)]
    pub struct Note {
        pub text: String,
    }
    #[derive(Debug, Serialize, Deserialize)]
    pub struct Counter {
        pub count: u32,
    }
}

mod v2 {
    use serde::{Deserialize, Serialize};
    #[derive(Debug, Serialize, Deserialize)]
    pub struct Order {
        pub id: u64,
        pub coupon: String,
    }
    #[derive(Debug, Serialize, Deserialize)]
    pub struct Line {
        pub sku: String,
        pub qty: String,
    }
    #[derive(Debug, Serialize, Deserialize)]
    pub enum Status {
        Waiting,
        Paid(u64),
    }
    #[derive(Debug, Serialize, Deserialize)]
    pub struct Note {
        pub text: String,
        pub lang: Option<String>,
    }
    #[derive(Debug, Serialize, Deserialize)]
    pub struct Counter {
        pub total: u32,
    }
}

#[capture_args(name = "drift::order_id")]
pub fn order_id_v1(order: &v1::Order) -> u64 {
    order.id
}
#[capture_args(name = "drift::order_id")]
pub fn order_id_v2(order: &v2::Order) -> u64 {
    order.id
}

#[capture_args(name = "drift::line_sku")]
pub fn line_sku_v1(line: v1::Line) -> String {
    line.sku
}
#[capture_args(name = "drift::line_sku")]
pub fn line_sku_v2(line: v2::Line) -> String {
    line.sku
}

#[capture_args(name = "drift::is_paid")]
pub fn is_paid_v1(status: &v1::Status) -> bool {
    matches!(status, v1::Status::Paid(_))
}
#[capture_args(name = "drift::is_paid")]
pub fn is_paid_v2(status: &v2::Status) -> bool {
    matches!(status, v2::Status::Paid(_))
}

#[capture_args(name = "drift::note_len")]
pub fn note_len_v1(note: &v1::Note) -> usize {
    note.text.len()
}
#[capture_args(name = "drift::note_len")]
pub fn note_len_v2(note: &v2::Note) -> usize {
    note.text.len()
}

#[capture_args(ret, name = "drift::make_line")]
pub fn make_line_v1(sku: &str) -> v1::Line {
    v1::Line {
        sku: sku.into(),
        qty: 1,
    }
}
#[capture_args(ret, name = "drift::make_line")]
pub fn make_line_v2(sku: &str) -> v2::Line {
    v2::Line {
        sku: sku.into(),
        qty: "1".into(),
    }
}

impl v1::Counter {
    #[capture_args(self, ret, name = "drift::counter_get")]
    pub fn get(&self) -> u32 {
        self.count
    }
}
impl v2::Counter {
    #[capture_args(self, ret, name = "drift::counter_get")]
    pub fn get(&self) -> u32 {
        self.total
    }
}

fn fingerprint<T: serde::de::DeserializeOwned + 'static>() -> String {
    capture_runtime::replay::schema::schema_of::<T>()
        .unwrap()
        .fingerprint
        .clone()
}

fn capture_id(outcomes: &[(String, capture_test::ReplayOutcome)]) -> &str {
    outcomes[0].0.rsplit("::").next().unwrap()
}

#[test]
fn a_struct_gains_a_field() {
    init();
    order_id_v1(&v1::Order { id: 1 });
    let outcomes = replay_outcomes!(order_id_v2);
    let message = failed(&outcomes);
    let expected_head = format!(
        "schema drift: `drift::order_id` capture {} argument `order` no longer fits its type\n  recorded: `drift::v1::Order` (schema {})\n  current:  `drift::v2::Order` (schema {})\n  what changed:\n    - struct `Order`: field `coupon: str` added\n  decoder: missing field `coupon`",
        capture_id(&outcomes),
        fingerprint::<v1::Order>(),
        fingerprint::<v2::Order>(),
    );
    assert!(
        message.contains(&expected_head),
        "{message}\n--- expected ---\n{expected_head}"
    );
    assert!(
        message.contains("fix: re-record by running the program that captures"),
        "{message}"
    );
}

#[test]
fn a_field_changes_type() {
    init();
    line_sku_v1(v1::Line {
        sku: "PEN".into(),
        qty: 2,
    });
    let message = failed(&replay_outcomes!(line_sku_v2));
    assert!(
        message.contains("    - struct `Line`: field `qty` changed type from `u32` to `str`\n"),
        "{message}"
    );
    assert!(message.contains("recorded: `drift::v1::Line`"), "{message}");
    assert!(
        message.contains("decoder: invalid type: integer `2`, expected a string"),
        "{message}"
    );
}

#[test]
fn an_enum_variant_is_renamed() {
    init();
    is_paid_v1(&v1::Status::Pending);
    let message = failed(&replay_outcomes!(is_paid_v2));
    assert!(
        message.contains("    - enum `Status`: variant `Pending` renamed to `Waiting`\n"),
        "{message}"
    );
    assert!(
        message.contains("decoder: unknown variant `Pending`, expected `Waiting` or `Paid`"),
        "{message}"
    );
}

#[test]
fn a_compatible_change_still_fails_on_the_fingerprint() {
    init();
    note_len_v1(&v1::Note { text: "hi".into() });
    // `lang: Option<_>` decodes from the old bytes, but the type is no longer
    // the recorded one: the fingerprint says so.
    let message = failed(&replay_outcomes!(note_len_v2));
    assert!(
        message.contains("    - struct `Note`: field `lang: Option<str>` added\n"),
        "{message}"
    );
    assert!(!message.contains("decoder:"), "{message}");
    // The recorded type itself replays.
    common::all_passed(&replay_outcomes!(note_len_v1));
}

#[test]
fn a_changed_return_type_is_drift_not_a_value_difference() {
    init();
    make_line_v1("PEN");
    let outcomes = replay_outcomes!(make_line_v2);
    let message = failed(&outcomes);
    let expected_head = format!(
        "schema drift: `drift::make_line` capture {} argument `return` no longer fits its type\n  recorded: `drift::v1::Line` (schema {})\n  current:  `drift::v2::Line` (schema {})\n  what changed:\n    - struct `Line`: field `qty` changed type from `u32` to `str`\n",
        capture_id(&outcomes),
        fingerprint::<v1::Line>(),
        fingerprint::<v2::Line>(),
    );
    assert!(
        message.contains(&expected_head),
        "{message}\n--- expected ---\n{expected_head}"
    );
}

#[test]
fn a_recorded_receiver_has_a_fingerprint_too() {
    init();
    v1::Counter { count: 3 }.get();
    let outcomes = replay_outcomes!(v2::Counter::get);
    let message = failed(&outcomes);
    let expected_head = format!(
        "argument `self` no longer fits its type\n  recorded: `drift::v1::Counter` (schema {})\n  current:  `drift::v2::Counter` (schema {})\n  what changed:\n    - struct `Counter`: field `count: u32` removed\n    - struct `Counter`: field `total: u32` added\n",
        fingerprint::<v1::Counter>(),
        fingerprint::<v2::Counter>(),
    );
    assert!(
        message.contains(&expected_head),
        "{message}\n--- expected ---\n{expected_head}"
    );
}
