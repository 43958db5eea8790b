//! The in-process index of a store's cache entries: sizes, ages and recency,
//! so eviction (TTL, max entries, max bytes, least-recently-used first) never
//! scans the store per write.
//!
//! The index is built once per store and process by one listing of
//! `cache/` (initial recency = write time), then kept up to date by this
//! process's hits, writes and evictions: each costs O(log n). Entries written
//! by other processes after that listing are not counted until the next
//! process starts; evicting an entry another process already removed is
//! harmless (deletes are idempotent).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::entry::{CACHE, ENTRY_EXT};
use crate::error::Result;
use crate::store::Store;

/// Limits of a function's entries or of a whole store's cache.
///
/// ```
/// use capture_runtime::cache::CacheLimits;
/// use std::time::Duration;
/// let l = CacheLimits { ttl: Some(Duration::from_secs(3600)), max_entries: Some(1000), max_bytes: Some(64 << 20) };
/// assert!(!l.is_unlimited());
/// assert!(CacheLimits::default().is_unlimited());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheLimits {
    /// Entries older than this are a miss and are removed.
    pub ttl: Option<Duration>,
    /// At most this many entries (least recently used evicted first).
    pub max_entries: Option<u64>,
    /// At most this many bytes of entry files (least recently used evicted first).
    pub max_bytes: Option<u64>,
}

impl CacheLimits {
    /// Whether no limit is set.
    pub fn is_unlimited(&self) -> bool {
        self.ttl.is_none() && self.max_entries.is_none() && self.max_bytes.is_none()
    }
}

#[derive(Clone, Debug)]
struct Meta {
    dir: String,
    bytes: u64,
    tick: u64,
    created_nanos: u64,
}

#[derive(Default, Debug)]
struct Group {
    bytes: u64,
    lru: BTreeMap<u64, String>,
}

/// One store's index.
#[derive(Default, Debug)]
pub(crate) struct Index {
    entries: HashMap<String, Meta>,
    groups: HashMap<String, Group>,
    all: Group,
    tick: u64,
}

/// How many expired entries one write may sweep from the LRU end.
const SWEEP: usize = 8;

static INDEXES: LazyLock<Mutex<HashMap<String, Arc<Mutex<Index>>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The index of `store` (built by one listing on first use in this process).
pub(crate) fn index_of(store: &Store) -> Arc<Mutex<Index>> {
    let id = store.describe();
    if let Some(i) = INDEXES.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
        return i.clone();
    }
    let mut index = Index::default();
    if let Err(e) = index.load(store, CACHE) {
        crate::config::report_once(&format!("could not list the cache of {id}: {e}"));
    }
    INDEXES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(id)
        .or_insert_with(|| Arc::new(Mutex::new(index)))
        .clone()
}

/// Forget every index (tests that rewrite a store behind the process's back).
pub(crate) fn forget(store: &Store) {
    INDEXES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&store.describe());
}

