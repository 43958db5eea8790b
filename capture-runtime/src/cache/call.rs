//! One memoized call, as driven by the code `#[capture_args(cache)]` emits:
//! derive the key from the arguments, look it up, and on a miss hold the
//! key's single-flight lock until the result is stored.

use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::entry::{cache_dir, decode_entry, encode_entry, entry_key, EntryMeta, KeyBuilder};
use super::flight::{self, FlightGuard};
use super::index::{self, index_of, now_nanos, Learned};
use super::{count, store_wide_limits, Counter};
use crate::capture::dispatch::Encoded;
use crate::capture::site::{Site, SiteOptions};
use crate::codec::Codec;
use crate::hash::ContentId;
use crate::store::Store;
use crate::value::EncodeCtx;

/// What `cache_*` options said (a `static` emitted next to the function).
#[derive(Debug)]
#[doc(hidden)]
pub struct CacheOptions {
    /// Hex SHA-256 of the function's tokens (signature and body).
    pub fn_hash: &'static str,
    /// `cache_ttl`, in seconds.
    pub ttl_secs: Option<u64>,
    /// `cache_max_entries`.
    pub max_entries: Option<u64>,
    /// `cache_max_bytes`.
    pub max_bytes: Option<u64>,
    /// `cache_errors`: also cache `Err` results.
    pub cache_errors: bool,
}

/// A memoized function's state.
#[doc(hidden)]
pub struct CacheSite {
    site: Site,
    opts: &'static CacheOptions,
}

impl CacheSite {
    /// For the macro: `static CACHE: CacheSite = CacheSite::new(&SITE_OPTS, &CACHE_OPTS);`
    pub const fn new(site: &'static SiteOptions, opts: &'static CacheOptions) -> CacheSite {
        CacheSite {
            site: Site::new(site),
            opts,
        }
    }

    /// The function's own TTL (`cache_ttl`).
    fn own_ttl(&self) -> Option<std::time::Duration> {
        self.opts.ttl_secs.map(std::time::Duration::from_secs)
    }

    fn limits(&self) -> super::CacheLimits {
        super::CacheLimits {
            ttl: self.own_ttl().or(store_wide_limits().ttl),
            max_entries: self.opts.max_entries,
            max_bytes: self.opts.max_bytes,
        }
    }

    /// Derive the key of a call from its arguments (`args` feeds a [`KeySink`]).
    /// A call whose arguments cannot all be hashed is not cached.
    pub fn begin(
        &'static self,
        self_type: Option<&'static str>,
        ret_type: &'static str,
        args: impl FnOnce(&mut KeySink),
    ) -> CacheCall {
        // Inside capture's own work (an encoder calling a cached function)
        // the function just runs: no look-up, no entry. So it does under
        // replay: a replayed function always runs its body (a cached answer
        // would hide a bug in what it calls), and replay never writes.
        if !super::cache_enabled() || crate::capture::reentry::inside() || crate::replay::replaying() {
            return CacheCall::none();
        }
        let _inside = crate::capture::reentry::Inside::enter();
        let r = catch_unwind(AssertUnwindSafe(|| {
            let resolved = self.site.resolved(self_type);
            self.begin_in(&resolved.store, &resolved.fn_id, ret_type, args)
        }));
        r.unwrap_or_else(|_| {
            crate::config::report_once("cache key derivation panicked; the call runs uncached");
            CacheCall::none()
        })
    }

    /// [`CacheSite::begin`] against a given store and function id.
    pub(crate) fn begin_in(
        &'static self,
        store: &Store,
        fn_id: &str,
        ret_type: &'static str,
        args: impl FnOnce(&mut KeySink),
    ) -> CacheCall {
        let salt = match super::salt::salt_of(store) {
            Ok(salt) => salt,
            Err(e) => {
                crate::config::report_once(&format!("`{fn_id}` runs uncached: {e}"));
                count(Counter::Uncacheable);
                return CacheCall::none();
            }
        };
        let mut sink = KeySink {
            builder: KeyBuilder::new(&salt, fn_id, self.opts.fn_hash, self.site.opts.crate_version, ret_type),
            uncacheable: None,
        };
        args(&mut sink);
        if let Some(reason) = sink.uncacheable {
            crate::config::report_once(&format!("`{fn_id}` is not cached: {reason}"));
            count(Counter::Uncacheable);
            return CacheCall::none();
        }
        let (key, names) = sink.builder.finish();
        CacheCall {
            inner: Some(Box::new(Active {
                site: self,
                store: store.clone(),
                store_key: entry_key(fn_id, &key),
                fn_id: fn_id.to_owned(),
                key,
                names,
                schema: None,
                flight: None,
            })),
        }
    }
}

