//! The seed's edge cases in Rust terms: foreign types through the registry
//! (first wins, concurrent registration), file handles, sockets and closures
//! as placeholders, a reducer that panics, a global-registry ("metaclass")
//! type, content ids independent of hash order, and `explain!`.
#![allow(clippy::needless_borrow)] // autoref dispatch needs every `&`

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, OnceLock};

#[allow(unused_imports)]
use capture_runtime::__private::dispatch::{
    RebuildNever as _, RebuildViaReducible as _, RebuildViaRegistry as _, RebuildViaSerde as _, Want,
};
use capture_runtime::explain;
use capture_runtime::record::Slot;
use capture_runtime::reduce::explain::Route;
use capture_runtime::reduce::registry::{self, Reducer};
use capture_runtime::reduce::RebuildCtx;
use capture_runtime::value::{to_value, EncodeCtx, Value};
use capture_runtime::{capture_args, CaptureLoader, Codec, ContentId, Reducible};

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

/// A "foreign" type: no serde, no Reducible, no Debug.
struct Duration2 {
    millis: u64,
}

#[test]
fn a_registered_foreign_type_is_captured_and_rebuilt_through_the_registry() {
    assert!(registry::register(
        Reducer::new(|d: &Duration2| Value::U64(d.millis)).rebuild(|v| match v {
            Value::U64(n) => Ok(Duration2 { millis: *n }),
            _ => Err("expected milliseconds".into()),
        })
    ));
    let e = explain!(Duration2 { millis: 1500 });
    assert_eq!(e.notes[0].route, Route::Registry, "{e}");
    assert!(e.is_replayable(), "{e}");
    let v = e.value.clone().unwrap();
    let back: Duration2 = (&&&&Want::<Duration2>::new())
        .__capture_rebuild(&v, &mut RebuildCtx::new())
        .unwrap();
    assert_eq!(back.millis, 1500);
}

struct Port(u16);

#[test]
fn first_registration_wins_unless_replaced() {
    assert!(registry::register(Reducer::new(|p: &Port| Value::U64(p.0 as u64))));
    assert!(
        !registry::register(Reducer::new(|_: &Port| Value::Unit)),
        "second is refused"
    );
    assert_eq!(
        registry::lookup::<Port>().unwrap().reduce(&Port(80)),
        Some(Value::U64(80))
    );
    assert!(registry::replace(Reducer::new(|p: &Port| Value::Str(p.0.to_string()))));
    assert_eq!(
        registry::lookup::<Port>().unwrap().reduce(&Port(80)),
        Some(Value::Str("80".into()))
    );
}

struct Contended;

#[test]
fn concurrent_registration_from_8_threads_has_exactly_one_winner() {
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8u64)
        .map(|i| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let won = registry::register(Reducer::new(move |_: &Contended| Value::U64(i)));
                // Every thread sees a reducer right after, whoever won.
                let seen = registry::lookup::<Contended>().unwrap().reduce(&Contended);
                (i, won, seen)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<u64> = results.iter().filter(|r| r.1).map(|r| r.0).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let expected = Some(Value::U64(winners[0]));
    assert!(
        results.iter().all(|r| r.2 == expected),
        "all see the winner: {results:?}"
    );
}

#[test]
fn file_handles_sockets_and_closures_become_placeholders_with_reasons() {
    let file = tempfile::tempfile().unwrap();
    let e = explain!(file);
    assert_eq!(e.notes[0].route, Route::Placeholder, "{e}");
    assert!(!e.is_replayable());
    assert!(e.to_string().contains("std::fs::File"), "{e}");

    let sock = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let e = explain!(sock);
    assert_eq!(e.notes[0].route, Route::Placeholder, "{e}");
    assert!(e.notes[0].detail.contains("neither Reducible nor serde"), "{e}");

    let offset = 3;
    let closure = move |x: u32| x + offset;
    let e = explain!(closure);
    assert_eq!(e.notes[0].route, Route::Placeholder, "{e}");
    assert_eq!(closure(1), 4);
}

