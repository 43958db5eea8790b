//! Stores on object storage (S3 and S3-compatible servers, and any other
//! [`object_store`](https://docs.rs/object_store) implementation), behind the
//! `object-store` feature.
//!
//! The layout is the local one (`objects/ab/cd/...`, `calls/...`, `cache/...`,
//! `checkpoints/...`) under a key prefix, with the same guarantees:
//! objects are written with put-if-absent (`If-None-Match: *`), every other
//! write is one PUT (an object is replaced whole, never torn), and readers
//! verify each file's SHA-256. Several processes or machines may write at
//! once. Locks are no-ops: retention trims and cache evictions race
//! harmlessly (deletes are idempotent).
//!
//! Select it with `CAPTURE_DIR=s3://bucket/prefix` (credentials, region and
//! endpoint from the usual `AWS_*` variables), `path = "s3://..."` or
//! `Config { dir: Some("s3://...".into()), .. }`. With the
//! `object-store-gcp` feature `gs://bucket/prefix` works the same way
//! (`GOOGLE_*` variables), and with `object-store-azure`
//! `az://container/prefix`, `abfs://...`, `adl://...` and `azure://...`
//! (`AZURE_*` variables). Or build one with [`ObjectBackend::new`] around
//! any `ObjectStore` (the crate is re-exported as `capture_runtime::object_store`).

use std::path::Path;
#[cfg(feature = "object-store")]
use std::sync::Arc;
use std::sync::{LazyLock, Mutex};

use crate::codec::Codec;
use crate::error::{CaptureError, Result};
use crate::store::Store;

/// Whether a store location is a URL (`s3://...`, `memory://...`) rather than a folder.
///
/// ```
/// use capture_runtime::store::object::is_url;
/// assert!(is_url("s3://bucket/captures"));
/// assert!(!is_url("captures") && !is_url("/tmp/captures"));
/// ```
pub fn is_url(location: &str) -> bool {
    match location.split_once("://") {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-')
        }
        None => false,
    }
}

/// Open a store at a folder or an object-storage URL.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let store = capture_runtime::store::object::open_location(dir.path().to_str().unwrap()).unwrap();
/// assert!(store.local_root().is_some());
/// ```
pub fn open_location(location: &str) -> Result<Store> {
    if !is_url(location) {
        return Ok(Store::open(Path::new(location)));
    }
    #[cfg(feature = "object-store")]
    {
        Ok(Store::with_backend(Arc::new(ObjectBackend::from_url(location)?)))
    }
    #[cfg(not(feature = "object-store"))]
    {
        Err(no_feature(location))
    }
}

#[cfg(not(feature = "object-store"))]
fn no_feature(location: &str) -> CaptureError {
    CaptureError::Config {
        key: "CAPTURE_DIR".into(),
        value: location.into(),
        expected: "a folder; object-storage URLs need capture-runtime's `object-store` feature (features = [\"object-store\"] in Cargo.toml)".into(),
    }
}

static URL_STORES: LazyLock<Mutex<std::collections::HashMap<(String, Codec), Store>>> =
    LazyLock::new(|| Mutex::new(std::collections::HashMap::new()));

/// The process's shared store for a URL (used by capture sites). When the
/// URL cannot be opened, the store's every operation fails with the reason,
/// so captures are counted as failed and the problem is reported once.
pub(crate) fn shared_url_store(url: &str, codec: Codec) -> Store {
    let mut map = URL_STORES.lock().unwrap_or_else(|e| e.into_inner());
    map.entry((url.to_owned(), codec))
        .or_insert_with(|| match open_location(url) {
            Ok(store) => store.with_codec(codec),
            Err(e) => {
                crate::config::report_once(&e.to_string());
                Store::with_backend(std::sync::Arc::new(Unavailable {
                    location: url.to_owned(),
                    reason: e.to_string(),
                }))
                .with_codec(codec)
            }
        })
        .clone()
}

/// A store location that could not be opened: every operation says why.
struct Unavailable {
    location: String,
    reason: String,
}

impl Unavailable {
    fn err<T>(&self) -> Result<T> {
        Err(CaptureError::Config {
            key: "store".into(),
            value: self.location.clone(),
            expected: self.reason.clone(),
        })
    }
}

impl super::Backend for Unavailable {
    fn get(&self, _: &str) -> Result<Option<Vec<u8>>> {
        self.err()
    }
    fn put_if_absent(&self, _: &str, _: &[u8]) -> Result<bool> {
        self.err()
    }
    fn put(&self, _: &str, _: &[u8]) -> Result<()> {
        self.err()
    }
    fn list(&self, _: &str) -> Result<super::Listing> {
        self.err()
    }
    fn delete(&self, _: &str) -> Result<()> {
        self.err()
    }
    fn lock(&self, _: &str) -> Result<Box<dyn std::any::Any + Send>> {
        self.err()
    }
    fn describe(&self) -> String {
        self.location.clone()
    }
}

