//! Per-call encoding state kept in the `EncodeCtx`: the shared-pointer memo
//! and the `explain!` trace.

use std::collections::HashMap;

use super::explain::Note;

/// The memo of shared pointers seen in one call (pointer address -> id), as
/// pickle's memo: a pointer seen again is written as `Marker::Ref(id)`.
///
/// One memo lives for all arguments of a call, so two arguments pointing to
/// one `Rc` are stored once and rebuilt pointing to one value. Ids count up
/// from 0 in encounter order (never addresses), so equal calls give equal
/// bytes and equal content ids.
#[derive(Default, Debug)]
pub struct EncodeState {
    seen: HashMap<usize, u32>,
    next: u32,
    pub(crate) trace: Option<Vec<Note>>,
}

impl EncodeState {
    /// The id of `addr` if it was seen, else `Err(new id)` after recording it.
    pub(crate) fn memo(&mut self, addr: usize) -> Result<u32, u32> {
        if let Some(id) = self.seen.get(&addr) {
            return Ok(*id);
        }
        let id = self.next;
        self.next += 1;
        self.seen.insert(addr, id);
        Err(id)
    }

    /// Whether `addr` was seen (for `Weak` targets).
    pub(crate) fn lookup(&self, addr: usize) -> Option<u32> {
        self.seen.get(&addr).copied()
    }
}
