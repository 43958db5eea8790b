//! What cache entries must never hold or say, and the misses that protect
//! callers from stale or damaged entries: no argument (nor a plain hash of
//! it) under the store, no serializer text in the logs, a result type whose
//! definition changed is a miss, corrupted, truncated and foreign entries
//! are misses and are replaced, and a damaged entry is removed even when the
//! recomputation stores nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use capture_runtime::cache::{self, EntryMeta, SALT_KEY};
use capture_runtime::codec::{frame, Codec, FileKind};
use capture_runtime::replay::schema::schema_of;
use capture_runtime::{capture_args, Config, ContentId, Store};
use serde::{Deserialize, Serialize};

mod support;

fn store_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        capture_runtime::configure(Config {
            dir: Some(dir.clone()),
            enabled: Some(true),
            ..Config::default()
        });
        dir
    })
}

fn only_entry(function: &str) -> (PathBuf, EntryMeta) {
    let e = cache::entries(&Store::open(store_dir()), function).unwrap();
    assert_eq!(e.len(), 1, "{function}: {e:?}");
    (store_dir().join(&e[0].key), e[0].meta.clone().unwrap())
}

/// Write an entry file by hand, as an older build (or a disk fault) would have.
fn write_entry<T: Serialize>(path: &Path, meta: &EntryMeta, value: &T) {
    let mut body = vec![0u8; 4];
    Codec::MsgPack.encode_into(meta, &mut body).unwrap();
    let n = (body.len() - 4) as u32;
    body[0..4].copy_from_slice(&n.to_le_bytes());
    Codec::MsgPack.encode_into(value, &mut body).unwrap();
    std::fs::write(path, frame(Codec::MsgPack, FileKind::Cache, &body)).unwrap();
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

static LOGIN_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn session_for(user: &str, password: &str) -> u64 {
    LOGIN_RUNS.fetch_add(1, Ordering::SeqCst);
    (user.len() * 1000 + password.len()) as u64
}

#[test]
fn no_argument_nor_its_plain_hash_reaches_the_store() {
    let dir = store_dir();
    let secret = "correct-horse-battery-staple-77";
    assert_eq!(session_for("ada", secret), 3031);
    assert_eq!(session_for("ada", secret), 3031);
    assert_eq!(LOGIN_RUNS.load(Ordering::SeqCst), 1, "still memoized");
    let (_, meta) = only_entry("cache_safety::session_for");
    assert_eq!(meta.arg_names, ["user", "password"]);

    // The content id the key is built from: SHA-256 of the unredacted encoding.
    let plain_id = ContentId::of(&Codec::MsgPack.encode(&secret).unwrap());
    let needles: [(&str, Vec<u8>); 3] = [
        ("the password", secret.as_bytes().to_vec()),
        ("its SHA-256", plain_id.0.to_vec()),
        ("its SHA-256 in hex", plain_id.to_hex().into_bytes()),
    ];
    let all = files(dir);
    assert!(
        all.iter().any(|p| p.starts_with(dir.join("pending"))),
        "the miss was captured too"
    );
    for path in &all {
        let Ok(bytes) = std::fs::read(path) else { continue };
        for (what, needle) in &needles {
            assert!(!contains(&bytes, needle), "{what} is in {}", path.display());
            assert!(
                !contains(path.to_string_lossy().as_bytes(), needle),
                "{what} names {}",
                path.display()
            );
        }
    }
    // The salt that keys entry names is a 0600 file in the store.
    use std::os::unix::fs::PermissionsExt;
    let salt = std::fs::metadata(dir.join(SALT_KEY)).unwrap();
    assert_eq!(salt.len(), 32);
    assert_eq!(salt.permissions().mode() & 0o777, 0o600);
}

/// A result whose `Serialize` fails with a message quoting the value.
#[derive(Debug, PartialEq)]
struct Token(String);

impl Serialize for Token {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(format!("cannot serialize token {}", self.0)))
    }
}

impl<'de> Deserialize<'de> for Token {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Token)
    }
}

#[capture_args(cache)]
fn issue_token(user: u32) -> Token {
    Token(format!("tok-{user}-SECRETVALUE"))
}

#[test]
fn a_failing_serialize_is_reported_without_its_text() {
    store_dir();
    let logs = support::LogRecorder::install();
    assert_eq!(issue_token(5), Token("tok-5-SECRETVALUE".into()));
    assert_eq!(
        issue_token(5),
        Token("tok-5-SECRETVALUE".into()),
        "runs again, uncached"
    );
    let reported = capture_runtime::config::reported_messages().join("\n");
    assert!(
        reported.contains("cache_safety::issue_token") && reported.contains("result not cached"),
        "{reported}"
    );
    let text = format!("{reported}\n{}", logs.text());
    assert!(!text.contains("SECRETVALUE"), "{text}");
}

