//! `Reducible` for maps and sets, written in a canonical order so that
//! neither a `HashMap`'s hasher nor its insertion history changes the bytes
//! (or the content id) of a value.
//!
//! Maps: every key is encoded first, the entries are sorted by the encoded
//! key ([`Value::canonical_cmp`]), and only then are the values reduced, in
//! that order. Shared pointers among the values (`HashMap<String, Rc<T>>`)
//! therefore get their ids, and their definitions land before any reference
//! to them, in an order that does not depend on iteration order.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::explain::Route;
use super::{from_value, RebuildCtx, RebuildError, Reducible};
use crate::value::{to_value, EncodeCtx, EncodeError, Value};

/// Encode map entries in canonical key order; `value` encodes one value.
pub(crate) fn map_entries<'a, K: Serialize + 'a, V: 'a>(
    iter: impl Iterator<Item = (&'a K, &'a V)>,
    ctx: &mut EncodeCtx<'_>,
    value: impl Fn(&V, &mut EncodeCtx<'_>) -> Result<Value, EncodeError>,
) -> Result<Value, EncodeError> {
    let mut keyed = Vec::with_capacity(iter.size_hint().0);
    for (k, v) in iter {
        keyed.push((to_value(k, ctx)?, v));
    }
    // Stable: keys that encode alike (only possible when redaction replaced
    // them) keep their relative order.
    keyed.sort_by(|a, b| a.0.canonical_cmp(&b.0));
    let value_type = std::any::type_name::<V>();
    let mut entries = Vec::with_capacity(keyed.len());
    for (key, v) in keyed {
        let x = ctx.entry_with(&key, value_type, |ctx| value(v, ctx))?;
        entries.push((key, x));
    }
    Ok(Value::Map(entries))
}

/// Rebuild stored map entries (in stored order, so definitions come first);
/// `value` rebuilds one value.
pub(crate) fn rebuild_entries<K: DeserializeOwned, V>(
    v: &Value,
    cx: &mut RebuildCtx,
    value: impl Fn(&Value, &mut RebuildCtx) -> Result<V, RebuildError>,
    mut put: impl FnMut(K, V),
) -> Result<(), RebuildError> {
    let Value::Map(entries) = v else {
        return Err(RebuildError::expected("a map", v));
    };
    for (k, x) in entries {
        let key: K = from_value(k)?;
        put(
            key,
            value(x, cx).map_err(|e| e.at_field(&format!("[{}]", k.key_text())))?,
        );
    }
    Ok(())
}

impl<K, V, S> Reducible for HashMap<K, V, S>
where
    K: Serialize + DeserializeOwned + Eq + Hash,
    V: Reducible,
    S: BuildHasher + Default,
{
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        map_entries(self.iter(), ctx, |v, ctx| v.reduce(ctx))
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        let mut out = HashMap::default();
        rebuild_entries(v, cx, V::rebuild, |k, x| {
            out.insert(k, x);
        })?;
        Ok(out)
    }
}

impl<K, V> Reducible for BTreeMap<K, V>
where
    K: Serialize + DeserializeOwned + Ord,
    V: Reducible,
{
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        map_entries(self.iter(), ctx, |v, ctx| v.reduce(ctx))
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        let mut out = BTreeMap::new();
        rebuild_entries(v, cx, V::rebuild, |k, x| {
            out.insert(k, x);
        })?;
        Ok(out)
    }
}

/// Sets are written sorted in the canonical order, so two equal sets give the
/// same bytes (and content id) whatever their iteration order.
impl<T, S> Reducible for HashSet<T, S>
where
    T: Serialize + DeserializeOwned + Eq + Hash,
    S: BuildHasher + Default,
{
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        let mut items = Vec::with_capacity(self.len());
        for t in self {
            items.push(to_value(t, ctx)?);
        }
        items.sort_by(|a, b| a.canonical_cmp(b));
        Ok(Value::Seq(items))
    }
    fn rebuild(v: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
        let items: Vec<T> = from_value(v)?;
        Ok(items.into_iter().collect())
    }
    fn __capture_route() -> Route {
        Route::Serde
    }
}

/// Written in the set's own (`Ord`) order, which does not depend on history;
/// the items may be reducible-only (`BTreeSet<Rc<Node>>`).
impl<T: Reducible + Ord> Reducible for BTreeSet<T> {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        let mut items = Vec::with_capacity(self.len());
        for (i, t) in self.iter().enumerate() {
            items.push(ctx.index_with(i, |ctx| t.reduce(ctx))?);
        }
        Ok(Value::Seq(items))
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        match v {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, x)| T::rebuild(x, cx).map_err(|e| e.at_index(i)))
                .collect(),
            other => Err(RebuildError::expected("a set", other)),
        }
    }
    fn __capture_route() -> Route {
        T::__capture_route()
    }
}
