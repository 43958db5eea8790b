//! Named, versioned checkpoints: save a value under a name, load the latest
//! (or any) version back, list and delete them. Neither cache eviction nor
//! the store quota touches them, and [`gc_roots`] keeps their objects alive
//! through [`Store::gc`]. Values are stored as they are (no redaction).
//!
//! Layout: the value is a content-addressed object (identical versions are
//! stored once); each version is a small record at
//! `checkpoints/<name>/<version, 20 digits>.ckpt` (file kind 4). A save first
//! claims its version number with an empty put-if-absent marker
//! (`<version>.claim`, never deleted), then writes the record with
//! put-if-absent, so concurrent writers (threads, processes, machines
//! sharing an object store) each get their own number, and numbers are
//! never handed out twice, even after versions are deleted.
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
/// Extension of version claims (empty markers that keep numbers monotonic).
pub const CLAIM_EXT: &str = ".claim";
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

fn claim_key(name: &str, version: u64) -> String {
    format!("{}/{version:020}{CLAIM_EXT}", name_dir(name))
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

    /// Checkpoints in the store a capture site of the crate at
    /// `manifest_dir` writes to: `CAPTURE_DIR`, else the `configure()`d
    /// folder or URL, else `captures`, relative folders resolved against
    /// `manifest_dir`, with the same codec, durability and quota (the same
    /// shared store handle). [`checkpoints!`](crate::checkpoints) passes the
    /// calling crate's folder.
    pub fn for_crate(manifest_dir: &'static str) -> Checkpoints {
        Checkpoints::new(crate::capture::site::store_for_manifest(manifest_dir))
    }

    /// Checkpoints in the default store: the store a capture site of the
    /// running package uses ([`Checkpoints::for_crate`] with the
    /// `CARGO_MANIFEST_DIR` that `cargo run` and `cargo test` set). Outside
    /// cargo there is no package folder, so only an absolute `CAPTURE_DIR`
    /// (or configured folder) or a URL works; otherwise use
    /// [`checkpoints!`](crate::checkpoints), which knows the calling crate's
    /// folder at compile time, as capture sites do.
    pub fn default_location() -> Result<Checkpoints> {
        static RUNTIME: std::sync::OnceLock<Option<&'static str>> = std::sync::OnceLock::new();
        let runtime = *RUNTIME.get_or_init(|| {
            std::env::var("CARGO_MANIFEST_DIR")
                .ok()
                .filter(|m| !m.is_empty())
                .map(|m| &*Box::leak(m.into_boxed_str()))
        });
        if let Some(manifest) = runtime {
            return Ok(Checkpoints::for_crate(manifest));
        }
        let configured = crate::config::env_config()
            .dir
            .clone()
            .or_else(|| crate::config::programmatic().and_then(|c| c.dir));
        match configured {
            Some(dir)
                if dir.is_absolute() || dir.to_str().is_some_and(crate::store::object::is_url) =>
            {
                Ok(Checkpoints::for_crate(""))
            }
            other => Err(CaptureError::Config {
                key: "CAPTURE_DIR".into(),
                value: other.map(|d| d.display().to_string()).unwrap_or_default(),
                expected: "an absolute folder or a store URL: outside cargo (no CARGO_MANIFEST_DIR) a relative store folder has no crate folder to resolve against; or use capture_runtime::checkpoints!(), which resolves it as capture sites do".into(),
            }),
        }
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
        let first = self.highest_claimed(name)? + 1;
        for version in first..first + SAVE_ATTEMPTS {
            // Claims are never deleted: a number is handed out once.
            if !self.store.backend().put_if_absent(&claim_key(name, version), b"")? {
                continue;
            }
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
            // False only when a record written before claims existed holds the number.
            if self.store.backend().put_if_absent(&key, &bytes)? {
                self.store.note_quota((body.len() + bytes.len()) as u64);
                if crate::hooks::active() {
                    crate::hooks::emit(crate::hooks::CaptureEvent::Checkpoint {
                        store: self.store.describe(),
                        name: name.to_owned(),
                        version,
                        key,
                    });
                }
                return Ok(info);
            }
        }
        Err(CaptureError::Config {
            key: "checkpoint".into(),
            value: name.into(),
            expected: format!("a free version number: {SAVE_ATTEMPTS} concurrent saves took them all; retry"),
        })
    }

    /// The highest version number ever claimed or stored for `name` (0 for none).
    fn highest_claimed(&self, name: &str) -> Result<u64> {
        Ok(self
            .store
            .backend()
            .list(&name_dir(name))?
            .files
            .into_iter()
            .filter_map(|(n, _)| {
                n.strip_suffix(CHECKPOINT_EXT)
                    .or_else(|| n.strip_suffix(CLAIM_EXT))?
                    .parse::<u64>()
                    .ok()
            })
            .max()
            .unwrap_or(0))
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
    /// goes at the next [`Store::gc`] with [`gc_roots`]. Its number is not
    /// handed out again.
    pub fn delete_version(&self, name: &str, version: u64) -> Result<bool> {
        check_name(name)?;
        let key = version_key(name, version);
        let existed = self.store.backend().get(&key)?.is_some();
        self.store.backend().delete(&key)?;
        Ok(existed)
    }

    /// Delete every version of `name`; returns how many there were. The next
    /// save of `name` continues the numbering (the empty claim markers stay).
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
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # capture_runtime::configure(capture_runtime::Config { dir: Some(dir.path().into()), ..Default::default() });
/// let saved = capture_runtime::checkpoint("features", &vec![1u32, 2, 3])?;
/// let back: Vec<u32> = capture_runtime::load_checkpoint("features")?;
/// assert_eq!(back, [1, 2, 3]);
/// assert!(capture_runtime::list_checkpoints()?.contains(&"features".to_string()));
/// assert_eq!(capture_runtime::delete_checkpoint("features")?, 1);
/// # let _ = saved;
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

/// The [`Checkpoints`] of the store the calling crate's capture sites write
/// to: relative store folders resolve against the calling crate's folder,
/// known at compile time, exactly as `#[capture_args]` does (so it also works
/// for a binary run outside cargo).
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # capture_runtime::configure(capture_runtime::Config { dir: Some(dir.path().into()), ..Default::default() });
/// let cps = capture_runtime::checkpoints!();
/// cps.save("model", &[0.5f32, 1.5])?;
/// assert_eq!(cps.load::<Vec<f32>>("model")?, [0.5, 1.5]);
/// # Ok::<(), capture_runtime::CaptureError>(())
/// ```
#[macro_export]
macro_rules! checkpoints {
    () => {
        $crate::checkpoint::Checkpoints::for_crate(::core::env!("CARGO_MANIFEST_DIR"))
    };
}
