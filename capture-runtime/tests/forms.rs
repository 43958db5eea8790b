//! `#[capture_args]` on every function form the design names: the function
//! behaves as written and its arguments are recorded under stable names.

mod common;

use capture_runtime::record::{Outcome, Slot};
use capture_runtime::{capture_args, CapturedCall};
use common::{loader, store};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    x: i32,
    y: i32,
}

fn only(function: &str) -> CapturedCall {
    let all = loader().load_all(function).unwrap();
    assert_eq!(all.len(), 1, "{function}: expected exactly one capture");
    all.into_iter().next().unwrap()
}

#[capture_args]
fn free(a: u32, b: &str, c: &[u8], p: &Point) -> usize {
    a as usize + b.len() + c.len() + p.x as usize
}

#[test]
fn free_function_with_refs_slices_and_str() {
    store();
    assert_eq!(free(1, "ab", &[1, 2, 3], &Point { x: 4, y: 5 }), 10);
    let call = only("forms::free");
    assert_eq!(call.arg_names(), ["a", "b", "c", "p"]);
    assert_eq!(call.arg::<u32>("a").unwrap(), 1);
    assert_eq!(call.arg::<String>("b").unwrap(), "ab");
    assert_eq!(call.arg::<Vec<u8>>("c").unwrap(), vec![1, 2, 3]);
    assert_eq!(call.arg::<Point>("p").unwrap(), Point { x: 4, y: 5 });
    let m = call.metadata();
    assert_eq!(m.function, "forms::free");
    assert_eq!(m.crate_name, "capture-runtime");
    assert_eq!(m.outcome, Outcome::Returned);
    assert_eq!(m.args[1].type_name, "str");
    assert_eq!(m.args[3].type_name, "forms::Point");
    assert!(m.ret.is_none(), "no `ret` option: return value not recorded");
}

#[capture_args(ret)]
fn bump(counter: &mut Vec<u32>, by: u32) -> usize {
    counter.push(by);
    counter.len()
}

#[test]
fn mut_ref_records_before_and_after() {
    store();
    let mut v = vec![1];
    assert_eq!(bump(&mut v, 7), 2);
    assert_eq!(v, vec![1, 7]);
    let call = only("forms::bump");
    assert_eq!(
        call.arg::<Vec<u32>>("counter").unwrap(),
        vec![1],
        "state before the call"
    );
    assert_eq!(call.ret::<usize>().unwrap(), 2);
    let after = &call.metadata().after;
    assert_eq!(after.len(), 1);
    let Slot::Stored { id, len } = after[0].slot else {
        panic!("after-state stored")
    };
    let (codec, body) = call.stored_value(&id, len).unwrap();
    assert_eq!(
        codec.decode::<Vec<u32>>(&body).unwrap(),
        vec![1, 7],
        "state after the call"
    );
}

#[capture_args(ret)]
async fn fetch(id: u64, tag: String) -> Result<String, String> {
    std::future::ready(()).await;
    if id == 0 {
        return Err("zero".into());
    }
    let n: u64 = tag.parse().map_err(|_| "not a number".to_string())?;
    Ok(format!("{}", id + n))
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
    fn noop(_: *const ()) {}
    fn clone(p: *const ()) -> RawWaker {
        RawWaker::new(p, &VTABLE)
    }
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    let waker = unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) };
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[test]
fn async_fn_with_result_records_ok_and_err() {
    store();
    assert_eq!(block_on(fetch(2, "40".into())), Ok("42".to_string()));
    assert_eq!(block_on(fetch(0, "1".into())), Err("zero".to_string()));
    assert_eq!(block_on(fetch(1, "x".into())), Err("not a number".to_string()));
    let calls = loader().load_all("forms::fetch").unwrap();
    assert_eq!(calls.len(), 3);
    let rets: Vec<Result<String, String>> = calls.iter().map(|c| c.ret().unwrap()).collect();
    assert!(rets.contains(&Ok("42".into())));
    assert!(rets.contains(&Err("zero".into())));
    assert!(rets.contains(&Err("not a number".into())));
}

#[derive(Serialize)]
pub struct Service {
    name: String,
    hits: u32,
}

impl Service {
    #[capture_args(self, ret)]
    fn handle(&self, req: &str) -> String {
        format!("{}:{req}", self.name)
    }

    #[capture_args]
    fn hit(&mut self, n: u32) {
        self.hits += n;
    }

