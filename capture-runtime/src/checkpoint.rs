//! Named, versioned checkpoints: save a value under a name, load the latest
//! (or any) version back, list and delete them. Cache eviction never touches
//! them, and [`gc_roots`] keeps their objects alive through [`Store::gc`].
//!
//! Layout: the value is a content-addressed object (identical versions are
//! stored once); each version is a small record at
//! `checkpoints/<name>/<version, 20 digits>.ckpt` (file kind 4). A new version
//! is written with put-if-absent, so concurrent writers (threads, processes,
//! machines sharing an object store) each get their own version number.
//!
//! ```
//! use capture_runtime::checkpoint::Checkpoints;
//! let dir = tempfile::tempdir().unwrap();
//! let cps = Checkpoints::new(capture_runtime::Store::open(dir.path()));
//! cps.save("weights", &vec![0.5f64, 0.25])?;
//! let v2 = cps.save("weights", &vec![0.75f64])?;
//! assert_eq!(v2.version, 2);
//! assert_eq!(cps.load::<Vec<f64>>("weights")?, vec![0.75]);
//! assert_eq!(cps.load_version::<Vec<f64>>("weights", 1)?, vec![0.5, 0.25]);
//! assert_eq!(cps.names()?, ["weights"]);
//! # Ok::<(), capture_runtime::CaptureError>(())
//! ```

use std::collections::HashSet;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec::{frame, unframe, FileKind};
use crate::error::{CaptureError, Result};
use crate::hash::ContentId;
use crate::store::layout::{escape_segment, unescape_segment};
use crate::store::Store;

/// Folder of checkpoints.
pub const CHECKPOINTS: &str = "checkpoints";
/// Extension of checkpoint records.
pub const CHECKPOINT_EXT: &str = ".ckpt";
/// How many times a save retries when other writers take the next versions.
const SAVE_ATTEMPTS: u64 = 64;

/// One stored version of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointInfo {
    /// The name it was saved under.
    pub name: String,
    /// Its version (1 for the first save of a name).
    pub version: u64,
    /// `std::any::type_name` of the saved value.
    pub type_name: String,
    /// When it was saved, nanoseconds since the Unix epoch.
    pub created_nanos: u64,
    /// Content id of the stored value.
    pub value: ContentId,
    /// Encoded size of the value in bytes.
    pub len: u64,
}

/// Checkpoints of one store.
#[derive(Clone, Debug)]
pub struct Checkpoints {
    store: Store,
}

fn name_dir(name: &str) -> String {
    format!("{CHECKPOINTS}/{}", escape_segment(name))
}

fn version_key(name: &str, version: u64) -> String {
    format!("{}/{version:020}{CHECKPOINT_EXT}", name_dir(name))
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(CaptureError::Config {
            key: "checkpoint name".into(),
            value: name.into(),
            expected: "a non-empty name such as \"model\" or \"etl/stage-2\"".into(),
        });
    }
    Ok(())
}

impl Checkpoints {
    /// Checkpoints stored in `store`.
    pub fn new(store: Store) -> Checkpoints {
        Checkpoints { store }
    }

    /// Checkpoints in the default store (`CAPTURE_DIR`, else the configured
    /// folder, else `$CARGO_MANIFEST_DIR/captures`), as the loader finds it.
    pub fn default_location() -> Result<Checkpoints> {
        Ok(Checkpoints::new(
            crate::CaptureLoader::default_location()?.store().clone(),
        ))
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Save `value` as the next version of `name`.
    pub fn save<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<CheckpointInfo> {
        check_name(name)?;
        let body = self
            .store
            .codec()
            .encode(value)
            .map_err(|message| CaptureError::Encode {
                what: format!("checkpoint `{name}`"),
                message,
            })?;
        let id = self.store.put_object(&body)?;
        let first = self.versions_raw(name)?.last().copied().unwrap_or(0) + 1;
        for version in first..first + SAVE_ATTEMPTS {
            let info = CheckpointInfo {
                name: name.to_owned(),
                version,
                type_name: std::any::type_name::<T>().to_owned(),
                created_nanos: crate::cache::now(),
                value: id,
                len: body.len() as u64,
            };
            let record = self
                .store
                .codec()
                .encode(&info)
                .map_err(|message| CaptureError::Encode {
                    what: format!("checkpoint record `{name}`"),
                    message,
                })?;
            let key = version_key(name, version);
            let bytes = frame(self.store.codec(), FileKind::Checkpoint, &record);
            if self.store.backend().put_if_absent(&key, &bytes)? {
                crate::hooks::emit(crate::hooks::CaptureEvent::Checkpoint {
                    store: self.store.describe(),
                    name: name.to_owned(),
                    version,
                    key,
                });
                return Ok(info);
            }
        }
        Err(CaptureError::Config {
            key: "checkpoint".into(),
            value: name.into(),
            expected: format!("a free version number: {SAVE_ATTEMPTS} concurrent saves took them all; retry"),
        })
    }

    fn versions_raw(&self, name: &str) -> Result<Vec<u64>> {
        let mut v: Vec<u64> = self
            .store
            .backend()
            .list(&name_dir(name))?
            .files
            .into_iter()
            .filter_map(|(n, _)| n.strip_suffix(CHECKPOINT_EXT)?.parse().ok())
            .collect();
        v.sort_unstable();
        Ok(v)
    }

    fn missing(&self, name: &str, version: Option<u64>) -> CaptureError {
        let known = match version {
            None => self.names().unwrap_or_default(),
            Some(_) => self
                .versions_raw(name)
                .unwrap_or_default()
                .iter()
                .map(|v| format!("version {v}"))
                .collect(),
        };
        CaptureError::NoCheckpoint {
            name: name.to_owned(),
            version,
            store: PathBuf::from(self.store.describe()),
            known,
        }
    }

    /// The record of one version.
    pub fn info_version(&self, name: &str, version: u64) -> Result<CheckpointInfo> {
        check_name(name)?;
        let key = version_key(name, version);
        let path = PathBuf::from(format!("{}/{key}", self.store.describe()));
        let bytes = self
            .store
            .backend()
            .get(&key)?
            .ok_or_else(|| self.missing(name, Some(version)))?;
        let un = unframe(&path, &bytes, FileKind::Checkpoint)?;
        un.codec.decode(un.body).map_err(|e| CaptureError::BadFile {
            path,
            reason: format!("undecodable checkpoint record: {e}"),
        })
    }

    /// The record of the latest version.
    pub fn info(&self, name: &str) -> Result<CheckpointInfo> {
        check_name(name)?;
        let latest = *self
            .versions_raw(name)?
            .last()
            .ok_or_else(|| self.missing(name, None))?;
        self.info_version(name, latest)
    }

    /// Every version of `name`, oldest first.
    pub fn versions(&self, name: &str) -> Result<Vec<CheckpointInfo>> {
        check_name(name)?;
        self.versions_raw(name)?
            .into_iter()
            .map(|v| self.info_version(name, v))
            .collect()
    }

    /// Every checkpoint name, sorted.
    pub fn names(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .store
            .backend()
            .list(CHECKPOINTS)?
            .dirs
            .iter()
            .map(|d| unescape_segment(d))
            .collect();
        // A name whose versions were all deleted may leave an empty folder.
        names.retain(|n| self.versions_raw(n).is_ok_and(|v| !v.is_empty()));
        names.sort();
        Ok(names)
    }

    /// Load the latest version of `name` as a `T`.
    pub fn load<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        let info = self.info(name)?;
        self.decode(&info)
    }