#[derive(Reducible)]
struct Job {
    name: String,
    log: std::fs::File,
    tags: Vec<String>,
}

#[test]
fn explain_says_field_by_field_which_path_each_part_took() {
    let job = Job {
        name: "nightly".into(),
        log: tempfile::tempfile().unwrap(),
        tags: vec!["a".into()],
    };
    let e = explain!(job);
    let text = e.to_string();
    assert_eq!(e.at("").unwrap().route, Route::Reducible, "{text}");
    assert_eq!(e.at("name").unwrap().route, Route::Serde, "{text}");
    assert_eq!(e.at("log").unwrap().route, Route::Placeholder, "{text}");
    assert!(
        e.at("log").unwrap().detail.contains("#[reduce(skip)]"),
        "names the fix: {text}"
    );
    assert_eq!(e.at("tags").unwrap().route, Route::Serde, "{text}");
    assert!(!e.is_replayable(), "{text}");
    assert!(text.contains("log: std::fs::File -> placeholder"), "{text}");
    // The rest of the value is still stored.
    let v = e.value.unwrap();
    assert!(format!("{v:?}").contains("nightly"));
}

/// A reducer that panics: the capture degrades, the caller never notices.
#[derive(Debug)]
struct Explosive(u32);

struct BoomOnReduce;
impl Reducible for BoomOnReduce {
    fn reduce(&self, _: &mut EncodeCtx<'_>) -> Result<Value, capture_runtime::value::EncodeError> {
        panic!("reducer bug")
    }
    fn rebuild(_: &Value, _: &mut RebuildCtx) -> Result<Self, capture_runtime::RebuildError> {
        Ok(BoomOnReduce)
    }
}

#[capture_args]
fn fragile(e: &Explosive, b: &BoomOnReduce, n: u32) -> u32 {
    let _ = b;
    e.0 + n
}

#[test]
fn a_reducer_that_panics_degrades_the_capture_not_the_call() {
    let dir = store();
    registry::register(Reducer::new(|_: &Explosive| -> Value {
        panic!("registered reducer bug")
    }));
    assert_eq!(fragile(&Explosive(1), &BoomOnReduce, 2), 3, "the caller is unaffected");
    capture_runtime::flush();
    let call = CaptureLoader::new(dir).latest("fragile").unwrap();
    let slot = |n: &str| call.arg_record(n).unwrap().slot.clone();
    assert!(
        matches!(slot("e"), Slot::Failed { error } if error.contains("panicked")),
        "{:?}",
        slot("e")
    );
    assert!(matches!(slot("b"), Slot::Failed { .. }), "{:?}", slot("b"));
    assert!(
        matches!(slot("n"), Slot::Stored { .. }),
        "other arguments are still stored"
    );
    assert!(!call.metadata().not_replayable_reasons().is_empty());
}

