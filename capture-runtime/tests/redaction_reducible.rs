//! Trees built by `Reducible` impls pass through the policy once: a
//! hand-written impl that returns raw strings, a `password` field or a
//! sensitive map key, and a `#[reduce(with = module)]` module inside a
//! derived impl, are redacted like serde values, and nothing is reported
//! twice.

mod support;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use capture_runtime::filter::Policy;
use capture_runtime::reduce::{RebuildCtx, RebuildError, Reducible};
use capture_runtime::value::{EncodeCtx, EncodeError, Marker, Value};
use capture_runtime::{capture_args, configure, CaptureLoader, CapturedCall, Config};

use support::card_number;

static SERIAL: Mutex<()> = Mutex::new(());

fn setup(cfg: Config) -> (MutexGuard<'static, ()>, tempfile::TempDir) {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = support::tempdir();
    configure(Config {
        dir: Some(dir.path().to_path_buf()),
        // On even where `CI` is set: these tests record on purpose.
        enabled: cfg.enabled.or(Some(true)),
        ..cfg
    });
    (guard, dir)
}

fn last(dir: &Path, function: &str) -> CapturedCall {
    CaptureLoader::new(dir)
        .load_all(function)
        .unwrap()
        .pop()
        .expect("one call captured")
}

fn entry<'v>(v: &'v Value, name: &str) -> &'v Value {
    match v {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| matches!(k, Value::Str(s) if s == name))
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no entry {name} in {v:?}")),
        other => panic!("not a map: {other:?}"),
    }
}