    #[capture_args(self)]
    fn into_name(self) -> String {
        self.name
    }

    // Neither `self` nor `Self`: `assoc` tells replay to call `Self::new_named`.
    #[capture_args(assoc)]
    fn new_named(name: &str) -> Service {
        Service {
            name: name.into(),
            hits: 0,
        }
    }
}

#[test]
fn methods_and_associated_functions() {
    store();
    let mut s = Service::new_named("svc");
    assert_eq!(s.handle("ping"), "svc:ping");
    s.hit(3);
    assert_eq!(s.hits, 3);
    assert_eq!(s.into_name(), "svc");

    let handle = only("forms::Service::handle");
    assert_eq!(handle.arg_names(), ["self", "req"]);
    assert_eq!(handle.value("self").unwrap().kind_name(), "map");
    assert_eq!(handle.ret::<String>().unwrap(), "svc:ping");

    let hit = only("forms::Service::hit");
    assert_eq!(
        hit.arg_names(),
        ["n"],
        "receiver not recorded without the `self` option"
    );
    assert_eq!(only("forms::Service::into_name").arg_names(), ["self"]);
    // Associated functions without a receiver are named after their type too
    // (`Foo::new` and `Bar::new` in one module do not share a store folder).
    assert_eq!(only("forms::Service::new_named").arg::<String>("name").unwrap(), "svc");
}

#[capture_args]
fn generic<T: Serialize + Clone, U>(items: &[T], extra: U) -> usize
where
    U: std::fmt::Debug,
{
    let _ = extra;
    items.to_vec().len()
}

#[capture_args]
fn takes_impl(f: impl Fn(u32) -> u32, label: impl AsRef<str> + Serialize) -> u32 {
    f(label.as_ref().len() as u32)
}

#[test]
fn generics_where_clauses_and_impl_trait() {
    store();
    assert_eq!(generic(&[1u8, 2, 3], Some(5)), 3);
    let call = only("forms::generic");
    assert_eq!(call.arg::<Vec<u8>>("items").unwrap(), vec![1, 2, 3]);
    // `U` has only a Debug bound: it is recorded as a placeholder with its Debug text.
    match &call.metadata().args[1].slot {
        Slot::Placeholder { debug, .. } => assert_eq!(debug.as_deref(), Some("Some(5)")),
        other => panic!("expected a placeholder, got {other:?}"),
    }

    assert_eq!(takes_impl(|n| n * 2, "four"), 8);
    let call = only("forms::takes_impl");
    assert!(
        matches!(call.metadata().args[0].slot, Slot::Placeholder { .. }),
        "closures are placeholders"
    );
    assert_eq!(call.arg::<String>("label").unwrap(), "four");
    assert!(!call.metadata().not_replayable_reasons().is_empty());
}

#[capture_args]
fn patterns((a, b): (u8, u8), Point { x, y }: Point, _: u8) -> i32 {
    a as i32 + b as i32 + x + y
}

#[test]
fn patterns_get_stable_names() {
    store();
    assert_eq!(patterns((1, 2), Point { x: 3, y: 4 }, 9), 10);
    let call = only("forms::patterns");
    assert_eq!(call.arg_names(), ["a_b", "x_y", "arg2"]);
    assert_eq!(call.arg::<(u8, u8)>("a_b").unwrap(), (1, 2));
    assert_eq!(call.arg::<Point>("x_y").unwrap(), Point { x: 3, y: 4 });
    assert_eq!(call.arg::<u8>("arg2").unwrap(), 9);
}

#[capture_args]
fn explode(n: u32) -> u32 {
    if n > 1 {
        panic!("boom {n}");
    }
    n
}

#[test]
fn a_panicking_call_is_captured_and_marked() {
    store();
    let r = std::panic::catch_unwind(|| explode(5));
    assert!(r.is_err(), "the panic reaches the caller unchanged");
    let call = only("forms::explode");
    assert_eq!(call.metadata().outcome, Outcome::Panicked);
    assert_eq!(call.arg::<u32>("n").unwrap(), 5);
}

#[capture_args]
fn depth_outer(n: u32) -> u32 {
    depth_inner(n) + 1
}

#[capture_args]
fn depth_inner(n: u32) -> u32 {
    if n == 0 {
        0
    } else {
        depth_inner(n - 1) + 1
    }
}