/// A "metaclass-like" type: instances are interned in a global registry and
/// compared by identity, so rebuilding must look the instance up, not make a new one.
pub struct Currency {
    pub code: &'static str,
    pub digits: u8,
}
static CURRENCIES: [Currency; 2] = [Currency { code: "EUR", digits: 2 }, Currency { code: "JPY", digits: 0 }];
#[derive(Clone, Copy, Reducible)]
#[reduce(into = "String", from = "CurrencyCode")]
pub struct CurrencyRef(&'static Currency);

pub struct CurrencyCode(String);
impl Reducible for CurrencyCode {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, capture_runtime::value::EncodeError> {
        self.0.reduce(ctx)
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, capture_runtime::RebuildError> {
        let code = String::rebuild(v, cx)?;
        if !CURRENCIES.iter().any(|c| c.code == code) {
            return Err(capture_runtime::RebuildError::new(format!("unknown currency {code}")));
        }
        Ok(CurrencyCode(code))
    }
}
impl From<CurrencyRef> for String {
    fn from(c: CurrencyRef) -> String {
        c.0.code.to_owned()
    }
}
impl From<CurrencyCode> for CurrencyRef {
    fn from(c: CurrencyCode) -> Self {
        CurrencyRef(CURRENCIES.iter().find(|x| x.code == c.0).expect("checked in rebuild"))
    }
}

#[test]
fn a_global_registry_type_rebuilds_to_the_registered_instance() {
    let jpy = CurrencyRef(&CURRENCIES[1]);
    let v = jpy.reduce(&mut EncodeCtx::plain()).unwrap();
    assert_eq!(v, Value::Str("JPY".into()));
    let back = CurrencyRef::rebuild(&v, &mut RebuildCtx::new()).unwrap();
    assert!(
        std::ptr::eq(back.0, &CURRENCIES[1]),
        "the interned instance, not a copy"
    );
    assert_eq!(back.0.digits, 0);
    let err = CurrencyRef::rebuild(&Value::Str("XXX".into()), &mut RebuildCtx::new())
        .err()
        .unwrap();
    assert!(err.to_string().contains("unknown currency"), "{err}");
}

fn id_of(v: &Value) -> ContentId {
    ContentId::of(&Codec::MsgPack.encode(v).unwrap())
}

#[test]
fn hashmap_iteration_order_never_changes_the_content_id() {
    let pairs: Vec<(String, u32)> = (0..64).map(|i| (format!("k{i}"), i)).collect();
    let mut orders = HashSet::new();
    let mut ids = HashSet::new();
    for round in 0..8 {
        // Each map has its own random hasher keys; insert in different orders too.
        let mut m: HashMap<String, u32> = HashMap::new();
        let mut p = pairs.clone();
        p.rotate_left(round * 7);
        m.extend(p);
        orders.insert(m.keys().cloned().collect::<Vec<_>>());
        ids.insert(id_of(&to_value(&m, &mut EncodeCtx::plain()).unwrap()));
        ids.insert(id_of(&m.reduce(&mut EncodeCtx::plain()).unwrap()));
    }
    assert!(orders.len() > 1, "the test needs maps that iterate differently");
    assert_eq!(ids.len(), 1, "one id whatever the iteration order");

    let mut other: HashMap<String, u32> = pairs.iter().cloned().collect();
    other.insert("k0".into(), 999);
    assert!(
        !ids.contains(&id_of(&to_value(&other, &mut EncodeCtx::plain()).unwrap())),
        "different values, different ids"
    );
}

#[test]
fn hashset_is_written_in_canonical_order() {
    let mut orders = HashSet::new();
    let mut ids = HashSet::new();
    for _ in 0..8 {
        let s: HashSet<u32> = (0..64).collect();
        orders.insert(s.iter().copied().collect::<Vec<_>>());
        ids.insert(id_of(&s.reduce(&mut EncodeCtx::plain()).unwrap()));
        let back =
            <HashSet<u32>>::rebuild(&s.reduce(&mut EncodeCtx::plain()).unwrap(), &mut RebuildCtx::new()).unwrap();
        assert_eq!(back, s);
    }
    assert!(orders.len() > 1, "the test needs sets that iterate differently");
    assert_eq!(ids.len(), 1);
}

/// Counts warnings from `capture::reduce`, to check "once per type".
struct Counter(Arc<AtomicUsize>);
impl tracing::Subscriber for Counter {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        if e.metadata().target() == "capture::reduce" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

struct LoggedOnce;

#[test]
fn a_placeholder_is_logged_once_per_type_not_once_per_call() {
    let count = Arc::new(AtomicUsize::new(0));
    tracing::subscriber::with_default(Counter(count.clone()), || {
        for _ in 0..5 {
            let _ = explain!(LoggedOnce);
        }
    });
    assert_eq!(count.load(Ordering::SeqCst), 1);
}
