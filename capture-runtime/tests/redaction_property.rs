//! Property: whatever nested value a captured function receives, no secret
//! (a value under a sensitive field name or map key, at any depth) and no PII
//! inside a string (e-mail, card, SSN, IBAN, JWT, bearer token) reaches any
//! byte under the store, nor any log line (tracing events and the messages
//! `report_once` sends to stderr).
//!
//! Each case captures one call of a real `#[capture_args(ret)]` function
//! (serde arguments, a `Debug`-only placeholder, a `Serialize` impl whose
//! error quotes its secret, a sensitive argument name) into a fresh store
//! folder, then reads every file under it. Temp files hold exactly the bytes
//! that are then renamed into place, and any left behind are read too.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use capture_runtime::{capture_args, configure, Codec, Config};
use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestCaseError};
use serde::ser::Error as _;
use serde::{Serialize, Serializer};

use support::{b62, card_number, iban, LogRecorder};

// ------------------------------------------------------------------ types

#[derive(Serialize, Debug, Clone)]
enum Node {
    Text(String),
    Num(u64),
    Login { password: String, label: String },
    Token(String),
    List(Vec<Node>),
    Map(BTreeMap<String, Node>),
    Maybe(Option<Box<Node>>),
    Account(Box<Account>),
}

#[derive(Serialize, Debug, Clone)]
#[allow(non_snake_case)]
struct Account {
    user: String,
    api_key: u64,
    creds: Creds,
    bio: String,
    meta: HashMap<String, String>,
}

#[derive(Serialize, Debug, Clone)]
#[allow(non_snake_case)]
struct Creds {
    userPassword: String,
    refresh_token: Option<String>,
    #[serde(rename = "X-Session-Id")]
    sid: String,
    hint: String,
}

/// No `Serialize`: captured as a placeholder with (scrubbed) `Debug` text.
#[derive(Debug, Clone)]
#[allow(dead_code)]
struct Opaque {
    id: u32,
    private_key: String,
    note: String,
}

/// A `Serialize` impl whose error message quotes the secret it holds.
#[derive(Debug, Clone)]
struct Exploding(String);

impl Serialize for Exploding {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom(format!("cannot serialize secret {}", self.0)))
    }
}

#[capture_args(ret)]
fn handle(node: &Node, account: &Account, opaque: &Opaque, boom: &Exploding, password: &str) -> Node {
    let _ = (account, opaque, boom, password);
    node.clone()
}

// ------------------------------------------------------------- strategies

/// A generated value and every secret it carries (bytes that must never be
/// found under the store or in a log line).
type G<T> = (T, Vec<Vec<u8>>);

const WORDS: &[&str] = &[
    "alpha", "bravo", "order", "total", "ship", "to", "the", "customer", "note", "pay", "with", "reach", "at", "via",
    "ok",
];
const SENSITIVE_KEYS: &[&str] = &[
    "password",
    "apiKey",
    "X-Auth-Token",
    "db_password",
    "refreshToken",
    "SESSION_ID",
    "csrf-token",
    "Cookie",
    "private_key",
    "client_secret",
    "authorization",
    "oauth_token",
    "passwd",
    "accessTokens",
];

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(WORDS).prop_map(str::to_owned)
}

/// A random secret: 16-22 base-62 characters.
fn secret() -> impl Strategy<Value = String> {
    any::<u128>().prop_map(|n| b62(n | (1 << 100)))
}

/// One PII item as it appears in text, and the bytes that identify it.
fn pii() -> impl Strategy<Value = (String, Vec<Vec<u8>>)> {
    let email = (any::<u64>(), word(), prop::sample::select(&["com", "org", "io"][..]))
        .prop_map(|(n, host, tld)| format!("{}@{host}.{tld}", b62(n as u128 | 1 << 40).to_lowercase()));
    let card = (any::<u64>(), 0..3u8).prop_map(|(n, style)| card_number(n, style));
    let ssn = (1..=899u32, 1..=99u32, 1..=9999u32)
        .prop_filter("valid area", |(a, _, _)| *a != 666)
        .prop_map(|(a, g, s)| format!("{a:03}-{g:02}-{s:04}"));
    let iban = (any::<u64>(), any::<bool>()).prop_map(|(n, grouped)| iban(n, grouped));
    let jwt = (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(a, b, c)| {
        format!(
            "eyJ{}.{}.{}",
            b62(a as u128 | 1 << 30),
            b62(b as u128 | 1 << 30),
            b62(c as u128 | 1 << 30)
        )
    });
    let bearer = any::<u64>().prop_map(|n| format!("Bearer {}7", b62(n as u128 | 1 << 50)));
    prop_oneof![email, card, ssn, iban, jwt, bearer].prop_map(|text| {
        let mut needles = vec![text.clone().into_bytes()];
        if let Some(token) = text.strip_prefix("Bearer ") {
            needles = vec![token.as_bytes().to_vec()];
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 13 && text.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-') {
            needles.push(digits.into_bytes());
        }
        (text, needles)
    })
}