mod v1 {
    /// `Reading` as it was defined before it gained `sensor`.
    #[derive(serde::Serialize, serde::Deserialize)]
    pub struct Reading {
        pub celsius: f64,
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Reading {
    celsius: f64,
    sensor: Option<String>,
}

static READ_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn read_sensor(id: u32) -> Reading {
    READ_RUNS.fetch_add(1, Ordering::SeqCst);
    Reading {
        celsius: 21.5,
        sensor: Some(format!("s{id}")),
    }
}

#[cfg(feature = "schema")]
#[test]
fn a_result_type_that_gained_an_optional_field_is_a_miss() {
    store_dir();
    let runs = || READ_RUNS.load(Ordering::SeqCst);
    let now = Reading {
        celsius: 21.5,
        sensor: Some("s1".into()),
    };
    assert_eq!(read_sensor(1), now);
    let (path, meta) = only_entry("cache_safety::read_sensor");
    let current = schema_of::<Reading>().expect("traceable").fingerprint.clone();
    assert_eq!(meta.schema.as_deref(), Some(current.as_str()));
    let old = v1::Reading { celsius: 4.0 };

    // The old layout still decodes (`sensor` becomes None): only the schema
    // fingerprint can tell. With the current fingerprint it would be a hit...
    write_entry(&path, &meta, &old);
    let n = runs();
    let stale = read_sensor(1);
    assert_eq!((stale.celsius, stale.sensor), (4.0, None));
    assert_eq!(runs(), n, "decodable and same fingerprint: a hit");

    // ...but written when `Reading` had no `sensor` field, it is a miss.
    let mut before = meta.clone();
    before.schema = Some(schema_of::<v1::Reading>().unwrap().fingerprint.clone());
    assert_ne!(before.schema, meta.schema);
    write_entry(&path, &before, &old);
    let rejected = cache::stats().rejected;
    assert_eq!(read_sensor(1), now, "recomputed, not the stale value");
    assert_eq!(runs(), n + 1);
    assert!(cache::stats().rejected > rejected);
    let (_, rewritten) = only_entry("cache_safety::read_sensor");
    assert_eq!(rewritten.schema.as_deref(), Some(current.as_str()));
}

static SHAPE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Shape {
    sides: u32,
    name: String,
}

#[capture_args(cache)]
fn shape(sides: u32) -> Shape {
    SHAPE_RUNS.fetch_add(1, Ordering::SeqCst);
    Shape {
        sides,
        name: format!("{sides}-gon"),
    }
}

#[test]
fn corrupted_truncated_and_foreign_entries_are_misses_and_are_removed() {
    store_dir();
    let runs = || SHAPE_RUNS.load(Ordering::SeqCst);
    let want = Shape {
        sides: 3,
        name: "3-gon".into(),
    };
    assert_eq!(shape(3), want);
    let (path, _) = only_entry("cache_safety::shape");

    // A flipped byte: the header hash no longer matches.
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    let before = cache::stats().rejected;
    assert_eq!(shape(3), want);
    assert_eq!(runs(), 2, "a corrupted entry is a miss");
    assert!(cache::stats().rejected > before);
    // ... and it was replaced by a good one.
    assert_eq!(shape(3), want);
    assert_eq!(runs(), 2);

    // Truncated, then not a capture file at all.
    let good = std::fs::read(&path).unwrap();
    for junk in [
        &good[..good.len() / 2],
        b"hello, not an entry".as_slice(),
        b"".as_slice(),
    ] {
        std::fs::write(&path, junk).unwrap();
        let n = runs();
        assert_eq!(shape(3), want);
        assert_eq!(runs(), n + 1);
    }
}

static SHAPE2_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn shape2(sides: u32) -> Shape {
    SHAPE2_RUNS.fetch_add(1, Ordering::SeqCst);
    Shape {
        sides,
        name: format!("{sides}-gon"),
    }
}

#[derive(Serialize)]
struct OldShape {
    corners: Vec<String>,
}

#[test]
fn a_type_change_since_the_entry_was_written_is_a_miss() {
    store_dir();
    let runs = || SHAPE2_RUNS.load(Ordering::SeqCst);
    let want = Shape {
        sides: 4,
        name: "4-gon".into(),
    };
    assert_eq!(shape2(4), want);
    let (path, meta) = only_entry("cache_safety::shape2");

    // Same type name, other layout: the type's definition changed since.
    write_entry(
        &path,
        &meta,
        &OldShape {
            corners: vec!["a".into()],
        },
    );
    let n = runs();
    assert_eq!(shape2(4), want);
    assert_eq!(runs(), n + 1, "undecodable as the current type: a miss");

    // Another type name recorded in the entry.
    let mut other = meta.clone();
    other.type_name = "cache_safety::Polygon".into();
    write_entry(&path, &other, &want);
    let n = runs();
    assert_eq!(shape2(4), want);
    assert_eq!(runs(), n + 1, "stored as another type: a miss");
    assert_eq!(shape2(4), want);
    assert_eq!(runs(), n + 1);
}

static FAIL: AtomicBool = AtomicBool::new(false);
static RATE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
fn rate(pair: &str) -> Result<u64, String> {
    RATE_RUNS.fetch_add(1, Ordering::SeqCst);
    if FAIL.load(Ordering::SeqCst) {
        Err(format!("no rate for {pair}"))
    } else {
        Ok(pair.len() as u64 * 100)
    }
}

#[test]
fn a_corrupted_entry_is_removed_even_when_nothing_replaces_it() {
    store_dir();
    assert_eq!(rate("EURUSD"), Ok(600));
    let (path, _) = only_entry("cache_safety::rate");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x5a;
    std::fs::write(&path, &bytes).unwrap();
    // The recomputation fails: `Err` is not cached, so nothing is written back.
    FAIL.store(true, Ordering::SeqCst);
    assert_eq!(rate("EURUSD"), Err("no rate for EURUSD".into()));
    assert_eq!(RATE_RUNS.load(Ordering::SeqCst), 2);
    assert!(!path.exists(), "the damaged entry was deleted");
    assert!(cache::entries(&Store::open(store_dir()), "cache_safety::rate")
        .unwrap()
        .is_empty());
    FAIL.store(false, Ordering::SeqCst);
}
