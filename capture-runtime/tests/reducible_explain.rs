//! `explain!` and `explain()`: references explain the value behind them,
//! `#[reduce(placeholder, default)]` counts as replayable exactly as the
//! capture treats it, which layer wins when several apply, and the cap on
//! the `Debug` text of a placeholder.
#![allow(clippy::needless_borrow, clippy::needless_borrows_for_generic_args)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use capture_runtime::record::Slot;
use capture_runtime::reduce::explain::Route;
use capture_runtime::reduce::registry::{self, Reducer};
use capture_runtime::value::{EncodeCtx, EncodeError, Value};
use capture_runtime::{capture_args, explain, CaptureLoader, Explanation, RebuildCtx, RebuildError, Reducible};
use serde::{Deserialize, Serialize, Serializer};

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

/// Registered at run time; no serde, no `Reducible`.
pub struct Meters(u32);

fn register_meters() {
    registry::register(Reducer::new(|m: &Meters| Value::U64(m.0 as u64)).rebuild(|v| match v {
        Value::U64(n) => Ok(Meters(*n as u32)),
        _ => Err("expected a number".into()),
    }));
}

#[test]
fn references_explain_the_value_behind_them() {
    let file = tempfile::tempfile().unwrap();
    for e in [explain!(file), explain!(&file), explain!(&&file)] {
        assert_eq!(e.notes[0].route, Route::Placeholder, "{e}");
        assert_eq!(e.notes[0].type_name, "std::fs::File", "{e}");
    }

    register_meters();
    let m = Meters(12);
    let by_ref: &Meters = &m;
    for e in [explain!(m), explain!(&m), explain!(by_ref), explain!(&by_ref)] {
        assert_eq!(e.notes[0].route, Route::Registry, "looked up as `Meters`: {e}");
        assert!(e.is_replayable(), "{e}");
        assert_eq!(e.value, Some(Value::U64(12)));
    }
    // The value was borrowed, never moved.
    assert_eq!(m.0, 12);
}

#[derive(Reducible)]
pub struct Job {
    name: String,
    log: std::fs::File,
}

fn explain_generic<T: Reducible>(t: &T) -> Explanation {
    capture_runtime::explain(t)
}

#[test]
fn the_function_form_explains_reducible_values_also_in_generic_code() {
    let job = Job {
        name: "nightly".into(),
        log: tempfile::tempfile().unwrap(),
    };
    let by_fn = capture_runtime::explain(&job);
    let by_macro = explain!(&job);
    assert_eq!(by_fn, by_macro);
    assert_eq!(explain_generic(&job), by_macro);
    assert_eq!(by_fn.at("log").unwrap().route, Route::Placeholder);
    assert!(!by_fn.is_replayable());
    let text = by_fn.to_string();
    assert!(
        text.ends_with("=> not replayable: not stored: log: placeholder:std::fs::File"),
        "{text}"
    );
}

#[derive(Reducible)]
pub struct Scene {
    title: String,
    #[reduce(placeholder, default)]
    log: Option<std::fs::File>,
}

#[derive(Reducible)]
pub struct SceneNoDefault {
    title: String,
    #[reduce(placeholder)]
    log: Option<std::fs::File>,
}

#[capture_args]
fn draw(scene: &Scene) -> usize {
    scene.title.len()
}

#[capture_args]
fn draw_no_default(scene: &SceneNoDefault) -> usize {
    scene.title.len()
}

#[test]
fn a_placeholder_with_a_default_is_replayable_in_explain_as_in_the_capture() {
    let dir = store();
    let scene = Scene {
        title: "t".into(),
        log: Some(tempfile::tempfile().unwrap()),
    };
    let e = explain!(scene);
    assert_eq!(e.at("log").unwrap().route, Route::Described, "{e}");
    assert_eq!(e.placeholders().count(), 0, "{e}");
    assert!(e.is_replayable(), "{e}");
    assert!(e.to_string().contains("placeholder, rebuilt from its default"), "{e}");

    let bare = SceneNoDefault {
        title: "t".into(),
        log: None,
    };
    let e2 = explain!(bare);
    assert_eq!(e2.at("log").unwrap().route, Route::Placeholder, "{e2}");
    assert!(!e2.is_replayable(), "{e2}");

    draw(&scene);
    draw_no_default(&bare);
    capture_runtime::flush();
    let loader = CaptureLoader::new(dir);
    let call = loader.latest("draw").unwrap();
    assert!(
        call.metadata().not_replayable_reasons().is_empty(),
        "the capture agrees"
    );
    let back: Scene = call.rebuild_arg("scene", &mut RebuildCtx::new()).unwrap();
    assert!(back.log.is_none(), "rebuilt from the default");
    let call = loader.latest("draw_no_default").unwrap();
    assert!(
        !call.metadata().not_replayable_reasons().is_empty(),
        "the capture agrees"
    );
}

