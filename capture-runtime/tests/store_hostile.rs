//! The loader against hostile stores: a deterministic mutation suite over a
//! real store (bit flips, truncation, appended bytes, huge lengths, wrong
//! magic, version, codec or kind, swapped and copied records, symlinks,
//! FIFOs, sparse giants, folders in the place of files), plus hand-made
//! frames whose hash is right but whose content is hostile.
//!
//! Each case damages one thing, loads every capture of the store and checks:
//! no panic, no hang (a watchdog aborts a case stuck for 20 s), no single
//! allocation over [`ALLOC_CAP`], and no wrong value: every value that loads
//! is the value recorded under that record's name; everything else is a
//! typed error. `CAPTURE_TEST_MUTATIONS` sets the number of random cases
//! (`cargo xtask hostile` runs 100,000).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use capture_runtime::codec::Codec;
use capture_runtime::record::{ArgRecord, CallRecord, Outcome, Slot};
use capture_runtime::store::Retention;
use capture_runtime::{CaptureError, CaptureLoader, Store};

/// The largest single allocation any case may make: the biggest file the
/// loader reads whole without a stated length is a call record
/// (`MAX_RECORD_LEN`, 64 MiB); a hostile file must be refused before that.
const ALLOC_CAP: usize = 65 << 20;

struct Counting;
static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only records sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const FUNCTIONS: [&str; 2] = ["fz::alpha", "fz::beta"];
const CALLS: u64 = 6;

/// The pristine store and what each record holds: (function, record name) -> x.
struct Pristine {
    dir: tempfile::TempDir,
    expected: HashMap<(String, String), u64>,
}

fn arg(name: &str, store: &Store, bytes: Vec<u8>) -> ArgRecord {
    let id = store.put_object(&bytes).unwrap();
    ArgRecord {
        name: name.into(),
        type_name: "t".into(),
        slot: Slot::Stored {
            id,
            len: bytes.len() as u64,
        },
        schema: None,
        redacted: vec![],
    }
}

fn pristine() -> Pristine {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = HashMap::new();
    for (f, function) in FUNCTIONS.iter().enumerate() {
        for k in 0..CALLS {
            // Half the records and their objects in each codec.
            let codec = if k % 2 == 0 { Codec::MsgPack } else { Codec::Json };
            let store = Store::open(dir.path()).with_codec(codec);
            let x = 1000 + 100 * f as u64 + k;
            let record = CallRecord {
                function: (*function).into(),
                crate_name: "fz".into(),
                crate_version: "0.1.0".into(),
                format_version: capture_runtime::codec::FORMAT_VERSION,
                unix_nanos: 1_000_000 + k,
                pid: 7,
                seq: k,
                thread_name: None,
                thread_id: 1,
                depth: 0,
                args: vec![
                    arg("x", &store, codec.encode(&x).unwrap()),
                    arg("s", &store, codec.encode(&format!("s{x}")).unwrap()),
                ],
                ret: Some(arg("return", &store, codec.encode(&(3 * x)).unwrap())),
                after: vec![],
                outcome: Outcome::Returned,
            };
            let key = store.write_call(&record, Retention::default()).unwrap();
            let name = key.rsplit('/').next().unwrap().to_owned();
            expected.insert(((*function).to_owned(), name), x);
        }
    }
    Pristine { dir, expected }
}

/// What loading the whole store gave.
#[derive(Default, Debug)]
struct Loaded {
    values: usize,
    typed_errors: usize,
    wrong: Vec<String>,
}

