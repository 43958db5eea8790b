//! Reading a file of a local store as untrusted input.
//!
//! A store may come from a checkout nobody vetted, so a read:
//!
//! - follows no symbolic link, in the file's name or in any folder between
//!   the store's root and the file (each folder is opened with
//!   `O_NOFOLLOW | O_DIRECTORY` relative to the one before, so a link
//!   swapped in between two steps is refused too); the root itself is the
//!   user's choice and may be a link;
//! - opens regular files only, without blocking (`O_NONBLOCK`: a FIFO named
//!   like an object is refused at once instead of hanging the reader);
//! - reads at most the length the caller allows (the length the referencing
//!   record states, or a hard cap), checked against the file's size before a
//!   byte is allocated, and again while reading (a file that grows is
//!   refused, not read to the end).
//!
//! Each refusal is a typed [`CaptureError::Refused`] naming the file and
//! what to do.

use std::ffi::CString;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::error::{CaptureError, Refusal, Result};

/// Open `name` relative to the open folder `dir`.
fn open_at(dir: &OwnedFd, name: &str, flags: libc::c_int) -> std::io::Result<OwnedFd> {
    let c = CString::new(name).map_err(|_| std::io::Error::from(ErrorKind::InvalidInput))?;
    // SAFETY: `dir` is an open descriptor, `c` a NUL-terminated string; the
    // returned descriptor is owned by the `OwnedFd` and closed once.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags | libc::O_CLOEXEC | libc::O_NOCTTY, 0) };
    if fd < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        // SAFETY: `fd` was just returned by `openat` and nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

/// Whether `name` in the open folder `dir` is a symbolic link (not followed).
fn is_link_at(dir: &OwnedFd, name: &str) -> bool {
    let Ok(c) = CString::new(name) else { return false };
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid descriptor and string; `st` is written by a successful call.
    let r = unsafe { libc::fstatat(dir.as_raw_fd(), c.as_ptr(), st.as_mut_ptr(), libc::AT_SYMLINK_NOFOLLOW) };
    // SAFETY: initialised by the successful call above.
    r == 0 && (unsafe { st.assume_init() }.st_mode & libc::S_IFMT) == libc::S_IFLNK
}

/// The error for component `name` of `dir` that could not be opened: a
/// refusal when the cause is a link or a file of the wrong type, else the
/// I/O error.
fn open_error(path: &Path, dir: &OwnedFd, name: &str, e: std::io::Error) -> CaptureError {
    let problem = match e.raw_os_error() {
        // O_NOFOLLOW on a link gives ELOOP, or ENOTDIR with O_DIRECTORY
        // (which a plain file in a folder's place gives too).
        Some(libc::ELOOP | libc::ENOTDIR) if is_link_at(dir, name) => Refusal::Symlink,
        Some(libc::ENOTDIR) => Refusal::NotRegular {
            kind: "a file where a folder belongs",
        },
        Some(libc::ENXIO) => Refusal::NotRegular {
            kind: "a socket or device",
        },
        _ => return CaptureError::io(path, e),
    };
    CaptureError::Refused {
        path: path.to_owned(),
        problem,
    }
}

/// Read the file at `key` (`/`-separated, relative to `root`) as untrusted
/// input, at most `limit` bytes. `Ok(None)` when it does not exist.
pub(super) fn read(root: &Path, key: &str, limit: u64) -> Result<Option<Vec<u8>>> {
    let path = root.join(key);
    let parts: Vec<&str> = key.split('/').collect();
    if parts.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
        return Err(CaptureError::BadFile {
            path,
            reason: "not a store key (empty, `.` or `..` component)".into(),
        });
    }
    let root_fd = match File::open(root) {
        Ok(f) => OwnedFd::from(f),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CaptureError::io(root, e)),
    };
    let (name, folders) = parts.split_last().expect("split gives one part at least");
    let mut dir = root_fd;
    for folder in folders {
        dir = match open_at(&dir, folder, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW) {
            Ok(fd) => fd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(open_error(&path, &dir, folder, e)),
        };
    }
    let fd = match open_at(&dir, name, libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK) {
        Ok(fd) => fd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(open_error(&path, &dir, name, e)),
    };
    let file = File::from(fd);
    let meta = file.metadata().map_err(|e| CaptureError::io(&path, e))?;
    if !meta.file_type().is_file() {
        let kind = if meta.is_dir() {
            "a folder"
        } else {
            use std::os::unix::fs::FileTypeExt;
            let t = meta.file_type();
            if t.is_fifo() {
                "a FIFO"
            } else if t.is_socket() {
                "a socket"
            } else {
                "a device"
            }
        };
        return Err(CaptureError::Refused {
            path,
            problem: Refusal::NotRegular { kind },
        });
    }
    let too_large = |len: u64| CaptureError::Refused {
        path: path.clone(),
        problem: Refusal::TooLarge { len, limit },
    };
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    // Sized by what the file holds now, never by what it claims elsewhere;
    // reading one byte past `limit` tells a file that grew meanwhile.
    let mut out = Vec::with_capacity(meta.len() as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| CaptureError::io(&path, e))?;
    if out.len() as u64 > limit {
        return Err(too_large(out.len() as u64));
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn refused(r: Result<Option<Vec<u8>>>) -> Refusal {
        match r {
            Err(CaptureError::Refused { problem, .. }) => problem,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn reads_regular_files_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/c"), b"12345").unwrap();
        assert_eq!(read(dir.path(), "a/b/c", 5).unwrap().unwrap(), b"12345");
        assert_eq!(read(dir.path(), "a/b/missing", 5).unwrap(), None);
        assert_eq!(read(dir.path(), "a/missing/c", 5).unwrap(), None);
        assert!(matches!(
            refused(read(dir.path(), "a/b/c", 4)),
            Refusal::TooLarge { len: 5, limit: 4 }
        ));
        assert!(read(dir.path(), "a/../a/b/c", 5).is_err());
    }

    #[test]
    fn links_are_not_followed_anywhere_in_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"outside").unwrap();
        std::fs::create_dir_all(dir.path().join("objects")).unwrap();
        symlink(outside.path(), dir.path().join("objects/ab")).unwrap();
        symlink(outside.path().join("secret"), dir.path().join("objects/file")).unwrap();
        assert!(matches!(
            refused(read(dir.path(), "objects/ab/secret", 100)),
            Refusal::Symlink
        ));
        assert!(matches!(
            refused(read(dir.path(), "objects/file", 100)),
            Refusal::Symlink
        ));
        // The root itself may be a link: it is the user's own choice.
        let root_link = outside.path().join("store-link");
        symlink(dir.path(), &root_link).unwrap();
        std::fs::write(dir.path().join("objects/plain"), b"ok").unwrap();
        assert_eq!(read(&root_link, "objects/plain", 100).unwrap().unwrap(), b"ok");
    }

    #[test]
    fn fifos_devices_and_folders_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid path string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            refused(read(dir.path(), "fifo", 100)),
            Refusal::NotRegular { .. }
        ));
        std::fs::create_dir(dir.path().join("folder")).unwrap();
        assert!(matches!(
            refused(read(dir.path(), "folder", 100)),
            Refusal::NotRegular { .. }
        ));
        symlink("/dev/zero", dir.path().join("zero")).unwrap();
        assert!(matches!(refused(read(dir.path(), "zero", 100)), Refusal::Symlink));
    }

    #[test]
    fn a_sparse_giant_is_refused_before_anything_is_allocated() {
        let dir = tempfile::tempdir().unwrap();
        let f = File::create(dir.path().join("sparse")).unwrap();
        f.set_len(2 << 30).unwrap();
        assert!(matches!(
            refused(read(dir.path(), "sparse", 1 << 20)),
            Refusal::TooLarge { len, .. } if len == 2 << 30
        ));
    }
}
