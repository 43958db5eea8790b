//! What the calling thread hands over: the encoded arguments of one call in
//! one byte buffer, with `'static` names and a compact account of each
//! argument. Turning that into records (owned strings, content ids, schema
//! copies) is the writer's job, so the caller allocates nothing per argument.
//!
//! Buffers are recycled through a pool: the writer gives them back once the
//! call is written, so in steady state a capture allocates nothing at all on
//! the calling thread (and memory freed on the writer thread does not drain
//! the caller's allocator cache).

use std::cell::RefCell;
use std::ops::Range;
use std::sync::Mutex;

use crate::hash::ContentId;
use crate::record::{ArgRecord, Schema, Slot};
use crate::value::Name;

/// How one argument was taken. The rare cases keep their payload boxed so
/// that an argument stays small enough to be moved without a `memcpy` call
/// (six per captured call on the profile before).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Taken {
    /// Encoded: these bytes of the call's buffer.
    Stored(Range<usize>),
    /// Not encoded: an object stored earlier holds the value (`hash(arg = sampled)`).
    Known(Box<Known>),
    /// Not recorded (`ignore(..)`).
    Ignored,
    /// The argument's name is sensitive: nothing was encoded.
    Redacted,
    /// Not encodable: a description was kept.
    Placeholder(Box<Described>),
    /// Larger than the size limit.
    TooLarge(u64),
    /// Encoding failed (the message never quotes the value).
    Failed(String),
}

/// An object stored earlier that holds an argument's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Known {
    pub id: ContentId,
    pub len: u64,
}

/// What was kept of a value that could not be encoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Described {
    /// Its `Debug` text (scrubbed), when it has one.
    pub debug: Option<String>,
    /// Why it was not encoded.
    pub reason: String,
}

/// One argument (or return value, or after-state) as the caller hands it over.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArgOut {
    pub name: Name,
    pub type_name: Name,
    pub schema: Option<&'static Schema>,
    pub taken: Taken,
    /// Parts redacted inside the value: (path, reason). Empty (no allocation) as a rule.
    pub redacted: Vec<(String, String)>,
    /// `hash(arg = sampled)`: the sampled id of the buffer, for the writer to
    /// remember which object it was stored as.
    pub sampled: Option<Box<ContentId>>,
}

impl ArgOut {
    /// An argument not taken yet (its `taken` is set when it is encoded).
    pub(crate) fn new(
        name: Name,
        type_name: Name,
        schema: Option<&'static Schema>,
        sampled: Option<Box<ContentId>>,
    ) -> Self {
        ArgOut {
            name,
            type_name,
            schema,
            taken: Taken::Ignored,
            redacted: Vec::new(),
            sampled,
        }
    }

    /// The record of this argument; `id` is the content id of its body when stored.
    pub(crate) fn record(&self, id: Option<ContentId>) -> ArgRecord {
        let slot = match (&self.taken, id) {
            (Taken::Stored(r), Some(id)) => Slot::Stored {
                id,
                len: r.len() as u64,
            },
            // Every caller hashes stored bodies first; never expected.
            (Taken::Stored(_), None) => Slot::Failed {
                error: "internal error: the body was not hashed".into(),
            },
            (Taken::Known(k), _) => Slot::Stored { id: k.id, len: k.len },
            (Taken::Ignored, _) => Slot::Ignored,
            (Taken::Redacted, _) => Slot::Redacted {
                reason: format!("name:{}", self.name),
            },
            (Taken::Placeholder(p), _) => Slot::Placeholder {
                debug: p.debug.clone(),
                reason: p.reason.clone(),
            },
            (Taken::TooLarge(limit), _) => Slot::TooLarge { limit: *limit },
            (Taken::Failed(error), _) => Slot::Failed { error: error.clone() },
        };
        let stored = matches!(slot, Slot::Stored { .. });
        ArgRecord {
            name: self.name.to_string(),
            type_name: self.type_name.to_string(),
            slot,
            schema: if stored { self.schema.cloned() } else { None },
            redacted: self.redacted.clone(),
        }
    }
}

/// An object a record refers to: its id, and its bytes when the call
/// encoded it (none when it reused an object stored earlier).
pub(crate) type ObjectRef<'a> = (ContentId, Option<&'a [u8]>);

