//! The direct MessagePack encoder (`to_msgpack`) against the tree path
//! (`to_value` then the MessagePack codec): same bytes, same redaction
//! report, same error, over generated values that drive every serde data
//! model method — sensitive names, PII strings, skipped types, size limits
//! (truncated sequences, maps and structs), maps in any order, enums of every
//! kind, nested options — so content ids do not depend on the path taken.

use std::collections::{BTreeMap, HashMap};

use capture_runtime::filter::Policy;
use capture_runtime::value::{to_msgpack, to_value, EncodeCtx};
use capture_runtime::Codec;
use proptest::prelude::*;
use serde::ser::{
    SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple, SerializeTupleStruct,
    SerializeTupleVariant,
};
use serde::{Serialize, Serializer};

/// Field, variant and type names: ordinary, sensitive (`password`, `apiKey`,
/// `Token`) and one type the policy skips (`Skipped`).
const NAMES: &[&str] = &[
    "id", "password", "apiKey", "items", "Token", "Skipped", "note", "Order", "card",
];

/// A value shaped by the test, serialized through the matching serde call.
#[derive(Debug, Clone)]
enum Node {
    Unit,
    Bool(bool),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F32(f32),
    F64(f64),
    Char(char),
    Str(String),
    Bytes(Vec<u8>),
    None,
    Some(Box<Node>),
    UnitStruct(usize),
    NewtypeStruct(usize, Box<Node>),
    UnitVariant(usize, usize),
    NewtypeVariant(usize, usize, Box<Node>),
    /// A sequence; `false` hides its length from the serializer.
    Seq(bool, Vec<Node>),
    Tuple(Vec<Node>),
    TupleStruct(usize, Vec<Node>),
    TupleVariant(usize, usize, Vec<Node>),
    /// A map; `false` hides its length.
    Map(bool, Vec<(Node, Node)>),
    /// A struct; the flag makes its length hint wrong (hand-written impls).
    Struct(usize, bool, Vec<(usize, Node)>),
    StructVariant(usize, usize, Vec<(usize, Node)>),
}

struct Elems<'a>(&'a [Node]);

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Unit => s.serialize_unit(),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::I64(n) => s.serialize_i64(*n),
            Node::U64(n) => s.serialize_u64(*n),
            Node::I128(n) => s.serialize_i128(*n),
            Node::U128(n) => s.serialize_u128(*n),
            Node::F32(n) => s.serialize_f32(*n),
            Node::F64(n) => s.serialize_f64(*n),
            Node::Char(c) => s.serialize_char(*c),
            Node::Str(v) => s.serialize_str(v),
            Node::Bytes(b) => s.serialize_bytes(b),
            Node::None => s.serialize_none(),
            Node::Some(v) => s.serialize_some(v.as_ref()),
            Node::UnitStruct(n) => s.serialize_unit_struct(NAMES[*n]),
            Node::NewtypeStruct(n, v) => s.serialize_newtype_struct(NAMES[*n], v.as_ref()),
            Node::UnitVariant(n, v) => s.serialize_unit_variant(NAMES[*n], *v as u32, NAMES[*v]),
            Node::NewtypeVariant(n, v, x) => s.serialize_newtype_variant(NAMES[*n], *v as u32, NAMES[*v], x.as_ref()),
            Node::Seq(known, items) => {
                let mut q = s.serialize_seq(known.then_some(items.len()))?;
                for i in items {
                    q.serialize_element(i)?;
                }
                q.end()
            }
            Node::Tuple(items) => {
                let mut q = s.serialize_tuple(items.len())?;
                for i in items {
                    q.serialize_element(i)?;
                }
                q.end()
            }
            Node::TupleStruct(n, items) => {
                let mut q = s.serialize_tuple_struct(NAMES[*n], items.len())?;
                for i in items {
                    q.serialize_field(i)?;
                }
                q.end()
            }
            Node::TupleVariant(n, v, items) => {
                let mut q = s.serialize_tuple_variant(NAMES[*n], *v as u32, NAMES[*v], items.len())?;
                for i in items {
                    q.serialize_field(i)?;
                }
                q.end()
            }
            Node::Map(known, entries) => {
                let mut m = s.serialize_map(known.then_some(entries.len()))?;
                for (k, v) in entries {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Node::Struct(n, wrong_len, fields) => {
                let len = if *wrong_len { fields.len() + 17 } else { fields.len() };
                let mut m = s.serialize_struct(NAMES[*n], len)?;
                for (k, v) in fields {
                    m.serialize_field(NAMES[*k], v)?;
                }
                m.end()
            }
            Node::StructVariant(n, v, fields) => {
                let mut m = s.serialize_struct_variant(NAMES[*n], *v as u32, NAMES[*v], fields.len())?;
                for (k, x) in fields {
                    m.serialize_field(NAMES[*k], x)?;
                }
                m.end()
            }
        }
    }
}

