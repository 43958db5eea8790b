//! The small trait every store backend implements, and the local one.

use std::any::Any;
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::layout::{GC_EPOCH, TMP};
use crate::error::{CaptureError, Refusal, Result};

/// The most a local store reads of any one file whose length no record
/// states (call records, cache entries, checkpoints, objects loaded by id
/// alone): a hostile file (a link to `/dev/zero`, a sparse giant) is refused
/// at this size instead of exhausting memory.
pub const MAX_FILE_LEN: u64 = 1 << 32;

/// Folders a local backend remembers as checked (no link on the way).
const MAX_CHECKED_DIRS: usize = 1 << 17;

/// The entries directly under a prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// Sub-folders (names only).
    pub dirs: Vec<String>,
    /// Files (names only) with their modification time when known.
    pub files: Vec<(String, Option<SystemTime>)>,
}

/// What [`Backend::append`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// The bytes were appended (or the fresh key created with them).
    Done,
    /// Not fresh, and the key is gone (another process removed it): the
    /// caller starts a new key.
    Gone,
    /// Fresh, and the key exists already: the caller picks another name.
    Exists,
    /// This backend cannot append.
    Unsupported,
}

/// When written data is forced to stable storage.
///
/// Every policy writes through a temp file and a rename, so a reader never
/// sees a torn file; they differ in what a power cut can lose.
///
/// ```
/// use capture_runtime::store::{Durability, LocalBackend};
/// let b = LocalBackend::new("captures").with_durability(Durability::OnFlush);
/// # let _ = b;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Durability {
    /// Never fsync: the OS writes back on its own (fastest; a power cut may lose recent captures, never tear one).
    #[default]
    None,
    /// fsync what was written since the last sync when `capture_runtime::flush()`
    /// runs (or a `WorkerGuard` drops): one fsync per file at flush time instead
    /// of one per write on the calling path.
    OnFlush,
    /// fsync every file before it is renamed into place.
    PerWrite,
}

