//! Loading captures back: by function name, index, predicate, and typed
//! access to each argument by name.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;

use crate::codec::Codec;
use crate::error::{CaptureError, Result};
use crate::hash::ContentId;
use crate::record::{ArgRecord, CallRecord, CaptureKind, Kinds, Slot};
use crate::store::segment::InlineObject;
use crate::store::Store;
use crate::value::Value;
use std::sync::Arc;

/// Reads captures from a store.
///
/// ```no_run
/// use capture_runtime::CaptureLoader;
/// let loader = CaptureLoader::new("captures");
/// for call in loader.load_all("price")? {
///     let discount: f64 = call.arg("discount")?;
///     println!("{} {discount}", call.capture_id());
/// }
/// # Ok::<(), capture_runtime::CaptureError>(())
/// ```
#[derive(Clone, Debug)]
pub struct CaptureLoader {
    store: Store,
    kinds: Kinds,
}

impl CaptureLoader {
    /// A loader over the local store at `path` (any working directory: pass
    /// an absolute path, or one relative to where the program runs).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CaptureLoader::from_store(Store::open(path))
    }

    /// A loader over any store (e.g. object storage).
    pub fn from_store(store: Store) -> Self {
        CaptureLoader {
            store,
            kinds: Kinds::All,
        }
    }

    /// Which captures this loader sees: accepted and pending ones
    /// ([`Kinds::All`], the default), or one kind.
    ///
    /// ```no_run
    /// use capture_runtime::{record::Kinds, CaptureLoader};
    /// let fixtures = CaptureLoader::new("captures").kinds(Kinds::Accepted);
    /// for call in fixtures.load_all("price")? {
    ///     assert!(call.is_accepted());
    /// }
    /// # Ok::<(), capture_runtime::CaptureError>(())
    /// ```
    pub fn kinds(mut self, kinds: Kinds) -> Self {
        self.kinds = kinds;
        self
    }

    /// The default store, found the way capture sites find it: `CAPTURE_DIR`,
    /// else the `configure()`d folder, else `captures/` in the crate's folder.
    /// A relative folder is relative to the crate's folder, never to the
    /// working directory.
    ///
    /// The crate's folder is `CARGO_MANIFEST_DIR` as set when the program
    /// runs: `cargo run` and `cargo test` set it to the package they run, so
    /// tests and examples find their crate's captures from any working
    /// directory. Outside cargo there is no crate folder: an absolute
    /// `CAPTURE_DIR` (or `s3://` URL) still works, anything else is a
    /// [`CaptureError::Config`] saying what to set. To read another crate's
    /// captures, or from a binary run without cargo, use
    /// [`CaptureLoader::for_crate`] with that crate's folder.
    pub fn default_location() -> Result<Self> {
        let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Self::locate(manifest.as_deref())
    }

    /// The default store of the crate whose folder is `manifest_dir`, resolved
    /// exactly as that crate's capture sites resolve it (`CAPTURE_DIR`, else
    /// the `configure()`d folder, else `captures/`; relative folders against
    /// `manifest_dir`). Pass `env!("CARGO_MANIFEST_DIR")` from the crate that
    /// captures: then it works in any binary and any working directory.
    ///
    /// ```
    /// # capture_runtime::configure(capture_runtime::Config::default());
    /// # if std::env::var_os("CAPTURE_DIR").is_none() {
    /// let loader = capture_runtime::CaptureLoader::for_crate(env!("CARGO_MANIFEST_DIR"))?;
    /// assert_eq!(
    ///     loader.store().local_root().unwrap(),
    ///     std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
    /// );
    /// # }
    /// # Ok::<(), capture_runtime::CaptureError>(())
    /// ```
    pub fn for_crate(manifest_dir: impl AsRef<Path>) -> Result<Self> {
        Self::locate(Some(manifest_dir.as_ref()))
    }

    fn locate(manifest: Option<&Path>) -> Result<Self> {
        let (key, configured) = match &crate::config::env_config().dir {
            Some(dir) => ("CAPTURE_DIR", Some(dir.clone())),
            None => ("Config::dir", crate::config::programmatic().and_then(|c| c.dir)),
        };
        if let Some(url) = configured
            .as_deref()
            .and_then(|p| p.to_str())
            .filter(|s| crate::store::object::is_url(s))
        {
            return Ok(CaptureLoader::from_store(crate::store::object::open_location(url)?));
        }
        let path = match (configured, manifest) {
            (Some(dir), _) if dir.is_absolute() => dir,
            (Some(dir), Some(m)) => m.join(dir),
            (None, Some(m)) => m.join("captures"),
            (Some(dir), None) => {
                return Err(CaptureError::Config {
                    key: key.into(),
                    value: dir.display().to_string(),
                    expected: "an absolute folder here: a relative store folder is relative to the capturing crate's folder, and outside cargo (no CARGO_MANIFEST_DIR) that folder is unknown; give an absolute path, or use CaptureLoader::for_crate(env!(\"CARGO_MANIFEST_DIR\")) or CaptureLoader::new(path)".into(),
                })
            }
            (None, None) => {
                return Err(CaptureError::Config {
                    key: "CAPTURE_DIR".into(),
                    value: String::new(),
                    expected: "a store folder: set CAPTURE_DIR to an absolute path, run under cargo (CARGO_MANIFEST_DIR), or use CaptureLoader::for_crate(env!(\"CARGO_MANIFEST_DIR\")) or CaptureLoader::new(path)".into(),
                })
            }
        };
        Ok(CaptureLoader::new(path))
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Function ids with captures.
    ///
    /// Every look-up of a loader goes through here, and first makes the
    /// captures this process has recorded so far visible ([`crate::flush`]:
    /// two atomic loads when nothing is queued), so a test that captures and
    /// then loads in one process never races the background writer.
    pub fn functions(&self) -> Result<Vec<String>> {
        crate::flush();
        match self.kinds {
            Kinds::All => self.store.functions(),
            Kinds::Accepted => self.store.accepted_functions(),
            Kinds::Pending => self.store.pending_functions(),
        }
    }

    /// Resolve a full id or a suffix (`price`, `checkout::price`) to the one
    /// captured function it names (among functions with captures of any kind).
    pub fn resolve(&self, function: &str) -> Result<String> {
        // Against every function in the store, whatever kinds this loader
        // sees: a function with accepted captures only has no pending ones
        // (an empty list), it is not unknown.
        crate::flush();
        let all = self.store.functions()?;
        if all.iter().any(|f| f == function) {
            return Ok(function.to_owned());
        }
        let suffix = format!("::{function}");
        let matches: Vec<String> = all.iter().filter(|f| f.ends_with(&suffix)).cloned().collect();
        match matches.len() {
            1 => Ok(matches.into_iter().next().expect("one")),
            0 => Err(CaptureError::NotFound {
                function: function.to_owned(),
                store: self.store.describe().into(),
                known: all,
            }),
            _ => Err(CaptureError::Ambiguous {
                function: function.to_owned(),
                candidates: matches,
            }),
        }
    }

    /// Every stored call of `function` that reads back, oldest first.
    ///
    /// A record that does not (damaged, misplaced, refused) is skipped and
    /// reported once through `tracing` and stderr: one bad file does not
    /// hide the others. [`CaptureLoader::load_checked`] returns those
    /// records and their typed errors instead.
    pub fn load_all(&self, function: &str) -> Result<Vec<CapturedCall>> {
        let loaded = self.load_checked(function)?;
        for bad in &loaded.bad {
            crate::config::report(
                "unreadable call record",
                &format!("skipped call record {}: {}", bad.key, bad.error),
            );
        }
        Ok(loaded.calls)
    }

    /// Every stored call of `function`, oldest first, with the records that
    /// could not be read kept apart with their typed errors.
    ///
    /// ```
    /// # use capture_runtime::{record::*, store::{Retention, Store}, CaptureLoader};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path());
    /// # let rec = |seq| CallRecord { function: "shop::price".into(), crate_name: "shop".into(),
    /// #     crate_version: "0.1.0".into(), format_version: 2, unix_nanos: 1_000 + seq, pid: 1, seq,
    /// #     thread_name: None, thread_id: 1, depth: 0, args: vec![], ret: None, after: vec![],
    /// #     outcome: Outcome::Returned };
    /// let keys = store.write_calls(&[rec(1), rec(2)], Retention::default()).unwrap();
    /// std::fs::write(dir.path().join(&keys[0]), b"garbage").unwrap();
    /// let loaded = CaptureLoader::from_store(store).load_checked("price").unwrap();
    /// assert_eq!(loaded.calls.len(), 1);
    /// assert_eq!(loaded.bad.len(), 1);
    /// assert!(matches!(loaded.bad[0].error, capture_runtime::CaptureError::BadFile { .. }));
    /// ```
    pub fn load_checked(&self, function: &str) -> Result<Loaded> {
        let id = self.resolve(function)?;
        let mut out = Loaded::default();
        if self.kinds.includes(CaptureKind::Accepted) {
            for key in self.store.calls(&id)? {
                match self.store.read_call(&key) {
                    Ok(record) => out.calls.push(CapturedCall {
                        record,
                        key,
                        store: self.store.clone(),
                        kind: CaptureKind::Accepted,
                        inline: None,
                    }),
                    // Removed between the listing and the read.
                    Err(CaptureError::BadFile { ref reason, .. }) if reason.starts_with("call record vanished") => {}
                    Err(error) => out.bad.push(BadRecord { key, error }),
                }
            }
        }
        if self.kinds.includes(CaptureKind::Pending) {
            let listing = self.store.pending(&id)?;
            out.bad
                .extend(listing.bad.into_iter().map(|(key, error)| BadRecord { key, error }));
            out.calls.extend(listing.captures.into_iter().map(|c| CapturedCall {
                record: c.record,
                key: c.key,
                store: self.store.clone(),
                kind: CaptureKind::Pending,
                inline: Some(Arc::new((c.codec, c.objects))),
            }));
        }
        out.calls
            .sort_by_key(|c| (c.record.unix_nanos, c.record.pid, c.record.seq));
        Ok(out)
    }

    /// The `index`-th capture of `function`, oldest first.
    pub fn by_index(&self, function: &str, index: usize) -> Result<CapturedCall> {
        let id = self.resolve(function)?;
        let mut calls = self.load_checked(&id)?.calls;
        let len = calls.len();
        if index >= len {
            return Err(CaptureError::IndexOutOfRange {
                function: id,
                index,
                len,
            });
        }
        Ok(calls.swap_remove(index))
    }

    /// The most recent capture of `function`.
    pub fn latest(&self, function: &str) -> Result<CapturedCall> {
        let id = self.resolve(function)?;
        self.load_checked(&id)?
            .calls
            .pop()
            .ok_or_else(|| CaptureError::NotFound {
                function: function.to_owned(),
                store: self.store.describe().into(),
                known: self.functions().unwrap_or_default(),
            })
    }

    /// Accept every pending capture of `function` that `select` chooses:
    /// each becomes an accepted capture (replacing one with the same inputs
    /// when `replace`), and leaves the pending captures. Returns the keys
    /// of the accepted captures written.
    ///
    /// ```no_run
    /// use capture_runtime::CaptureLoader;
    /// let written = CaptureLoader::new("captures").accept_pending("price", |_| true, false)?;
    /// println!("accepted {} capture(s)", written.len());
    /// # Ok::<(), capture_runtime::CaptureError>(())
    /// ```
    pub fn accept_pending(
        &self,
        function: &str,
        select: impl Fn(&CapturedCall) -> bool,
        replace: bool,
    ) -> Result<Vec<String>> {
        let pending = self.clone().kinds(Kinds::Pending).load_checked(function)?;
        let mut written = Vec::new();
        let mut done = Vec::new();
        for call in pending.calls.iter().filter(|c| select(c)) {
            if let Some(key) = call.accept(replace)? {
                written.push(key);
            }
            done.push(call.key.clone());
        }
        self.store.remove_pending(&done)?;
        Ok(written)
    }

    /// Drop every pending capture of `function` that `select` chooses;
    /// returns how many were dropped.
    pub fn reject_pending(&self, function: &str, select: impl Fn(&CapturedCall) -> bool) -> Result<usize> {
        let pending = self.clone().kinds(Kinds::Pending).load_checked(function)?;
        let keys: Vec<String> = pending
            .calls
            .iter()
            .filter(|c| select(c))
            .map(|c| c.key.clone())
            .collect();
        self.store.remove_pending(&keys)
    }

    /// The stored calls of `function` whose metadata satisfies `predicate`.
    pub fn select(&self, function: &str, predicate: impl Fn(&CallRecord) -> bool) -> Result<Vec<CapturedCall>> {
        Ok(self
            .load_all(function)?
            .into_iter()
            .filter(|c| predicate(&c.record))
            .collect())
    }
}

