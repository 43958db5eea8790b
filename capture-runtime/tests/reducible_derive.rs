//! `#[derive(Reducible)]` on every shape of type, with every attribute,
//! round-tripped through the bytes that go to disk.

use std::collections::BTreeMap;
use std::fmt;

use capture_runtime::reduce::{RebuildCtx, RebuildError};
use capture_runtime::value::{EncodeCtx, EncodeError, Marker, Value};
use capture_runtime::{Codec, Reducible};
use serde::{Deserialize, Serialize};

/// Reduce, write with the store's codec, read back untyped, rebuild.
fn roundtrip<T: Reducible>(v: &T) -> T {
    try_roundtrip(v).unwrap()
}

fn try_roundtrip<T: Reducible>(v: &T) -> Result<T, RebuildError> {
    let value = v.reduce(&mut EncodeCtx::plain()).unwrap();
    let bytes = Codec::MsgPack.encode(&value).unwrap();
    let back: Value = Codec::MsgPack.decode(&bytes).unwrap();
    T::rebuild(&back, &mut RebuildCtx::new())
}

/// A foreign type with neither serde nor Reducible (think `regex::Regex`).
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    source: String,
}
impl Pattern {
    fn new(s: &str) -> Self {
        Pattern { source: s.to_owned() }
    }
}

mod pattern_reducer {
    use super::*;
    pub fn reduce(p: &Pattern, _: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        Ok(Value::Str(p.source.clone()))
    }
    pub fn rebuild(v: &Value, _: &mut RebuildCtx) -> Result<Pattern, RebuildError> {
        match v {
            Value::Str(s) => Ok(Pattern::new(s)),
            other => Err(RebuildError::expected("a pattern string", other)),
        }
    }
}

/// A serde type nested inside a Reducible one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    city: String,
    zip: u32,
}

/// No `Debug`, no serde: becomes a placeholder when not handled.
pub struct Socketish(#[allow(dead_code)] u32);

fn fallback_port() -> u16 {
    8080
}

#[derive(Reducible)]
pub struct Conn {
    name: String,
    #[reduce(rename = "addr")]
    address: Address,
    #[reduce(with = pattern_reducer)]
    filter: Pattern,
    #[reduce(skip)]
    cache: Vec<u8>,
    #[reduce(skip, default = "fallback_port")]
    port: u16,
    #[reduce(placeholder, default)]
    stats: Option<Box<str>>,
    tags: BTreeMap<String, u32>,
}

#[test]
fn named_struct_with_every_field_option_roundtrips() {
    let c = Conn {
        name: "db".into(),
        address: Address {
            city: "Oslo".into(),
            zip: 150,
        },
        filter: Pattern::new("^a+$"),
        cache: vec![1, 2, 3],
        port: 5432,
        stats: Some("hot".into()),
        tags: [("a".to_string(), 1)].into_iter().collect(),
    };
    let v = c.reduce(&mut EncodeCtx::plain()).unwrap();
    let Value::Struct(name, fields) = &v else {
        panic!("{v:?}")
    };
    assert_eq!(name, "Conn");
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_ref()).collect();
    assert_eq!(
        names,
        ["name", "addr", "filter", "stats", "tags"],
        "skipped fields are not stored"
    );
    assert!(matches!(&fields[3].1, Value::Marker(Marker::Placeholder { debug: Some(d), .. }) if d.contains("hot")));

    let back = roundtrip(&c);
    assert_eq!(back.name, "db");
    assert_eq!(back.address, c.address);
    assert_eq!(back.filter, c.filter);
    assert!(back.cache.is_empty(), "skip rebuilds from Default");
    assert_eq!(back.port, 8080, "skip with default = path calls it");
    assert_eq!(back.stats, None, "placeholder with default rebuilds from the default");
    assert_eq!(back.tags, c.tags);
}

#[derive(Reducible, Debug, PartialEq)]
struct Empty {}

#[derive(Reducible, Debug, PartialEq)]
struct UnitLike;

#[derive(Reducible, Debug, PartialEq)]
struct Meters(f64);