/// Collects the content ids of a call's arguments (used by generated code).
#[doc(hidden)]
pub struct KeySink {
    builder: KeyBuilder,
    uncacheable: Option<String>,
}

impl KeySink {
    /// Hash argument `name`: `encode` runs the compile-time dispatch (with no
    /// redaction: the key must see the whole value; only its hash is kept).
    pub fn arg(
        &mut self,
        name: &'static str,
        type_name: &'static str,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        if self.uncacheable.is_some() {
            return;
        }
        let mut ctx = EncodeCtx::plain();
        ctx.begin(name);
        // Same bytes as encoding the tree, without building it.
        ctx.want_bytes = true;
        // `#[reduce(hash = sampled)]` fields enter the key by their sampled id.
        ctx.sampled_fields = true;
        let encoded = catch_unwind(AssertUnwindSafe(|| encode(&mut ctx)))
            .unwrap_or_else(|_| Encoded::Failed(format!("encoding `{type_name}` panicked")));
        let why = match encoded {
            Encoded::Value(v) => match Codec::MsgPack.encode(&v) {
                Ok(bytes) => {
                    self.builder.arg(name, type_name, ContentId::of(&bytes));
                    return;
                }
                // The encoder's text may quote the value: withheld.
                Err(_) => "its encoding failed".to_owned(),
            },
            Encoded::Bytes(bytes) => {
                self.builder.arg(name, type_name, ContentId::of(&bytes));
                return;
            }
            Encoded::Placeholder { reason, .. } => reason,
            // Only the capture path asks for appended bytes.
            Encoded::Appended(_) => "internal error: bytes appended to no buffer".into(),
            Encoded::TooLarge(limit) => format!("larger than {limit} bytes"),
            Encoded::Failed(e) => e,
        };
        self.uncacheable = Some(format!(
            "argument `{name}` ({type_name}) cannot be hashed ({why}); make it hashable or leave it out of the key with cache_exclude({name})"
        ));
    }
}

impl KeySink {
    /// Use a precomputed content id for argument `name` (the `sampled`
    /// strategy of `cache_hash(..)`: large numeric buffers hashed by samples).
    pub fn arg_id(&mut self, name: &'static str, type_name: &'static str, id: ContentId) {
        if self.uncacheable.is_none() {
            self.builder.arg(name, type_name, id);
        }
    }
}

/// One call of a memoized function (used by generated code).
#[doc(hidden)]
#[must_use]
pub struct CacheCall {
    inner: Option<Box<Active>>,
}

struct Active {
    site: &'static CacheSite,
    store: Store,
    fn_id: String,
    key: ContentId,
    store_key: String,
    names: Vec<&'static str>,
    /// Schema fingerprint of the result type, found by the lookup.
    schema: Option<&'static str>,
    flight: Option<FlightGuard>,
}

/// Schema fingerprint of `R` (cached per type; `None` without the `schema`
/// feature or when the type cannot be traced).
fn schema_fingerprint<R: DeserializeOwned>() -> Option<&'static str> {
    crate::replay::schema::schema_of::<R>().map(|s| s.fingerprint.as_str())
}

impl CacheCall {
    /// A call that is not cached (capture disabled, arguments not hashable).
    #[inline(always)]
    pub fn none() -> CacheCall {
        CacheCall { inner: None }
    }

    /// The stored result, or `None` after which the caller computes and calls
    /// [`CacheCall::store`]. Concurrent misses of one key wait here for the
    /// first one's result.
    pub fn lookup<R: DeserializeOwned>(&mut self) -> Option<R> {
        let a = self.inner.as_mut()?;
        a.schema = schema_fingerprint::<R>();
        if let Some(hit) = a.hit::<R>() {
            return Some(hit);
        }
        let guard = flight::acquire(&a.key.0);
        if let Some(hit) = a.hit::<R>() {
            return Some(hit);
        }
        count(Counter::Miss);
        a.flight = Some(guard);
        None
    }