/// Free text: words with PII items among them.
fn pii_text() -> impl Strategy<Value = G<String>> {
    prop::collection::vec(prop_oneof![3 => word().prop_map(|w| (w, vec![])), 2 => pii()], 0..6).prop_map(|parts| {
        let mut secrets = Vec::new();
        let words: Vec<String> = parts
            .into_iter()
            .map(|(w, s)| {
                secrets.extend(s);
                w
            })
            .collect();
        (words.join(" "), secrets)
    })
}

/// A value that sits under a sensitive name: all of it is secret.
fn secret_node() -> impl Strategy<Value = G<Node>> {
    prop_oneof![
        secret().prop_map(|s| (Node::Text(s.clone()), vec![s.into_bytes()])),
        (1u64 << 40..u64::MAX).prop_map(|n| (Node::Num(n), number_needles(n))),
        prop::collection::vec(secret(), 1..3).prop_map(|v| {
            let secrets = v.iter().map(|s| s.clone().into_bytes()).collect();
            (Node::List(v.into_iter().map(Node::Text).collect()), secrets)
        }),
    ]
}

/// How a secret number could show up on disk: MessagePack's big-endian
/// bytes, or its decimal text (JSON).
fn number_needles(n: u64) -> Vec<Vec<u8>> {
    vec![n.to_be_bytes().to_vec(), n.to_string().into_bytes()]
}

fn account() -> impl Strategy<Value = G<Account>> {
    (
        word(),
        1u64 << 40..u64::MAX,
        (secret(), prop::option::of(secret()), secret(), pii_text()),
        pii_text(),
        prop::collection::vec(
            (
                prop_oneof![word(), prop::sample::select(SENSITIVE_KEYS).prop_map(str::to_owned)],
                secret(),
            ),
            0..4,
        ),
    )
        .prop_map(|(user, api_key, (pw, refresh, sid, hint), bio, meta)| {
            let mut secrets = number_needles(api_key);
            secrets.push(pw.clone().into_bytes());
            secrets.extend(refresh.iter().map(|r| r.clone().into_bytes()));
            secrets.push(sid.clone().into_bytes());
            secrets.extend(hint.1);
            secrets.extend(bio.1);
            let mut map = HashMap::new();
            for (k, v) in meta {
                if SENSITIVE_KEYS.contains(&k.as_str()) {
                    secrets.push(v.clone().into_bytes());
                }
                map.insert(k, v);
            }
            let creds = Creds {
                userPassword: pw,
                refresh_token: refresh,
                sid,
                hint: hint.0,
            };
            (
                Account {
                    user,
                    api_key,
                    creds,
                    bio: bio.0,
                    meta: map,
                },
                secrets,
            )
        })
}

fn node() -> impl Strategy<Value = G<Node>> {
    let leaf = prop_oneof![
        3 => pii_text().prop_map(|(t, s)| (Node::Text(t), s)),
        1 => (secret(), word()).prop_map(|(p, label)| (Node::Login { password: p.clone(), label }, vec![p.into_bytes()])),
        1 => any::<u32>().prop_map(|n| (Node::Num(n.into()), vec![])),
        1 => secret().prop_map(|s| (Node::Token(s.clone()), vec![s.into_bytes()])),
    ];
    leaf.prop_recursive(3, 20, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|items| {
                let (nodes, secrets): (Vec<_>, Vec<_>) = items.into_iter().unzip();
                (Node::List(nodes), secrets.concat())
            }),
            prop::collection::vec(
                prop_oneof![
                    2 => (word(), inner.clone()),
                    1 => (prop::sample::select(SENSITIVE_KEYS).prop_map(str::to_owned), secret_node()),
                    1 => (pii().prop_map(|(t, _)| t), inner.clone()),
                ],
                0..4
            )
            .prop_map(|entries| {
                let mut secrets = Vec::new();
                let mut map = BTreeMap::new();
                for (k, (n, s)) in entries {
                    secrets.extend(s);
                    if !WORDS.contains(&k.as_str()) && !SENSITIVE_KEYS.contains(&k.as_str()) {
                        // A PII map key.
                        secrets.push(k.clone().into_bytes());
                    }
                    map.insert(k, n);
                }
                (Node::Map(map), secrets)
            }),
            prop::option::of(inner.clone()).prop_map(|o| match o {
                Some((n, s)) => (Node::Maybe(Some(Box::new(n))), s),
                None => (Node::Maybe(None), vec![]),
            }),
            account().prop_map(|(a, s)| (Node::Account(Box::new(a)), s)),
        ]
    })
}