#[derive(Reducible, Debug, PartialEq)]
struct Pair(u8, #[reduce(skip)] u8, String);

#[test]
fn empty_unit_newtype_and_tuple_structs_roundtrip() {
    assert_eq!(roundtrip(&Empty {}), Empty {});
    assert_eq!(roundtrip(&UnitLike), UnitLike);
    assert_eq!(roundtrip(&Meters(2.5)), Meters(2.5));
    assert_eq!(
        Meters(2.5).reduce(&mut EncodeCtx::plain()).unwrap(),
        Value::Newtype("Meters".into(), Box::new(Value::F64(2.5)))
    );
    assert_eq!(roundtrip(&Pair(1, 9, "x".into())), Pair(1, 0, "x".into()));
}

#[derive(Reducible, Debug, PartialEq)]
enum Shape {
    Empty,
    Circle(f64),
    Rect(f64, f64),
    #[reduce(rename = "poly")]
    Polygon {
        points: Vec<(i32, i32)>,
        #[reduce(default)]
        closed: bool,
    },
}

#[test]
fn enums_of_every_variant_kind_roundtrip() {
    for s in [
        Shape::Empty,
        Shape::Circle(1.0),
        Shape::Rect(2.0, 3.0),
        Shape::Polygon {
            points: vec![(0, 0), (1, 1)],
            closed: true,
        },
    ] {
        assert_eq!(roundtrip(&s), s);
    }
}

#[test]
fn enum_bytes_match_what_serde_would_write() {
    #[derive(Serialize)]
    enum SerdeShape {
        Rect(f64, f64),
        #[serde(rename = "poly")]
        Polygon {
            points: Vec<(i32, i32)>,
            closed: bool,
        },
    }
    let ours = Codec::Json
        .encode(
            &Shape::Polygon {
                points: vec![(1, 2)],
                closed: false,
            }
            .reduce(&mut EncodeCtx::plain())
            .unwrap(),
        )
        .unwrap();
    let theirs = Codec::Json
        .encode(&SerdeShape::Polygon {
            points: vec![(1, 2)],
            closed: false,
        })
        .unwrap();
    assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(theirs).unwrap());
    let ours = Codec::Json
        .encode(&Shape::Rect(1.0, 2.0).reduce(&mut EncodeCtx::plain()).unwrap())
        .unwrap();
    let theirs = Codec::Json.encode(&SerdeShape::Rect(1.0, 2.0)).unwrap();
    assert_eq!(ours, theirs);
}

#[test]
fn unknown_variant_names_the_known_ones() {
    let v = Value::Str("Hexagon".into());
    let e = Shape::rebuild(&v, &mut RebuildCtx::new()).unwrap_err();
    assert!(e.to_string().contains("no variant `Hexagon`"), "{e}");
    assert!(e.to_string().contains("poly"), "{e}");
}

#[derive(Reducible, Debug, PartialEq)]
struct Wrapper<T> {
    items: Vec<T>,
    first: Option<T>,
}

#[derive(Reducible, Debug, PartialEq)]
#[reduce(bound = "T: serde::Serialize + serde::de::DeserializeOwned")]
struct SerdeWrapper<T> {
    items: Vec<T>,
}

#[test]
fn generic_types_roundtrip() {
    let w = Wrapper {
        items: vec!["a".to_string(), "b".to_string()],
        first: Some("a".to_string()),
    };
    assert_eq!(roundtrip(&w), w);
    let nested = Wrapper {
        items: vec![Meters(1.0)],
        first: None,
    };
    assert_eq!(roundtrip(&nested), nested);
    let s = SerdeWrapper {
        items: vec![Address {
            city: "Rome".into(),
            zip: 1,
        }],
    };
    assert_eq!(roundtrip(&s), s);
}

/// A type whose fields are private and whose invariant (`len`) is restored
/// by its constructor, the seed's "with constructor" strategy.
mod bounded {
    use capture_runtime::Reducible;

    #[derive(Reducible, Debug, PartialEq)]
    #[reduce(constructor = "Bounded::new(items, max)")]
    pub struct Bounded {
        max: usize,
        items: Vec<u32>,
        #[reduce(skip)]
        len: usize,
    }

    impl Bounded {
        pub fn new(items: Vec<u32>, max: usize) -> Self {
            let items: Vec<u32> = items.into_iter().take(max).collect();
            Bounded {
                len: items.len(),
                max,
                items,
            }
        }
        pub fn len(&self) -> usize {
            self.len
        }
    }
}