/// Storage under a store: keys are `/`-separated relative paths made only of
/// checked components (see [`super::layout`]).
///
/// Implementations must make `put` and `put_if_absent` atomic: a reader sees
/// the old bytes, the new bytes, or nothing, never a torn file.
pub trait Backend: Send + Sync + 'static {
    /// Read a key; `Ok(None)` when absent.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Read a key that may hold at most `limit` bytes (the length a record
    /// states for it); a larger one is a [`CaptureError::Refused`]. The
    /// default reads it whole and then checks; backends that can tell the
    /// size first (the local one, object stores) refuse before reading.
    fn get_bounded(&self, key: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        match self.get(key)? {
            Some(b) if b.len() as u64 > limit => Err(CaptureError::Refused {
                path: key.into(),
                problem: Refusal::TooLarge {
                    len: b.len() as u64,
                    limit,
                },
            }),
            other => Ok(other),
        }
    }
    /// Write a key unless it exists; returns whether this call wrote it.
    ///
    /// When the key exists (a deduplicated object), backends that report
    /// modification times should mark it as just used, so that
    /// [`Store::gc`](super::Store::gc)'s grace period protects an old object
    /// a writer is about to reference again (the local backend does).
    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<bool>;
    /// Mark an existing key as used now, as a `put_if_absent` that finds it
    /// does (so `gc`'s grace period protects it); `false` when it is absent.
    /// The default reads the key; backends with a cheaper check override it.
    fn touch(&self, key: &str) -> Result<bool> {
        Ok(self.get(key)?.is_some())
    }
    /// Write or replace a key atomically.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<()>;
    /// Append `bytes` to `key` in one write. With `fresh`, `key` must not
    /// exist yet: it is created (with its folders) holding `bytes`; without,
    /// it must exist. A reader may see any prefix of an append in progress
    /// (pending segments are framed so that a torn tail is ignored). See
    /// [`Appended`] for the outcomes; the default is
    /// [`Appended::Unsupported`] (object storage: the caller writes a new
    /// key instead).
    fn append(&self, key: &str, bytes: &[u8], fresh: bool) -> Result<Appended> {
        let _ = (key, bytes, fresh);
        Ok(Appended::Unsupported)
    }
    /// List the entries directly under `prefix` (`""` for the root).
    fn list(&self, prefix: &str) -> Result<Listing>;
    /// Names of the files directly under `prefix`, in no particular order:
    /// [`list`](Backend::list) without modification times, which the local
    /// backend reads without a `stat` per file.
    fn list_names(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self.list(prefix)?.files.into_iter().map(|(n, _)| n).collect())
    }
    /// Delete a key; deleting an absent key is not an error.
    fn delete(&self, key: &str) -> Result<()>;
    /// Delete `key` if it was last modified at or before `cutoff`, checking
    /// the time again at the moment of deletion so that a concurrent
    /// `put_if_absent` that just marked the key as used wins. Returns whether
    /// the key was deleted. [`Store::gc`](super::Store::gc) calls it for
    /// unreferenced objects whose listed time was already old; the default
    /// trusts that listing and deletes.
    fn delete_if_older(&self, key: &str, cutoff: SystemTime) -> Result<bool> {
        let _ = cutoff;
        self.delete(key).map(|()| true)
    }
    /// Remove what interrupted writes left behind (the local backend's
    /// `tmp/` files) unchanged since `cutoff`; returns how many were removed.
    /// Backends whose writes leave nothing behind keep this no-op default.
    fn sweep_temp(&self, cutoff: SystemTime) -> Result<usize> {
        let _ = cutoff;
        Ok(0)
    }
    /// A number [`Store::gc`](super::Store::gc) raises before it looks for
    /// references. A writer reads it before storing objects and again after
    /// writing the records that refer to them: if it changed, a gc may have
    /// missed those records, and the writer stores the objects again (see
    /// [`Store::gc`](super::Store::gc)). `0` for backends that keep none
    /// (the default: their gc relies on its grace period alone).
    fn gc_epoch(&self) -> Result<u64> {
        Ok(0)
    }
    /// Raise [`gc_epoch`](Backend::gc_epoch) (the default keeps none).
    fn bump_gc_epoch(&self) -> Result<()> {
        Ok(())
    }
    /// Take an exclusive advisory lock named `key` (held until the guard drops).
    /// Backends without locks return a no-op guard and rely on atomic puts.
    fn lock(&self, key: &str) -> Result<Box<dyn Any + Send>>;
    /// Count `n` more call writes in a folder whose lock (`lock`, from
    /// [`Backend::lock`]) the caller holds, and return the count before them,
    /// so that retention can tell whether another process wrote there since
    /// its last look. `None`: this backend keeps no count (the default).
    fn count_writes(&self, lock: &mut (dyn Any + Send), n: u64) -> Result<Option<u64>> {
        let _ = (lock, n);
        Ok(None)
    }
    /// Sizes in bytes of the files directly under `prefix` (used by cache
    /// eviction by size). The default stats local files and otherwise reads
    /// each file; backends with sized listings override it.
    fn list_sizes(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        let listing = self.list(prefix)?;
        let mut out = Vec::with_capacity(listing.files.len());
        for (name, _) in listing.files {
            let key = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let size = match self.local_root() {
                Some(root) => fs::metadata(root.join(&key)).map(|m| m.len()).ok(),
                None => self.get(&key)?.map(|b| b.len() as u64),
            };
            if let Some(size) = size {
                out.push((name, size));
            }
        }
        Ok(out)
    }
    /// Where this backend stores things, for messages.
    fn describe(&self) -> String;
    /// The local folder, for backends that have one.
    fn local_root(&self) -> Option<&Path> {
        None
    }
    /// Force what was written so far to stable storage (see [`Durability::OnFlush`]).
    /// Backends whose puts are durable when they return keep this no-op default.
    fn sync(&self) -> Result<()> {
        Ok(())
    }
}

