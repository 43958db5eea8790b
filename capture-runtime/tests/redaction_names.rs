//! Names at any depth, beyond plain strings: map keys that are newtypes or
//! unit enum variants (on every encoding path), per-function `redact(..)` and
//! `allow(..)` naming fields and keys that are not arguments, and user
//! filters given as a type and turned off by name.
//!
//! `configure` is process-wide, so every test takes `SERIAL`.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use capture_runtime::filter::{Filter, Policy};
use capture_runtime::reduce::Reducible;
use capture_runtime::value::{to_msgpack, to_value, EncodeCtx, Marker, Value};
use capture_runtime::{capture_args, configure, CaptureLoader, CapturedCall, Codec, Config};
use serde::{Deserialize, Serialize};

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

/// The entry under `name` of a map read back from the store.
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

fn is_redacted(v: &Value, name: &str) -> bool {
    matches!(v, Value::Marker(Marker::Redacted { reason, .. }) if *reason == format!("name:{name}"))
}

fn assert_absent(dir: &Path, needles: &[&str]) {
    let mut files = Vec::new();
    fn walk(p: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push((e.path().display().to_string(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
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

// ------------------------------------------------- newtype and enum keys

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct HeaderName(String);

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum FormField {
    Password,
    Comment,
}

/// Serde only (not `Reducible`): encoded by the serde paths.
#[derive(Serialize, Clone)]
struct Form {
    fields: BTreeMap<FormField, String>,
    headers: HashMap<HeaderName, String>,
}

fn form() -> Form {
    Form {
        fields: [
            (FormField::Password, "pw-key-zz-1".to_string()),
            (FormField::Comment, "hello".to_string()),
        ]
        .into(),
        headers: [
            (HeaderName("X-Api-Key".into()), "hdr-key-zz-2".to_string()),
            (HeaderName("Accept".into()), "text/html".to_string()),
        ]
        .into(),
    }
}

fn check_form(v: &Value) {
    let fields = entry(v, "fields");
    assert!(is_redacted(entry(fields, "Password"), "Password"), "{fields:?}");
    assert_eq!(entry(fields, "Comment"), &Value::Str("hello".into()));
    let headers = entry(v, "headers");
    assert!(is_redacted(entry(headers, "X-Api-Key"), "X-Api-Key"), "{headers:?}");
    assert_eq!(entry(headers, "Accept"), &Value::Str("text/html".into()));
}

#[test]
fn newtype_and_unit_variant_keys_are_names_on_every_encoding_path() {
    let policy = Policy::default();
    let f = form();

    // The tree path and the direct MessagePack path: same bytes, same redaction.
    let mut tree_ctx = EncodeCtx::with_policy(&policy);
    let tree = to_value(&f, &mut tree_ctx).unwrap();
    let mut direct = Vec::new();
    let mut direct_ctx = EncodeCtx::with_policy(&policy);
    to_msgpack(&f, &mut direct_ctx, &mut direct).unwrap();
    assert_eq!(direct, Codec::MsgPack.encode(&tree).unwrap());
    assert_eq!(tree_ctx.report, direct_ctx.report);
    let read_back: Value = Codec::MsgPack.decode(&direct).unwrap();
    check_form(&read_back);
    let paths: Vec<&str> = tree_ctx.report.redacted.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["fields[\"Password\"]", "headers[\"X-Api-Key\"]"]);

    // Reducible maps (`entry_with`): the std impls of BTreeMap and HashMap.
    let mut ctx = EncodeCtx::with_policy(&policy);
    let fields = f.fields.reduce(&mut ctx).unwrap();
    let headers = f.headers.reduce(&mut ctx).unwrap();
    let by_name = |v: &Value, name: &str| match v {
        Value::Map(entries) => entries.iter().find(|(k, _)| k.key_text() == name).unwrap().1.clone(),
        other => panic!("{other:?}"),
    };
    assert!(is_redacted(&by_name(&fields, "Password"), "Password"), "{fields:?}");
    assert_eq!(by_name(&fields, "Comment"), Value::Str("hello".into()));
    assert!(is_redacted(&by_name(&headers, "X-Api-Key"), "X-Api-Key"), "{headers:?}");
    assert_eq!(by_name(&headers, "Accept"), Value::Str("text/html".into()));
}

#[capture_args]
fn submit(form: &Form, fields: &BTreeMap<FormField, String>, headers: &HashMap<HeaderName, String>) {
    let _ = (form, fields, headers);
}

fn submit_and_check(codec: Codec) {
    let (_g, dir) = setup(Config {
        format: Some(codec),
        ..Config::default()
    });
    let f = form();
    submit(&f, &f.fields, &f.headers);
    let call = last(dir.path(), "submit");
    check_form(&call.value("form").unwrap());
    let fields = call.value("fields").unwrap();
    assert!(is_redacted(entry(&fields, "Password"), "Password"));
    let headers = call.value("headers").unwrap();
    assert!(is_redacted(entry(&headers, "X-Api-Key"), "X-Api-Key"));
    assert_absent(dir.path(), &["pw-key-zz-1", "hdr-key-zz-2"]);
}

#[test]
fn newtype_and_enum_keys_are_redacted_in_captures_msgpack() {
    submit_and_check(Codec::MsgPack);
}

#[test]
fn newtype_and_enum_keys_are_redacted_in_captures_json() {
    submit_and_check(Codec::Json);
}

// ------------------------------------------- redact(..) beyond arguments

#[derive(Serialize)]
struct Person {
    name: String,
    ssn: String,
    headers: BTreeMap<String, String>,
}

/// `ssn` and `X-Customer-Ref` are no argument of this function (and no
/// default sensitive name); `X-Key-Id` contains the default `key`.
#[capture_args(redact(ssn, "X-Customer-Ref"), allow("X-Key-Id"))]
fn register(person: &Person) -> usize {
    person.name.len()
}

#[test]
fn redact_names_fields_and_keys_that_are_not_arguments() {
    let (_g, dir) = setup(Config::default());
    let person = Person {
        name: "ann".into(),
        ssn: "ssn-zz-3".into(),
        headers: [
            ("X-Customer-Ref".to_string(), "ref-zz-4".to_string()),
            ("X-Key-Id".to_string(), "k1".to_string()),
            ("Accept".to_string(), "text/html".to_string()),
        ]
        .into(),
    };
    assert_eq!(register(&person), 3);
    let call = last(dir.path(), "register");
    let v = call.value("person").unwrap();
    assert_eq!(entry(&v, "name"), &Value::Str("ann".into()));
    assert!(is_redacted(entry(&v, "ssn"), "ssn"), "{v:?}");
    let headers = entry(&v, "headers");
    assert!(is_redacted(entry(headers, "X-Customer-Ref"), "X-Customer-Ref"));
    assert_eq!(
        entry(headers, "X-Key-Id"),
        &Value::Str("k1".into()),
        "allowed by literal"
    );
    assert_eq!(entry(headers, "Accept"), &Value::Str("text/html".into()));
    assert_absent(dir.path(), &["ssn-zz-3", "ref-zz-4"]);
}

// ------------------------------------------------ filters by type and name

/// A user filter as a type implementing `Filter`.
struct InternalHosts;

impl Filter for InternalHosts {
    fn redact(&self, s: &str) -> Option<String> {
        s.contains(".corp.internal")
            .then(|| s.replace("db1.corp.internal", "[REDACTED:internal_host]"))
    }
}

#[capture_args]
fn connect(target: &str) {
    let _ = target;
}

#[test]
fn a_filter_type_runs_by_name_and_can_be_turned_off_by_name() {
    let policy = Policy::default().filter("internal_host", InternalHosts);
    {
        let (_g, dir) = setup(Config {
            policy: Some(policy.clone()),
            ..Config::default()
        });
        connect("host db1.corp.internal");
        let call = last(dir.path(), "connect");
        assert_eq!(call.arg::<String>("target").unwrap(), "host [REDACTED:internal_host]");
        let rec = call.arg_record("target").unwrap();
        assert_eq!(rec.redacted, [("target".to_string(), "pii:internal_host".to_string())]);
    }
    let (_g, dir) = setup(Config {
        policy: Some(policy.without_filter("internal_host")),
        ..Config::default()
    });
    connect("host db1.corp.internal");
    let call = last(dir.path(), "connect");
    assert_eq!(call.arg::<String>("target").unwrap(), "host db1.corp.internal");
    assert!(call.arg_record("target").unwrap().redacted.is_empty());
}