#[test]
fn nested_and_recursive_calls_record_depth() {
    store();
    assert_eq!(depth_outer(2), 3);
    assert_eq!(only("forms::depth_outer").metadata().depth, 0);
    let mut depths: Vec<u32> = loader()
        .load_all("forms::depth_inner")
        .unwrap()
        .iter()
        .map(|c| c.metadata().depth)
        .collect();
    depths.sort();
    assert_eq!(depths, vec![1, 2, 3]);
}

#[capture_args(name = "renamed_fn", ignore(secret_sauce))]
fn original_name(secret_sauce: &str, visible: u8) -> u8 {
    secret_sauce.len() as u8 + visible
}

#[test]
fn name_and_ignore_options() {
    store();
    assert_eq!(original_name("abc", 1), 4);
    let call = only("forms::renamed_fn");
    assert!(matches!(call.metadata().args[0].slot, Slot::Ignored));
    let err = call.arg::<String>("secret_sauce").unwrap_err().to_string();
    assert!(err.contains("ignored"), "{err}");
    assert_eq!(call.arg::<u8>("visible").unwrap(), 1);
}

#[capture_args]
fn with_password(user: &str, password: &str) -> bool {
    !user.is_empty() && !password.is_empty()
}

#[test]
fn sensitive_argument_names_are_redacted_by_default() {
    store();
    assert!(with_password("ada", "hunter2"));
    let call = only("forms::with_password");
    assert!(matches!(call.metadata().args[1].slot, Slot::Redacted { .. }));
    for entry in walk(store()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(7).any(|w| w == b"hunter2"),
            "secret found in {}",
            entry.display()
        );
    }
}

#[capture_args(enabled = false)]
fn never_captured(n: u8) -> u8 {
    n
}

#[test]
fn enabled_false_compiles_the_shim_out() {
    store();
    assert_eq!(never_captured(3), 3);
    assert!(loader().load_all("forms::never_captured").is_err());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Scalars by value are copied inside the capture branch (not borrowed, so
/// the parameter stays in a register when capture is off): every primitive,
/// a `mut` one the body changes (the capture holds the value passed), a raw
/// identifier, and a method.
#[capture_args]
#[allow(clippy::too_many_arguments)]
fn scalars(
    a: bool,
    b: char,
    c: f32,
    d: f64,
    e: i8,
    f: i16,
    g: i32,
    h: i64,
    i: i128,
    j: isize,
    k: u8,
    l: u16,
    mut m: u32,
    n: u64,
    o: u128,
    r#type: usize,
) -> u32 {
    m += 1;
    let _ = (a, b, c, d, e, f, g, h, i, j, k, l, n, o, r#type);
    m
}

#[test]
fn scalars_by_value_are_recorded_as_passed() {
    store();
    let r = scalars(true, 'é', 1.5, 0.1, -8, -16, -32, -64, -128, -1, 8, 16, 32, 64, 128, 7);
    assert_eq!(r, 33, "the body sees and changes its own `mut` parameter");
    let call = only("forms::scalars");
    assert!(call.arg::<bool>("a").unwrap());
    assert_eq!(call.arg::<char>("b").unwrap(), 'é');
    assert_eq!(call.arg::<f32>("c").unwrap(), 1.5);
    assert_eq!(call.arg::<f64>("d").unwrap(), 0.1);
    assert_eq!(call.arg::<i8>("e").unwrap(), -8);
    assert_eq!(call.arg::<i16>("f").unwrap(), -16);
    assert_eq!(call.arg::<i32>("g").unwrap(), -32);
    assert_eq!(call.arg::<i64>("h").unwrap(), -64);
    assert_eq!(call.arg::<i128>("i").unwrap(), -128);
    assert_eq!(call.arg::<isize>("j").unwrap(), -1);
    assert_eq!(call.arg::<u8>("k").unwrap(), 8);
    assert_eq!(call.arg::<u16>("l").unwrap(), 16);
    assert_eq!(
        call.arg::<u32>("m").unwrap(),
        32,
        "the value passed, not the body's change"
    );
    assert_eq!(call.arg::<u64>("n").unwrap(), 64);
    assert_eq!(call.arg::<u128>("o").unwrap(), 128);
    assert_eq!(call.arg_names().last().copied(), Some("type"));
    assert_eq!(call.arg::<usize>("type").unwrap(), 7);
}
