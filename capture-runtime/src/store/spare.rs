//! [`Spares`]: files the local store deletes, emptied and kept for the next
//! temp files to reuse instead of creating new ones.
//!
//! A busy store deletes about as many files as it creates (retention drops
//! the oldest call of a function for each new one). Creating a file costs
//! an inode, and some file systems make that expensive right after deletes:
//! ext4 without a journal (common under containers) skips every inode freed
//! in the last seconds and reads its inode table to check, so on a store
//! that writes and trims thousands of calls a second each create took
//! hundreds of microseconds (`perf`: `find_inode_bit` / `recently_deleted`),
//! capping the background writer near 100,000 captures/s. Renaming a file
//! costs no inode: a deleted file is renamed into `tmp/`, emptied at once
//! (deleted content must not linger), and renamed back into use by the next
//! write.
//!
//! Only plain files with a single link are reused (a hard link elsewhere,
//! say a backup made with `cp -al`, keeps its content and is only
//! unlinked), and a reused file gets the store's `0600` mode again. Spares
//! left when a process ends are empty files under `tmp/`, removed by
//! [`Store::gc`](super::Store::gc)'s temp sweep like any stale temp file.

use std::fs::{self, File, OpenOptions, Permissions};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Emptied files kept per store, at most.
const MAX: usize = 64;

/// Emptied files under the store's `tmp/`, ready for reuse.
#[derive(Debug, Clone, Default)]
pub(super) struct Spares(Arc<Mutex<Vec<PathBuf>>>);

impl Spares {
    /// Delete `path` by moving it to `aside` (a fresh name under `tmp/`)
    /// and emptying it for reuse. `false` when the file was not kept (the
    /// pool is full, or it could not be moved): delete it the ordinary way
    /// then. A file moved but not reusable is unlinked here.
    pub(super) fn keep(&self, path: &Path, aside: PathBuf) -> bool {
        if self.full() || fs::rename(path, &aside).is_err() {
            return false;
        }
        if !self.hold(aside.clone()) {
            let _ = fs::remove_file(&aside);
        }
        true
    }

    /// Keep `aside`, a file already moved under `tmp/` to be deleted, as a
    /// spare: emptied now. `false` (nothing done) when the pool is full or
    /// the file is not a single-link plain file: the caller deletes it.
    pub(super) fn hold(&self, aside: PathBuf) -> bool {
        let mut spares = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if spares.len() >= MAX {
            return false;
        }
        let emptied = OpenOptions::new().write(true).open(&aside).and_then(|f| {
            let meta = f.metadata()?;
            if !meta.is_file() || meta.nlink() != 1 {
                return Ok(false);
            }
            f.set_len(0)?;
            Ok(true)
        });
        if emptied.unwrap_or(false) {
            spares.push(aside);
            return true;
        }
        false
    }

    fn full(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len() >= MAX
    }

    /// A spare renamed to `tmp` and opened for writing, if there is one.
    pub(super) fn reuse(&self, tmp: &Path) -> Option<File> {
        loop {
            let spare = self.0.lock().unwrap_or_else(|e| e.into_inner()).pop()?;
            // Another process's temp sweep may have removed it: try the next.
            if fs::rename(&spare, tmp).is_err() {
                continue;
            }
            let opened = OpenOptions::new().write(true).truncate(true).open(tmp).and_then(|f| {
                f.set_permissions(Permissions::from_mode(0o600))?;
                Ok(f)
            });
            match opened {
                Ok(f) => return Some(f),
                Err(_) => {
                    let _ = fs::remove_file(tmp);
                }
            }
        }
    }

    /// How many files are kept.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_deleted_file_is_emptied_at_once_and_its_inode_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (old, aside, tmp) = (dir.path().join("old"), dir.path().join("aside"), dir.path().join("tmp"));
        fs::write(&old, b"secret-ish").unwrap();
        fs::set_permissions(&old, Permissions::from_mode(0o644)).unwrap();
        let ino = fs::metadata(&old).unwrap().ino();
        let spares = Spares::default();
        assert!(spares.keep(&old, aside.clone()));
        assert!(!old.exists());
        assert_eq!(fs::metadata(&aside).unwrap().len(), 0, "emptied when deleted");
        let mut f = spares.reuse(&tmp).expect("a spare");
        f.write_all(b"new").unwrap();
        drop(f);
        let meta = fs::metadata(&tmp).unwrap();
        assert_eq!((meta.ino(), meta.mode() & 0o777), (ino, 0o600));
        assert_eq!(fs::read(&tmp).unwrap(), b"new");
        assert!(!aside.exists());
        assert!(spares.reuse(&dir.path().join("t2")).is_none(), "used up");
    }

    #[test]
    fn a_file_with_another_link_keeps_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let (old, backup) = (dir.path().join("old"), dir.path().join("backup"));
        fs::write(&old, b"keep me").unwrap();
        fs::hard_link(&old, &backup).unwrap();
        let spares = Spares::default();
        assert!(spares.keep(&old, dir.path().join("aside")), "deleted all the same");
        assert!(!old.exists() && !dir.path().join("aside").exists());
        assert_eq!(fs::read(&backup).unwrap(), b"keep me");
        assert_eq!(spares.len(), 0);
    }

    #[test]
    fn a_spare_swept_meanwhile_is_skipped_and_the_pool_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let spares = Spares::default();
        for i in 0..MAX + 3 {
            let p = dir.path().join(format!("f{i}"));
            fs::write(&p, b"x").unwrap();
            let kept = spares.keep(&p, dir.path().join(format!("a{i}")));
            assert_eq!(kept, i < MAX, "file {i}");
        }
        // Another process's sweep removed the newest spare.
        fs::remove_file(dir.path().join(format!("a{}", MAX - 1))).unwrap();
        let tmp = dir.path().join("tmp");
        assert!(spares.reuse(&tmp).is_some());
        assert_eq!(spares.len(), MAX - 2);
    }
}