#[cfg(feature = "object-store")]
pub use imp::ObjectBackend;

#[cfg(feature = "object-store")]
mod imp {
    fn too_large(key: &str, len: u64, limit: u64) -> crate::CaptureError {
        crate::CaptureError::Refused {
            path: key.into(),
            problem: crate::Refusal::TooLarge { len, limit },
        }
    }

    use std::any::Any;
    use std::future::Future;
    use std::sync::{Arc, LazyLock, Mutex, OnceLock};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use object_store::aws::AmazonS3Builder;
    use object_store::memory::InMemory;
    use object_store::path::Path as ObjPath;
    use object_store::{ObjectStore, ObjectStoreExt, ObjectStoreScheme, PutMode, PutOptions, PutPayload};

    use crate::error::{CaptureError, Result};
    use crate::store::{Backend, Listing};

    /// A [`Backend`] over an [`ObjectStore`].
    ///
    /// ```
    /// use capture_runtime::store::{object::ObjectBackend, Backend};
    /// let b = ObjectBackend::from_url("memory://doc-example/captures").unwrap();
    /// assert!(b.put_if_absent("objects/ab/cd/ef", b"x").unwrap());
    /// assert!(!b.put_if_absent("objects/ab/cd/ef", b"y").unwrap());
    /// assert_eq!(b.get("objects/ab/cd/ef").unwrap().unwrap(), b"x");
    /// assert_eq!(b.list("objects/ab").unwrap().dirs, ["cd"]);
    /// ```
    pub struct ObjectBackend {
        store: Arc<dyn ObjectStore>,
        prefix: String,
        description: String,
    }

