//! Content-addressed memoization: `#[capture_args(cache)]`.
//!
//! The key of a call is a SHA-256 over the store's secret salt, a
//! compile-time hash of the function's own tokens (signature and body:
//! editing the function invalidates its entries), the crate version, the
//! result type, and the content id of each argument's encoding (the capture
//! encoding, without redaction). A hit returns the stored result without
//! running the body; a miss runs it and stores the result. Concurrent misses
//! of one key compute once per process.
//!
//! ```
//! use capture_runtime::capture_args;
//! # let dir = tempfile::tempdir().unwrap();
//! # capture_runtime::configure(capture_runtime::Config { dir: Some(dir.path().into()), enabled: Some(true), ..Default::default() });
//! #[capture_args(cache, cache_ttl = "1h")]
//! fn slow_square(x: u64) -> u64 {
//!     std::thread::sleep(std::time::Duration::from_millis(20));
//!     x * x
//! }
//! assert_eq!(slow_square(12), 144); // runs the body, stores 144
//! assert_eq!(slow_square(12), 144); // read back, the body does not run
//! ```
//!
//! Eviction ([`CacheLimits`]): a TTL, a maximum number of entries and of
//! bytes, least recently used first, per function (attribute options
//! `cache_ttl`, `cache_max_entries`, `cache_max_bytes`) and store-wide
//! ([`set_limits`] or `CAPTURE_CACHE_TTL`, `CAPTURE_CACHE_MAX_ENTRIES`,
//! `CAPTURE_CACHE_MAX_BYTES`). Corrupted, undecodable, expired or mistyped
//! entries (including a result type whose definition changed, by its schema
//! fingerprint) are a miss and are removed.
//!
//! Memoization follows capture: when capture is off (`CAPTURE_ENABLED=0`, or
//! a release build without `CAPTURE_ENABLED=1`/`CAPTURE_PRODUCTION=1`),
//! memoized functions simply run, unless `CAPTURE_CACHE=1` turns memoization
//! on by itself. See `docs/caching.md`.

mod call;
mod entry;
mod flight;
mod index;
mod salt;
#[cfg(test)]
mod scan_tests;

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{OnceLock, RwLock};

pub use call::{
    cached_result_must_implement_serde_serialize_and_deserialize, CacheCall, CacheOptions, CacheSite, ErrProbe,
    KeySink, ProbeOther, ProbeResult,
};
pub use entry::{cache_dir, EntryMeta, CACHE, ENTRY_EXT};
pub(crate) use index::now_nanos as now;
pub use index::{CacheLimits, PERSIST_EVERY};
pub use salt::SALT_KEY;

use crate::config::{parse_bool, parse_duration, parse_size};
use crate::error::{CaptureError, Result};
use crate::store::Store;

/// What memoization did in this process.
///
/// ```
/// let s = capture_runtime::cache::stats();
/// assert!(s.hits + s.misses >= s.hits);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the store.
    pub hits: u64,
    /// Lookups that ran the function.
    pub misses: u64,
    /// Results stored.
    pub stores: u64,
    /// Entries removed by TTL, max entries or max bytes.
    pub evicted: u64,
    /// Entries found expired on lookup (a miss; removed).
    pub expired: u64,
    /// Entries found corrupted, undecodable or of another type (a miss; removed).
    pub rejected: u64,
    /// Calls not cached because an argument could not be hashed.
    pub uncacheable: u64,
}

#[derive(Clone, Copy)]
pub(crate) enum Counter {
    Hit,
    Miss,
    Store,
    Evicted,
    Expired,
    Rejected,
    Uncacheable,
}

static COUNTERS: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];

pub(crate) fn count(c: Counter) {
    count_n(c, 1);
}

pub(crate) fn count_n(c: Counter, n: u64) {
    COUNTERS[c as usize].fetch_add(n, Ordering::Relaxed);
}

