//! Redaction, filters and size limits, observed through real
//! `#[capture_args]` functions. Sampling, the production preset and the
//! store quota are in `sampling_quota.rs`.
//!
//! `configure` is process-wide, so every test takes the lock in
//! `support::setup` and configures its own temporary store.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use capture_runtime::filter::{DetectorSet, PiiKind, Policy};
use capture_runtime::record::Slot;
use capture_runtime::value::{Marker, Value};
use capture_runtime::{capture_args, Config};
use serde::ser::Error as _;
use serde::{Serialize, Serializer};

use support::{card_number, iban, last, setup};

/// The value of field `name` in a struct read back from the store (a map).
fn field<'v>(v: &'v Value, name: &str) -> &'v Value {
    match v {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| matches!(k, Value::Str(s) if s == name))
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no field {name} in {v:?}")),
        other => panic!("not a map: {other:?}"),
    }
}

fn text(v: &Value) -> &str {
    match v {
        Value::Str(s) => s,
        other => panic!("not a string: {other:?}"),
    }
}

// ------------------------------------------------------------ by name

#[derive(Serialize, Clone, Debug)]
struct Login {
    user: String,
    password: String,
    profile: Profile,
}

#[derive(Serialize, Clone, Debug)]
#[allow(non_snake_case)]
struct Profile {
    display: String,
    apiKey: u64,
    headers: BTreeMap<String, String>,
}

#[capture_args]
fn sign_in(login: &Login, session_id: &str, attempt: u32) {
    let _ = (login, session_id, attempt);
}

fn login() -> Login {
    Login {
        user: "ann".into(),
        password: "hunter2-zz".into(),
        profile: Profile {
            display: "Ann".into(),
            apiKey: 0xDEAD_BEEF_F00D,
            headers: [
                ("X-Auth-Token".to_string(), "tok-zz-1".to_string()),
                ("Accept".to_string(), "text/html".to_string()),
            ]
            .into(),
        },
    }
}

#[test]
fn names_are_redacted_at_any_depth_with_their_type() {
    let (_g, dir) = setup(Config::default());
    sign_in(&login(), "sess-zz-9", 1);
    let call = last(dir.path(), "sign_in");

    // A sensitive argument name: not stored at all.
    let sid = call.arg_record("session_id").unwrap();
    assert_eq!(
        sid.slot,
        Slot::Redacted {
            reason: "name:session_id".into()
        }
    );
    assert_eq!(call.arg_record("attempt").unwrap().slot.missing_reason(), None);

    // Fields and map keys: a marker with the reason and the type, never the value.
    let v = call.value("login").unwrap();
    assert_eq!(text(field(&v, "user")), "ann");
    assert_eq!(
        field(&v, "password"),
        &Value::Marker(Marker::Redacted {
            reason: "name:password".into(),
            type_name: "alloc::string::String".into()
        })
    );
    let profile = field(&v, "profile");
    assert_eq!(
        field(profile, "apiKey"),
        &Value::Marker(Marker::Redacted {
            reason: "name:apiKey".into(),
            type_name: "u64".into()
        })
    );
    let headers = field(profile, "headers");
    assert!(matches!(
        field(headers, "X-Auth-Token"),
        Value::Marker(Marker::Redacted { .. })
    ));
    assert_eq!(text(field(headers, "Accept")), "text/html");

    // The record says what was redacted, where, and that the call cannot be
    // replayed as is.
    let rec = call.arg_record("login").unwrap();
    let paths: Vec<&str> = rec.redacted.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "login.password",
            "login.profile.apiKey",
            "login.profile.headers[\"X-Auth-Token\"]"
        ]
    );
    let reasons = call.metadata().not_replayable_reasons();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("`login` has redacted parts"), "{reasons:?}");
    assert!(reasons[1].contains("`session_id`: redacted"), "{reasons:?}");

    // Nothing of the secrets anywhere in the store.
    assert_no_bytes(
        dir.path(),
        &[
            b"hunter2-zz",
            b"tok-zz-1",
            b"sess-zz-9",
            &0xDEAD_BEEF_F00Du64.to_be_bytes(),
        ],
    );
}