impl Serialize for Elems<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0)
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,12}",
        "[ -~]{0,40}",
        Just("mail bob@example.com now".to_owned()),
        Just("card 4111 1111 1111 1111".to_owned()),
        Just("ssn 123-45-6789".to_owned()),
        Just("GB82 WEST 1234 5698 7654 32".to_owned()),
        Just("Authorization: Bearer abc123def456".to_owned()),
        Just("eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl".to_owned()),
        Just("password".to_owned()),
        Just("api_key".to_owned()),
        Just("名前 ünïcode".to_owned()),
        Just("x".repeat(300)),
    ]
}

fn name() -> std::ops::Range<usize> {
    0..NAMES.len()
}

fn leaf() -> impl Strategy<Value = Node> {
    prop_oneof![
        Just(Node::Unit),
        any::<bool>().prop_map(Node::Bool),
        any::<i64>().prop_map(Node::I64),
        (-200i64..200).prop_map(Node::I64),
        any::<u64>().prop_map(Node::U64),
        (0u64..70_000).prop_map(Node::U64),
        any::<i128>().prop_map(Node::I128),
        any::<u128>().prop_map(Node::U128),
        any::<f32>().prop_map(Node::F32),
        any::<f64>().prop_map(Node::F64),
        any::<char>().prop_map(Node::Char),
        text().prop_map(Node::Str),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Node::Bytes),
        Just(Node::None),
        name().prop_map(Node::UnitStruct),
        (name(), name()).prop_map(|(n, v)| Node::UnitVariant(n, v)),
    ]
}

fn key() -> impl Strategy<Value = Node> {
    prop_oneof![
        text().prop_map(Node::Str),
        (-50i64..50).prop_map(Node::I64),
        any::<u64>().prop_map(Node::U64),
        any::<char>().prop_map(Node::Char),
        Just(Node::Str("password".into())),
        Just(Node::Str("token".into())),
        Just(Node::Char('k')),
        any::<bool>().prop_map(Node::Bool),
        Just(Node::Unit),
        // Composite keys take the textual ordering fallback.
        prop::collection::vec((0u64..5).prop_map(Node::U64), 0..3).prop_map(Node::Tuple),
    ]
}

fn node() -> impl Strategy<Value = Node> {
    leaf().prop_recursive(5, 96, 20, |inner| {
        let items = prop::collection::vec(inner.clone(), 0..20);
        let fields = prop::collection::vec((name(), inner.clone()), 0..6);
        prop_oneof![
            inner.clone().prop_map(|n| Node::Some(Box::new(n))),
            (name(), inner.clone()).prop_map(|(n, v)| Node::NewtypeStruct(n, Box::new(v))),
            (name(), name(), inner.clone()).prop_map(|(n, v, x)| Node::NewtypeVariant(n, v, Box::new(x))),
            (any::<bool>(), items.clone()).prop_map(|(k, i)| Node::Seq(k, i)),
            items.clone().prop_map(Node::Tuple),
            (name(), items.clone()).prop_map(|(n, i)| Node::TupleStruct(n, i)),
            (name(), name(), items).prop_map(|(n, v, i)| Node::TupleVariant(n, v, i)),
            (any::<bool>(), prop::collection::vec((key(), inner.clone()), 0..12)).prop_map(|(k, e)| Node::Map(k, e)),
            (name(), prop::bool::weighted(0.1), fields.clone()).prop_map(|(n, w, f)| Node::Struct(n, w, f)),
            (name(), name(), fields).prop_map(|(n, v, f)| Node::StructVariant(n, v, f)),
        ]
    })
}

fn policy(max: Option<u64>) -> Policy {
    Policy::default().skip_type("Skipped").max_size(max)
}