/// Files under a folder: temp file + rename, 0600 files, 0700 folders,
/// `File::lock` for advisory locks.
///
/// ```
/// use capture_runtime::store::{Backend, LocalBackend};
/// let dir = tempfile::tempdir().unwrap();
/// let b = LocalBackend::new(dir.path());
/// assert!(b.put_if_absent("objects/ab/cd/ef", b"x").unwrap());
/// assert!(!b.put_if_absent("objects/ab/cd/ef", b"y").unwrap());
/// assert_eq!(b.get("objects/ab/cd/ef").unwrap().unwrap(), b"x");
/// ```
#[derive(Debug, Clone)]
pub struct LocalBackend {
    root: PathBuf,
    durability: Durability,
    /// Files written since the last `sync` (only with [`Durability::OnFlush`]).
    unsynced: Arc<Mutex<Vec<PathBuf>>>,
    /// Folders checked to be real folders (no link) on the way from the
    /// root, so that writes never land outside the store.
    checked: Arc<Mutex<HashSet<PathBuf>>>,
    /// Stale temp files of dead writers are swept once, on the first write.
    swept: Arc<Once>,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A function told the path of every temp file once its bytes are written,
/// before it is renamed or linked into place; the flag spares writes the lock.
static TMP_OBSERVED: AtomicBool = AtomicBool::new(false);
static TMP_OBSERVER: RwLock<Option<fn(&Path)>> = RwLock::new(None);

/// Call `observer` with the path of every temp file a [`LocalBackend`]
/// writes, right after writing it and before it is renamed or linked into
/// place, and of every file it appends to, right after each append
/// (`None` to stop). It runs on the writing thread (the background
/// writer's, when that is in use). For tests that check what reaches the
/// disk, even files that exist only for a moment; not for production use.
#[doc(hidden)]
pub fn observe_temp_files(observer: Option<fn(&Path)>) {
    *TMP_OBSERVER.write().unwrap_or_else(|e| e.into_inner()) = observer;
    TMP_OBSERVED.store(observer.is_some(), Ordering::Release);
}

fn temp_written(path: &Path) {
    if TMP_OBSERVED.load(Ordering::Acquire) {
        if let Some(f) = *TMP_OBSERVER.read().unwrap_or_else(|e| e.into_inner()) {
            f(path);
        }
    }
}

impl LocalBackend {
    /// A backend rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalBackend {
            root: root.into(),
            durability: Durability::None,
            unsynced: Arc::default(),
            checked: Arc::default(),
            swept: Arc::new(Once::new()),
        }
    }

    /// Set the fsync policy.
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    fn path(&self, key: &str) -> PathBuf {
        if key.is_empty() {
            self.root.clone()
        } else {
            self.root.join(key)
        }
    }

    /// Create `dir` (and its parents) with mode 0700, and check once per
    /// backend that no folder between the root and it is a symbolic link:
    /// a store checked out from elsewhere may hold one, and writing through
    /// it would write outside the store.
    fn mkdirs(&self, dir: &Path) -> Result<()> {
        // Created every time (someone may have removed it since), checked once.
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| CaptureError::io(dir, e))?;
        if self.checked.lock().unwrap_or_else(|e| e.into_inner()).contains(dir) {
            return Ok(());
        }
        let inside = dir.strip_prefix(&self.root).unwrap_or(Path::new(""));
        let mut at = self.root.clone();
        for part in inside.components() {
            at.push(part);
            let meta = fs::symlink_metadata(&at).map_err(|e| CaptureError::io(&at, e))?;
            if !meta.is_dir() {
                return Err(CaptureError::Refused {
                    path: at,
                    problem: if meta.file_type().is_symlink() {
                        Refusal::Symlink
                    } else {
                        Refusal::NotRegular {
                            kind: "a file where a folder belongs",
                        }
                    },
                });
            }
        }
        let mut checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded (a store has at most 65,536 object folders and one per
        // function): past it, folders are checked again.
        if checked.len() >= MAX_CHECKED_DIRS {
            checked.clear();
        }
        checked.insert(dir.to_owned());
        Ok(())
    }

    /// A fresh path under `tmp/` (the folder is created if needed), named
    /// `<pid>-<n>-<nanos>.<ext>` so that a sweep can tell whose it is.
    fn tmp_name(&self, ext: &str) -> Result<PathBuf> {
        let tmp_dir = self.root.join(TMP);
        self.mkdirs(&tmp_dir)?;
        self.swept.call_once(|| {
            // Best effort: a sweep that fails leaves the files to the next one.
            let _ = sweep_temp_files(&tmp_dir, SystemTime::now(), DEAD_WRITER_GRACE, STALE_TEMP_AGE);
        });
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Ok(tmp_dir.join(format!("{}-{n}-{nanos}.{ext}", std::process::id())))
    }

    /// A deduplication hit: mark the existing file `dest` as just used (its
    /// mtime), so that a concurrent or later [`Store::gc`](super::Store::gc)
    /// counts it as young. Returns whether `dest` is still there afterwards;
    /// `false` (absent, or moved aside by gc meanwhile) means: write it.
    fn refresh(&self, dest: &Path) -> bool {
        let opened = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(dest);
        match opened {
            // A store we may not modify (e.g. read-only fixtures) still dedups.
            Ok(f) => {
                let _ = f.set_modified(SystemTime::now());
            }
            Err(e) if e.kind() == ErrorKind::NotFound => return false,
            Err(_) => return dest.exists(),
        }
        // gc moves a file aside before deleting it: if it did so before or
        // while we refreshed, the path is gone now.
        dest.exists()
    }

    /// Write `bytes` to a fresh temp file. With `stamp`, its modification
    /// time is set from the precise clock: the kernel stamps new files from
    /// a coarse clock that can lag by a few milliseconds, so an object
    /// written just after a gc started could look older than the gc's
    /// cutoff and be deleted under a grace of zero.
    fn write_tmp(&self, bytes: &[u8], stamp: bool) -> Result<PathBuf> {
        let tmp = self.tmp_name("tmp")?;
        let result = (|| {
            let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
            f.write_all(bytes)?;
            if stamp {
                f.set_modified(SystemTime::now())?;
            }
            if self.durability == Durability::PerWrite {
                f.sync_all()?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                temp_written(&tmp);
                Ok(tmp)
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(CaptureError::io(&tmp, e))
            }
        }
    }

    fn install(&self, tmp: &Path, dest: &Path) -> Result<()> {
        if let Some(parent) = dest.parent() {
            self.mkdirs(parent)?;
        }
        fs::rename(tmp, dest).map_err(|e| {
            let _ = fs::remove_file(tmp);
            CaptureError::io(dest, e)
        })?;
        self.written(dest);
        Ok(())
    }

    fn written(&self, dest: &Path) {
        if self.durability == Durability::OnFlush {
            self.unsynced
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(dest.to_owned());
        }
    }
}