fn load_everything(root: &Path, expected: &HashMap<(String, String), u64>) -> Loaded {
    let mut out = Loaded::default();
    let loader = CaptureLoader::new(root);
    for function in FUNCTIONS {
        let loaded = match loader.load_checked(function) {
            Ok(l) => l,
            Err(_) => {
                out.typed_errors += 1;
                continue;
            }
        };
        out.typed_errors += loaded.bad.len();
        for call in loaded.calls {
            let name = call.key().rsplit('/').next().unwrap().to_owned();
            let Some(&x) = expected.get(&(function.to_owned(), name.clone())) else {
                out.wrong
                    .push(format!("{function}/{name}: a record that was never written loaded"));
                continue;
            };
            let mut check = |what: &str, ok: Result<bool, CaptureError>| match ok {
                Ok(true) => out.values += 1,
                Ok(false) => out.wrong.push(format!("{function}/{name}: wrong {what}")),
                Err(_) => out.typed_errors += 1,
            };
            check("x", call.arg::<u64>("x").map(|v| v == x));
            check("s", call.arg::<String>("s").map(|v| v == format!("s{x}")));
            check("return", call.ret::<u64>().map(|v| v == 3 * x));
        }
    }
    out
}

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn files(root: &Path) -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let t = e.file_type().unwrap();
            if t.is_dir() {
                walk(&e.path(), out);
            } else if e.file_name() != ".lock" {
                out.push(e.path());
            }
        }
    }
    let mut out = Vec::new();
    for top in ["calls", "objects"] {
        walk(&root.join(top), &mut out);
    }
    out.sort();
    out
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid path string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Mutation kinds, by name (the report counts cases per kind).
const KINDS: &[&str] = &[
    "bit flip",
    "random byte",
    "truncate",
    "append",
    "wrong magic",
    "other version",
    "other codec",
    "other kind",
    "huge length",
    "length off by one",
    "empty file",
    "swap records",
    "record copied into another function",
    "object replaced by another object",
    "symlink to a file outside",
    "symlink to /dev/zero",
    "symlinked object folder",
    "FIFO",
    "sparse 2 GiB file",
    "folder in a file's place",
];

/// Damage the store in one way; returns what to restore: (path, original
/// bytes), written back after removing whatever was put there.
fn mutate(kind: &str, root: &Path, outside: &Path, rng: &mut Rng) -> Vec<(PathBuf, Vec<u8>)> {
    let all = files(root);
    let records: Vec<&PathBuf> = all.iter().filter(|p| p.starts_with(root.join("calls"))).collect();
    let objects: Vec<&PathBuf> = all.iter().filter(|p| p.starts_with(root.join("objects"))).collect();
    let target = all[rng.below(all.len())].clone();
    let original = std::fs::read(&target).unwrap();
    let mut undo = vec![(target.clone(), original.clone())];
    let mut bytes = original.clone();
    let write = |p: &Path, b: &[u8]| std::fs::write(p, b).unwrap();
    let replace_with = |p: &Path, make: &dyn Fn(&Path)| {
        std::fs::remove_file(p).unwrap();
        make(p);
    };
    match kind {
        "bit flip" => {
            let i = rng.below(bytes.len());
            bytes[i] ^= 1 << rng.below(8);
            write(&target, &bytes);
        }
        "random byte" => {
            let i = rng.below(bytes.len());
            bytes[i] = rng.next() as u8;
            write(&target, &bytes);
        }
        "truncate" => write(&target, &bytes[..rng.below(bytes.len())]),
        "append" => {
            for _ in 0..1 + rng.below(16) {
                bytes.push(rng.next() as u8);
            }
            write(&target, &bytes);
        }
        "wrong magic" => {
            bytes[rng.below(4)] ^= 0x20;
            write(&target, &bytes);
        }
        "other version" => {
            let v = [0u16, 1, 3, u16::MAX][rng.below(4)];
            bytes[4..6].copy_from_slice(&v.to_le_bytes());
            write(&target, &bytes);
        }
        "other codec" => {
            bytes[6] = [0u8, 1, 2, 255][rng.below(4)];
            write(&target, &bytes);
        }
        "other kind" => {
            bytes[7] = [0u8, 1, 2, 3, 4, 255][rng.below(6)];
            write(&target, &bytes);
        }
        "huge length" => {
            let n = [u64::MAX, 1 << 40, 1 << 31, 1 << 26][rng.below(4)];
            bytes[8..16].copy_from_slice(&n.to_le_bytes());
            write(&target, &bytes);
        }
        "length off by one" => {
            let n = u64::from_le_bytes(bytes[8..16].try_into().unwrap());
            let n = if rng.below(2) == 0 { n + 1 } else { n.saturating_sub(1) };
            bytes[8..16].copy_from_slice(&n.to_le_bytes());
            write(&target, &bytes);
        }
        "empty file" => write(&target, b""),
        "swap records" => {
            let a = records[rng.below(records.len())].clone();
            let mut b = records[rng.below(records.len())].clone();
            if a == b {
                b = records[(records.iter().position(|r| **r == a).unwrap() + 1) % records.len()].clone();
            }
            let (ba, bb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
            undo = vec![(a.clone(), ba.clone()), (b.clone(), bb.clone())];
            write(&a, &bb);
            write(&b, &ba);
        }
        "record copied into another function" => {
            let from = records[rng.below(records.len())].clone();
            let other = if from.to_string_lossy().contains("alpha") {
                "beta"
            } else {
                "alpha"
            };
            let dir = root.join("calls/fz").join(other);
            // A name of the other function's own (its time, pid, seq), so
            // only the content tells.
            let victim = std::fs::read_dir(&dir)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|e| e == "call"))
                .unwrap();
            undo = vec![(victim.clone(), std::fs::read(&victim).unwrap())];
            std::fs::copy(&from, &victim).unwrap();
        }
        "object replaced by another object" => {
            let a = objects[rng.below(objects.len())].clone();
            let b = objects[(objects.iter().position(|o| **o == a).unwrap() + 1) % objects.len()].clone();
            undo = vec![(a.clone(), std::fs::read(&a).unwrap())];
            std::fs::copy(&b, &a).unwrap();
        }
        "symlink to a file outside" => {
            let out = outside.join("copy");
            write(&out, &original);
            replace_with(&target, &|p| symlink(&out, p).unwrap());
        }
        "symlink to /dev/zero" => replace_with(&target, &|p| symlink("/dev/zero", p).unwrap()),
        "symlinked object folder" => {
            // objects/ab/cd -> a copy outside with the same files.
            let o = objects[rng.below(objects.len())];
            let folder = o.parent().unwrap().to_owned();
            let copy = outside.join(format!("folder-{}", rng.next()));
            std::fs::create_dir_all(&copy).unwrap();
            let mut moved = Vec::new();
            for e in std::fs::read_dir(&folder).unwrap().flatten() {
                let b = std::fs::read(e.path()).unwrap();
                std::fs::write(copy.join(e.file_name()), &b).unwrap();
                moved.push((e.path(), b));
            }
            std::fs::remove_dir_all(&folder).unwrap();
            symlink(&copy, &folder).unwrap();
            return moved;
        }
        "FIFO" => replace_with(&target, &|p| mkfifo(p)),
        "sparse 2 GiB file" => replace_with(&target, &|p| {
            std::fs::File::create(p).unwrap().set_len(2 << 30).unwrap();
        }),
        "folder in a file's place" => replace_with(&target, &|p| std::fs::create_dir(p).unwrap()),
        other => panic!("unknown mutation {other}"),
    }
    undo
}

