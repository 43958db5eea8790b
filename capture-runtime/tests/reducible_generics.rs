//! Generic derived types get only the bounds their stored fields need (as
//! serde infers them), borrowed fields compile, and every shape round-trips
//! through the bytes that go to disk: generic enums, empty tuple structs,
//! field-less enums, and the standard containers that hold reducible values.

use std::borrow::Cow;
use std::collections::{BTreeSet, VecDeque};
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::OnceLock;

use capture_runtime::record::Slot;
use capture_runtime::reduce::explain::Route;
use capture_runtime::value::{EncodeCtx, Value};
use capture_runtime::{capture_args, explain, CaptureLoader, Codec, RebuildCtx, RebuildError, Reducible};
use serde::{Deserialize, Serialize};

fn store() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        capture_runtime::configure(capture_runtime::Config {
            enabled: Some(true),
            dir: Some(d.path().to_path_buf()),
            ..Default::default()
        });
        d
    })
    .path()
}

fn try_roundtrip<T: Reducible>(v: &T) -> Result<T, RebuildError> {
    let value = v.reduce(&mut EncodeCtx::plain()).unwrap();
    let bytes = Codec::MsgPack.encode(&value).unwrap();
    let back: Value = Codec::MsgPack.decode(&bytes).unwrap();
    T::rebuild(&back, &mut RebuildCtx::new())
}

fn roundtrip<T: Reducible>(v: &T) -> T {
    try_roundtrip(v).unwrap()
}

fn is_reducible<T: Reducible>() {}

/// Serde only: not `Reducible`.
#[derive(Serialize, Deserialize, Debug, Default, PartialEq, Clone)]
pub struct SerdeOnly {
    n: u32,
}

/// `T` only in `PhantomData`: no bound on `T`.
#[derive(Reducible, Debug, PartialEq)]
pub struct Tagged<T> {
    id: u32,
    marker: PhantomData<T>,
}

/// `T` only in a skipped field: `Vec<T>: Default`, nothing on `T`.
#[derive(Reducible, Debug, PartialEq)]
pub struct Cached<T> {
    name: String,
    #[reduce(skip)]
    cache: Vec<T>,
}

/// `T` itself skipped: `T: Default` only.
#[derive(Reducible, Debug, PartialEq)]
pub struct Scratch<T> {
    n: u32,
    #[reduce(skip)]
    scratch: T,
}

#[capture_args]
fn tagged(t: &Tagged<SerdeOnly>, c: &Cached<SerdeOnly>, s: &Scratch<SerdeOnly>) -> u32 {
    t.id + c.name.len() as u32 + s.n
}

#[test]
fn parameters_only_in_phantom_data_or_skipped_fields_need_no_reducible_bound() {
    is_reducible::<Tagged<SerdeOnly>>();
    is_reducible::<Cached<SerdeOnly>>();
    is_reducible::<Scratch<SerdeOnly>>();
    is_reducible::<Tagged<std::fs::File>>();

    let dir = store();
    let t = Tagged::<SerdeOnly> {
        id: 1,
        marker: PhantomData,
    };
    let c = Cached {
        name: "ab".into(),
        cache: vec![SerdeOnly { n: 9 }],
    };
    let s = Scratch {
        n: 3,
        scratch: SerdeOnly { n: 4 },
    };
    assert_eq!(tagged(&t, &c, &s), 6);
    capture_runtime::flush();
    let call = CaptureLoader::new(dir).latest("tagged").unwrap();
    for name in ["t", "c", "s"] {
        assert!(
            matches!(call.arg_record(name).unwrap().slot, Slot::Stored { .. }),
            "`{name}` is captured through Reducible, not as a placeholder"
        );
    }
    let mut cx = RebuildCtx::new();
    assert_eq!(call.rebuild_arg::<Tagged<SerdeOnly>>("t", &mut cx).unwrap(), t);
    let c_back: Cached<SerdeOnly> = call.rebuild_arg("c", &mut cx).unwrap();
    assert_eq!((c_back.name.as_str(), c_back.cache.len()), ("ab", 0));
    let s_back: Scratch<SerdeOnly> = call.rebuild_arg("s", &mut cx).unwrap();
    assert_eq!((s_back.n, s_back.scratch), (3, SerdeOnly::default()));
}

#[derive(Reducible, Debug, PartialEq)]
pub struct Node {
    name: String,
}