impl Backend for LocalBackend {
    /// A safe read (see the guide's "What a reader checks"): no link
    /// followed, regular files only, at most [`MAX_FILE_LEN`] bytes.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        super::local_read::read(&self.root, key, MAX_FILE_LEN)
    }

    fn get_bounded(&self, key: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        super::local_read::read(&self.root, key, limit.min(MAX_FILE_LEN))
    }

    /// The count lives in `<root>/gc-epoch` (8 bytes, little endian). The
    /// file is opened at every read (no descriptor is kept: a store folder
    /// removed and made again must not leave writers reading the old file).
    fn gc_epoch(&self) -> Result<u64> {
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(self.root.join(GC_EPOCH))
        {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(CaptureError::io(self.root.join(GC_EPOCH), e)),
        };
        let mut buf = [0u8; 8];
        match file.read_at(&mut buf, 0) {
            Ok(8) => Ok(u64::from_le_bytes(buf)),
            Ok(_) => Ok(0),
            Err(e) => Err(CaptureError::io(self.root.join(GC_EPOCH), e)),
        }
    }

    /// Raised under the file's lock, as a folder's write count is.
    fn bump_gc_epoch(&self) -> Result<()> {
        let mut lock = self.lock(GC_EPOCH)?;
        self.count_writes(&mut *lock, 1).map(drop)
    }

    fn touch(&self, key: &str) -> Result<bool> {
        Ok(self.refresh(&self.path(key)))
    }

    fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<bool> {
        let dest = self.path(key);
        if self.refresh(&dest) {
            return Ok(false);
        }
        let tmp = self.write_tmp(bytes, true)?;
        if let Some(parent) = dest.parent() {
            self.mkdirs(parent)?;
        }
        // hard_link fails if the destination exists: exactly put-if-absent.
        let r = fs::hard_link(&tmp, &dest);
        let _ = fs::remove_file(&tmp);
        match r {
            Ok(()) => {
                self.written(&dest);
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(CaptureError::io(dest, e)),
        }
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let dest = self.path(key);
        let tmp = self.write_tmp(bytes, false)?;
        self.install(&tmp, &dest)
    }

    /// Opened without following a link (`O_NOFOLLOW`), refused unless it
    /// is a regular file, created 0600; one `write` of all of `bytes`.
    fn append(&self, key: &str, bytes: &[u8], fresh: bool) -> Result<Appended> {
        let dest = self.path(key);
        if fresh {
            if let Some(parent) = dest.parent() {
                self.mkdirs(parent)?;
            }
        }
        // Never created by an append to an existing segment: a segment
        // another process deleted must not come back without its header.
        let opened = OpenOptions::new()
            .append(true)
            .create_new(fresh)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&dest);
        let mut f = match opened {
            Ok(f) => f,
            Err(e) if !fresh && e.kind() == ErrorKind::NotFound => return Ok(Appended::Gone),
            Err(e) if fresh && e.kind() == ErrorKind::AlreadyExists => return Ok(Appended::Exists),
            Err(e) => return Err(CaptureError::io(&dest, e)),
        };
        let meta = f.metadata().map_err(|e| CaptureError::io(&dest, e))?;
        if !meta.is_file() {
            return Err(CaptureError::Refused {
                path: dest,
                problem: Refusal::NotRegular {
                    kind: "a special file (FIFO, device, folder) where a pending segment belongs",
                },
            });
        }
        f.write_all(bytes).map_err(|e| CaptureError::io(&dest, e))?;
        if self.durability == Durability::PerWrite {
            f.sync_data().map_err(|e| CaptureError::io(&dest, e))?;
        }
        temp_written(&dest);
        self.written(&dest);
        Ok(Appended::Done)
    }

    fn list(&self, prefix: &str) -> Result<Listing> {
        let dir = self.path(prefix);
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Listing::default()),
            Err(e) => return Err(CaptureError::io(dir, e)),
        };
        let mut out = Listing::default();
        for entry in rd {
            let entry = entry.map_err(|e| CaptureError::io(&dir, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                out.dirs.push(name);
            } else {
                out.files.push((name, meta.modified().ok()));
            }
        }
        out.dirs.sort();
        out.files.sort();
        Ok(out)
    }

    fn list_names(&self, prefix: &str) -> Result<Vec<String>> {
        let dir = self.path(prefix);
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CaptureError::io(dir, e)),
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| CaptureError::io(&dir, e))?;
            // `file_type` comes from the directory entry itself on most
            // file systems; it stats only where it must.
            if entry.file_type().is_ok_and(|t| !t.is_dir()) {
                if let Ok(name) = entry.file_name().into_string() {
                    out.push(name);
                }
            }
        }
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<()> {
        let p = self.path(key);
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CaptureError::io(p, e)),
        }
    }

    fn delete_if_older(&self, key: &str, cutoff: SystemTime) -> Result<bool> {
        // Move the file aside first: a writer refreshing it from now on finds
        // it gone and writes it again (see `refresh`); one that refreshed it
        // before the move left a time after `cutoff`, and it goes back.
        let dest = self.path(key);
        let aside = self.tmp_name("gc")?;
        match fs::rename(&dest, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(CaptureError::io(dest, e)),
        }
        let modified = fs::metadata(&aside).and_then(|m| m.modified());
        if modified.is_ok_and(|m| m <= cutoff) {
            fs::remove_file(&aside).map_err(|e| CaptureError::io(&aside, e))?;
            return Ok(true);
        }
        // Same content whoever wrote it: replacing a fresh copy is harmless.
        fs::rename(&aside, &dest).map_err(|e| CaptureError::io(&dest, e))?;
        Ok(false)
    }

    /// Files of writers that are gone, unchanged since `cutoff`; files of
    /// live writers only once they are [`STALE_TEMP_AGE`] older than it
    /// (the same sweep every store runs on its first write).
    fn sweep_temp(&self, cutoff: SystemTime) -> Result<usize> {
        let dir = self.root.join(TMP);
        let now = SystemTime::now();
        let grace = now.duration_since(cutoff).unwrap_or_default();
        match sweep_temp_files(&dir, now, grace, grace.max(STALE_TEMP_AGE)) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(0),
            Err(e) => Err(CaptureError::io(dir, e)),
        }
    }

    fn lock(&self, key: &str) -> Result<Box<dyn Any + Send>> {
        let p = self.path(key);
        if let Some(parent) = p.parent() {
            self.mkdirs(parent)?;
        }
        // Never through a link: the lock file's first bytes are written.
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&p)
            .map_err(|e| CaptureError::io(&p, e))?;
        if !f.metadata().is_ok_and(|m| m.is_file()) {
            return Err(CaptureError::Refused {
                path: p,
                problem: Refusal::NotRegular {
                    kind: "not a regular file",
                },
            });
        }
        f.lock().map_err(|e| CaptureError::io(&p, e))?;
        Ok(Box::new(LockGuard(f, p)))
    }

    /// The count lives in the lock file's first 8 bytes (little endian); an
    /// empty or short file counts 0, which only makes retention list once.
    fn count_writes(&self, lock: &mut (dyn Any + Send), n: u64) -> Result<Option<u64>> {
        let Some(LockGuard(f, path)) = lock.downcast_mut::<LockGuard>() else {
            return Ok(None);
        };
        let mut buf = [0u8; 8];
        let before = match f.read_at(&mut buf, 0) {
            Ok(8) => u64::from_le_bytes(buf),
            Ok(_) => 0,
            Err(e) => return Err(CaptureError::io(path.as_path(), e)),
        };
        f.write_all_at(&before.wrapping_add(n).to_le_bytes(), 0)
            .map_err(|e| CaptureError::io(path.as_path(), e))?;
        Ok(Some(before))
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn local_root(&self) -> Option<&Path> {
        Some(&self.root)
    }

    fn sync(&self) -> Result<()> {
        let files = std::mem::take(&mut *self.unsynced.lock().unwrap_or_else(|e| e.into_inner()));
        let mut dirs: Vec<&Path> = Vec::new();
        for f in &files {
            // A file removed since (retention) needs no sync.
            match File::open(f) {
                Ok(h) => h.sync_all().map_err(|e| CaptureError::io(f, e))?,
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(CaptureError::io(f, e)),
            }
            if let Some(d) = f.parent() {
                if !dirs.contains(&d) {
                    dirs.push(d);
                }
            }
        }
        // The renames themselves live in the folders.
        for d in dirs {
            if let Ok(h) = File::open(d) {
                let _ = h.sync_all();
            }
        }
        Ok(())
    }
}

