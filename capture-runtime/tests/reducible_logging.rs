//! Fallbacks are logged once per type through real `#[capture_args]` calls:
//! a placeholder (at the top of an argument or inside a derived type) and a
//! registered reducer give one `capture::reduce` line each, however many
//! calls and functions use the type, and a placeholder is not reported as an
//! error.

use std::sync::{Arc, Mutex, OnceLock};

use capture_runtime::reduce::registry::{self, Reducer};
use capture_runtime::value::Value;
use capture_runtime::{capture_args, Reducible};
use tracing::field::{Field, Visit};

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

/// Keeps `(target, level, message)` of every event.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<(String, tracing::Level, String)>>>);

struct Message(String);
impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl tracing::Subscriber for Events {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        let mut m = Message(String::new());
        e.record(&mut m);
        let meta = e.metadata();
        self.0
            .lock()
            .unwrap()
            .push((meta.target().to_owned(), *meta.level(), m.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

impl Events {
    fn about(&self, type_name: &str) -> Vec<(String, tracing::Level, String)> {
        let needle = format!(": {type_name} ->");
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, _, m)| m.contains(&needle) || m.contains(&format!("({type_name})")))
            .cloned()
            .collect()
    }
}

#[derive(Debug)]
pub struct OpaqueConn(pub u16);

pub struct Inches(pub u32);

#[derive(Reducible)]
pub struct Pool {
    pub size: u32,
    pub conn: OpaqueConn,
}

#[capture_args]
fn connect(conn: &OpaqueConn) -> u16 {
    conn.0
}

#[capture_args]
fn reconnect(conn: &OpaqueConn, pool: &Pool) -> u16 {
    conn.0 + pool.conn.0
}

#[capture_args]
fn measure(length: &Inches) -> u32 {
    length.0
}

#[test]
fn placeholders_and_registered_reducers_are_logged_once_per_type_across_calls_and_functions() {
    store();
    registry::register(Reducer::new(|i: &Inches| Value::U64(i.0 as u64)));
    let events = Events::default();
    tracing::subscriber::with_default(events.clone(), || {
        for i in 0..5 {
            assert_eq!(connect(&OpaqueConn(i)), i);
            let pool = Pool {
                size: 1,
                conn: OpaqueConn(i),
            };
            assert_eq!(reconnect(&OpaqueConn(i), &pool), 2 * i);
            assert_eq!(measure(&Inches(i as u32)), i as u32);
        }
    });
    capture_runtime::flush();

    let opaque = events.about("reducible_logging::OpaqueConn");
    assert_eq!(opaque.len(), 1, "15 placeholders of one type, one line: {opaque:#?}");
    assert_eq!(opaque[0].0, "capture::reduce");
    assert_eq!(opaque[0].1, tracing::Level::WARN);
    assert!(opaque[0].2.contains("placeholder"), "{opaque:?}");

    let registered = events.about("reducible_logging::Inches");
    assert_eq!(registered.len(), 1, "{registered:#?}");
    assert_eq!(registered[0].0, "capture::reduce");
    assert!(registered[0].2.contains("registry"), "{registered:?}");

    let errors: Vec<String> = capture_runtime::config::reported_messages()
        .into_iter()
        .filter(|m| m.contains("OpaqueConn"))
        .collect();
    assert!(
        errors.is_empty(),
        "expected placeholders are not reported as errors: {errors:?}"
    );
}