fn assert_no_bytes(dir: &Path, needles: &[&[u8]]) {
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
    for n in needles {
        for (name, bytes) in &files {
            assert!(
                !bytes.windows(n.len()).any(|w| w == *n),
                "{:?} found in {name}",
                String::from_utf8_lossy(n)
            );
        }
    }
}

#[derive(Serialize)]
#[allow(dead_code)]
enum Credential {
    Password(String),
    ApiKey { id: u32, value: String },
    Pin(u16, u16),
    Anonymous,
}

#[capture_args]
fn authenticate(creds: &[Credential]) {
    let _ = creds;
}

#[test]
fn enum_variants_with_sensitive_names_hide_their_payload() {
    let (_g, dir) = setup(Config::default());
    authenticate(&[
        Credential::Password("pw-zz-3".into()),
        Credential::ApiKey {
            id: 9,
            value: "key-zz-4".into(),
        },
        Credential::Pin(12, 34),
        Credential::Anonymous,
    ]);
    let call = last(dir.path(), "authenticate");
    let Value::Seq(items) = call.value("creds").unwrap() else {
        panic!()
    };
    let redacted = |v: &Value, name: &str, ty: &str| {
        assert_eq!(
            field(v, name),
            &Value::Marker(Marker::Redacted {
                reason: format!("name:{name}"),
                type_name: ty.into()
            })
        )
    };
    redacted(&items[0], "Password", "alloc::string::String");
    redacted(&items[1], "ApiKey", "Credential::ApiKey");
    assert_eq!(
        field(&items[2], "Pin"),
        &Value::Seq(vec![Value::U64(12), Value::U64(34)])
    );
    assert_eq!(items[3], Value::Str("Anonymous".into()));
    let paths: Vec<&str> = call
        .arg_record("creds")
        .unwrap()
        .redacted
        .iter()
        .map(|(p, _)| p.as_str())
        .collect();
    assert_eq!(paths, ["creds[0].Password", "creds[1].ApiKey"]);
    assert_no_bytes(dir.path(), &[b"pw-zz-3", b"key-zz-4"]);
}

// ------------------------------------------------------------ overrides

#[derive(Serialize)]
struct Usage {
    token_count: u32,
    card: String,
}

#[capture_args(redact(card, pin_code), allow(token_count))]
fn bill(card: &str, token_count: u32, usage: &Usage, pin_code: u16) {
    let _ = (card, token_count, usage, pin_code);
}

#[test]
fn attribute_redact_and_allow_override_defaults() {
    let (_g, dir) = setup(Config::default());
    let usage = Usage {
        token_count: 7,
        card: "gift card 12".into(),
    };
    bill("visa gold", 42, &usage, 1234);
    let call = last(dir.path(), "bill");
    // `token_count` contains the default `token` but is allowed; `card` and
    // `pin_code` are added, as arguments and as fields.
    assert!(matches!(call.arg_record("card").unwrap().slot, Slot::Redacted { .. }));
    assert!(matches!(
        call.arg_record("pin_code").unwrap().slot,
        Slot::Redacted { .. }
    ));
    assert_eq!(call.arg::<u32>("token_count").unwrap(), 42);
    let v = call.value("usage").unwrap();
    assert_eq!(field(&v, "token_count"), &Value::U64(7));
    assert!(matches!(field(&v, "card"), Value::Marker(Marker::Redacted { .. })));
}

#[capture_args]
fn contact(note: &str, email: &str, tags: &[String]) {
    let _ = (note, email, tags);
}