pub(crate) fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl Index {
    fn load(&mut self, store: &Store, prefix: &str) -> Result<()> {
        let backend = store.backend();
        let listing = backend.list(prefix)?;
        if listing.files.iter().any(|(n, _)| n.ends_with(ENTRY_EXT)) {
            let sizes: HashMap<String, u64> = backend.list_sizes(prefix)?.into_iter().collect();
            let mut files: Vec<(String, u64)> = listing
                .files
                .into_iter()
                .filter(|(n, _)| n.ends_with(ENTRY_EXT))
                .map(|(n, m)| {
                    let nanos = m
                        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                        .map(|d| d.as_nanos() as u64)
                        .unwrap_or(0);
                    (n, nanos)
                })
                .collect();
            files.sort_by_key(|(_, t)| *t);
            for (name, created) in files {
                let bytes = sizes.get(&name).copied().unwrap_or(0);
                self.insert(prefix, &format!("{prefix}/{name}"), bytes, created);
            }
        }
        for d in listing.dirs {
            self.load(store, &format!("{prefix}/{d}"))?;
        }
        Ok(())
    }

    /// Record a written entry as the most recently used.
    pub(crate) fn insert(&mut self, dir: &str, key: &str, bytes: u64, created_nanos: u64) {
        self.remove(key);
        self.tick += 1;
        let tick = self.tick;
        let g = self.groups.entry(dir.to_owned()).or_default();
        g.bytes += bytes;
        g.lru.insert(tick, key.to_owned());
        self.all.bytes += bytes;
        self.all.lru.insert(tick, key.to_owned());
        self.entries.insert(
            key.to_owned(),
            Meta {
                dir: dir.to_owned(),
                bytes,
                tick,
                created_nanos,
            },
        );
    }

    /// Mark an entry as just used.
    pub(crate) fn touch(&mut self, key: &str) {
        let Some(m) = self.entries.get(key).cloned() else {
            return;
        };
        self.insert(&m.dir, key, m.bytes, m.created_nanos);
    }

    /// Forget an entry (it was removed).
    pub(crate) fn remove(&mut self, key: &str) {
        if let Some(m) = self.entries.remove(key) {
            if let Some(g) = self.groups.get_mut(&m.dir) {
                g.bytes -= m.bytes;
                g.lru.remove(&m.tick);
                if g.lru.is_empty() {
                    self.groups.remove(&m.dir);
                }
            }
            self.all.bytes -= m.bytes;
            self.all.lru.remove(&m.tick);
        }
    }

    /// Entries (count, bytes) of one function folder, or of the store with `None`.
    pub(crate) fn usage(&self, dir: Option<&str>) -> (u64, u64) {
        match dir {
            None => (self.all.lru.len() as u64, self.all.bytes),
            Some(d) => self
                .groups
                .get(d)
                .map(|g| (g.lru.len() as u64, g.bytes))
                .unwrap_or((0, 0)),
        }
    }

    /// Choose the entries to evict so that the function folder `dir` fits
    /// `func` and the store fits `store_wide`; they are removed from the
    /// index and returned for deletion. Expired entries at the LRU end go too.
    pub(crate) fn evict(&mut self, dir: &str, func: &CacheLimits, store_wide: &CacheLimits) -> Vec<String> {
        let now = now_nanos();
        let mut victims = Vec::new();
        for (scope, limits) in [(Some(dir), func), (None, store_wide)] {
            if limits.is_unlimited() {
                continue;
            }
            // Expired entries among the least recently used.
            if let Some(ttl) = limits.ttl {
                let cutoff = now.saturating_sub(ttl.as_nanos() as u64);
                let old: Vec<String> = self
                    .group(scope)
                    .map(|g| g.lru.values().take(SWEEP).cloned().collect())
                    .unwrap_or_default();
                for key in old {
                    if self.entries.get(&key).is_some_and(|m| m.created_nanos < cutoff) {
                        self.remove(&key);
                        victims.push(key);
                    }
                }
            }
            loop {
                let (n, bytes) = self.usage(scope);
                let over = limits.max_entries.is_some_and(|m| n > m) || limits.max_bytes.is_some_and(|m| bytes > m);
                if !over {
                    break;
                }
                let Some(key) = self.group(scope).and_then(|g| g.lru.values().next().cloned()) else {
                    break;
                };
                self.remove(&key);
                victims.push(key);
            }
        }
        victims
    }

    fn group(&self, scope: Option<&str>) -> Option<&Group> {
        match scope {
            None => Some(&self.all),
            Some(d) => self.groups.get(d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_order_follows_use_and_limits_are_per_scope() {
        let mut i = Index::default();
        let now = now_nanos();
        for k in ["a", "b", "c"] {
            i.insert("f", k, 10, now);
        }
        i.insert("g", "x", 100, now);
        i.touch("a"); // order in f: b, c, a
        let lim = CacheLimits {
            max_entries: Some(2),
            ..CacheLimits::default()
        };
        assert_eq!(i.evict("f", &lim, &CacheLimits::default()), vec!["b".to_string()]);
        assert_eq!(i.usage(Some("f")), (2, 20));
        assert_eq!(i.usage(None), (3, 120));
        let store = CacheLimits {
            max_bytes: Some(105),
            ..CacheLimits::default()
        };
        // Store-wide: least recently used across functions goes first: c, then
        // g's x (older than f's recently used a), whichever function is writing.
        assert_eq!(
            i.evict("f", &CacheLimits::default(), &store),
            vec!["c".to_string(), "x".to_string()]
        );
        assert_eq!(i.usage(None), (1, 10));
        assert_eq!(i.usage(Some("g")), (0, 0));
        let ttl = CacheLimits {
            ttl: Some(Duration::from_secs(60)),
            ..CacheLimits::default()
        };
        i.insert("g", "old", 1, now - 120_000_000_000);
        i.insert("g", "fresh", 1, now);
        assert_eq!(i.evict("g", &ttl, &CacheLimits::default()), vec!["old".to_string()]);
    }
}