/// What [`CaptureLoader::load_checked`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The calls that read back, oldest first.
    pub calls: Vec<CapturedCall>,
    /// The records that did not, with why.
    pub bad: Vec<BadRecord>,
}

/// A call record that could not be read back.
#[derive(Debug)]
pub struct BadRecord {
    /// Its store key.
    pub key: String,
    /// Why (damaged, misplaced, refused, unknown version, ...).
    pub error: CaptureError,
}

/// The most recent capture of `function` in the default store
/// (see [`CaptureLoader::default_location`]).
///
/// ```no_run
/// let call = capture_runtime::load_latest("price")?;
/// let discount: f64 = call.arg("discount")?;
/// # Ok::<(), capture_runtime::CaptureError>(())
/// ```
pub fn load_latest(function: &str) -> Result<CapturedCall> {
    CaptureLoader::default_location()?.latest(function)
}

/// One stored call.
#[derive(Clone, Debug)]
pub struct CapturedCall {
    store: Store,
    key: String,
    record: CallRecord,
    kind: CaptureKind,
    /// A pending capture's inline objects, in its segment's codec.
    inline: Option<Arc<(Codec, Vec<InlineObject>)>>,
}

impl CapturedCall {
    /// The record's metadata: function, crate and version, format version,
    /// thread, depth, time, argument type names and schemas, outcome.
    pub fn metadata(&self) -> &CallRecord {
        &self.record
    }