#[test]
fn config_ignore_filters_and_detector_toggles() {
    let policy = Policy::default().filter("internal_host", |s: &str| {
        s.contains(".corp.internal")
            .then(|| s.replace("db1.corp.internal", "[REDACTED:internal_host]"))
    });
    let (_g, dir) = setup(Config {
        ignore_args: vec!["note".into()],
        policy: Some(policy),
        detectors: Some(DetectorSet::NONE.with(PiiKind::Email)),
        ..Config::default()
    });
    let card = card_number(1234, 1);
    contact(
        "private note",
        "mail ann@example.com",
        &[format!("card {card}"), "host db1.corp.internal".into()],
    );
    let call = last(dir.path(), "contact");
    assert_eq!(call.arg_record("note").unwrap().slot, Slot::Ignored);
    assert_eq!(call.arg::<String>("email").unwrap(), "mail [REDACTED:email]");
    // The card detector is off: the card is kept. The user filter ran, by name.
    let tags: Vec<String> = call.arg("tags").unwrap();
    assert_eq!(
        tags,
        [format!("card {card}"), "host [REDACTED:internal_host]".to_string()]
    );
    let rec = call.arg_record("tags").unwrap();
    assert_eq!(rec.redacted, [("tags[1]".to_string(), "pii:internal_host".to_string())]);
}

// ------------------------------------------------------------ detectors

#[capture_args]
fn remember(lines: &[String], by_topic: &HashMap<String, Vec<String>>) {
    let _ = (lines, by_topic);
}

const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";

#[test]
fn each_detector_redacts_at_any_depth_and_keeps_look_alikes() {
    let (_g, dir) = setup(Config::default());
    let positives = [
        (
            "write to ann.lee+x@mail.example.org today",
            "write to [REDACTED:email] today",
        ),
        (
            &*format!("card {} exp 12/29", card_number(99, 0)),
            "card [REDACTED:credit_card] exp 12/29",
        ),
        (&*format!("card {}", card_number(7, 2)), "card [REDACTED:credit_card]"),
        ("ssn 123-45-6789.", "ssn [REDACTED:us_ssn]."),
        (&*format!("iban {}", iban(5, true)), "iban [REDACTED:iban]"),
        (
            &*format!("Authorization: Bearer {JWT}"),
            "Authorization: Bearer [REDACTED:jwt]",
        ),
        (
            "Authorization: Bearer abc123def456",
            "Authorization: Bearer [REDACTED:bearer_token]",
        ),
    ];
    let negatives = [
        "order 1234567812345678 shipped", // 16 digits, fails Luhn
        "call 555-1234 or 555-12-345",
        "ssn-like 000-12-3456 and 666-12-3456",
        "version 1.2.3@build.7",
        "Bearer authentication is required",
        "user@localhost",
        "DE00123456781234567890",
    ];
    let lines: Vec<String> = positives.iter().map(|(p, _)| p.to_string()).collect();
    let by_topic: HashMap<String, Vec<String>> = [
        ("deep".to_string(), lines.clone()),
        ("kept".to_string(), negatives.iter().map(|s| s.to_string()).collect()),
    ]
    .into();
    remember(&lines, &by_topic);
    let call = last(dir.path(), "remember");
    let got: Vec<String> = call.arg("lines").unwrap();
    let want: Vec<&str> = positives.iter().map(|(_, r)| *r).collect();
    assert_eq!(got, want);
    let got: HashMap<String, Vec<String>> = call.arg("by_topic").unwrap();
    assert_eq!(got["deep"], want);
    assert_eq!(got["kept"], negatives);
}

// ------------------------------------------------------------ size and types

#[derive(Serialize)]
struct Upload {
    name: String,
    chunks: Vec<u64>,
    trailer: String,
}

#[capture_args(max_size = "512")]
fn upload(upload: &Upload, blob: &str, ids: &[u64]) {
    let _ = (upload, blob, ids);
}

