//! `#[capture_args(hash(arg = sampled))]`: large numeric buffers identified
//! by their sampled hash ([`crate::hash::sampled_hash`], constant time).
//!
//! The first call with a buffer encodes it as usual; the writer stores it
//! under its exact content id (objects stay verifiable) and remembers which
//! exact object the sampled id stands for. Later calls whose buffer has the
//! same sampled id record that object without encoding or hashing the buffer
//! again: capturing an 800 MB array that was seen before costs the sampled
//! hash (tens of microseconds), not a copy of 800 MB.
//!
//! Trade-off (see [`crate::hash`]): a buffer that changed only outside the
//! sampled bytes is recorded as the earlier one. The memory is per process and
//! each entry expires after [`ALIAS_TTL`], so a buffer is encoded in full at
//! least once per process and per [`ALIAS_TTL`]. A call that reuses an
//! object marks it as used (as storing it again would), so `gc` keeps it for
//! its grace period; should the object be gone all the same, the argument is
//! recorded as failed, saying so, and the next call encodes the buffer again.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::hash::ContentId;
use crate::store::Store;

/// How long a sampled id stands for the object it was first stored as.
pub const ALIAS_TTL: Duration = Duration::from_secs(60);
/// Entries kept at most (the table is emptied past it).
const MAX_ALIASES: usize = 4096;

/// (store backend, sampled id).
type Key = (usize, ContentId);
/// The object (id, encoded length) a sampled id stands for, and since when.
type Alias = (ContentId, u64, Instant);
static ALIASES: RwLock<Option<HashMap<Key, Alias>>> = RwLock::new(None);

fn key(store: &Store, sampled: ContentId) -> Key {
    (std::sync::Arc::as_ptr(store.backend()) as *const () as usize, sampled)
}

/// The object (id, encoded length) a buffer with this sampled id was stored as, if known.
pub(crate) fn lookup(store: &Store, sampled: ContentId) -> Option<(ContentId, u64)> {
    let map = ALIASES.read().unwrap_or_else(|e| e.into_inner());
    let (id, len, at) = map.as_ref()?.get(&key(store, sampled))?;
    (at.elapsed() < ALIAS_TTL).then_some((*id, *len))
}

/// Remember that a buffer with this sampled id was stored as object `id`.
pub(crate) fn remember(store: &Store, sampled: ContentId, id: ContentId, len: u64) {
    let mut map = ALIASES.write().unwrap_or_else(|e| e.into_inner());
    let map = map.get_or_insert_with(HashMap::new);
    if map.len() >= MAX_ALIASES {
        map.clear();
    }
    map.insert(key(store, sampled), (id, len, Instant::now()));
}

/// Forget every sampled id standing for object `id` (it left the store).
pub(crate) fn forget_object(store: &Store, id: ContentId) {
    let backend = std::sync::Arc::as_ptr(store.backend()) as *const () as usize;
    let mut map = ALIASES.write().unwrap_or_else(|e| e.into_inner());
    if let Some(map) = map.as_mut() {
        map.retain(|(b, _), (object, ..)| !(*b == backend && *object == id));
    }
}
