//! Per-call encoding state kept in the `EncodeCtx`: the shared-pointer memo
//! and the `explain!` trace.

use std::any::Any;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::explain::Note;

/// The memo of shared pointers seen in one call (pointer address -> id), as
/// pickle's memo: a pointer seen again is written as `Marker::Ref(id)`.
///
/// One memo lives for all arguments of a call, so two arguments pointing to
/// one `Rc` are stored once and rebuilt pointing to one value. Ids count up
/// from 0 in encounter order (never addresses), so equal calls give equal
/// bytes and equal content ids.
///
/// Like pickle's memo, it holds a clone of every pointer it records until the
/// call is encoded: an `Rc` that lives only during encoding (made by an
/// `into` proxy, a `with` module or a hand-written `reduce`) cannot be freed
/// and its address reused by another value, which would then be written as a
/// reference to the wrong value.
///
/// Parts that fail are rolled back: ids handed out inside a part whose
/// encoding returned an error (or unwound) are forgotten, so no later part
/// can refer to a definition that was never stored.
#[derive(Default)]
pub struct EncodeState {
    /// Keyed by address, with fixed hash keys: a `RandomState` would read
    /// thread-local keys for every captured call, shared pointers or not.
    seen: HashMap<usize, u32, BuildHasherDefault<DefaultHasher>>,
    /// `keep[id]` keeps the pointer recorded as `id` alive.
    keep: Vec<Box<dyn Any>>,
    next: u32,
    /// How many reducible parts are being encoded (nested).
    depth: u32,
    /// `next` when the outermost open part started.
    outer_mark: u32,
    pub(crate) trace: Option<Vec<Note>>,
}

impl std::fmt::Debug for EncodeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodeState")
            .field("shared", &self.seen.len())
            .field("next", &self.next)
            .field("depth", &self.depth)
            .finish()
    }
}

impl EncodeState {
    /// The id of `addr` if it was seen, else `Err(new id)` after recording it
    /// (and keeping `keep`, a clone of the pointer, alive with the memo).
    pub(crate) fn memo(&mut self, addr: usize, keep: impl FnOnce() -> Box<dyn Any>) -> Result<u32, u32> {
        if let Some(id) = self.seen.get(&addr) {
            return Ok(*id);
        }
        let id = self.next;
        self.next += 1;
        self.seen.insert(addr, id);
        self.keep.push(keep());
        Err(id)
    }

    /// Whether `addr` was seen (for `Weak` targets).
    pub(crate) fn lookup(&self, addr: usize) -> Option<u32> {
        self.seen.get(&addr).copied()
    }

    /// A part starts: returns the mark to roll back to if it fails.
    pub(crate) fn open_part(&mut self) -> u32 {
        if self.depth == 0 {
            self.outer_mark = self.next;
        }
        self.depth += 1;
        self.next
    }

    /// The part opened at `mark` ended; when it failed, forget every pointer
    /// it recorded (their definitions are not stored).
    pub(crate) fn close_part(&mut self, mark: u32, failed: bool) {
        self.depth = self.depth.saturating_sub(1);
        if failed {
            self.rollback(mark);
        }
    }

    fn rollback(&mut self, mark: u32) {
        if mark >= self.next {
            return;
        }
        self.seen.retain(|_, id| *id < mark);
        self.keep.truncate(mark as usize);
        self.next = mark;
    }

    /// An argument of the call starts: the mark to roll back to if it is not stored.
    pub(crate) fn argument_mark(&mut self) -> u32 {
        self.depth = 0;
        self.next
    }

    /// The argument started at `mark` ended. When it was not stored (its
    /// encoding failed, panicked or was too large) every pointer it recorded
    /// is forgotten: later arguments must not refer to a definition that is
    /// not on disk.
    pub(crate) fn end_argument(&mut self, mark: u32, stored: bool) {
        self.depth = 0;
        if !stored {
            self.rollback(mark);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_part_forgets_the_ids_it_handed_out() {
        let mut s = EncodeState::default();
        assert_eq!(s.memo(1, || Box::new(())), Err(0));
        let mark = s.open_part();
        assert_eq!(s.memo(2, || Box::new(())), Err(1));
        s.close_part(mark, true);
        assert_eq!(s.lookup(2), None, "the failed part's definition was not stored");
        assert_eq!(s.lookup(1), Some(0), "earlier ones stay");
        assert_eq!(s.memo(3, || Box::new(())), Err(1), "ids stay dense");
    }

    #[test]
    fn an_argument_that_is_not_stored_is_rolled_back() {
        let mut s = EncodeState::default();
        let first = s.argument_mark();
        let _ = s.memo(1, || Box::new(()));
        s.end_argument(first, true);
        let second = s.argument_mark();
        let _outer = s.open_part();
        let _inner = s.open_part();
        let _ = s.memo(2, || Box::new(()));
        // A panic: nobody closes the parts; the argument is not stored.
        s.end_argument(second, false);
        assert_eq!(s.lookup(1), Some(0));
        assert_eq!(s.lookup(2), None);
        assert_eq!(s.next, 1);
        assert_eq!(s.depth, 0);
    }
}