/// A held folder lock: the open lock file and its path (for messages).
struct LockGuard(File, PathBuf);

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// How long a temp file of a writer that is gone must be left alone (a
/// writer in another pid namespace sharing the folder may have a pid that
/// looks dead here: it has written and renamed its file well within this).
pub const DEAD_WRITER_GRACE: Duration = Duration::from_secs(2);
/// Temp files older than this are stale whoever wrote them.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// Remove what writers that died mid-write (kill -9, power cut) left under
/// `tmp/`: files of a process that no longer exists (or whose name names no
/// process) unchanged for `dead_after`, and any file unchanged for
/// `any_after`. Every store runs it on its first write with
/// [`DEAD_WRITER_GRACE`] and [`STALE_TEMP_AGE`], so crash leftovers never
/// pile up; [`Store::gc`](super::Store::gc) runs it with its grace. Files of
/// live writers are left alone, whatever the grace, until `any_after`.
/// Returns how many files were removed.
pub(super) fn sweep_temp_files(
    tmp_dir: &Path,
    now: SystemTime,
    dead_after: Duration,
    any_after: Duration,
) -> std::io::Result<usize> {
    let me = std::process::id();
    let mut removed = 0;
    for entry in fs::read_dir(tmp_dir)?.flatten() {
        // `DirEntry::metadata` does not follow links.
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            continue;
        }
        let age = now.duration_since(changed_at(&meta)).unwrap_or_default();
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.split('-').next())
            .and_then(|p| p.parse::<u32>().ok());
        let live = pid.is_some_and(|p| p == me || process_alive(p));
        if (!live && age >= dead_after) || age >= any_after {
            match fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

/// The later of the content and inode change times: a file gc just moved
/// aside keeps its old mtime but has a fresh ctime.
fn changed_at(meta: &fs::Metadata) -> SystemTime {
    let ctime = UNIX_EPOCH
        .checked_add(Duration::new(
            meta.ctime().max(0) as u64,
            meta.ctime_nsec().clamp(0, 999_999_999) as u32,
        ))
        .unwrap_or(UNIX_EPOCH);
    meta.modified().map_or(ctime, |m| m.max(ctime))
}

/// Whether a process with this pid exists (on this machine's pid namespace).
pub(crate) fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(test)]
mod sweep_tests {
    use super::*;