    /// Async [`CacheCall::lookup`]: waiting for another caller's result parks
    /// the task instead of blocking the thread.
    pub async fn lookup_async<R: DeserializeOwned>(&mut self) -> Option<R> {
        let a = self.inner.as_mut()?;
        a.schema = schema_fingerprint::<R>();
        if let Some(hit) = a.hit::<R>() {
            return Some(hit);
        }
        let guard = flight::acquire_async(&a.key.0).await;
        if let Some(hit) = a.hit::<R>() {
            return Some(hit);
        }
        count(Counter::Miss);
        a.flight = Some(guard);
        None
    }

    /// Store the computed result (`is_err`: it is an `Err`, stored only with
    /// `cache_errors`), then let waiting callers in.
    pub fn store<R: Serialize>(&mut self, value: &R, is_err: bool) {
        let Some(mut a) = self.inner.take() else {
            return;
        };
        if !is_err || a.site.opts.cache_errors {
            let _inside = crate::capture::reentry::Inside::enter();
            let _ = catch_unwind(AssertUnwindSafe(|| a.write(value)));
        }
        a.flight = None;
    }
}

impl Active {
    /// Read, check and decode the entry; anything wrong is a miss, and a
    /// corrupted, expired or mistyped entry is removed.
    fn hit<R: DeserializeOwned>(&mut self) -> Option<R> {
        // Decoding runs `R`'s `Deserialize`: captured calls it makes record nothing.
        let _inside = crate::capture::reentry::Inside::enter();
        let store = &self.store;
        let bytes = match store.backend().get(&self.store_key) {
            Ok(Some(b)) => b,
            Ok(None) => return None,
            Err(e) => {
                crate::config::report(
                    &format!("cache lookup `{}`: {}", self.fn_id, e.kind_label()),
                    &format!("cache lookup of `{}` failed: {e}", self.fn_id),
                );
                return None;
            }
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| self.check::<R>(&bytes))).unwrap_or_else(|_| {
            Err(Reject::Bad(format!(
                "decoding the cached `{}` panicked",
                std::any::type_name::<R>()
            )))
        });
        match outcome {
            Ok(v) => {
                count(Counter::Hit);
                self.used();
                Some(v)
            }
            Err(reject) => {
                count(match reject {
                    Reject::Expired => Counter::Expired,
                    Reject::Bad(_) => Counter::Rejected,
                });
                if let Reject::Bad(why) = &reject {
                    tracing::warn!(target: "capture", "cache entry {} of `{}` dropped: {why}", self.store_key, self.fn_id);
                }
                let _ = store.backend().delete(&self.store_key);
                if let Some(index) = index::existing(store) {
                    index.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.store_key);
                }
                None
            }
        }
    }

    /// A hit: the entry becomes the most recently used in this process's
    /// index (when limits made one), and now and then its file's
    /// modification time records the use for later processes and the quota.
    fn used(&self) {
        let Some(index) = index::existing(&self.store) else {
            return;
        };
        let persist = index
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .touch(&self.store_key, self.site.own_ttl());
        if let (true, Some(root)) = (persist, self.store.local_root()) {
            let _ = std::fs::File::options()
                .write(true)
                .open(root.join(&self.store_key))
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        }
    }

    fn check<R: DeserializeOwned>(&self, bytes: &[u8]) -> Result<R, Reject> {
        let path = std::path::PathBuf::from(&self.store_key);
        let e = decode_entry(&path, bytes).map_err(|e| Reject::Bad(e.to_string()))?;
        let want = std::any::type_name::<R>();
        if e.meta.type_name != want {
            return Err(Reject::Bad(format!(
                "stored as `{}`, `{want}` wanted now",
                e.meta.type_name
            )));
        }
        if let (Some(then), Some(now)) = (&e.meta.schema, self.schema) {
            if then != now {
                return Err(Reject::Bad(format!(
                    "the definition of `{want}` changed since the entry was written (schema {then}, now {now})"
                )));
            }
        }
        if let Some(ttl) = self.site.limits().ttl {
            if now_nanos().saturating_sub(e.meta.created_nanos) > ttl.as_nanos() as u64 {
                return Err(Reject::Expired);
            }
        }
        // The decoder's text may quote the stored value: withheld.
        e.codec
            .decode::<R>(e.value)
            .map_err(|_| Reject::Bad(format!("undecodable as `{want}`")))
    }

    fn write<R: Serialize>(&self, value: &R) {
        let store = &self.store;
        let created = now_nanos();
        let meta = EntryMeta {
            function: self.fn_id.clone(),
            type_name: std::any::type_name::<R>().to_owned(),
            created_nanos: created,
            crate_version: self.site.site.opts.crate_version.to_owned(),
            arg_names: self.names.iter().map(|n| n.to_string()).collect(),
            schema: self.schema.map(str::to_owned),
            ttl_secs: self.site.opts.ttl_secs,
        };
        let Ok(bytes) = encode_entry(store.codec(), &meta, value) else {
            // Not the serializer's text: a user `Serialize` error may quote the value.
            crate::config::report_once(&format!(
                "`{}`: result not cached: serializing `{}` failed (message withheld: it may quote the value)",
                self.fn_id,
                std::any::type_name::<R>()
            ));
            return;
        };
        let size = bytes.len() as u64;
        let limits = self.site.limits();
        let store_wide = store_wide_limits();
        // An entry its own write would evict at once is not written.
        let fits = |l: &super::CacheLimits| l.max_bytes.is_none_or(|m| size <= m) && l.max_entries != Some(0);
        if !fits(&limits) || !fits(&store_wide) {
            return;
        }
        if let Err(e) = store.backend().put(&self.store_key, &bytes) {
            crate::config::report(
                &format!("cache store `{}`: {}", self.fn_id, e.kind_label()),
                &format!("could not store a cache entry of `{}`: {e}", self.fn_id),
            );
            return;
        }
        count(Counter::Store);
        let dir = cache_dir(&self.fn_id);
        let own_ttl = self.site.own_ttl();
        // The index lists the whole cache once: only where limits need it.
        let index = if limits.is_unlimited() && store_wide.is_unlimited() {
            index::existing(store)
        } else {
            Some(index_of(store))
        };
        let victims = match index {
            None => Vec::new(),
            Some(index) => {
                let mut index = index.lock().unwrap_or_else(|e| e.into_inner());
                index.insert(&dir, &self.store_key, size, own_ttl);
                index.evict(&dir, &limits, &store_wide, &mut |key| learn(store, key))
            }
        };
        for v in &victims {
            if let Err(e) = store.backend().delete(v) {
                crate::config::report(
                    &format!("cache evict: {}", e.kind_label()),
                    &format!("could not evict cache entry {v}: {e}"),
                );
            }
        }
        super::count_n(Counter::Evicted, victims.len() as u64);
        store.note_quota(size);
        if crate::hooks::active() && !victims.contains(&self.store_key) {
            crate::hooks::emit(crate::hooks::CaptureEvent::CacheEntry {
                store: store.describe(),
                function: self.fn_id.clone(),
                key: self.store_key.clone(),
                bytes: size,
            });
        }
    }
}