/// The encoded arguments of one call (or of its outcome) and their bytes.
#[derive(Debug, Default)]
pub(crate) struct Parts {
    pub args: Vec<ArgOut>,
    pub bytes: Vec<u8>,
}

impl Parts {
    /// The encoded body of `arg`, when it was stored.
    pub(crate) fn body(&self, arg: &ArgOut) -> Option<&[u8]> {
        match &arg.taken {
            Taken::Stored(r) => self.bytes.get(r.clone()),
            _ => None,
        }
    }

    /// Content ids of every stored body as objects in `codec` (see
    /// [`crate::codec::object_id`]), in argument order (`None` for the others).
    pub(crate) fn ids(&self, codec: crate::Codec) -> Vec<Option<ContentId>> {
        self.args
            .iter()
            .map(|a| self.body(a).map(|b| crate::codec::object_id(codec, b)))
            .collect()
    }

    /// The objects the arguments refer to, by id: with their bytes when
    /// encoded by this call, without when reused from an earlier call
    /// (`hash(arg = sampled)`, which must still be in the store).
    pub(crate) fn objects(&self, ids: &[Option<ContentId>]) -> Vec<ObjectRef<'_>> {
        let mut out = Vec::new();
        for (a, id) in self.args.iter().zip(ids) {
            match (&a.taken, id) {
                (Taken::Stored(r), Some(id)) => out.push((*id, self.bytes.get(r.clone()))),
                (Taken::Known(k), _) => out.push((k.id, None)),
                _ => {}
            }
        }
        out
    }

    /// Remember the objects that `hash(arg = sampled)` buffers were stored
    /// as (their ids from [`Parts::ids`]), so later calls need not encode them.
    pub(crate) fn remember_sampled(&self, store: &crate::store::Store, ids: &[Option<ContentId>]) {
        for (a, id) in self.args.iter().zip(ids) {
            if let (Some(sampled), Some(id), Taken::Stored(r)) = (&a.sampled, id, &a.taken) {
                super::sampled::remember(store, **sampled, *id, r.len() as u64);
            }
        }
    }

    /// Records of every argument, given their ids (from [`Parts::ids`]).
    pub(crate) fn records(&self, ids: &[Option<ContentId>]) -> Vec<ArgRecord> {
        self.args.iter().zip(ids).map(|(a, id)| a.record(*id)).collect()
    }
}

/// Buffers kept for reuse, at most.
const POOL_MAX: usize = 4096;
/// Buffers a thread takes from the shared pool at once.
const TAKE: usize = 32;
/// Largest byte buffer kept for reuse (bigger ones are freed).
const KEEP_BYTES: usize = 256 << 10;

static POOL: Mutex<Vec<Parts>> = Mutex::new(Vec::new());

thread_local! {
    static LOCAL: RefCell<Vec<Parts>> = const { RefCell::new(Vec::new()) };
}

/// An empty [`Parts`], from this thread's cache, the shared pool, or new.
pub(crate) fn take_parts() -> Parts {
    LOCAL
        .try_with(|l| {
            let mut l = l.borrow_mut();
            if l.is_empty() {
                let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
                let n = pool.len().min(TAKE);
                let at = pool.len() - n;
                l.extend(pool.drain(at..));
            }
            l.pop()
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| Parts {
            args: Vec::with_capacity(4),
            bytes: Vec::with_capacity(1024),
        })
}

/// Give buffers back for reuse (the writer, once their call is written).
pub(crate) fn give_back(parts: impl IntoIterator<Item = Parts>) {
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    for mut p in parts {
        if pool.len() >= POOL_MAX || p.bytes.capacity() > KEEP_BYTES || p.args.capacity() > 64 {
            continue;
        }
        p.args.clear();
        p.bytes.clear();
        pool.push(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Arguments are moved a few times per captured call; past 128 bytes
    /// each move became a `memcpy` call.
    #[test]
    fn an_argument_moves_without_memcpy() {
        assert!(std::mem::size_of::<Taken>() <= 32, "{}", std::mem::size_of::<Taken>());
        assert!(
            std::mem::size_of::<ArgOut>() <= 128,
            "{}",
            std::mem::size_of::<ArgOut>()
        );
    }
}