/// Encode `value` both ways under `policy`; assert same bytes, report and error.
fn same<T: Serialize + ?Sized>(value: &T, policy: &Policy) -> Result<(), TestCaseError> {
    let mut tree_ctx = EncodeCtx::with_policy(policy);
    tree_ctx.begin("arg");
    let tree = to_value(value, &mut tree_ctx).map(|v| Codec::MsgPack.encode(&v).expect("tree encodes"));
    let mut direct_ctx = EncodeCtx::with_policy(policy);
    direct_ctx.begin("arg");
    let mut buf = vec![0xAA, 0xBB]; // appends after what is there
    let direct = to_msgpack(value, &mut direct_ctx, &mut buf).map(|()| buf[2..].to_vec());
    prop_assert_eq!(&direct, &tree);
    prop_assert_eq!(&direct_ctx.report, &tree_ctx.report);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 768, ..ProptestConfig::default() })]

    #[test]
    fn direct_equals_tree_without_limit(n in node()) {
        same(&n, &policy(None))?;
    }

    #[test]
    fn direct_equals_tree_with_size_limits(n in node(), max in prop_oneof![Just(8u64), Just(40), 1u64..400, Just(2000)]) {
        same(&n, &policy(Some(max)))?;
    }

    #[test]
    fn direct_equals_tree_under_a_plain_policy(n in node()) {
        same(&n, &Policy::none())?;
    }

    #[test]
    fn collected_sequences_of_unknown_length(items in prop::collection::vec(leaf(), 0..40)) {
        same(&Elems(&items), &policy(None))?;
        same(&Elems(&items), &policy(Some(64)))?;
    }
}

/// Real derived types: a hash map (iteration order differs between
/// instances), nested options, enums, a sensitive field.
#[derive(Serialize)]
struct Checkout {
    id: u64,
    customer: String,
    password: String,
    lines: Vec<(String, u32)>,
    tags: HashMap<String, Option<Option<i32>>>,
    ranks: BTreeMap<i64, Kind>,
    note: Option<Box<Checkout>>,
}

#[derive(Serialize)]
enum Kind {
    Plain,
    Card(String),
    Pair(u8, i8),
    Full { token: String, n: f64 },
}

#[test]
fn derived_types_encode_identically() {
    let tags = |seed: usize| -> HashMap<String, Option<Option<i32>>> {
        (0..40)
            .map(|i| {
                (
                    format!("tag{}", (i * 7 + seed) % 40),
                    [None, Some(None), Some(Some(i as i32))][i % 3],
                )
            })
            .collect()
    };
    let inner = Checkout {
        id: 1,
        customer: "ann@example.com".into(),
        password: "hunter2".into(),
        lines: vec![("SKU-1".into(), 2)],
        tags: tags(1),
        ranks: BTreeMap::new(),
        note: None,
    };
    let c = Checkout {
        id: u64::MAX,
        customer: "cust-000042".into(),
        password: "hunter2".into(),
        lines: (0..30).map(|i| (format!("SKU-{i:04}"), i)).collect(),
        tags: tags(3),
        ranks: [
            (-3, Kind::Plain),
            (0, Kind::Card("4111 1111 1111 1111".into())),
            (7, Kind::Pair(1, -1)),
            (
                9,
                Kind::Full {
                    token: "t".into(),
                    n: 0.5,
                },
            ),
        ]
        .into_iter()
        .collect(),
        note: Some(Box::new(inner)),
    };
    for max in [None, Some(30), Some(200), Some(600), Some(5000)] {
        let p = policy(max);
        same(&c, &p).unwrap();
    }
    // Two maps with the same entries inserted differently give the same bytes.
    let mut a = Vec::new();
    let mut b = Vec::new();
    let p = Policy::default();
    to_msgpack(&tags(1), &mut EncodeCtx::with_policy(&p), &mut a).unwrap();
    let mut entries: Vec<_> = tags(1).into_iter().collect();
    entries.reverse();
    let rebuilt: HashMap<_, _> = entries.into_iter().collect();
    to_msgpack(&rebuilt, &mut EncodeCtx::with_policy(&p), &mut b).unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_failing_serialize_reports_the_same_error_and_path() {
    struct Bad;
    impl Serialize for Bad {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("secret hunter2"))
        }
    }
    #[derive(Serialize)]
    struct Outer {
        ok: u8,
        inner: Vec<Option<Bad>>,
    }
    let v = Outer {
        ok: 1,
        inner: vec![None, Some(Bad)],
    };
    let p = Policy::default();
    let mut ctx = EncodeCtx::with_policy(&p);
    ctx.begin("arg");
    let err = to_msgpack(&v, &mut ctx, &mut Vec::new()).unwrap_err().to_string();
    assert!(err.contains("at `arg.inner[1]`"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    same(&v, &p).unwrap();
}