#[test]
fn constructor_rebuilds_private_fields_and_invariants() {
    let b = bounded::Bounded::new(vec![1, 2, 3, 4], 3);
    let back = roundtrip(&b);
    assert_eq!(back, b);
    assert_eq!(back.len(), 3);
}

/// No usable constructor at all (private fields, no `new`): the derive lives
/// next to the type, so it still rebuilds field by field.
mod sealed {
    #[derive(capture_runtime::Reducible, Debug, PartialEq)]
    pub struct Sealed {
        secret_sauce: u64,
        recipe: String,
    }
    pub fn make() -> Sealed {
        Sealed {
            secret_sauce: 42,
            recipe: "x".into(),
        }
    }
}

#[test]
fn types_without_a_public_constructor_rebuild() {
    let s = sealed::make();
    assert_eq!(roundtrip(&s), s);
}

/// Reduced through a serde proxy (`into`/`from`).
#[derive(Reducible, Clone, Debug, PartialEq)]
#[reduce(into = "Celsius", from = "Celsius")]
struct Fahrenheit(f64);
#[derive(Serialize, Deserialize)]
struct Celsius {
    degrees: f64,
}
impl From<Fahrenheit> for Celsius {
    fn from(f: Fahrenheit) -> Self {
        Celsius {
            degrees: (f.0 - 32.0) * 5.0 / 9.0,
        }
    }
}
impl From<Celsius> for Fahrenheit {
    fn from(c: Celsius) -> Self {
        Fahrenheit(c.degrees * 9.0 / 5.0 + 32.0)
    }
}

#[test]
fn into_from_proxy_roundtrips_through_the_proxy_shape() {
    let f = Fahrenheit(212.0);
    let v = f.reduce(&mut EncodeCtx::plain()).unwrap();
    assert_eq!(
        v,
        Value::Struct("Celsius".into(), vec![("degrees".into(), Value::F64(100.0))])
    );
    assert_eq!(roundtrip(&f), f);
}

/// A Reducible field inside a serde-derived type, through the adapter.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Job {
    id: u32,
    #[serde(with = "capture_runtime::reduce::serde_adapter")]
    shape: Shape,
}

#[test]
fn reducible_inside_serde_through_the_adapter() {
    let j = Job {
        id: 7,
        shape: Shape::Rect(1.0, 2.0),
    };
    let bytes = rmp_serde::to_vec_named(&j).unwrap();
    assert_eq!(rmp_serde::from_slice::<Job>(&bytes).unwrap(), j);
    // Captured as an argument (serde path), it rebuilds with serde too.
    let v = capture_runtime::value::to_value(&j, &mut EncodeCtx::plain()).unwrap();
    let back: Job = capture_runtime::reduce::from_value(&v).unwrap();
    assert_eq!(back, j);
}

#[test]
fn a_placeholder_field_without_default_makes_rebuild_fail_with_the_fix() {
    #[derive(Reducible)]
    struct Holder {
        #[reduce(placeholder)]
        _sock: Socketish,
        n: u8,
    }
    let h = Holder {
        _sock: Socketish(3),
        n: 1,
    };
    let mut ctx = EncodeCtx::plain();
    let v = h.reduce(&mut ctx).unwrap();
    assert_eq!(
        ctx.report.redacted.len(),
        1,
        "the part is reported: the capture is not replayable"
    );
    let e = Holder::rebuild(&v, &mut RebuildCtx::new()).err().unwrap();
    assert!(e.to_string().contains("#[reduce(default)]"), "{e}");
}

#[test]
fn sensitive_field_names_are_redacted_in_derived_types() {
    #[derive(Reducible)]
    struct Login {
        user: String,
        password: String,
    }
    let policy = capture_runtime::filter::Policy::default();
    let mut ctx = EncodeCtx::with_policy(&policy);
    let v = Login {
        user: "ada".into(),
        password: "hunter2".into(),
    }
    .reduce(&mut ctx)
    .unwrap();
    let text = format!("{v:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        ctx.report.redacted.iter().any(|(p, _)| p.contains("password")),
        "{:?}",
        ctx.report
    );
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn").field("name", &self.name).finish_non_exhaustive()
    }
}