fn restore(undo: Vec<(PathBuf, Vec<u8>)>) {
    for (path, bytes) in undo {
        if let Some(parent) = path.parent() {
            // A symlinked folder: take the link away, make the folder again.
            if std::fs::symlink_metadata(parent).is_ok_and(|m| m.file_type().is_symlink()) {
                std::fs::remove_file(parent).unwrap();
            }
            std::fs::create_dir_all(parent).unwrap();
        }
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => std::fs::remove_dir(&path).unwrap(),
            Ok(_) => std::fs::remove_file(&path).unwrap(),
            Err(_) => {}
        }
        std::fs::write(&path, bytes).unwrap();
    }
}

/// A watchdog: a case that runs 20 s aborts the process (a hang is a failure).
fn watchdog() -> &'static AtomicU64 {
    static STARTED: AtomicU64 = AtomicU64::new(0);
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let epoch = Instant::now();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let at = STARTED.load(Ordering::Relaxed);
            if at != 0 && epoch.elapsed().as_secs() > at + 20 {
                eprintln!("a loader case hung for 20 s");
                std::process::abort();
            }
        });
        STARTED.store(1, Ordering::Relaxed);
    });
    &STARTED
}

fn cases() -> usize {
    std::env::var("CAPTURE_TEST_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000)
}

#[test]
fn damaged_stores_give_typed_errors_never_wrong_values() {
    let p = pristine();
    let root = p.dir.path();
    let outside = tempfile::tempdir().unwrap();
    let clean = load_everything(root, &p.expected);
    assert_eq!(clean.values, FUNCTIONS.len() * CALLS as usize * 3, "{clean:?}");
    assert_eq!(clean.typed_errors, 0);
    let started = watchdog();
    let t0 = Instant::now();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut per_kind: HashMap<&str, (usize, usize)> = HashMap::new();
    let n = cases();
    LARGEST.store(0, Ordering::Relaxed);
    for case in 0..n {
        let kind = KINDS[case % KINDS.len()];
        let undo = mutate(kind, root, outside.path(), &mut rng);
        started.store(t0.elapsed().as_secs().max(1), Ordering::Relaxed);
        let result = std::panic::catch_unwind(|| load_everything(root, &p.expected));
        let loaded = result.unwrap_or_else(|_| panic!("case {case} ({kind}): the loader panicked"));
        assert!(
            loaded.wrong.is_empty(),
            "case {case} ({kind}): wrong values: {:?}",
            loaded.wrong
        );
        let largest = LARGEST.swap(0, Ordering::Relaxed);
        assert!(
            largest <= ALLOC_CAP,
            "case {case} ({kind}): allocated {largest} bytes at once"
        );
        let e = per_kind.entry(kind).or_default();
        e.0 += 1;
        e.1 += loaded.typed_errors.min(1);
        restore(undo);
    }
    let after = load_everything(root, &p.expected);
    assert_eq!(after.values, clean.values, "every case was undone");
    let mut kinds: Vec<_> = per_kind.into_iter().collect();
    kinds.sort();
    eprintln!(
        "{n} cases in {:.1?}: (cases, cases with a typed error) per kind:",
        t0.elapsed()
    );
    for (k, (c, e)) in &kinds {
        eprintln!("  {k}: {c}, {e}");
    }
    // Every kind of damage that touches bytes a reader uses is noticed.
    for (k, (c, e)) in &kinds {
        if *k != "symlinked object folder" || *c > 0 {
            assert!(*e > 0, "damage `{k}` was never noticed in {c} cases");
        }
    }
}

/// Frames whose hash is right (anyone can compute SHA-256) but whose
/// content is hostile: the decoder must not allocate what the bytes claim,
/// recurse without end, or accept what follows a value.
#[test]
fn hostile_content_with_valid_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path());
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        (
            "array claiming 2^32-1 elements",
            vec![0xdd, 0xff, 0xff, 0xff, 0xff, 0x01],
        ),
        (
            "map claiming 2^32-1 entries",
            vec![0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02],
        ),
        ("str claiming 4 GiB", vec![0xdb, 0xff, 0xff, 0xff, 0xff, b'a']),
        ("bin claiming 4 GiB", vec![0xc6, 0xff, 0xff, 0xff, 0xff, 0]),
        ("100,000 nested arrays", vec![0x91; 100_000]),
        ("a value and trailing bytes", vec![0x2a, 0x2a]),
    ];
    LARGEST.store(0, Ordering::Relaxed);
    for (what, body) in bodies {
        let id = store.put_object(&body).unwrap();
        let (codec, read) = store.get_object(&id).unwrap();
        for r in [
            codec.decode::<Vec<u64>>(&read).map(|_| ()),
            codec.decode::<String>(&read).map(|_| ()),
            codec.decode::<capture_runtime::__private::Value>(&read).map(|_| ()),
            codec.decode::<u64>(&read).map(|_| ()),
        ] {
            assert!(r.is_err(), "{what}: decoded");
        }
        // serde preallocates at most 1 MiB whatever a length claims.
        let largest = LARGEST.swap(0, Ordering::Relaxed);
        assert!(largest <= 1 << 20, "{what}: allocated {largest} bytes at once");
    }
    // Up to the depth limit, nesting decodes, on a 2 MiB thread of a debug
    // build; one level more is an error, not a stack overflow.
    let limit = capture_runtime::codec::MAX_DECODE_DEPTH;
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let nested = |levels: usize| {
                let mut b = vec![0x91; levels - 1];
                b.push(0x2a);
                b
            };
            let ok = Codec::MsgPack.decode::<capture_runtime::__private::Value>(&nested(limit));
            assert!(ok.is_ok(), "{ok:?}");
            let deeper = Codec::MsgPack.decode::<capture_runtime::__private::Value>(&nested(limit + 1));
            assert!(deeper.unwrap_err().contains("depth"));
        })
        .unwrap()
        .join()
        .unwrap();
    // A record stating a huge length for its object reads no more than the
    // object holds, and says the lengths disagree.
    let id = store.put_object(&[0x2a]).unwrap();
    assert!(store.get_stored(&id, u64::MAX).is_err());
}