/// Implements both `Reducible` and `Serialize`, differently.
pub struct Both(u32);
impl Reducible for Both {
    fn reduce(&self, _: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        Ok(Value::Str(format!("reducible {}", self.0)))
    }
    fn rebuild(_: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
        Ok(Both(0))
    }
}
impl Serialize for Both {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("serde")
    }
}

static REDUCER_CALLS: AtomicUsize = AtomicUsize::new(0);

/// A serde type that also has a registered reducer.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct SerdeAndRegistered {
    n: u32,
}

#[capture_args]
fn precedence(both: &Both, serde_first: &SerdeAndRegistered) -> u32 {
    both.0 + serde_first.n
}

#[test]
fn reducible_beats_serde_and_serde_beats_the_registry() {
    let dir = store();
    let e = explain!(Both(3));
    assert_eq!(e.notes[0].route, Route::Reducible, "{e}");
    assert_eq!(e.value, Some(Value::Str("reducible 3".into())));

    registry::register(Reducer::new(|_: &SerdeAndRegistered| {
        REDUCER_CALLS.fetch_add(1, Ordering::SeqCst);
        Value::Str("registry".into())
    }));
    let e = explain!(SerdeAndRegistered { n: 5 });
    assert_eq!(e.notes[0].route, Route::Serde, "{e}");

    assert_eq!(precedence(&Both(3), &SerdeAndRegistered { n: 5 }), 8);
    capture_runtime::flush();
    let call = CaptureLoader::new(dir).latest("precedence").unwrap();
    assert_eq!(call.value("both").unwrap(), Value::Str("reducible 3".into()));
    assert_eq!(call.arg::<SerdeAndRegistered>("serde_first").unwrap().n, 5);
    assert_eq!(REDUCER_CALLS.load(Ordering::SeqCst), 0, "the reducer is never called");
}

/// `Debug` text of 5000 three-byte characters.
pub struct Wide;
impl std::fmt::Debug for Wide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&"€".repeat(5000))
    }
}

/// A secret right across the cap: 13 + 220 + 3 bytes before `password: "`.
pub struct Straddle;
impl std::fmt::Debug for Straddle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Huge")
            .field("pad", &"é".repeat(110))
            .field("password", &"hunter2-secret")
            .field("tail", &"ü".repeat(5000))
            .finish()
    }
}

#[capture_args]
fn wide(w: &Wide, s: &Straddle) {
    let _ = (w, s);
}

#[test]
fn placeholder_debug_text_is_capped_on_a_char_boundary_after_scrubbing() {
    let dir = store();
    wide(&Wide, &Straddle);
    capture_runtime::flush();
    let call = CaptureLoader::new(dir).latest("wide").unwrap();
    let debug = |name: &str| match &call.arg_record(name).unwrap().slot {
        Slot::Placeholder { debug: Some(d), .. } => d.clone(),
        other => panic!("{other:?}"),
    };
    let w = debug("w");
    // 256 is not a multiple of 3: the cut falls back to the boundary at 255.
    assert_eq!(w, format!("{}…", "€".repeat(85)));
    assert_eq!(w.len(), 255 + "…".len());

    let s = debug("s");
    assert!(
        s.len() <= capture_runtime::__private::dispatch::DEBUG_CAP + "…".len(),
        "{}",
        s.len()
    );
    assert!(!s.contains("hunt"), "scrubbed before the cut, never half a secret: {s}");
    assert!(s.contains("password"), "{s}");
}