/// Counters of cache activity in this process.
pub fn stats() -> CacheStats {
    let g = |c: Counter| COUNTERS[c as usize].load(Ordering::Relaxed);
    CacheStats {
        hits: g(Counter::Hit),
        misses: g(Counter::Miss),
        stores: g(Counter::Store),
        evicted: g(Counter::Evicted),
        expired: g(Counter::Expired),
        rejected: g(Counter::Rejected),
        uncacheable: g(Counter::Uncacheable),
    }
}

/// The environment layer of cache settings (read once).
#[derive(Debug, Default)]
struct CacheEnv {
    enabled: Option<bool>,
    limits: CacheLimits,
}

fn cache_env() -> &'static CacheEnv {
    static ENV: OnceLock<CacheEnv> = OnceLock::new();
    ENV.get_or_init(|| CacheEnv::from_env(|k| std::env::var(k).ok()))
}

impl CacheEnv {
    fn from_env(get: impl Fn(&str) -> Option<String>) -> CacheEnv {
        fn read<T>(
            get: &dyn Fn(&str) -> Option<String>,
            key: &str,
            parse: fn(&str) -> std::result::Result<T, String>,
        ) -> Option<T> {
            let v = get(key)?;
            match parse(&v) {
                Ok(t) => Some(t),
                Err(expected) => {
                    crate::config::report_once(
                        &CaptureError::Config {
                            key: key.into(),
                            value: v,
                            expected,
                        }
                        .to_string(),
                    );
                    None
                }
            }
        }
        let count = |v: &str| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{v}`: expected a whole number"))
        };
        CacheEnv {
            enabled: read(&get, "CAPTURE_CACHE", parse_bool),
            limits: CacheLimits {
                ttl: read(&get, "CAPTURE_CACHE_TTL", parse_duration),
                max_entries: read(&get, "CAPTURE_CACHE_MAX_ENTRIES", count),
                max_bytes: read(&get, "CAPTURE_CACHE_MAX_BYTES", parse_size),
            },
        }
    }
}

static LIMITS: RwLock<CacheLimits> = RwLock::new(CacheLimits {
    ttl: None,
    max_entries: None,
    max_bytes: None,
});

/// Set the store-wide cache limits (each store's whole cache; the
/// `CAPTURE_CACHE_*` variables win over these). Per-function limits come from
/// the attribute; a function without `cache_ttl` uses the store-wide TTL.
///
/// ```
/// use capture_runtime::cache::{set_limits, CacheLimits};
/// set_limits(CacheLimits { max_bytes: Some(256 << 20), ..CacheLimits::default() });
/// # set_limits(CacheLimits::default());
/// ```
pub fn set_limits(limits: CacheLimits) {
    *LIMITS.write().unwrap_or_else(|e| e.into_inner()) = limits;
}

/// The store-wide limits in force (environment over [`set_limits`]).
pub fn store_wide_limits() -> CacheLimits {
    let env = cache_env().limits;
    let set = *LIMITS.read().unwrap_or_else(|e| e.into_inner());
    CacheLimits {
        ttl: env.ttl.or(set.ttl),
        max_entries: env.max_entries.or(set.max_entries),
        max_bytes: env.max_bytes.or(set.max_bytes),
    }
}

const UNSET: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;
static SWITCH: AtomicU8 = AtomicU8::new(UNSET);

/// Turn memoization on or off for the process (`CAPTURE_CACHE=0` still wins).
/// Memoization also needs capture to be on (`CAPTURE_ENABLED`, debug builds
/// by default), unless `CAPTURE_CACHE=1` is set: then it runs whether
/// capture is on or off.
///
/// ```
/// capture_runtime::cache::set_enabled(false);
/// capture_runtime::cache::set_enabled(true);
/// ```
pub fn set_enabled(on: bool) {
    SWITCH.store(if on { ON } else { OFF }, Ordering::Relaxed);
}

/// Whether memoized functions look their results up and store them now:
/// `CAPTURE_CACHE=0` or [`set_enabled`]`(false)` turn it off;
/// `CAPTURE_CACHE=1` turns it on even with capture off; otherwise it follows
/// capture ([`crate::config::enabled`]).
///
/// ```
/// capture_runtime::cache::set_enabled(false);
/// assert!(!capture_runtime::cache::is_active());
/// # capture_runtime::cache::set_enabled(true);
/// ```
#[inline]
pub fn is_active() -> bool {
    if SWITCH.load(Ordering::Relaxed) == OFF {
        return false;
    }
    match cache_env().enabled {
        Some(forced) => forced,
        None => crate::config::enabled(),
    }
}

pub(crate) fn cache_enabled() -> bool {
    is_active()
}

/// Forget a cache entry another part of the runtime deleted (the store
/// quota), so this process's index stops counting it.
pub(crate) fn forget_entry(store: &Store, key: &str) {
    if let Some(index) = index::existing(store) {
        index.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

/// One stored entry, as listed by [`entries`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryInfo {
    /// Store key of the entry file.
    pub key: String,
    /// Size of the entry file in bytes.
    pub bytes: u64,
    /// What the entry says about itself, or why it could not be read.
    pub meta: std::result::Result<EntryMeta, String>,
}

/// The cache entries of `function` (its full id, e.g. `shop::price`).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let store = capture_runtime::Store::open(dir.path());
/// assert!(capture_runtime::cache::entries(&store, "shop::price").unwrap().is_empty());
/// ```
pub fn entries(store: &Store, function: &str) -> Result<Vec<EntryInfo>> {
    let dir = cache_dir(function);
    let mut out = Vec::new();
    for (name, bytes) in store.backend().list_sizes(&dir)? {
        if !name.ends_with(ENTRY_EXT) {
            continue;
        }
        let key = format!("{dir}/{name}");
        let meta = match store.backend().get(&key)? {
            None => continue,
            Some(b) => entry::decode_entry(std::path::Path::new(&key), &b)
                .map(|d| d.meta)
                .map_err(|e| e.to_string()),
        };
        out.push(EntryInfo { key, bytes, meta });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// Remove the cache entries of `function`, or of every function with `None`;
/// returns how many were removed. Checkpoints and call records are untouched.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let store = capture_runtime::Store::open(dir.path());
/// assert_eq!(capture_runtime::cache::clear(&store, None).unwrap(), 0);
/// ```
pub fn clear(store: &Store, function: Option<&str>) -> Result<usize> {
    fn walk(store: &Store, prefix: &str, n: &mut usize) -> Result<()> {
        let listing = store.backend().list(prefix)?;
        for (name, _) in listing.files {
            if name.ends_with(ENTRY_EXT) {
                store.backend().delete(&format!("{prefix}/{name}"))?;
                *n += 1;
            }
        }
        for d in listing.dirs {
            walk(store, &format!("{prefix}/{d}"), n)?;
        }
        Ok(())
    }
    let mut n = 0;
    let prefix = function.map(cache_dir).unwrap_or_else(|| CACHE.to_owned());
    walk(store, &prefix, &mut n)?;
    index::forget(store);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn env_layer_parses_and_rejects() {
        let env = CacheEnv::from_env(|k| match k {
            "CAPTURE_CACHE" => Some("0".into()),
            "CAPTURE_CACHE_TTL" => Some("2h".into()),
            "CAPTURE_CACHE_MAX_BYTES" => Some("1MiB".into()),
            "CAPTURE_CACHE_MAX_ENTRIES" => Some("lots".into()),
            _ => None,
        });
        assert_eq!(env.enabled, Some(false));
        assert_eq!(env.limits.ttl, Some(Duration::from_secs(7200)));
        assert_eq!(env.limits.max_bytes, Some(1 << 20));
        assert_eq!(env.limits.max_entries, None);
    }
}