fn case() -> impl Strategy<Value = (Node, Account, Opaque, Exploding, String, Vec<Vec<u8>>)> {
    (
        node(),
        account(),
        (any::<u32>(), secret(), pii_text()),
        secret(),
        secret(),
    )
        .prop_map(|((n, mut secrets), (a, s2), (id, key, note), boom, pw)| {
            secrets.extend(s2);
            secrets.push(key.clone().into_bytes());
            secrets.extend(note.1);
            secrets.push(boom.clone().into_bytes());
            secrets.push(pw.clone().into_bytes());
            let opaque = Opaque {
                id,
                private_key: key,
                note: note.0,
            };
            (n, a, opaque, Exploding(boom), pw, secrets)
        })
}

// ------------------------------------------------------------------ checks

/// Fold a byte into ASCII so any haystack is a valid `str` and the search
/// runs in the standard library's (optimised) substring searcher, even in a
/// debug build. Folding can only add false candidates, which are re-checked.
fn fold(bytes: &[u8]) -> String {
    let folded: Vec<u8> = bytes.iter().map(|b| b & 0x7f).collect();
    String::from_utf8(folded).expect("ASCII")
}

fn find(hay: &[u8], folded_hay: &str, needle: &[u8]) -> Option<usize> {
    let folded_needle = fold(needle);
    let mut from = 0;
    while let Some(i) = folded_hay[from..].find(&folded_needle) {
        let at = from + i;
        if &hay[at..at + needle.len()] == needle {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p.display().to_string(), b));
        }
    }
}

fn check_no_leak(dir: &Path, logs: &LogRecorder, secrets: &[Vec<u8>]) -> Result<usize, TestCaseError> {
    let mut all = Vec::new();
    files(dir, &mut all);
    let mut log_text = logs.text().into_bytes();
    for m in capture_runtime::config::reported_messages() {
        log_text.extend_from_slice(b"capture: ");
        log_text.extend_from_slice(m.as_bytes());
        log_text.push(b'\n');
    }
    all.push(("<log lines>".into(), log_text));
    let folded: Vec<String> = all.iter().map(|(_, b)| fold(b)).collect();
    for s in secrets {
        for ((name, bytes), folded) in all.iter().zip(&folded) {
            if let Some(at) = find(bytes, folded, s) {
                let lo = at.saturating_sub(40);
                let hi = (at + s.len() + 40).min(bytes.len());
                return Err(TestCaseError::fail(format!(
                    "secret {:?} found in {name} at byte {at}: …{}…",
                    String::from_utf8_lossy(s),
                    String::from_utf8_lossy(&bytes[lo..hi])
                )));
            }
        }
    }
    Ok(all.len())
}

/// Run `cases` captures with `codec` and check every one.
fn run(cases: u32, codec: Codec) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let logs = LogRecorder::install();
    let root = support::tempdir();
    let dir = root.path().join("store");
    configure(Config {
        dir: Some(dir.clone()),
        format: Some(codec),
        retention: Some(1),
        ..Config::default()
    });
    let written = Arc::new(Mutex::new(0usize));
    let w = written.clone();
    let mut runner = proptest::test_runner::TestRunner::new(PropConfig {
        cases,
        failure_persistence: None,
        ..PropConfig::default()
    });
    runner
        .run(&case(), move |(node, account, opaque, boom, pw, secrets)| {
            let _ = std::fs::remove_dir_all(&dir);
            let out = handle(&node, &account, &opaque, &boom, &pw);
            // The function behaves exactly as written.
            prop_assert_eq!(format!("{out:?}"), format!("{node:?}"));
            let n = check_no_leak(&dir, &logs, &secrets)?;
            // The capture happened: at least the record and some objects.
            prop_assert!(n >= 3, "only {} files written", n - 1);
            *w.lock().unwrap() += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(*written.lock().unwrap(), cases as usize);
    // The withheld serializer error was reported, without its message.
    let reported = capture_runtime::config::reported_messages();
    assert!(
        reported
            .iter()
            .any(|m| m.contains("`boom`") && m.contains("message withheld")),
        "{reported:?}"
    );
}

#[test]
fn no_secret_reaches_disk_or_logs_msgpack() {
    run(10_000, Codec::MsgPack);
}

#[test]
fn no_secret_reaches_disk_or_logs_json() {
    run(500, Codec::Json);
}
