//! Property: whatever nested value a captured function receives, no secret
//! (a value under a sensitive field name or map key, at any depth) and no PII
//! inside a string (e-mail, card, SSN, IBAN, JWT, bearer token), nor any
//! 8-byte piece of one, reaches any byte written under the store, nor any
//! log line (tracing events and the messages `report_once` sends to stderr).
//!
//! Each case captures one call of a real `#[capture_args(ret)]` function
//! (serde arguments with string, newtype and enum map keys; a derived
//! `Reducible` value with a `with` module and a hand-written `Reducible`
//! part; a `Debug`-only placeholder; a `Serialize` impl whose error quotes
//! its secret; a sensitive argument name; PII next to punctuation and
//! non-ASCII text) into a fresh store folder. It then reads every temp file
//! at the moment it was written (before it was renamed or linked into place),
//! every file left under the store, and every log line.
//!
//! Three runs: 10,000 cases with the default settings (MessagePack, the
//! synchronous writer), 500 with JSON files, and 1,000 with the production
//! preset sampling every call (background writer, 16 KiB size limit over
//! large arguments, retention 1, the store quota).

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use capture_runtime::reduce::{RebuildCtx, RebuildError, Reducible};
use capture_runtime::value::{EncodeCtx, EncodeError, Value};
use capture_runtime::{capture_args, configure, Codec, Config};
use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, TestCaseError};
use serde::ser::Error as _;
use serde::{Deserialize, Serialize, Serializer};

use support::leaks::{files, take_temp_files, watch_temp_files, Needles};
use support::LogRecorder;

// ------------------------------------------------------------------ types

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct HeaderName(String);

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum FormField {
    Password,
    ApiKey,
    Comment,
    Email,
}

impl FormField {
    fn sensitive(self) -> bool {
        matches!(self, FormField::Password | FormField::ApiKey)
    }
}

#[derive(Serialize, Debug, Clone)]
enum Node {
    Text(String),
    Num(u64),
    Login { password: String, label: String },
    Token(String),
    List(Vec<Node>),
    Map(BTreeMap<String, Node>),
    Headers(BTreeMap<HeaderName, String>),
    Form(BTreeMap<FormField, String>),
    Maybe(Option<Box<Node>>),
    Account(Box<Account>),
}

#[derive(Serialize, Debug, Clone)]
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

/// A map key as a hand-written `Reducible` impl writes it.
#[derive(Debug, Clone)]
enum VaultKey {
    Plain(String),
    Header(HeaderName),
    Field(FormField),
}

/// A hand-written `Reducible` impl that puts everything in its tree as is.
#[derive(Debug, Clone)]
struct Vault {
    label: String,
    secret: String,
    memo: String,
    entries: Vec<(VaultKey, String)>,
}

impl Reducible for Vault {
    fn reduce(&self, _: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        let entries = self
            .entries
            .iter()
            .map(|(k, v)| {
                let key = match k {
                    VaultKey::Plain(s) => Value::Str(s.clone()),
                    VaultKey::Header(h) => Value::Newtype("HeaderName".into(), Box::new(Value::Str(h.0.clone()))),
                    VaultKey::Field(f) => Value::Variant(Box::new(capture_runtime::value::Variant {
                        enum_name: "FormField".into(),
                        variant: format!("{f:?}").into(),
                        index: *f as u32,
                        body: capture_runtime::value::VariantBody::Unit,
                    })),
                };
                (key, Value::Str(v.clone()))
            })
            .collect();
        Ok(Value::Struct(
            "Vault".into(),
            vec![
                ("label".into(), Value::Str(self.label.clone())),
                ("secret".into(), Value::Str(self.secret.clone())),
                ("memo".into(), Value::Str(self.memo.clone())),
                ("entries".into(), Value::Map(entries)),
            ],
        ))
    }
    fn rebuild(_: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
        Err(RebuildError::new("not rebuilt in this test"))
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
        capture_runtime::reduce::from_value(v)
    }
}

/// A derived `Reducible` value: maps with enum and newtype keys (the std
/// impls), a `with` module and a hand-written part.
#[derive(capture_runtime::Reducible, Debug, Clone)]
struct Profile {
    name: String,
    #[reduce(with = raw_text)]
    bio: String,
    fields: BTreeMap<FormField, String>,
    headers: HashMap<HeaderName, String>,
    vault: Vault,
    api_key: String,
}

/// `call` differs from call to call, so the background writer never takes
/// a case for a repeat of the previous one (and skips writing it). One
/// argument per way of encoding, hence their number.
#[allow(clippy::too_many_arguments)]
#[capture_args(ret)]
fn handle(
    call: u64,
    node: &Node,
    account: &Account,
    profile: &Profile,
    bulk: &[Account],
    opaque: &Opaque,
    boom: &Exploding,
    password: &str,
) -> Node {
    let _ = (call, account, profile, bulk, opaque, boom, password);
    node.clone()
}