#[derive(Reducible, Debug, PartialEq)]
pub enum Kind<T> {
    A,
    B(T),
    C(T, #[reduce(skip)] u8),
    #[reduce(rename = "d")]
    D {
        x: T,
        #[reduce(default)]
        y: u8,
    },
}

#[test]
fn generic_enums_roundtrip_with_every_variant_kind_and_shared_payloads() {
    let values = vec![
        Kind::A,
        Kind::B("b".to_string()),
        Kind::C("c".to_string(), 7),
        Kind::D {
            x: "d".to_string(),
            y: 2,
        },
    ];
    let back = roundtrip(&values);
    assert_eq!(back[0], Kind::A);
    assert_eq!(back[1], Kind::B("b".into()));
    assert_eq!(
        back[2],
        Kind::C("c".into(), 0),
        "the skipped part comes back as its default"
    );
    assert_eq!(back[3], Kind::D { x: "d".into(), y: 2 });

    let shared = Rc::new(Node { name: "n".into() });
    let nodes = vec![Kind::B(shared.clone()), Kind::D { x: shared, y: 0 }];
    let back = roundtrip(&nodes);
    let (Kind::B(a), Kind::D { x: b, .. }) = (&back[0], &back[1]) else {
        panic!("{back:?}")
    };
    assert!(Rc::ptr_eq(a, b), "sharing across variants of a generic enum");
}

#[derive(Reducible, Debug, PartialEq)]
pub struct NoFields();

#[derive(Reducible, Debug, PartialEq, Clone, Copy)]
pub enum Color {
    Red,
    Green,
    #[reduce(rename = "azure")]
    Blue,
}

#[test]
fn empty_tuple_structs_and_field_less_enums_roundtrip() {
    assert_eq!(roundtrip(&NoFields()), NoFields());
    for c in [Color::Red, Color::Green, Color::Blue] {
        assert_eq!(roundtrip(&c), c);
    }
    let Value::Variant(v) = Color::Blue.reduce(&mut EncodeCtx::plain()).unwrap() else {
        panic!()
    };
    assert_eq!(v.variant, "azure");
    let err = Color::rebuild(&Value::Str("Purple".into()), &mut RebuildCtx::new())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no variant `Purple`") && err.contains("azure"), "{err}");
}

/// A borrowed, `Debug`-only field: a placeholder, never a registry layer
/// (which would need `'static` and fail to compile).
#[derive(Reducible)]
pub struct Borrowing<'a> {
    name: String,
    log: &'a std::fs::File,
    #[reduce(placeholder)]
    other: &'a std::fs::File,
}

#[test]
fn borrowed_debug_only_fields_compile_and_become_placeholders() {
    let file = tempfile::tempfile().unwrap();
    let b = Borrowing {
        name: "x".into(),
        log: &file,
        other: &file,
    };
    let e = explain!(b);
    assert_eq!(e.at("log").unwrap().route, Route::Placeholder, "{e}");
    assert!(!e.is_replayable());
    let Some(Value::Struct(_, fields)) = &e.value else {
        panic!("{e}")
    };
    assert!(format!("{:?}", fields[1].1).contains("File"), "Debug text is kept");
}

#[derive(Reducible, Debug)]
pub struct Pair(u8, #[reduce(placeholder)] Option<std::fs::File>);

#[test]
fn a_placeholder_tuple_field_is_named_by_its_position() {
    let err = try_roundtrip(&Pair(1, None)).err().unwrap();
    assert!(err.to_string().contains("field `1` of `Pair`"), "{err}");
}

#[test]
fn std_containers_of_reducible_values_roundtrip() {
    let shared = Rc::new(Node { name: "s".into() });
    let arr = [shared.clone(), shared.clone()];
    let back = roundtrip(&arr);
    assert!(Rc::ptr_eq(&back[0], &back[1]));
    assert!(try_roundtrip::<[Rc<Node>; 3]>(&[shared.clone(), shared.clone(), shared.clone()]).is_ok());

    let dq: VecDeque<Rc<Node>> = [shared.clone(), shared.clone()].into_iter().collect();
    let back = roundtrip(&dq);
    assert!(Rc::ptr_eq(&back[0], &back[1]));

    let set: BTreeSet<Rc<String>> = ["b", "a"].into_iter().map(|s| Rc::new(s.to_string())).collect();
    assert_eq!(roundtrip(&set), set);

    let six = (1u8, "two".to_string(), 3.0f64, shared.clone(), 'c', Kind::B(5u32));
    let back = roundtrip(&six);
    assert_eq!(
        (back.0, back.1.as_str(), back.2, back.4, back.5),
        (1, "two", 3.0, 'c', Kind::B(5))
    );

    let cow: Cow<'_, str> = Cow::Borrowed("borrowed");
    assert_eq!(roundtrip(&cow), "borrowed");

    let wrong = Value::Seq(vec![]);
    let err = <[u8; 2]>::rebuild(&wrong, &mut RebuildCtx::new()).err().unwrap();
    assert!(err.to_string().contains("array of 2"), "{err}");
}
