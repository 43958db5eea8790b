//! Checking a store written by `store_hammer`: every value it holds can be
//! checked against the others (see the binary's docs), so a torn, recycled
//! or misattributed value shows.

use std::path::Path;
use std::process::Command;

use capture_runtime::{CaptureError, CaptureLoader, CapturedCall};

/// What one look at a function's calls found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Calls whose every value read back and agreed with the others.
    pub whole: usize,
    /// Values that read back but disagree (torn, recycled, someone else's).
    pub wrong: usize,
    /// Records that did not read back (typed errors).
    pub unreadable: usize,
    /// Records whose content belongs elsewhere ([`CaptureError::Misplaced`]).
    pub misplaced: usize,
    /// Values that did not read back (typed errors) although their record
    /// is still there.
    pub lost: usize,
}

impl std::ops::AddAssign for Seen {
    fn add_assign(&mut self, o: Seen) {
        self.whole += o.whole;
        self.wrong += o.wrong;
        self.unreadable += o.unreadable;
        self.misplaced += o.misplaced;
        self.lost += o.lost;
    }
}

/// `store_hammer` with `args`, capturing into `store` whatever the
/// environment of the test run says (`CI`, sampling, the crate's folder).
pub fn hammer(store: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_store_hammer"));
    c.args(args)
        .env("CAPTURE_DIR", store)
        .env("CAPTURE_ENABLED", "1")
        .env_remove("CI")
        .env_remove("CAPTURE_SAMPLE_RATE")
        .env_remove("CARGO_MANIFEST_DIR");
    c
}

/// `store_hammer` with `args`, run by `sh` after the shell command `setup`
/// (a umask, a mount), and the whole under `wrapper` (`unshare ...`) when
/// it is not empty; environment as [`hammer`].
pub fn hammer_after(store: &Path, wrapper: &[&str], setup: &str, args: &[&str]) -> Command {
    let plain = hammer(store, args);
    let (program, before) = match wrapper.split_first() {
        Some((program, rest)) => (*program, rest),
        None => ("sh", &[][..]),
    };
    let mut c = Command::new(program);
    c.args(before);
    if !wrapper.is_empty() {
        c.arg("sh");
    }
    c.args(["-c", &format!(r#"{setup} && exec "$0" "$@""#)])
        .arg(plain.get_program())
        .args(args);
    for (k, v) in plain.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c
}

/// The byte every character of `hammer_large`'s text is for call `i`
/// (as the binary computes it).
pub fn blob_byte(i: u64) -> u8 {
    b'a' + (i % 5) as u8
}

/// Check every call of `function` in the store at `root` with `check`,
/// which returns `Ok(false)` for a value that disagrees and `Err` for one
/// that did not read back.
pub fn look(root: &Path, function: &str, check: impl Fn(&CapturedCall) -> Result<bool, CaptureError>) -> Seen {
    let loader = CaptureLoader::new(root);
    let loaded = match loader.load_checked(function) {
        Ok(l) => l,
        Err(CaptureError::NotFound { .. }) => return Seen::default(),
        Err(e) => panic!("listing {function}: {e}"),
    };
    let mut seen = Seen::default();
    for bad in &loaded.bad {
        if matches!(bad.error, CaptureError::Misplaced { .. }) {
            seen.misplaced += 1;
        } else {
            seen.unreadable += 1;
            eprintln!("unreadable record {}: {}", bad.key, bad.error);
        }
    }
    for call in &loaded.calls {
        match check(call) {
            Ok(true) => seen.whole += 1,
            Ok(false) => {
                seen.wrong += 1;
                eprintln!("WRONG values in {}", call.key());
            }
            // Retention may have removed the record since it was read
            // (with its objects left to gc): only a value whose record is
            // still there is lost.
            Err(e) => {
                if root.join(call.key()).exists() {
                    seen.lost += 1;
                    eprintln!("value of {} did not read back: {e}", call.key());
                }
            }
        }
    }
    seen
}

/// The return value, when the call returned: it must be `3 * i`.
pub fn ret_agrees(call: &CapturedCall, i: u64) -> Result<bool, CaptureError> {
    if !call.has_ret() {
        return Ok(true);
    }
    Ok(call.ret::<u64>()? == 3 * i)
}

/// `hammer_small(i, tag)`: `tag == t{i}`, returns `3 * i`.
pub fn small_agrees(call: &CapturedCall) -> Result<bool, CaptureError> {
    let i: u64 = call.arg("i")?;
    let tag: String = call.arg("tag")?;
    Ok(tag == format!("t{i}") && ret_agrees(call, i)?)
}

/// `hammer_large(i, blob)`: 1 MiB of `blob_byte(i)`, returns `3 * i`.
pub fn large_agrees(call: &CapturedCall) -> Result<bool, CaptureError> {
    let i: u64 = call.arg("i")?;
    let blob: String = call.arg("blob")?;
    Ok(blob.len() == 1 << 20 && blob.bytes().all(|b| b == blob_byte(i)) && ret_agrees(call, i)?)
}

/// `conc_all` / `conc_kept(worker, thread, i, tag)`: `i` encodes worker and
/// thread, `tag == t{i}` ([`kept_tag`] for `conc_kept`), returns `3 * i`.
pub fn conc_agrees(call: &CapturedCall) -> Result<bool, CaptureError> {
    let kept = call.metadata().function.ends_with("::conc_kept");
    let worker: u32 = call.arg("worker")?;
    let thread: u32 = call.arg("thread")?;
    let i: u64 = call.arg("i")?;
    let tag: String = call.arg("tag")?;
    let want = if kept { kept_tag(i) } else { format!("t{i}") };
    Ok(
        i >> 40 == u64::from(worker)
            && (i >> 20) & 0xF_FFFF == u64::from(thread)
            && tag == want
            && ret_agrees(call, i)?,
    )
}

/// `store_hammer`'s tag of `conc_kept` call `i` (the binary's `kept_tag`).
pub fn kept_tag(i: u64) -> String {
    let tag = format!("k{i}");
    if i.is_multiple_of(8) {
        tag + &".".repeat(capture_runtime::store::segment::INLINE_MAX)
    } else {
        tag
    }
}

/// Files under `dir` (recursively).
pub fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            out.extend(files_under(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// Every folder lock under the store can be taken at once: no process left
/// one held.
pub fn no_lock_held(root: &Path) {
    for f in files_under(&root.join("calls")) {
        if f.file_name().is_some_and(|n| n == ".lock") {
            let file = std::fs::File::open(&f).unwrap();
            assert!(file.try_lock().is_ok(), "lock {} is still held", f.display());
        }
    }
}