    impl std::fmt::Debug for ObjectBackend {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "ObjectBackend({})", self.description)
        }
    }

    /// One runtime for every object backend in the process (never dropped,
    /// so backends can be dropped anywhere, even inside async code).
    fn runtime() -> &'static tokio::runtime::Runtime {
        static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
        RT.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("capture-object-store")
                .enable_all()
                .build()
                .expect("could not start the object-store runtime")
        })
    }

    /// Run `fut` on the backend runtime and wait for it. Works from plain
    /// threads and from inside other async runtimes alike (the future runs on
    /// this crate's own threads; the caller only waits on a channel). A task
    /// that dies (a panic inside the HTTP stack) is an error, never a panic
    /// in the caller.
    fn block<T: Send + 'static>(
        fut: impl Future<Output = object_store::Result<T>> + Send + 'static,
    ) -> object_store::Result<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime().spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().unwrap_or_else(|_| {
            Err(object_store::Error::Generic {
                store: "capture",
                source: "the object-store request task stopped without an answer".into(),
            })
        })
    }

    static MEMORY: LazyLock<Mutex<std::collections::HashMap<String, Arc<InMemory>>>> =
        LazyLock::new(|| Mutex::new(std::collections::HashMap::new()));

    impl ObjectBackend {
        /// A backend storing under `prefix` (may be empty) in `store`;
        /// `description` names it in messages (e.g. `gs://bucket/prefix`).
        pub fn new(store: Arc<dyn ObjectStore>, prefix: &str, description: impl Into<String>) -> ObjectBackend {
            ObjectBackend {
                store,
                prefix: prefix.trim_matches('/').to_owned(),
                description: description.into(),
            }
        }

        /// Open a store URL, configured from the environment:
        ///
        /// - `s3://bucket/prefix` (or `s3a://`): the `AWS_*` variables
        ///   (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
        ///   `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`, ...);
        /// - `gs://bucket/prefix` (feature `object-store-gcp`): the `GOOGLE_*`
        ///   variables (`GOOGLE_SERVICE_ACCOUNT`, ...);
        /// - `az://container/prefix`, `abfs://`, `abfss://`, `adl://`,
        ///   `azure://` (feature `object-store-azure`): the `AZURE_*` variables
        ///   (`AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`, ...);
        /// - `memory://name/prefix`: in-process, shared by every backend of
        ///   the same name.
        pub fn from_url(url: &str) -> Result<ObjectBackend> {
            ObjectBackend::from_url_with_options(url, std::iter::empty::<(&str, &str)>())
        }

        /// [`ObjectBackend::from_url`] with explicit settings layered over the
        /// environment's: `(key, value)` pairs named like the variables, in
        /// any case (`("aws_endpoint", "http://127.0.0.1:9000")`,
        /// `("AWS_ALLOW_HTTP", "true")`). Keys the URL's service does not know
        /// are ignored.
        ///
        /// ```
        /// use capture_runtime::store::object::ObjectBackend;
        /// let b = ObjectBackend::from_url_with_options(
        ///     "s3://bucket/captures",
        ///     [("aws_endpoint", "http://127.0.0.1:9000"), ("aws_allow_http", "true"), ("aws_region", "us-east-1")],
        /// )
        /// .unwrap();
        /// assert_eq!(capture_runtime::store::Backend::describe(&b), "s3://bucket/captures");
        /// ```
        pub fn from_url_with_options<K: AsRef<str>, V: Into<String>>(
            url: &str,
            options: impl IntoIterator<Item = (K, V)>,
        ) -> Result<ObjectBackend> {
            let bad = |expected: String| CaptureError::Config {
                key: "store URL".into(),
                value: url.into(),
                expected,
            };
            let description = url.trim_end_matches('/');
            if let Some(rest) = url.strip_prefix("memory://") {
                let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if name.is_empty() {
                    return Err(bad("a store name: memory://name/prefix".into()));
                }
                let store = MEMORY
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(name.to_owned())
                    .or_insert_with(|| Arc::new(InMemory::new()))
                    .clone();
                return Ok(ObjectBackend::new(store, prefix, description));
            }
            let parsed = url::Url::parse(url).map_err(|e| bad(format!("a URL such as s3://bucket/prefix ({e})")))?;
            let (scheme, prefix) = ObjectStoreScheme::parse(&parsed).map_err(|e| {
                bad(format!(
                    "an object-storage URL: s3://bucket/prefix, gs://bucket/prefix, az://container/prefix or memory://name/prefix ({e})"
                ))
            })?;
            let options: Vec<(String, String)> = options
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.into()))
                .collect();
            #[cfg(not(all(feature = "object-store-gcp", feature = "object-store-azure")))]
            let unavailable = |feature: &str| {
                bad(format!(
                    "a URL this build can open: `{}://` needs capture-runtime's `{feature}` feature (or wrap your own ObjectStore with ObjectBackend::new)",
                    parsed.scheme()
                ))
            };
            let store: Arc<dyn ObjectStore> = match scheme {
                ObjectStoreScheme::AmazonS3 => {
                    let builder = options
                        .iter()
                        .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
                        .fold(AmazonS3Builder::from_env().with_url(url), |b, (k, v)| {
                            b.with_config(k, v)
                        });
                    Arc::new(
                        builder
                            .build()
                            .map_err(|e| bad(format!("an S3 location the AWS_* settings can reach ({e})")))?,
                    )
                }
                #[cfg(feature = "object-store-gcp")]
                ObjectStoreScheme::GoogleCloudStorage => {
                    use object_store::gcp::GoogleCloudStorageBuilder;
                    let builder = options
                        .iter()
                        .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
                        .fold(GoogleCloudStorageBuilder::from_env().with_url(url), |b, (k, v)| {
                            b.with_config(k, v)
                        });
                    Arc::new(
                        builder
                            .build()
                            .map_err(|e| bad(format!("a GCS location the GOOGLE_* settings can reach ({e})")))?,
                    )
                }
                #[cfg(not(feature = "object-store-gcp"))]
                ObjectStoreScheme::GoogleCloudStorage => return Err(unavailable("object-store-gcp")),
                #[cfg(feature = "object-store-azure")]
                ObjectStoreScheme::MicrosoftAzure => {
                    use object_store::azure::MicrosoftAzureBuilder;
                    let builder = options
                        .iter()
                        .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
                        .fold(MicrosoftAzureBuilder::from_env().with_url(url), |b, (k, v)| {
                            b.with_config(k, v)
                        });
                    Arc::new(
                        builder
                            .build()
                            .map_err(|e| bad(format!("an Azure location the AZURE_* settings can reach ({e})")))?,
                    )
                }
                #[cfg(not(feature = "object-store-azure"))]
                ObjectStoreScheme::MicrosoftAzure => return Err(unavailable("object-store-azure")),
                other => {
                    return Err(bad(format!(
                        "an object-storage URL (`{}://` is {other:?}, not built in; wrap your ObjectStore with ObjectBackend::new)",
                        parsed.scheme()
                    )))
                }
            };
            Ok(ObjectBackend::new(store, prefix.as_ref(), description))
        }

        fn path(&self, key: &str) -> Result<ObjPath> {
            let full = match (self.prefix.is_empty(), key.is_empty()) {
                (true, _) => key.to_owned(),
                (false, true) => self.prefix.clone(),
                (false, false) => format!("{}/{key}", self.prefix),
            };
            ObjPath::parse(&full).map_err(|e| self.err(key, e))
        }

        fn err(&self, key: &str, e: impl std::fmt::Display) -> CaptureError {
            CaptureError::Io {
                path: format!("{}/{key}", self.description).into(),
                source: std::io::Error::other(e.to_string()),
            }
        }
    }

    fn system_time(t: &object_store::ObjectMeta) -> Option<SystemTime> {
        let ms = t.last_modified.timestamp_millis();
        u64::try_from(ms).ok().map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
    }

    impl Backend for ObjectBackend {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
            let (store, path) = (self.store.clone(), self.path(key)?);
            let r = block(async move {
                match store.get(&path).await {
                    Ok(g) => g.bytes().await.map(Some),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            });
            r.map(|b| b.map(|b| b.to_vec())).map_err(|e| self.err(key, e))
        }

        /// The object's size (from the response's metadata) is checked
        /// before its body is read.
        fn get_bounded(&self, key: &str, limit: u64) -> Result<Option<Vec<u8>>> {
            let (store, path) = (self.store.clone(), self.path(key)?);
            let r = block(async move {
                match store.get(&path).await {
                    Ok(g) if g.meta.size > limit => Ok(Err(g.meta.size)),
                    Ok(g) => g.bytes().await.map(|b| Ok(Some(b))),
                    Err(object_store::Error::NotFound { .. }) => Ok(Ok(None)),
                    Err(e) => Err(e),
                }
            });
            match r.map_err(|e| self.err(key, e))? {
                Ok(bytes) => match bytes {
                    Some(b) if b.len() as u64 > limit => Err(too_large(key, b.len() as u64, limit)),
                    other => Ok(other.map(|b| b.to_vec())),
                },
                Err(size) => Err(too_large(key, size, limit)),
            }
        }

        /// A `HEAD` request: object stores keep no access times, so this
        /// checks presence only (their `gc` relies on the grace period).
        fn touch(&self, key: &str) -> Result<bool> {
            let (store, path) = (self.store.clone(), self.path(key)?);
            match block(async move { store.head(&path).await }) {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(self.err(key, e)),
            }
        }

        fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<bool> {
            let (store, path) = (self.store.clone(), self.path(key)?);
            let payload = PutPayload::from(bytes.to_vec());
            let r = block(async move {
                let opts = PutOptions {
                    mode: PutMode::Create,
                    ..PutOptions::default()
                };
                store.put_opts(&path, payload, opts).await
            });
            match r {
                Ok(_) => Ok(true),
                Err(object_store::Error::AlreadyExists { .. }) | Err(object_store::Error::Precondition { .. }) => {
                    Ok(false)
                }
                Err(e) => Err(self.err(key, e)),
            }
        }

        fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
            let (store, path) = (self.store.clone(), self.path(key)?);
            let payload = PutPayload::from(bytes.to_vec());
            block(async move { store.put(&path, payload).await })
                .map(drop)
                .map_err(|e| self.err(key, e))
        }

        fn list(&self, prefix: &str) -> Result<Listing> {
            let (store, path) = (self.store.clone(), self.path(prefix)?);
            let root = path.as_ref().is_empty();
            let r = block(async move { store.list_with_delimiter((!root).then_some(&path)).await });
            let r = r.map_err(|e| self.err(prefix, e))?;
            let mut out = Listing {
                dirs: r
                    .common_prefixes
                    .iter()
                    .filter_map(|p| p.filename().map(str::to_owned))
                    .collect(),
                files: r
                    .objects
                    .into_iter()
                    .filter_map(|m| Some((m.location.filename()?.to_owned(), system_time(&m))))
                    .collect(),
            };
            out.dirs.sort();
            out.files.sort();
            Ok(out)
        }

        fn list_sizes(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
            let (store, path) = (self.store.clone(), self.path(prefix)?);
            let r = block(async move { store.list_with_delimiter(Some(&path)).await });
            Ok(r.map_err(|e| self.err(prefix, e))?
                .objects
                .into_iter()
                .filter_map(|m| Some((m.location.filename()?.to_owned(), m.size)))
                .collect())
        }

        fn delete(&self, key: &str) -> Result<()> {
            let (store, path) = (self.store.clone(), self.path(key)?);
            match block(async move { store.delete(&path).await }) {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(self.err(key, e)),
            }
        }

        fn lock(&self, _key: &str) -> Result<Box<dyn Any + Send>> {
            Ok(Box::new(()))
        }

        fn describe(&self) -> String {
            self.description.clone()
        }
    }
}