#[test]
fn size_limit_truncates_with_markers_saying_what_was_dropped() {
    let (_g, dir) = setup(Config::default());
    let up = Upload {
        name: "report.pdf".into(),
        chunks: (0..1000).collect(),
        trailer: "end".into(),
    };
    upload(&up, &"x".repeat(4096), &(0..20).collect::<Vec<_>>());
    let call = last(dir.path(), "upload");

    // A single value over the limit: the argument is dropped, with its size limit.
    assert_eq!(call.arg_record("blob").unwrap().slot, Slot::TooLarge { limit: 512 });
    // Under the limit: untouched.
    assert_eq!(call.arg::<Vec<u64>>("ids").unwrap(), (0..20).collect::<Vec<_>>());

    // A container over the limit: kept up to it, then one marker per open
    // container saying what was dropped.
    let v = call.value("upload").unwrap();
    assert_eq!(text(field(&v, "name")), "report.pdf");
    let Value::Seq(items) = field(&v, "chunks") else {
        panic!()
    };
    let Some(Value::Marker(Marker::TooLarge { limit: 512, what })) = items.last() else {
        panic!("{items:?}")
    };
    let kept = items.len() - 1;
    assert!(kept > 10 && kept < 100, "{kept}");
    assert_eq!(what, &format!("{} of 1000 elements", 1000 - kept));
    assert!(items[..kept]
        .iter()
        .enumerate()
        .all(|(i, x)| x == &Value::U64(i as u64)));
    assert_eq!(
        field(&v, "trailer"),
        &Value::Marker(Marker::TooLarge {
            limit: 512,
            what: "field `trailer`".into()
        })
    );
    let rec = call.arg_record("upload").unwrap();
    let reasons: Vec<&str> = rec.redacted.iter().map(|(_, r)| r.as_str()).collect();
    assert!(
        reasons[0].starts_with("too_large:") && reasons[0].contains("of 1000 elements"),
        "{reasons:?}"
    );
    assert!(!call.metadata().not_replayable_reasons().is_empty());
}

#[derive(Serialize, Debug)]
struct Blob(Vec<u8>);

#[derive(Serialize, Debug)]
struct Envelope {
    to: String,
    attachment: Blob,
}

#[capture_args]
fn send(envelope: &Envelope) {
    let _ = envelope;
}

#[test]
fn types_skipped_by_name() {
    let (_g, dir) = setup(Config {
        policy: Some(Policy::default().skip_type("Blob")),
        ..Config::default()
    });
    send(&Envelope {
        to: "team".into(),
        attachment: Blob(vec![1, 2, 3]),
    });
    let call = last(dir.path(), "send");
    let v = call.value("envelope").unwrap();
    let Value::Marker(Marker::Placeholder { type_name, reason, .. }) = field(&v, "attachment") else {
        panic!("{v:?}")
    };
    assert_eq!(
        (type_name.as_str(), reason.as_str()),
        ("Blob", "type skipped by policy")
    );
    let rec = call.arg_record("envelope").unwrap();
    assert_eq!(
        rec.redacted,
        [("envelope.attachment".to_string(), "type:Blob".to_string())]
    );
}

// ------------------------------------------------------------ error paths

struct Faulty(String);

impl Serialize for Faulty {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom(format!("rejected value {}", self.0)))
    }
}

#[derive(Serialize)]
struct Wrapper {
    inner: Vec<Faulty>,
}

#[derive(Debug)]
#[allow(dead_code)]
struct Handle {
    fd: i32,
    auth_token: String,
    owner: String,
}

#[capture_args]
fn risky(faulty: &Wrapper, handle: &Handle) {
    let _ = (faulty, handle);
}

#[test]
fn error_messages_and_debug_text_never_carry_values() {
    let (_g, dir) = setup(Config::default());
    risky(
        &Wrapper {
            inner: vec![Faulty("s3cr3t-zz".into())],
        },
        &Handle {
            fd: 3,
            auth_token: "tok-zz-2".into(),
            owner: "bob@example.com".into(),
        },
    );
    let call = last(dir.path(), "risky");
    let Slot::Failed { error } = &call.arg_record("faulty").unwrap().slot else {
        panic!()
    };
    assert_eq!(
        error,
        "the type's Serialize impl returned an error (message withheld: it may quote the value) (at `faulty.inner[0]`)"
    );
    let Slot::Placeholder { debug: Some(debug), .. } = &call.arg_record("handle").unwrap().slot else {
        panic!()
    };
    assert_eq!(
        debug,
        r#"Handle { fd: 3, auth_token: [REDACTED], owner: "[REDACTED:email]" }"#
    );
    let logged = capture_runtime::config::reported_messages().join("\n");
    assert!(logged.contains("argument `faulty`"), "{logged}");
    for secret in ["s3cr3t-zz", "tok-zz-2", "bob@example.com"] {
        assert!(!logged.contains(secret));
    }
    assert_no_bytes(dir.path(), &[b"s3cr3t-zz", b"tok-zz-2", b"bob@example.com"]);
}