    /// The store key of this call's record: `calls/<fn>/<name>.call` for an
    /// accepted capture, `pending/<fn>/<segment>.seg#<index>` for a pending one.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether this capture is pending or accepted.
    pub fn kind(&self) -> CaptureKind {
        self.kind
    }

    /// Whether this capture is accepted (a reviewed regression fixture).
    pub fn is_accepted(&self) -> bool {
        self.kind == CaptureKind::Accepted
    }

    /// Read and verify the object a slot of this call refers to, `len`
    /// bytes long: kept inline with a pending capture, else in the store.
    pub fn stored_value(&self, id: &ContentId, len: u64) -> Result<(Codec, Vec<u8>)> {
        if let Some(inline) = &self.inline {
            if let Some(o) = inline.1.iter().find(|o| o.id == *id) {
                if o.body.len() as u64 != len {
                    return Err(CaptureError::BadFile {
                        path: PathBuf::from(&self.key),
                        reason: format!(
                            "its record states {len} bytes but the inline object holds {}; reject the capture and record it again",
                            o.body.len()
                        ),
                    });
                }
                return Ok((inline.0, o.body.clone()));
            }
        }
        self.store.get_stored(id, len)
    }

    /// Write this capture as an accepted one (see
    /// [`Store::write_accepted`]): `Ok(None)` when one with the same inputs
    /// is accepted already and `replace` is false. A pending capture stays
    /// pending too ([`CaptureLoader::accept_pending`] removes it).
    pub fn accept(&self, replace: bool) -> Result<Option<String>> {
        let (codec, objects): (Codec, Vec<(ContentId, &[u8])>) = match &self.inline {
            Some(inline) => (inline.0, inline.1.iter().map(|o| (o.id, &o.body[..])).collect()),
            None => (self.store.codec(), Vec::new()),
        };
        self.store.write_accepted(&self.record, codec, &objects, replace)
    }

