//! What a real capture records and leaves on disk: the metadata of the call,
//! `max_age` from the attribute, names of pattern parameters, the caller
//! location of `#[track_caller]` functions, and private files and folders.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use capture_runtime::codec::FORMAT_VERSION;
use capture_runtime::record::{CallRecord, Outcome};
use capture_runtime::store::{layout, segment};
use capture_runtime::{capture_args, CapturedCall};
use common::{loader, store};

fn only(function: &str) -> CapturedCall {
    let all = loader().load_all(function).unwrap();
    assert_eq!(all.len(), 1, "{function}: expected exactly one capture");
    all.into_iter().next().unwrap()
}

#[capture_args]
fn meta_outer(n: u32) -> u32 {
    meta_inner(n) + 1
}

#[capture_args]
fn meta_inner(n: u32) -> u32 {
    n * 2
}

/// The digits of a `ThreadId`'s debug text (`ThreadId(7)` -> 7).
fn thread_number(id: std::thread::ThreadId) -> u64 {
    format!("{id:?}")
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[test]
fn a_capture_records_its_thread_crate_format_time_and_depth() {
    store();
    let main_thread = thread_number(std::thread::current().id());
    let before = SystemTime::now();
    let (result, worker_thread) = std::thread::Builder::new()
        .name("capture-meta-worker".into())
        .spawn(|| (meta_outer(20), thread_number(std::thread::current().id())))
        .unwrap()
        .join()
        .unwrap();
    let after = SystemTime::now();
    assert_eq!(result, 41);

    let outer = only("capture_details::meta_outer");
    let inner = only("capture_details::meta_inner");
    for (call, depth) in [(&outer, 0), (&inner, 1)] {
        let m: &CallRecord = call.metadata();
        assert_eq!(m.thread_name.as_deref(), Some("capture-meta-worker"));
        assert_eq!(m.thread_id, worker_thread);
        assert_ne!(m.thread_id, main_thread);
        assert_eq!(m.crate_name, env!("CARGO_PKG_NAME"));
        assert_eq!(m.crate_version, env!("CARGO_PKG_VERSION"));
        assert_eq!(m.format_version, FORMAT_VERSION);
        assert_eq!(m.pid, std::process::id());
        assert_eq!(m.depth, depth, "{}", m.function);
        assert_eq!(m.outcome, Outcome::Returned);
        assert_eq!(m.args[0].type_name, "u32");
        assert!(
            before <= call.timestamp() && call.timestamp() <= after,
            "the timestamp is taken during the call"
        );
    }
    assert!(outer.timestamp() <= inner.timestamp(), "the outer call started first");
}

// `max_age` from the attribute, applied to pending captures when the
// function's next segment is opened.
#[capture_args(max_age = "1s")]
fn aged_second(x: u32) -> u32 {
    x
}

#[capture_args(max_age = "1h")]
fn aged_hour(x: u32) -> u32 {
    x
}

/// Write a pending capture of `function` with argument `x`, as another
/// process would have `ago` ago: a segment of its own, last written then.
/// Returns the segment's path.
fn old_call(function: &str, ago: Duration, x: u32) -> PathBuf {
    let body = capture_runtime::Codec::MsgPack.encode(&x).unwrap();
    let id = capture_runtime::codec::object_id(capture_runtime::Codec::MsgPack, &body);
    let started = SystemTime::now() - ago;
    let nanos = started.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let record = CallRecord {
        function: function.into(),
        crate_name: env!("CARGO_PKG_NAME").into(),
        crate_version: env!("CARGO_PKG_VERSION").into(),
        format_version: FORMAT_VERSION,
        unix_nanos: nanos,
        pid: 1,
        seq: x as u64,
        thread_name: None,
        thread_id: 1,
        depth: 0,
        args: vec![capture_runtime::record::ArgRecord {
            name: "x".into(),
            type_name: "u32".into(),
            slot: capture_runtime::record::Slot::Stored {
                id,
                len: body.len() as u64,
            },
            schema: None,
            redacted: vec![],
        }],
        ret: None,
        after: vec![],
        outcome: Outcome::Returned,
    };
    let mut seg = segment::header(capture_runtime::Codec::MsgPack).to_vec();
    let entry = segment::Entry {
        record,
        objects: vec![segment::InlineObject { id, body }],
    };
    segment::encode_entry(capture_runtime::Codec::MsgPack, &entry, &mut seg).unwrap();
    let dir = store().join(layout::pending_dir(function));
    // Private, as capture makes its own (another test checks every mode).
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(&dir)
        .unwrap();
    let path = dir.join(format!("{nanos:020}-{:010}-{:016x}-{:06}.seg", 1, 7, x));
    std::fs::write(&path, seg).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(started)
        .unwrap();
    path
}

fn xs(function: &str) -> Vec<u32> {
    let mut v: Vec<u32> = loader()
        .load_all(function)
        .unwrap()
        .iter()
        .map(|c| c.arg("x").unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn max_age_from_the_attribute_removes_old_calls() {
    store();
    let f = "capture_details::aged_second";
    let old = old_call(f, Duration::from_secs(3_600), 1);
    assert_eq!(xs(f), [1]);
    assert_eq!(aged_second(2), 2);
    capture_runtime::flush();
    assert!(!old.exists(), "the hour-old call is past max_age = \"1s\"");
    assert_eq!(xs(f), [2]);

    let f = "capture_details::aged_hour";
    old_call(f, Duration::from_secs(2 * 3_600), 1);
    old_call(f, Duration::from_secs(30 * 60), 2);
    assert_eq!(aged_hour(3), 3);
    capture_runtime::flush();
    assert_eq!(xs(f), [2, 3], "older than 1h removed, younger kept");
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
pub struct Pair {
    a: u8,
    b: u8,
}

// The tuple pattern would be named `a_b`, the struct pattern `arg2` after its
// position: both are taken by real parameters.
#[capture_args]
fn colliding((a, b): (u8, u8), a_b: u8, Pair { a: _, b: _ }: Pair, arg2: u8) -> u8 {
    a + b + a_b + arg2
}

#[test]
fn pattern_names_never_collide_with_real_parameters() {
    store();
    assert_eq!(colliding((1, 2), 3, Pair { a: 9, b: 9 }, 4), 10);
    let call = only("capture_details::colliding");
    let names = call.arg_names();
    assert_eq!(names, ["a_b_0", "a_b", "arg2_2", "arg2"]);
    assert_eq!(call.arg::<(u8, u8)>("a_b_0").unwrap(), (1, 2));
    assert_eq!(call.arg::<u8>("a_b").unwrap(), 3);
    assert_eq!(call.arg::<Pair>("arg2_2").unwrap(), Pair { a: 9, b: 9 });
    assert_eq!(call.arg::<u8>("arg2").unwrap(), 4);
}

#[capture_args]
#[track_caller]
fn called_from() -> u32 {
    std::panic::Location::caller().line()
}

#[test]
fn track_caller_still_sees_the_caller() {
    store();
    let line = line!() + 1;
    assert_eq!(called_from(), line);
    assert_eq!(
        only("capture_details::called_from").metadata().outcome,
        Outcome::Returned
    );
}

#[capture_args(ret, retention = 2)]
fn private_files(secret: &str) -> usize {
    secret.len()
}

#[test]
fn every_file_is_0600_and_every_folder_0700() {
    let root = store();
    for s in ["one", "two", "three"] {
        private_files(s);
    }
    capture_runtime::flush();
    // Accept one: an accepted capture and its objects are files too.
    let first = std::cell::Cell::new(true);
    let accepted = loader()
        .accept_pending("capture_details::private_files", |_| first.replace(false), false)
        .unwrap();
    assert_eq!(accepted.len(), 1);
    let (dirs, files) = walk(root);
    let has = |part: &str| files.iter().any(|(p, _)| p.to_string_lossy().contains(part));
    assert!(has("/objects/") && has("/calls/") && has("/pending/"), "{files:#?}");
    assert!(dirs.iter().any(|(d, _)| d.ends_with("tmp")), "{dirs:#?}");
    for dir in [
        layout::function_dir("capture_details::private_files"),
        layout::pending_dir("capture_details::private_files"),
    ] {
        assert!(dirs.iter().any(|(d, _)| *d == root.join(&dir)), "{dir}");
    }
    // The root is a temporary folder this test made (capture does not chmod
    // folders it did not create): every folder below it capture made.
    for (d, mode) in &dirs[1..] {
        assert_eq!(*mode, 0o700, "{}", d.display());
    }
    for (f, mode) in &files {
        assert_eq!(*mode, 0o600, "{}", f.display());
    }
}

/// A path and its permission bits.
type Entry = (PathBuf, u32);

/// Every folder (the root included) and every file under `dir`, with its
/// mode. Other tests write into the same store meanwhile: a temp file gone
/// between listing and `stat` is skipped.
fn walk(dir: &Path) -> (Vec<Entry>, Vec<Entry>) {
    let mode = |p: &Path| {
        std::fs::symlink_metadata(p)
            .ok()
            .map(|m| (m.is_dir(), m.permissions().mode() & 0o777))
    };
    let (mut dirs, mut files) = (vec![(dir.to_path_buf(), mode(dir).unwrap().1)], Vec::new());
    let mut i = 0;
    while i < dirs.len() {
        for e in std::fs::read_dir(&dirs[i].0).unwrap().flatten() {
            let p = e.path();
            match mode(&p) {
                Some((true, m)) => dirs.push((p, m)),
                Some((false, m)) => files.push((p, m)),
                None => {}
            }
        }
        i += 1;
    }
    (dirs, files)
}
