//! [`Path`]: where an encoding is inside its value (`order.items[2].sku`),
//! kept for redaction reports and error messages.
//!
//! Every struct field and sequence element of every captured value goes
//! through a push and a pop, so both must be a few stores: a segment is a
//! small `Copy` value (a `'static` field name or an index), written straight
//! into the stack with no destructor to run on pop. Names that are not
//! `'static` (map keys, field names of a value tree) are rare on the capture
//! path and live in a side list of strings.

use super::Name;

/// One step down into a value.
#[derive(Clone, Copy, Debug)]
pub(super) enum Seg {
    /// A struct field or enum variant, by its `'static` name (serde's).
    Field(&'static str),
    /// A sequence element.
    Index(usize),
    /// A field whose name is owned: the top of [`Path::owned`].
    OwnedField,
    /// A map entry: its key's text is the top of [`Path::owned`].
    Key,
}

/// The current position in the value being encoded.
#[derive(Default)]
pub(crate) struct Path {
    segs: Vec<Seg>,
    owned: Vec<String>,
}

impl Path {
    /// Down into the field `name`.
    #[inline(always)]
    pub(crate) fn field(&mut self, name: &'static str) {
        self.push(Seg::Field(name));
    }

    /// Down into element `index`.
    #[inline(always)]
    pub(crate) fn index(&mut self, index: usize) {
        self.push(Seg::Index(index));
    }

    /// Down into the field `name`, borrowed or owned.
    pub(super) fn name(&mut self, name: &Name) {
        match name {
            Name::Borrowed(s) => self.field(s),
            Name::Owned(s) => {
                self.owned.push(s.clone());
                self.push(Seg::OwnedField);
            }
        }
    }

    /// Down into the map entry whose key reads `key`.
    pub(super) fn key(&mut self, key: String) {
        self.owned.push(key);
        self.push(Seg::Key);
    }

    #[inline(always)]
    fn push(&mut self, seg: Seg) {
        if self.segs.len() == self.segs.capacity() {
            self.grow();
        }
        // SAFETY: there is room for one more segment (checked just above);
        // writing it in place and then bumping the length is what `Vec::push`
        // does, without building the segment on the stack first (a 16-byte
        // copy of two 8-byte stores stalls store forwarding, and this runs
        // for every field of every captured value).
        unsafe {
            let len = self.segs.len();
            self.segs.as_mut_ptr().add(len).write(seg);
            self.segs.set_len(len + 1);
        }
    }

    #[cold]
    fn grow(&mut self) {
        self.segs.reserve(16);
    }

    /// Back up one step taken by [`Self::field`] or [`Self::index`]: nothing
    /// to free, so only the length changes.
    #[inline(always)]
    pub(super) fn pop_plain(&mut self) {
        debug_assert!(matches!(self.segs.last(), Some(Seg::Field(_) | Seg::Index(_))));
        // SAFETY: the step being undone pushed a segment, so `len >= 1`, and
        // that segment is `Copy` (no destructor to run).
        unsafe { self.segs.set_len(self.segs.len() - 1) }
    }

    /// Back up one step.
    #[inline(always)]
    pub(crate) fn pop(&mut self) {
        if let Some(Seg::OwnedField | Seg::Key) = self.segs.pop() {
            self.owned.pop();
        }
    }

    /// Start again at `root` (an argument name).
    pub(super) fn reset(&mut self, root: &Name) {
        self.segs.clear();
        self.owned.clear();
        self.name(root);
    }

    /// How many steps down from the argument's top (its name is the first).
    #[inline(always)]
    pub(crate) fn depth(&self) -> usize {
        self.segs.len()
    }

    /// Whether this is the top of a value (its argument name, or nothing).
    pub(crate) fn at_top(&self) -> bool {
        self.segs.len() <= 1
    }

    /// Empty, keeping the storage (for reuse by the next encoding).
    pub(super) fn clear(&mut self) {
        self.segs.clear();
        self.owned.clear();
    }

    /// Whether the storage is small enough to keep between encodings.
    pub(super) fn reusable(&self) -> bool {
        self.segs.capacity() <= 64 && self.owned.capacity() <= 16
    }

    /// The path as text: `order.items[2].sku`, `headers["x-api-key"]`.
    pub(super) fn text(&self) -> String {
        let mut s = String::new();
        let mut owned = self.owned.iter();
        for seg in &self.segs {
            let field = match seg {
                Seg::Field(n) => Some(*n),
                Seg::OwnedField => owned.next().map(String::as_str),
                Seg::Index(i) => {
                    s.push_str(&format!("[{i}]"));
                    None
                }
                Seg::Key => {
                    if let Some(k) = owned.next() {
                        s.push_str(&format!("[{k:?}]"));
                    }
                    None
                }
            };
            if let Some(n) = field {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(n);
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_joins_fields_indices_and_keys_and_pop_drops_owned_names() {
        let mut p = Path::default();
        p.reset(&Name::Borrowed("order"));
        p.field("items");
        p.index(2);
        p.name(&Name::Owned("meta".into()));
        p.key("x-api-key".into());
        assert_eq!(p.text(), "order.items[2].meta[\"x-api-key\"]");
        p.pop();
        p.pop();
        p.field("sku");
        assert_eq!(p.text(), "order.items[2].sku");
        p.pop();
        p.pop();
        p.key("k".into());
        assert_eq!(p.text(), "order.items[\"k\"]");
        p.reset(&Name::Owned("return".into()));
        assert_eq!(p.text(), "return");
    }

    #[test]
    fn deep_paths_grow_past_the_first_reservation() {
        let mut p = Path::default();
        p.reset(&Name::Borrowed("v"));
        for i in 0..100 {
            p.index(i);
        }
        assert!(p.text().ends_with("[98][99]"));
        for _ in 0..100 {
            p.pop();
        }
        assert_eq!(p.text(), "v");
    }
}
