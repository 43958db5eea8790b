//! The store: layout, framing, integrity checks, permissions, retention, gc
//! and the loader's typed errors.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use capture_runtime::codec::{frame, FileKind, FORMAT_VERSION, HEADER_LEN};
use capture_runtime::record::{ArgRecord, CallRecord, Outcome, Slot};
use capture_runtime::store::{layout, Retention};
use capture_runtime::value::{to_value, EncodeCtx};
use capture_runtime::{CaptureError, CaptureLoader, Codec, ContentId, Store};

fn record(function: &str, nanos: u64, seq: u64, arg: Slot) -> CallRecord {
    CallRecord {
        function: function.into(),
        crate_name: "demo".into(),
        crate_version: "1.0.0".into(),
        format_version: FORMAT_VERSION,
        unix_nanos: nanos,
        pid: 1,
        seq,
        thread_name: Some("main".into()),
        thread_id: 1,
        depth: 0,
        args: vec![ArgRecord {
            name: "x".into(),
            type_name: "u32".into(),
            slot: arg,
            schema: None,
            redacted: vec![],
        }],
        ret: None,
        after: vec![],
        outcome: Outcome::Returned,
    }
}

fn stored(store: &Store, value: u32) -> Slot {
    let body = Codec::MsgPack.encode(&value).unwrap();
    let id = store.put_object(&body).unwrap();
    Slot::Stored {
        id,
        len: body.len() as u64,
    }
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[test]
fn objects_are_content_addressed_deduplicated_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path());
    let a = store.put_object(b"same bytes").unwrap();
    let b = store.put_object(b"same bytes").unwrap();
    assert_eq!(a, b);
    let path = dir.path().join(layout::object_key(&a));
    let hex = a.to_hex();
    assert!(path.ends_with(format!("objects/{}/{}/{}", &hex[..2], &hex[2..4], &hex[4..])));
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let count = walk(dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("/objects/"))
        .count();
    assert_eq!(count, 1, "one file for two identical puts");
    assert!(walk(&dir.path().join("tmp")).is_empty(), "no temp file left behind");
}

#[test]
fn corrupted_truncated_foreign_and_future_files_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path());
    let id = store.put_object(b"payload").unwrap();
    let path = dir.path().join(layout::object_key(&id));
    let good = std::fs::read(&path).unwrap();

    let mut flipped = good.clone();
    *flipped.last_mut().unwrap() ^= 1;
    std::fs::write(&path, &flipped).unwrap();
    match store.get_object(&id) {
        Err(CaptureError::Corrupted {
            path: at,
            expected,
            actual,
        }) => {
            assert_eq!(at, path, "the error names the corrupted file");
            assert_eq!(expected, id.to_hex());
            assert_eq!(
                actual,
                capture_runtime::codec::digest(Codec::MsgPack, FileKind::Object, &flipped[HEADER_LEN..]).to_hex()
            );
        }
        other => panic!("expected Corrupted, got {other:?}"),
    }

    std::fs::write(&path, &good[..HEADER_LEN - 3]).unwrap();
    let err = store.get_object(&id).unwrap_err();
    assert!(matches!(err, CaptureError::BadFile { .. }), "{err}");
    assert!(err.to_string().contains("shorter than the 48-byte header"), "{err}");

    std::fs::write(&path, b"PK\x03\x04 definitely a zip file, not a capture at all.....").unwrap();
    assert!(store.get_object(&id).unwrap_err().to_string().contains("wrong magic"));

    let mut future = good.clone();
    future[4..6].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    std::fs::write(&path, &future).unwrap();
    match store.get_object(&id) {
        Err(e @ CaptureError::UnknownVersion { .. }) => assert!(e.to_string().contains("upgrade capture-runtime")),
        other => panic!("expected UnknownVersion, got {other:?}"),
    }

    // A valid file of the wrong kind under an object key.
    std::fs::write(&path, frame(Codec::MsgPack, FileKind::Call, b"payload")).unwrap();
    assert!(store.get_object(&id).unwrap_err().to_string().contains("file kind"));

    // A valid object moved under another id is detected too.
    let other = ContentId::of(b"something else");
    let other_path = dir.path().join(layout::object_key(&other));
    std::fs::create_dir_all(other_path.parent().unwrap()).unwrap();
    std::fs::write(&other_path, &good).unwrap();
    match store.get_object(&other) {
        Err(CaptureError::Corrupted { path, expected, actual }) => {
            assert_eq!(path, other_path);
            assert_eq!((expected, actual), (other.to_hex(), id.to_hex()));
        }
        other => panic!("expected Corrupted, got {other:?}"),
    }
}

#[test]
fn retention_by_count_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path());
    let keep3 = Retention {
        max_count: Some(3),
        max_age: None,
    };
    let base = now_nanos();
    for i in 0..10u32 {
        let slot = stored(&store, i);
        store
            .write_call(&record("demo::f", base + i as u64, i as u64, slot), keep3)
            .unwrap();
    }
    let loader = CaptureLoader::new(dir.path());
    let kept: Vec<u32> = loader
        .load_all("demo::f")
        .unwrap()
        .iter()
        .map(|c| c.arg("x").unwrap())
        .collect();
    assert_eq!(kept, vec![7, 8, 9]);
    assert_eq!(loader.latest("f").unwrap().arg::<u32>("x").unwrap(), 9);
    assert_eq!(loader.by_index("f", 0).unwrap().arg::<u32>("x").unwrap(), 7);
}

