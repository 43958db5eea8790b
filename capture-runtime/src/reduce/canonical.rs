//! Serde adapters that write collections in a canonical order, for serde
//! types that hold a `HashSet`.
//!
//! The capture encoder sorts **maps** by key, whatever the type, so a
//! `HashMap` never changes a content id. **Sets** it cannot recognise: serde
//! passes a `HashSet` to the serializer as a plain sequence, in the hasher's
//! random iteration order, so inside a `#[derive(Serialize)]` type the same
//! set gives different bytes (and a different content id) from one process
//! to the next. Mark such fields with [`sorted_set`] (or use a `BTreeSet`, or
//! derive `Reducible`, whose `HashSet` impl sorts):
//!
//! ```
//! use std::collections::HashSet;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! struct Order {
//!     id: u64,
//!     #[serde(with = "capture_runtime::canonical::sorted_set")]
//!     tags: HashSet<String>,
//! }
//!
//! let order = Order { id: 1, tags: ["b", "c", "a"].into_iter().map(String::from).collect() };
//! let json = serde_json::to_string(&order).unwrap();
//! assert_eq!(json, r#"{"id":1,"tags":["a","b","c"]}"#);
//! assert_eq!(serde_json::from_str::<Order>(&json).unwrap(), order);
//! ```

/// `#[serde(with = "capture_runtime::canonical::sorted_set")]`: serialize a
/// set (any collection iterated by reference: `HashSet`, `hashbrown::HashSet`,
/// `IndexSet`) sorted by the canonical order of its encoded items;
/// deserialize it as usual.
pub mod sorted_set {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::value::{to_value, EncodeCtx};

    /// Serialize the items of `set` in canonical order.
    ///
    /// ```
    /// use std::collections::HashSet;
    /// let set: HashSet<u32> = (0..5).rev().collect();
    /// let mut out = Vec::new();
    /// capture_runtime::canonical::sorted_set::serialize(&set, &mut serde_json::Serializer::new(&mut out)).unwrap();
    /// assert_eq!(out, b"[0,1,2,3,4]");
    /// ```
    pub fn serialize<'a, C, T, S>(set: &'a C, s: S) -> Result<S::Ok, S::Error>
    where
        &'a C: IntoIterator<Item = &'a T>,
        C: ?Sized,
        T: Serialize + 'a,
        S: Serializer,
    {
        let mut ctx = EncodeCtx::plain();
        let mut keyed = Vec::new();
        for item in set {
            // The sort key is the plain encoding (no redaction): equal sets
            // sort alike, and the serializer then redacts what it writes.
            let key = to_value(item, &mut ctx).map_err(|e| {
                serde::ser::Error::custom(format!("sorting a set of `{}`: {e}", std::any::type_name::<T>()))
            })?;
            keyed.push((key, item));
        }
        keyed.sort_by(|a, b| a.0.canonical_cmp(&b.0));
        s.collect_seq(keyed.into_iter().map(|(_, item)| item))
    }

    /// Deserialize the collection as usual.
    pub fn deserialize<'de, C: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<C, D::Error> {
        C::deserialize(d)
    }
}
