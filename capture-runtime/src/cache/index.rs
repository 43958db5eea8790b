//! The in-process index of a store's cache entries: sizes, last use and each
//! function's own TTL, so eviction (TTL, max entries, max bytes,
//! least-recently-used first) never scans the store per write.
//!
//! The index exists only where limits are enforced: it is built the first
//! time this process writes an entry while a limit is set, by one listing of
//! `cache/`, sorted globally by each entry's modification time (its last
//! use: hits refresh it on local stores, see [`PERSIST_EVERY`]). After that
//! it is kept current by this process's hits, writes and evictions at
//! O(log n) each. Entries written by other processes after the listing are
//! not counted until the next process starts; evicting an entry another
//! process already removed is harmless (deletes are idempotent).

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

/// A hit refreshes the entry file's modification time (its persisted last
/// use, read back by the next process's listing and by the store quota) at
/// most this often per entry, so hits stay cheap.
pub const PERSIST_EVERY: Duration = Duration::from_secs(60);

/// How many expired entries one write may sweep from the LRU end.
const SWEEP: usize = 8;

/// LRU position: last use (nanoseconds since the epoch), then a sequence
/// number that makes positions unique.
type Tick = (u64, u64);

#[derive(Clone, Debug)]
struct Meta {
    dir: Arc<str>,
    bytes: u64,
    tick: Tick,
    /// Last use written to the file's modification time (or read from it).
    persisted_nanos: u64,
}

/// A function's own TTL, as far as this process knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum OwnTtl {
    /// Not learned yet (no write or hit of the function in this process).
    #[default]
    Unknown,
    /// No `cache_ttl`: the store-wide TTL applies.
    None,
    /// `cache_ttl`: the store-wide TTL does not apply.
    Own(Duration),
}

impl From<Option<Duration>> for OwnTtl {
    fn from(t: Option<Duration>) -> OwnTtl {
        t.map_or(OwnTtl::None, OwnTtl::Own)
    }
}

#[derive(Default, Debug)]
struct Group {
    bytes: u64,
    lru: BTreeMap<Tick, Arc<str>>,
    ttl: OwnTtl,
}

/// What reading an entry said about its function's own TTL.
pub(crate) enum Learned {
    /// The entry's function TTL.
    Ttl(Option<Duration>),
    /// The entry is gone.
    Gone,
    /// The entry is not an entry (corrupted): it is garbage.
    Bad,
    /// The store did not answer: try again at a later write.
    Unreadable,
}

/// One store's index.
#[derive(Default, Debug)]
pub(crate) struct Index {
    entries: HashMap<Arc<str>, Meta>,
    groups: HashMap<Arc<str>, Group>,
    all: Group,
    /// Entries the store-wide TTL may sweep: those of functions without
    /// (or not yet known to have) their own TTL.
    ttl_lru: BTreeMap<Tick, Arc<str>>,
    seq: u64,
}

type Shared = Arc<Mutex<Index>>;

static INDEXES: LazyLock<Mutex<HashMap<String, Shared>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The index of `store`, built by one listing on first use in this process.
/// Only called when a limit is set (building it lists the whole cache).
pub(crate) fn index_of(store: &Store) -> Shared {
    if let Some(i) = existing(store) {
        return i;
    }
    let id = store.describe();
    let mut index = Index::default();
    if let Err(e) = index.load(store) {
        crate::config::report(
            &format!("cache list {id}: {}", e.kind_label()),
            &format!("could not list the cache of {id}: {e}"),
        );
    }
    INDEXES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(id)
        .or_insert_with(|| Arc::new(Mutex::new(index)))
        .clone()
}

/// The index of `store` if this process built one (never lists the store).
pub(crate) fn existing(store: &Store) -> Option<Shared> {
    INDEXES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&store.describe())
        .cloned()
}

/// Forget a store's index (its cache was rewritten behind the index).
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