    #[test]
    fn leftovers_of_dead_writers_go_and_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path();
        // A pid that cannot exist (above the kernel's maximum).
        let dead = tmp.join("4194305-1-0.tmp");
        let mine = tmp.join(format!("{}-1-0.tmp", std::process::id()));
        let foreign = tmp.join("not-a-pid.tmp");
        for f in [&dead, &mine, &foreign] {
            fs::write(f, b"x").unwrap();
        }
        let now = SystemTime::now();
        let sweep = |at| sweep_temp_files(tmp, at, DEAD_WRITER_GRACE, STALE_TEMP_AGE).unwrap();
        assert_eq!(sweep(now), 0, "all within the grace");
        let later = now + DEAD_WRITER_GRACE + Duration::from_secs(1);
        assert_eq!(sweep(later), 2, "the dead writer's, and the one that names no writer");
        assert!(!dead.exists() && mine.exists() && !foreign.exists());
        let much_later = now + STALE_TEMP_AGE + Duration::from_secs(1);
        assert_eq!(sweep(much_later), 1, "a live writer's, once stale");
    }

    #[test]
    fn the_first_write_sweeps_what_a_killed_writer_left() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join(TMP)).unwrap();
        let left = dir.path().join(TMP).join("4194305-7-0.tmp");
        fs::write(&left, b"half").unwrap();
        // Its change time cannot be set back: wait until it is past the grace.
        std::thread::sleep(DEAD_WRITER_GRACE + Duration::from_millis(100));
        let b = LocalBackend::new(dir.path());
        b.put("calls/a/b", b"x").unwrap();
        assert!(!left.exists(), "swept by the first write");
        assert_eq!(fs::read_dir(dir.path().join(TMP)).unwrap().count(), 0);
    }
}