fn assert_absent(dir: &Path, needles: &[&str]) {
    fn walk(p: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push((e.path().display().to_string(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    assert!(!files.is_empty(), "nothing captured");
    for n in needles {
        for (name, bytes) in &files {
            assert!(
                !bytes.windows(n.len()).any(|w| w == n.as_bytes()),
                "{n:?} found in {name}"
            );
        }
    }
}

/// A hand-written impl that puts everything in its tree as it is.
struct Session {
    user: String,
    password: String,
    note: String,
    headers: Vec<(String, String)>,
}

impl Reducible for Session {
    fn reduce(&self, _: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        let headers = self
            .headers
            .iter()
            .map(|(k, v)| (Value::Str(k.clone()), Value::Str(v.clone())))
            .collect();
        Ok(Value::Struct(
            "Session".into(),
            vec![
                ("user".into(), Value::Str(self.user.clone())),
                ("password".into(), Value::Str(self.password.clone())),
                ("note".into(), Value::Str(self.note.clone())),
                ("headers".into(), Value::Map(headers)),
            ],
        ))
    }
    fn rebuild(_: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
        Err(RebuildError::new("not needed here"))
    }
}

/// A hand-written impl that returns one raw string.
struct Memo(String);

impl Reducible for Memo {
    fn reduce(&self, _: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        Ok(Value::Str(self.0.clone()))
    }
    fn rebuild(v: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
        match v {
            Value::Str(s) => Ok(Memo(s.clone())),
            other => Err(RebuildError::expected("a string", other)),
        }
    }
}

mod raw_text {
    use super::*;
    // A `with` module's functions take a reference to the field's type.
    #[allow(clippy::ptr_arg)]
    pub fn reduce(s: &String, _: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        Ok(Value::Str(s.clone()))
    }
    pub fn rebuild(v: &Value, _: &mut RebuildCtx) -> Result<String, RebuildError> {
        match v {
            Value::Str(s) => Ok(s.clone()),
            other => Err(RebuildError::expected("a string", other)),
        }
    }
}

/// A derived impl around hand-built parts: a `with` module and a nested
/// hand-written impl, next to ordinary fields.
#[derive(capture_runtime::Reducible)]
struct Ticket {
    id: u32,
    #[reduce(with = raw_text)]
    body: String,
    session: Session,
    secret: String,
}

#[capture_args]
fn open(session: &Session, memo: &Memo, ticket: &Ticket) {
    let _ = (session, memo, ticket);
}

fn session(tag: &str) -> Session {
    Session {
        user: "ann".into(),
        password: format!("pw-{tag}-zz"),
        note: "reach me at ann.lee@example.com".into(),
        headers: vec![
            ("X-Api-Key".into(), format!("hk-{tag}-zz")),
            ("Accept".into(), "text/html".into()),
            ("bob@example.org".into(), "inbox".into()),
        ],
    }
}

#[test]
fn hand_built_trees_are_redacted_once() {
    let (_g, dir) = setup(Config::default());
    let card = card_number(77, 1);
    let ticket = Ticket {
        id: 7,
        body: format!("pay with {card}"),
        session: session("t"),
        secret: "sec-zz-5".into(),
    };
    open(&session("s"), &Memo(format!("card {card}.")), &ticket);
    let call = last(dir.path(), "open");

    // A hand-written struct: the `password` field and the `X-Api-Key` key by
    // name, PII in a string and in a map key by content.
    let s = call.value("session").unwrap();
    assert_eq!(entry(&s, "user"), &Value::Str("ann".into()));
    assert_eq!(
        entry(&s, "password"),
        &Value::Marker(Marker::Redacted {
            reason: "name:password".into(),
            type_name: "string".into()
        })
    );
    assert_eq!(entry(&s, "note"), &Value::Str("reach me at [REDACTED:email]".into()));
    let headers = entry(&s, "headers");
    assert!(matches!(
        entry(headers, "X-Api-Key"),
        Value::Marker(Marker::Redacted { .. })
    ));
    assert_eq!(entry(headers, "Accept"), &Value::Str("text/html".into()));
    assert_eq!(entry(headers, "[REDACTED:email]"), &Value::Str("inbox".into()));
    let rec = call.arg_record("session").unwrap();
    assert_eq!(
        rec.redacted,
        [
            ("session.password".to_string(), "name:password".to_string()),
            ("session.note".to_string(), "pii:email".to_string()),
            ("session.headers".to_string(), "pii:email".to_string()),
            (
                "session.headers[\"X-Api-Key\"]".to_string(),
                "name:X-Api-Key".to_string()
            ),
        ]
    );

    // A hand-written impl returning one string.
    assert_eq!(call.arg::<String>("memo").unwrap(), "card [REDACTED:credit_card].");

    // Inside a derived impl: the `with` module's string and the nested
    // hand-written impl are covered, each report entry once.
    let t = call.value("ticket").unwrap();
    assert_eq!(entry(&t, "id"), &Value::U64(7));
    assert_eq!(entry(&t, "body"), &Value::Str("pay with [REDACTED:credit_card]".into()));
    assert!(matches!(entry(&t, "secret"), Value::Marker(Marker::Redacted { .. })));
    let inner = entry(&t, "session");
    assert!(matches!(
        entry(inner, "password"),
        Value::Marker(Marker::Redacted { .. })
    ));
    let paths: Vec<(&str, &str)> = call
        .arg_record("ticket")
        .unwrap()
        .redacted
        .iter()
        .map(|(p, r)| (p.as_str(), r.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            // Derived fields, redacted while the tree was built.
            ("ticket.secret", "name:secret"),
            // Hand-built parts, by the one pass at the end.
            ("ticket.body", "pii:credit_card"),
            ("ticket.session.password", "name:password"),
            ("ticket.session.note", "pii:email"),
            ("ticket.session.headers", "pii:email"),
            ("ticket.session.headers[\"X-Api-Key\"]", "name:X-Api-Key"),
        ]
    );

    let digits: String = card.chars().filter(char::is_ascii_digit).collect();
    assert_absent(
        dir.path(),
        &[
            "pw-s-zz",
            "pw-t-zz",
            "hk-s-zz",
            "hk-t-zz",
            "sec-zz-5",
            "ann.lee@example.com",
            "bob@example.org",
            &card,
            &digits,
        ],
    );
}

#[test]
fn the_pass_follows_the_policy_in_force() {
    // With no policy (as for cache keys) a hand-built tree is kept whole.
    let s = session("p");
    let plain = s.reduce(&mut EncodeCtx::plain()).unwrap();
    assert_eq!(
        plain.markers().len(),
        0,
        "reduce alone never redacts: the dispatch does, once"
    );
    // Allowed names and detectors that are off are respected.
    let (_g, dir) = setup(Config {
        policy: Some(
            Policy::default()
                .allow_name("password")
                .detectors(capture_runtime::filter::DetectorSet::NONE),
        ),
        ..Config::default()
    });
    open(
        &s,
        &Memo("x".into()),
        &Ticket {
            id: 1,
            body: String::new(),
            session: session("q"),
            secret: String::new(),
        },
    );
    let v = last(dir.path(), "open").value("session").unwrap();
    assert_eq!(entry(&v, "password"), &Value::Str("pw-p-zz".into()));
    assert_eq!(entry(&v, "note"), &Value::Str("reach me at ann.lee@example.com".into()));
    assert!(matches!(
        entry(entry(&v, "headers"), "X-Api-Key"),
        Value::Marker(Marker::Redacted { .. })
    ));
}