fn nanos(t: Option<SystemTime>) -> u64 {
    t.and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

impl Index {
    /// List every entry under `cache/`, then insert them oldest first across
    /// all functions (not folder by folder), so the store-wide LRU order
    /// after a restart is the order of last use.
    fn load(&mut self, store: &Store) -> Result<()> {
        let mut found: Vec<(u64, String, String, u64)> = Vec::new();
        let mut pending = vec![CACHE.to_owned()];
        while let Some(prefix) = pending.pop() {
            let listing = store.backend().list(&prefix)?;
            if listing.files.iter().any(|(n, _)| n.ends_with(ENTRY_EXT)) {
                let sizes: HashMap<String, u64> = store.backend().list_sizes(&prefix)?.into_iter().collect();
                for (name, modified) in listing.files {
                    if !name.ends_with(ENTRY_EXT) {
                        continue;
                    }
                    let bytes = sizes.get(&name).copied().unwrap_or(0);
                    found.push((nanos(modified), format!("{prefix}/{name}"), prefix.clone(), bytes));
                }
            }
            pending.extend(listing.dirs.into_iter().map(|d| format!("{prefix}/{d}")));
        }
        found.sort();
        for (used, key, dir, bytes) in found {
            self.insert_at(&dir, &key, bytes, used, used, OwnTtl::Unknown);
        }
        Ok(())
    }

    /// Record an entry written now as the most recently used; `ttl` is its
    /// function's own TTL (`cache_ttl`), if any.
    pub(crate) fn insert(&mut self, dir: &str, key: &str, bytes: u64, ttl: Option<Duration>) {
        let now = now_nanos();
        self.insert_at(dir, key, bytes, now, now, ttl.into());
    }

    fn insert_at(&mut self, dir: &str, key: &str, bytes: u64, used: u64, persisted: u64, ttl: OwnTtl) {
        self.remove(key);
        if ttl != OwnTtl::Unknown {
            self.set_ttl(dir, ttl);
        }
        self.seq += 1;
        let tick = (used, self.seq);
        let key: Arc<str> = key.into();
        let dir: Arc<str> = match self.groups.get_key_value(dir) {
            Some((d, _)) => d.clone(),
            None => dir.into(),
        };
        let g = self.groups.entry(dir.clone()).or_default();
        g.bytes += bytes;
        g.lru.insert(tick, key.clone());
        if !matches!(g.ttl, OwnTtl::Own(_)) {
            self.ttl_lru.insert(tick, key.clone());
        }
        self.all.bytes += bytes;
        self.all.lru.insert(tick, key.clone());
        self.entries.insert(
            key,
            Meta {
                dir,
                bytes,
                tick,
                persisted_nanos: persisted,
            },
        );
    }

    /// Record what a function's own TTL is; entries of a function with its
    /// own TTL leave the store-wide TTL sweep.
    fn set_ttl(&mut self, dir: &str, ttl: OwnTtl) {
        let Some(g) = self.groups.get_mut(dir) else {
            self.groups.insert(
                dir.into(),
                Group {
                    ttl,
                    ..Group::default()
                },
            );
            return;
        };
        let was_own = matches!(g.ttl, OwnTtl::Own(_));
        let is_own = matches!(ttl, OwnTtl::Own(_));
        g.ttl = ttl;
        if was_own != is_own {
            for (tick, key) in &g.lru {
                if is_own {
                    self.ttl_lru.remove(tick);
                } else {
                    self.ttl_lru.insert(*tick, key.clone());
                }
            }
        }
    }

    /// Mark an entry as just used (a hit); `ttl` is its function's own TTL.
    /// Returns whether the entry file's modification time should be
    /// refreshed now (at most every [`PERSIST_EVERY`]).
    pub(crate) fn touch(&mut self, key: &str, ttl: Option<Duration>) -> bool {
        let Some(m) = self.entries.get(key).cloned() else {
            return false;
        };
        let now = now_nanos();
        let persist = now.saturating_sub(m.persisted_nanos) >= PERSIST_EVERY.as_nanos() as u64;
        let persisted = if persist { now } else { m.persisted_nanos };
        self.insert_at(&m.dir, key, m.bytes, now, persisted, ttl.into());
        persist
    }

    /// Forget an entry (it was removed).
    pub(crate) fn remove(&mut self, key: &str) {
        if let Some(m) = self.entries.remove(key) {
            if let Some(g) = self.groups.get_mut(&m.dir) {
                g.bytes -= m.bytes;
                g.lru.remove(&m.tick);
                if g.lru.is_empty() && g.ttl == OwnTtl::Unknown {
                    self.groups.remove(&m.dir);
                }
            }
            self.ttl_lru.remove(&m.tick);
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
    /// `func` (its TTL is the function's own or the store-wide one) and the
    /// store fits `store_wide`; they are removed from the index and returned
    /// for deletion. Expired entries at the LRU end go too: the function's
    /// own, and store-wide those of functions without their own TTL
    /// (`learn` reads an entry to find its function's TTL, once per
    /// function, when no write or hit of it told this process).
    pub(crate) fn evict(
        &mut self,
        dir: &str,
        func: &CacheLimits,
        store_wide: &CacheLimits,
        learn: &mut dyn FnMut(&str) -> Learned,
    ) -> Vec<String> {
        let now = now_nanos();
        let mut victims = Vec::new();
        if let Some(ttl) = func.ttl {
            let cutoff = now.saturating_sub(ttl.as_nanos() as u64);
            let old: Vec<Arc<str>> = self
                .groups
                .get(dir)
                .map(|g| g.lru.range(..(cutoff, 0)).take(SWEEP).map(|(_, k)| k.clone()).collect())
                .unwrap_or_default();
            for key in old {
                self.remove(&key);
                victims.push(key.to_string());
            }
        }
        if let Some(ttl) = store_wide.ttl {
            self.sweep_store_wide(ttl, now, learn, &mut victims);
        }
        for (scope, limits) in [(Some(dir), func), (None, store_wide)] {
            loop {
                let (n, bytes) = self.usage(scope);
                let over = limits.max_entries.is_some_and(|m| n > m) || limits.max_bytes.is_some_and(|m| bytes > m);
                if !over {
                    break;
                }
                let group = match scope {
                    None => Some(&self.all),
                    Some(d) => self.groups.get(d),
                };
                let Some(key) = group.and_then(|g| g.lru.values().next().cloned()) else {
                    break;
                };
                self.remove(&key);
                victims.push(key.to_string());
            }
        }
        victims
    }

    /// Sweep entries unused for longer than the store-wide TTL (so surely
    /// older than it) whose function has no TTL of its own.
    fn sweep_store_wide(
        &mut self,
        ttl: Duration,
        now: u64,
        learn: &mut dyn FnMut(&str) -> Learned,
        victims: &mut Vec<String>,
    ) {
        let cutoff = now.saturating_sub(ttl.as_nanos() as u64);
        let (mut removed, mut reads) = (0, 0);
        while removed < SWEEP {
            let Some((_, key)) = self.ttl_lru.range(..(cutoff, 0)).next() else {
                break;
            };
            let key = key.clone();
            let dir = self.entries.get(&key).map(|m| m.dir.clone()).expect("indexed");
            let known = self.groups.get(&dir).map(|g| g.ttl).unwrap_or_default();
            if known == OwnTtl::Unknown {
                if reads == SWEEP {
                    break;
                }
                reads += 1;
                match learn(&key) {
                    Learned::Ttl(t) => self.set_ttl(&dir, t.into()),
                    Learned::Gone => self.remove(&key),
                    Learned::Bad => {
                        self.remove(&key);
                        victims.push(key.to_string());
                        removed += 1;
                    }
                    Learned::Unreadable => break,
                }
                continue;
            }
            // `ttl_lru` holds no entry of a function with its own TTL.
            self.remove(&key);
            victims.push(key.to_string());
            removed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_learning(_: &str) -> Learned {
        panic!("nothing to learn")
    }

    #[test]
    fn lru_order_follows_use_and_limits_are_per_scope() {
        let mut i = Index::default();
        for k in ["a", "b", "c"] {
            i.insert("f", k, 10, None);
        }
        i.insert("g", "x", 100, None);
        i.touch("a", None); // order in f: b, c, a
        let lim = CacheLimits {
            max_entries: Some(2),
            ..CacheLimits::default()
        };
        let none = CacheLimits::default();
        assert_eq!(i.evict("f", &lim, &none, &mut no_learning), vec!["b".to_string()]);
        assert_eq!(i.usage(Some("f")), (2, 20));
        assert_eq!(i.usage(None), (3, 120));
        let store = CacheLimits {
            max_bytes: Some(105),
            ..CacheLimits::default()
        };
        // Store-wide: least recently used across functions goes first: c, then
        // g's x (older than f's recently used a), whichever function is writing.
        assert_eq!(
            i.evict("f", &none, &store, &mut no_learning),
            vec!["c".to_string(), "x".to_string()]
        );
        assert_eq!(i.usage(None), (1, 10));
        assert_eq!(i.usage(Some("g")), (0, 0));
    }

    #[test]
    fn ttl_sweeps_respect_each_functions_own_ttl() {
        let hour = Duration::from_secs(3600);
        let ago = |h: u64| now_nanos() - h * 3_600_000_000_000;
        let mut i = Index::default();
        // Loaded from a listing: last use two hours ago, TTLs unknown.
        i.insert_at("own", "own/old", 1, ago(2), ago(2), OwnTtl::Unknown);
        i.insert_at("plain", "plain/old", 1, ago(2), ago(2), OwnTtl::Unknown);
        i.insert_at("fresh", "fresh/new", 1, ago(0), ago(0), OwnTtl::Unknown);
        let store_wide = CacheLimits {
            ttl: Some(hour),
            ..CacheLimits::default()
        };
        let mut reads = Vec::new();
        let mut learn = |key: &str| {
            reads.push(key.to_string());
            match key {
                "own/old" => Learned::Ttl(Some(Duration::from_secs(7 * 24 * 3600))),
                _ => Learned::Ttl(None),
            }
        };
        let victims = i.evict("fresh", &CacheLimits::default(), &store_wide, &mut learn);
        assert_eq!(
            victims,
            ["plain/old"],
            "a 7-day cache_ttl outlives the 1h store-wide TTL"
        );
        assert_eq!(reads, ["own/old", "plain/old"], "one read per function, oldest first");
        assert!(i.entries.contains_key("own/old"));
        // Learned once: the next sweep reads nothing.
        let victims = i.evict("fresh", &CacheLimits::default(), &store_wide, &mut no_learning);
        assert!(victims.is_empty());
        // The function's own TTL sweeps its own folder when it writes.
        let own = CacheLimits {
            ttl: Some(hour),
            ..CacheLimits::default()
        };
        i.insert("own", "own/new", 1, Some(hour));
        assert_eq!(i.evict("own", &own, &store_wide, &mut no_learning), ["own/old"]);
    }

    #[test]
    fn touch_persists_recency_at_most_once_a_minute() {
        let mut i = Index::default();
        let long_ago = now_nanos() - 3_600_000_000_000;
        i.insert_at("f", "f/a", 1, long_ago, long_ago, OwnTtl::Unknown);
        assert!(i.touch("f/a", None), "an hour since the last persisted use");
        assert!(!i.touch("f/a", None), "just persisted");
        assert!(!i.touch("missing", None));
    }
}