    /// Load one version of `name` as a `T`.
    pub fn load_version<T: DeserializeOwned>(&self, name: &str, version: u64) -> Result<T> {
        let info = self.info_version(name, version)?;
        self.decode(&info)
    }

    fn decode<T: DeserializeOwned>(&self, info: &CheckpointInfo) -> Result<T> {
        let (codec, body) = self.store.get_object(&info.value)?;
        codec.decode(&body).map_err(|detail| CaptureError::TypeMismatch {
            function: format!("checkpoint {} version {}", info.name, info.version),
            arg: "value".into(),
            recorded: info.type_name.clone(),
            requested: std::any::type_name::<T>().to_owned(),
            detail,
        })
    }

    /// Delete one version; returns whether it existed. The value's object
    /// goes at the next [`Store::gc`] with [`gc_roots`].
    pub fn delete_version(&self, name: &str, version: u64) -> Result<bool> {
        check_name(name)?;
        let key = version_key(name, version);
        let existed = self.store.backend().get(&key)?.is_some();
        self.store.backend().delete(&key)?;
        Ok(existed)
    }

    /// Delete every version of `name`; returns how many there were.
    pub fn delete(&self, name: &str) -> Result<usize> {
        check_name(name)?;
        let versions = self.versions_raw(name)?;
        for v in &versions {
            self.store.backend().delete(&version_key(name, *v))?;
        }
        Ok(versions.len())
    }

    /// Content ids of every checkpoint version's value.
    pub fn roots(&self) -> Result<HashSet<ContentId>> {
        let mut out = HashSet::new();
        for name in self.names()? {
            for v in self.versions_raw(&name)? {
                match self.info_version(&name, v) {
                    Ok(info) => {
                        out.insert(info.value);
                    }
                    // A record another process is deleting right now.
                    Err(CaptureError::NoCheckpoint { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(out)
    }
}

/// The objects that [`Store::gc`] must keep besides those call records
/// reference: every checkpoint version's value. (Cache entries hold their
/// results inline, so they reference no object.)
///
/// ```
/// use std::time::Duration;
/// let dir = tempfile::tempdir().unwrap();
/// let store = capture_runtime::Store::open(dir.path());
/// capture_runtime::checkpoint::Checkpoints::new(store.clone()).save("s", &1u8)?;
/// let report = store.gc(Duration::ZERO, &capture_runtime::gc_roots(&store)?)?;
/// assert_eq!((report.kept, report.removed), (1, 0));
/// # Ok::<(), capture_runtime::CaptureError>(())
/// ```
pub fn gc_roots(store: &Store) -> Result<HashSet<ContentId>> {
    Checkpoints::new(store.clone()).roots()
}

/// Save `value` as the next version of checkpoint `name` in the default
/// store (see [`Checkpoints::default_location`]).
///
/// ```no_run
/// capture_runtime::checkpoint("features", &vec![1u32, 2, 3])?;
/// let back: Vec<u32> = capture_runtime::load_checkpoint("features")?;
/// # Ok::<(), capture_runtime::CaptureError>(())
/// ```
pub fn checkpoint<T: Serialize + ?Sized>(name: &str, value: &T) -> Result<CheckpointInfo> {
    Checkpoints::default_location()?.save(name, value)
}

/// Load the latest version of checkpoint `name` from the default store.
pub fn load_checkpoint<T: DeserializeOwned>(name: &str) -> Result<T> {
    Checkpoints::default_location()?.load(name)
}

/// Names of the checkpoints in the default store.
pub fn list_checkpoints() -> Result<Vec<String>> {
    Checkpoints::default_location()?.names()
}

/// Delete every version of checkpoint `name` in the default store.
pub fn delete_checkpoint(name: &str) -> Result<usize> {
    Checkpoints::default_location()?.delete(name)
}