    /// A short, stable id for this capture (12 hex characters of the SHA-256
    /// of its record name), used in test names.
    pub fn capture_id(&self) -> String {
        let name = self.key.rsplit('/').next().unwrap_or(&self.key);
        ContentId::of(name.as_bytes()).short(12)
    }

    /// When the call started.
    pub fn timestamp(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.record.unix_nanos)
    }

    /// Argument names in declaration order.
    pub fn arg_names(&self) -> Vec<&str> {
        self.record.args.iter().map(|a| a.name.as_str()).collect()
    }

    /// The record of argument `name`.
    pub fn arg_record(&self, name: &str) -> Result<&ArgRecord> {
        self.record
            .args
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| CaptureError::NoSuchArg {
                function: self.record.function.clone(),
                arg: name.to_owned(),
                known: self.record.args.iter().map(|a| a.name.clone()).collect(),
            })
    }

    /// Rebuild argument `name` as a `T` (serde).
    pub fn arg<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        let rec = self.arg_record(name)?;
        self.decode_record(rec, |codec, bytes| codec.decode::<T>(bytes), std::any::type_name::<T>())
    }

    /// Rebuild argument `name` as a `T` through its `Reducible` impl (for
    /// types that are not serde: derived with `#[derive(Reducible)]`, `Rc`
    /// graphs). Rebuild the arguments of one call with one `cx`, in
    /// declaration order, to get sharing between them back (two arguments
    /// that pointed to one `Rc` point to one value again).
    ///
    /// ```no_run
    /// # #[derive(capture_runtime::Reducible)] struct Scene { title: String }
    /// # #[derive(capture_runtime::Reducible)] struct Style { color: String }
    /// use std::rc::Rc;
    /// use capture_runtime::{load_latest, RebuildCtx};
    /// let call = load_latest("shapes::count_with_style")?;
    /// let mut cx = RebuildCtx::new();
    /// let scene: Scene = call.rebuild_arg("scene", &mut cx)?;
    /// let style: Rc<Style> = call.rebuild_arg("style", &mut cx)?;
    /// # Ok::<(), capture_runtime::CaptureError>(())
    /// ```
    pub fn rebuild_arg<T: crate::Reducible>(&self, name: &str, cx: &mut crate::RebuildCtx) -> Result<T> {
        let rec = self.arg_record(name)?;
        self.decode_record(
            rec,
            |codec, bytes| {
                let v: Value = codec.decode(bytes)?;
                T::rebuild(&v, cx).map_err(|e| e.to_string())
            },
            std::any::type_name::<T>(),
        )
    }

    /// The untyped value of argument `name` (for inspection).
    pub fn value(&self, name: &str) -> Result<Value> {
        let rec = self.arg_record(name)?;
        self.decode_record(rec, |codec, bytes| codec.decode::<Value>(bytes), "Value")
    }

    /// The recorded return value as a `T`.
    pub fn ret<T: DeserializeOwned>(&self) -> Result<T> {
        let rec = self.record.ret.as_ref().ok_or_else(|| CaptureError::NotStored {
            function: self.record.function.clone(),
            arg: "return".into(),
            reason: "no return value was recorded (add `ret` to #[capture_args], and the call must have returned)"
                .into(),
        })?;
        self.decode_record(rec, |codec, bytes| codec.decode::<T>(bytes), std::any::type_name::<T>())
    }

    /// Whether a return value was recorded.
    pub fn has_ret(&self) -> bool {
        self.record.ret.is_some()
    }

    /// Decode a recorded value with `decode` (used by generated replay code
    /// for types rebuilt through `Reducible` or the registry).
    pub fn decode_record<T>(
        &self,
        rec: &ArgRecord,
        decode: impl FnOnce(Codec, &[u8]) -> std::result::Result<T, String>,
        requested: &str,
    ) -> Result<T> {
        let Slot::Stored { id, len } = &rec.slot else {
            return Err(CaptureError::NotStored {
                function: self.record.function.clone(),
                arg: rec.name.clone(),
                reason: rec.slot.missing_reason().unwrap_or_default(),
            });
        };
        let (codec, body) = self.stored_value(id, *len)?;
        // Rebuilding runs the type's `Deserialize` (or `Reducible`), which
        // may call captured functions: they run, but record nothing.
        let _inside = crate::capture::reentry::Inside::enter();
        decode(codec, &body).map_err(|detail| CaptureError::TypeMismatch {
            function: self.record.function.clone(),
            arg: rec.name.clone(),
            recorded: rec.type_name.clone(),
            requested: requested.to_owned(),
            detail,
        })
    }

    /// The store this call was loaded from.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