/// Read an entry to learn its function's own TTL (for the store-wide sweep).
fn learn(store: &Store, key: &str) -> Learned {
    match store.backend().get(key) {
        Ok(None) => Learned::Gone,
        Ok(Some(bytes)) => match decode_entry(std::path::Path::new(key), &bytes) {
            Ok(e) => Learned::Ttl(e.meta.ttl_secs.map(std::time::Duration::from_secs)),
            Err(_) => Learned::Bad,
        },
        Err(_) => Learned::Unreadable,
    }
}

enum Reject {
    Expired,
    Bad(String),
}

/// Whether a result is an `Err` (autoref specialization: `Result` first).
#[doc(hidden)]
pub struct ErrProbe<'a, T>(pub &'a T);

/// `Result` results: stored only when `Ok` (or with `cache_errors`).
#[doc(hidden)]
pub trait ProbeResult {
    /// Whether the value is an `Err`.
    fn __capture_is_err(&self) -> bool;
}
impl<T, E> ProbeResult for &ErrProbe<'_, Result<T, E>> {
    fn __capture_is_err(&self) -> bool {
        self.0.is_err()
    }
}

/// Any other result: always stored.
#[doc(hidden)]
pub trait ProbeOther {
    /// Always `false`.
    fn __capture_is_err(&self) -> bool;
}
impl<T> ProbeOther for ErrProbe<'_, T> {
    fn __capture_is_err(&self) -> bool {
        false
    }
}

/// Compile-time check of a memoized function's result type, named after the fix.
#[doc(hidden)]
pub fn cached_result_must_implement_serde_serialize_and_deserialize<R: Serialize + DeserializeOwned>() {}