// ------------------------------------------------------------- strategies

#[path = "redaction_property/strategies.rs"]
mod strategies;
use strategies::{case, Case};

// ------------------------------------------------------------------ checks

/// Every temp file written since the last call, every file under `dir`
/// and the log lines; `Err` names the first piece of a secret found. Every
/// file with content under the store must have been seen as a temp file
/// first (so the temp files seen are all there were), and is not searched
/// twice. Returns how many files there are under the store, and whether
/// the size limit dropped something (a `too_large` slot or marker).
fn check_no_leak(dir: &Path, logs: &LogRecorder, secrets: &[Vec<u8>]) -> Result<(usize, bool), TestCaseError> {
    let mut all = take_temp_files();
    let mut stored = Vec::new();
    files(dir, &mut stored);
    let n_stored = stored.len();
    let too_large = stored.iter().any(|(_, b)| b.windows(9).any(|w| w == b"too_large"));
    for (name, bytes) in stored {
        if !all.iter().any(|(_, b)| *b == bytes) {
            // Lock files are created empty, not through a temp file, and a
            // call folder's lock holds nothing but its 8-byte write count
            // (it is still searched for secrets below, like every file).
            let lock_file = bytes.is_empty() || (name.ends_with("/.lock") && bytes.len() == 8);
            if !lock_file {
                return Err(TestCaseError::fail(format!(
                    "{name} was not written through an observed temp file"
                )));
            }
            all.push((name, bytes));
        }
    }
    let mut log_text = logs.text().into_bytes();
    for m in capture_runtime::config::reported_messages() {
        log_text.extend_from_slice(b"capture: ");
        log_text.extend_from_slice(m.as_bytes());
        log_text.push(b'\n');
    }
    all.push(("<log lines>".into(), log_text));
    let needles = Needles::new(secrets);
    for (name, bytes) in &all {
        if bytes.starts_with(b"<unreadable") {
            return Err(TestCaseError::fail(format!("temp file {name} could not be read")));
        }
        if let Some(hit) = needles.find(bytes) {
            return Err(TestCaseError::fail(needles.describe(hit, name, bytes)));
        }
    }
    Ok((n_stored, too_large))
}

static CALLS: AtomicU64 = AtomicU64::new(0);

/// Run `cases` captures with `config` (its `dir` is set here) and check every one.
fn run(cases: u32, config: Config, bulk: usize) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let logs = LogRecorder::install();
    watch_temp_files();
    let config_has_limit = config.max_size.is_some();
    let root = support::tempdir();
    let dir = root.path().join("store");
    configure(Config {
        dir: Some(dir.clone()),
        // On even where `CI` is set: this test records on purpose.
        enabled: config.enabled.or(Some(true)),
        ..config
    });
    let written = Arc::new(Mutex::new((0usize, 0usize)));
    let w = written.clone();
    let mut runner = proptest::test_runner::TestRunner::new(PropConfig {
        cases,
        failure_persistence: None,
        ..PropConfig::default()
    });
    runner
        .run(&case(bulk), move |c: Case| {
            capture_runtime::flush();
            let _ = std::fs::remove_dir_all(&dir);
            take_temp_files();
            let call = CALLS.fetch_add(1, Ordering::Relaxed);
            let out = handle(
                call,
                &c.node,
                &c.account,
                &c.profile,
                &c.bulk,
                &c.opaque,
                &c.boom,
                &c.password,
            );
            // The function behaves exactly as written.
            prop_assert_eq!(format!("{out:?}"), format!("{:?}", c.node));
            capture_runtime::flush();
            let (stored, too_large) = check_no_leak(&dir, &logs, &c.secrets)?;
            // The capture happened: its pending segment (small values inline).
            prop_assert!(stored >= 1, "nothing written");
            let mut w = w.lock().unwrap();
            w.0 += 1;
            w.1 += usize::from(too_large);
            Ok(())
        })
        .unwrap();
    let (written, too_large) = *written.lock().unwrap();
    assert_eq!(written, cases as usize);
    if config_has_limit {
        // The size limit really cut arguments short in a good share of cases.
        assert!(
            too_large * 5 >= written,
            "{too_large} of {written} cases hit the size limit"
        );
    }
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
    let config = Config {
        format: Some(Codec::MsgPack),
        retention: Some(1),
        ..Config::default()
    };
    run(10_000, config, 3);
}

#[test]
fn no_secret_reaches_disk_or_logs_json() {
    let config = Config {
        format: Some(Codec::Json),
        retention: Some(1),
        ..Config::default()
    };
    run(500, config, 3);
}

/// The production preset, every call sampled: the background writer writes,
/// and arguments over 16 KiB (a long `bulk`) are truncated or dropped.
#[test]
fn no_secret_reaches_disk_or_logs_production() {
    let config = Config {
        sample_rate: Some(1.0),
        ..Config::production()
    };
    run(1_000, config, 150);
}
