//! A registered reducer reaches a foreign type inside containers through the
//! `registry::via*` field modules; without them a container of it is another
//! type, which has no reducer (the documented limit).

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use capture_runtime::record::Slot;
use capture_runtime::reduce::explain::Route;
use capture_runtime::reduce::registry::{self, Reducer};
use capture_runtime::value::Value;
use capture_runtime::{capture_args, explain, CaptureLoader, RebuildCtx, Reducible};

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

/// A foreign type: no serde, no `Reducible`, no `Debug`.
#[derive(PartialEq)]
pub struct Celsius(f64);

/// Never registered.
pub struct Kelvin(#[allow(dead_code)] f64);

fn register() {
    registry::register(Reducer::new(|c: &Celsius| Value::F64(c.0)).rebuild(|v| match v {
        Value::F64(x) => Ok(Celsius(*x)),
        _ => Err("expected degrees".into()),
    }));
}

#[derive(Reducible, PartialEq)]
pub struct Readings {
    #[reduce(with = capture_runtime::reduce::registry::via)]
    now: Celsius,
    #[reduce(with = capture_runtime::reduce::registry::via_vec)]
    hourly: Vec<Celsius>,
    #[reduce(with = capture_runtime::reduce::registry::via_option)]
    peak: Option<Celsius>,
    #[reduce(with = capture_runtime::reduce::registry::via_option)]
    low: Option<Celsius>,
    #[reduce(with = capture_runtime::reduce::registry::via_box)]
    boxed: Box<Celsius>,
    #[reduce(with = capture_runtime::reduce::registry::via_map)]
    by_room: HashMap<String, Celsius>,
    #[reduce(with = capture_runtime::reduce::registry::via_btree_map)]
    by_day: BTreeMap<u8, Celsius>,
}

fn readings() -> Readings {
    Readings {
        now: Celsius(21.5),
        hourly: vec![Celsius(19.0), Celsius(20.0)],
        peak: Some(Celsius(25.0)),
        low: None,
        boxed: Box::new(Celsius(1.0)),
        by_room: [
            ("attic".to_string(), Celsius(30.0)),
            ("cellar".to_string(), Celsius(12.0)),
        ]
        .into_iter()
        .collect(),
        by_day: [(1, Celsius(18.0))].into_iter().collect(),
    }
}

#[capture_args]
fn report(r: &Readings) -> f64 {
    r.now.0
}

#[test]
fn field_modules_send_every_foreign_item_through_the_registry() {
    let dir = store();
    register();
    let r = readings();
    let e = explain!(r);
    assert!(e.is_replayable(), "{e}");
    for path in [
        "now",
        "hourly[0]",
        "hourly[1]",
        "peak",
        "boxed",
        "by_room[\"attic\"]",
        "by_day[\"1\"]",
    ] {
        assert_eq!(e.at(path).map(|n| &n.route), Some(&Route::Registry), "{path}: {e}");
    }

    assert_eq!(report(&r), 21.5);
    capture_runtime::flush();
    let call = CaptureLoader::new(dir).latest("report").unwrap();
    assert!(call.metadata().not_replayable_reasons().is_empty());
    let back: Readings = call.rebuild_arg("r", &mut RebuildCtx::new()).unwrap();
    assert!(back == r, "every item rebuilt through the registry");
}

#[derive(Reducible)]
pub struct Unregistered {
    #[reduce(with = capture_runtime::reduce::registry::via_vec)]
    temps: Vec<Kelvin>,
}

#[test]
fn an_item_without_a_registered_reducer_is_a_placeholder() {
    let e = explain!(Unregistered {
        temps: vec![Kelvin(1.0)]
    });
    assert_eq!(e.at("temps[0]").unwrap().route, Route::Placeholder, "{e}");
    assert!(!e.is_replayable(), "{e}");
}

#[capture_args]
fn bare(temps: &Vec<Celsius>) -> usize {
    temps.len()
}

/// A reducer covers its exact type: a `Vec<Celsius>` argument is another
/// type, with no reducer of its own.
#[test]
fn a_container_argument_of_a_registered_type_is_not_covered_by_its_reducer() {
    let dir = store();
    register();
    assert_eq!(bare(&vec![Celsius(1.0)]), 1);
    capture_runtime::flush();
    let call = CaptureLoader::new(dir).latest("bare").unwrap();
    assert!(
        matches!(&call.arg_record("temps").unwrap().slot, Slot::Placeholder { .. }),
        "{:?}",
        call.arg_record("temps").unwrap().slot
    );
}
