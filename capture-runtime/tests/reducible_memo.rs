//! The shared-pointer memo, as pickle's: it keeps what it memoized alive
//! while a call is encoded (so a freed address is never mistaken for an
//! earlier value), it forgets what a failed part recorded (so nothing refers
//! to a definition that was never stored), and a `Weak` to a target held
//! outside the captured value behaves as documented.

use std::rc::{Rc, Weak};
use std::sync::OnceLock;

use capture_runtime::record::Slot;
use capture_runtime::value::{EncodeCtx, EncodeError, Marker, Value};
use capture_runtime::{capture_args, CaptureLoader, RebuildCtx, RebuildError, Reducible};

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

#[derive(Reducible, Debug, PartialEq)]
pub struct Coord {
    v: u32,
}

/// The proxy: holds its coordinate behind an `Rc` made on the spot, which
/// lives only while the proxy is reduced.
#[derive(Reducible)]
pub struct Boxed {
    inner: Rc<Coord>,
}

#[derive(Reducible, Clone, Debug, PartialEq)]
#[reduce(into = "Boxed", from = "Boxed")]
pub struct Point(u32);

impl From<Point> for Boxed {
    fn from(p: Point) -> Boxed {
        Boxed {
            inner: Rc::new(Coord { v: p.0 }),
        }
    }
}
impl From<Boxed> for Point {
    fn from(b: Boxed) -> Point {
        Point(b.inner.v)
    }
}

#[test]
fn temporary_pointers_made_by_proxies_are_never_confused_with_each_other() {
    let points: Vec<Point> = (0..64).map(Point).collect();
    let v = points.reduce(&mut EncodeCtx::plain()).unwrap();
    let refs = v
        .markers()
        .into_iter()
        .filter(|(_, m)| matches!(m, Marker::Ref(_)))
        .count();
    assert_eq!(refs, 0, "64 distinct temporaries: no references between them");
    let back = <Vec<Point>>::rebuild(&v, &mut RebuildCtx::new()).unwrap();
    assert_eq!(back, points);
}

/// Reduces its `Rc` (recording it in the memo), then fails.
#[derive(Default)]
pub struct Flaky {
    shared: Option<Rc<Coord>>,
}
impl Reducible for Flaky {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        let _ = Reducible::reduce(&self.shared, ctx)?;
        Err(EncodeError::Custom("flaky failed after its first part".into()))
    }
    fn rebuild(_: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
        Err(RebuildError::new("never stored"))
    }
}

/// Reduces its `Rc`, then panics.
pub struct Panicky {
    shared: Rc<Coord>,
}
impl Reducible for Panicky {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        let _ = Reducible::reduce(&self.shared, ctx)?;
        panic!("reducer bug after its first part")
    }
    fn rebuild(_: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
        Err(RebuildError::new("never stored"))
    }
}

#[derive(Reducible)]
pub struct Holder {
    #[reduce(default)]
    flaky: Flaky,
    later: Rc<Coord>,
}

#[test]
fn a_pointer_first_met_in_a_failed_part_is_defined_again_by_the_next_part() {
    let c = Rc::new(Coord { v: 9 });
    let h = Holder {
        flaky: Flaky {
            shared: Some(c.clone()),
        },
        later: c,
    };
    let mut ctx = EncodeCtx::plain();
    let v = h.reduce(&mut ctx).unwrap();
    let Value::Struct(_, fields) = &v else { panic!("{v:?}") };
    assert!(
        matches!(&fields[0].1, Value::Marker(Marker::Placeholder { reason, .. }) if reason.contains("flaky failed")),
        "{v:?}"
    );
    assert!(
        !matches!(&fields[1].1, Value::Marker(Marker::Ref(_))),
        "not a reference to a definition that was never stored: {v:?}"
    );
    let back = Holder::rebuild(&v, &mut RebuildCtx::new()).unwrap();
    assert_eq!(back.later.v, 9);
}

#[capture_args]
fn after_error(first: &Flaky, second: &Rc<Coord>) -> u32 {
    let _ = first;
    second.v
}

#[capture_args]
fn after_panic(first: &Panicky, second: &Rc<Coord>) -> u32 {
    second.v + first.shared.v
}

#[test]
fn an_argument_after_one_that_failed_part_way_is_stored_in_full() {
    let dir = store();
    let c = Rc::new(Coord { v: 4 });
    assert_eq!(
        after_error(
            &Flaky {
                shared: Some(c.clone())
            },
            &c
        ),
        4
    );
    assert_eq!(
        after_panic(&Panicky { shared: c.clone() }, &c),
        8,
        "the caller is unaffected"
    );
    capture_runtime::flush();
    let loader = CaptureLoader::new(dir);
    for function in ["after_error", "after_panic"] {
        let call = loader.latest(function).unwrap();
        assert!(
            matches!(call.arg_record("first").unwrap().slot, Slot::Failed { .. }),
            "{function}"
        );
        let second: Rc<Coord> = call
            .rebuild_arg("second", &mut RebuildCtx::new())
            .unwrap_or_else(|e| panic!("{function}: {e}"));
        assert_eq!(second.v, 4, "{function}");
    }
}

#[derive(Reducible)]
pub struct Watcher {
    target: Weak<Coord>,
}

/// The seed's "object holding weak references to another live object": the
/// target is held outside the captured value, so the rebuilt target is owned
/// only by the `RebuildCtx`, and dies with it.
#[test]
fn a_weak_to_a_target_held_elsewhere_lives_as_long_as_the_rebuild_context() {
    let live = Rc::new(Coord { v: 5 });
    let w = Watcher {
        target: Rc::downgrade(&live),
    };
    let v = w.reduce(&mut EncodeCtx::plain()).unwrap();
    let mut cx = RebuildCtx::new();
    let back = Watcher::rebuild(&v, &mut cx).unwrap();
    assert_eq!(back.target.upgrade().unwrap().v, 5, "alive while the context lives");
    assert_eq!(cx.shared_count(), 1);
    drop(cx);
    assert!(back.target.upgrade().is_none(), "dangles once the context is dropped");
}