#[test]
fn retention_by_age_drops_old_calls() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path());
    let day = 86_400 * 1_000_000_000u64;
    let now = now_nanos();
    let none = Retention::default();
    for (i, t) in [now - 10 * day, now - 3 * day, now - 1000].into_iter().enumerate() {
        let slot = stored(&store, i as u32);
        store
            .write_call(&record("demo::aged", t, i as u64, slot), none)
            .unwrap();
    }
    let week = Retention {
        max_count: None,
        max_age: Some(Duration::from_secs(7 * 86_400)),
    };
    let slot = stored(&store, 99);
    store.write_call(&record("demo::aged", now, 9, slot), week).unwrap();
    let kept: Vec<u32> = CaptureLoader::new(dir.path())
        .load_all("aged")
        .unwrap()
        .iter()
        .map(|c| c.arg("x").unwrap())
        .collect();
    assert_eq!(kept, vec![1, 2, 99], "the 10-day-old call is gone");
}

#[test]
fn gc_removes_only_unreferenced_objects() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path());
    let slot = stored(&store, 1);
    let Slot::Stored { id: live, .. } = slot else {
        unreachable!()
    };
    store
        .write_call(&record("demo::g", now_nanos(), 0, slot), Retention::default())
        .unwrap();
    let orphan = store.put_object(b"orphan").unwrap();
    let young = store.gc(Duration::from_secs(3600), &HashSet::new()).unwrap();
    assert_eq!(
        (young.kept, young.young, young.removed),
        (1, 1, 0),
        "young orphans survive the grace period"
    );
    let report = store.gc(Duration::ZERO, &HashSet::new()).unwrap();
    assert_eq!((report.kept, report.removed), (1, 1));
    assert!(store.get_object(&live).is_ok());
    assert!(store.get_object(&orphan).is_err());
    let rooted = store.put_object(b"rooted elsewhere").unwrap();
    let report = store.gc(Duration::ZERO, &HashSet::from([rooted])).unwrap();
    assert_eq!(report.removed, 0);
}

#[test]
fn loader_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path());
    let loader = CaptureLoader::new(dir.path());
    let empty = loader.latest("price").unwrap_err().to_string();
    assert!(
        empty.contains("store is empty") && empty.contains("CAPTURE_ENABLED"),
        "{empty}"
    );

    for f in ["shop::checkout::price", "shop::admin::price", "shop::checkout::tax"] {
        let slot = stored(&store, 5);
        store
            .write_call(&record(f, now_nanos(), 0, slot), Retention::default())
            .unwrap();
    }
    let missing = loader.latest("refund").unwrap_err().to_string();
    assert!(
        missing.contains("shop::checkout::price") && missing.contains("shop::checkout::tax"),
        "{missing}"
    );
    match loader.latest("price") {
        Err(CaptureError::Ambiguous { candidates, .. }) => assert_eq!(candidates.len(), 2),
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    let call = loader.latest("checkout::price").unwrap();
    assert_eq!(call.arg::<u32>("x").unwrap(), 5);
    match call.arg::<String>("x") {
        Err(e @ CaptureError::TypeMismatch { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("recorded as `u32`") && text.contains("`alloc::string::String` was requested"),
                "{text}"
            );
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
    assert!(matches!(call.arg::<u32>("y"), Err(CaptureError::NoSuchArg { .. })));
    assert!(matches!(
        loader.by_index("tax", 3),
        Err(CaptureError::IndexOutOfRange { len: 1, .. })
    ));
    assert!(call.ret::<u32>().unwrap_err().to_string().contains("add `ret`"));
}

#[test]
fn map_iteration_order_never_changes_a_content_id() {
    let mut ids = HashSet::new();
    for seed in 0..20u64 {
        // Different insertion orders and hasher states, same content.
        let mut m: HashMap<String, u64> = HashMap::new();
        let mut keys: Vec<u64> = (0..50).collect();
        keys.rotate_left(seed as usize % 50);
        for k in keys {
            m.insert(format!("k{k}"), k * 7);
        }
        let v = to_value(&m, &mut EncodeCtx::plain()).unwrap();
        ids.insert(ContentId::of(&Codec::MsgPack.encode(&v).unwrap()));
    }
    assert_eq!(ids.len(), 1);
    let other: HashMap<String, u64> = [("k0".to_string(), 1)].into();
    let v = to_value(&other, &mut EncodeCtx::plain()).unwrap();
    assert!(!ids.contains(&ContentId::of(&Codec::MsgPack.encode(&v).unwrap())));
}

#[test]
fn json_codec_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).with_codec(Codec::Json);
    let body = Codec::Json.encode(&vec![1u8, 2]).unwrap();
    let id = store.put_object(&body).unwrap();
    let (codec, read) = store.get_object(&id).unwrap();
    assert_eq!(codec, Codec::Json);
    assert_eq!(std::str::from_utf8(&read).unwrap(), "[1,2]");
}

#[test]
fn function_ids_cannot_escape_the_store() {
    assert_eq!(layout::function_dir("a::..::b"), "calls/a/%2E%2E/b");
    assert_eq!(layout::function_dir("a::/etc/passwd"), "calls/a/%2Fetc%2Fpasswd");
    assert_eq!(layout::unescape_segment("%2Fetc%2Fpasswd"), "/etc/passwd");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
