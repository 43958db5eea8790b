//! `Reducible` for standard types, so reducible values nest in them
//! (`Vec<Conn>`, `Option<Rc<Node>>`, `HashMap<String, Conn>`) and generic
//! derived types work with ordinary arguments (`Pair<String>`).
//!
//! Scalars and `String` encode exactly as serde would (same bytes, same
//! redaction). `HashSet` is written sorted by the canonical order, so its
//! iteration order never changes a content id (maps are sorted by the encoder).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::explain::Route;
use super::{from_value, RebuildCtx, RebuildError, Reducible};
use crate::value::{to_value, EncodeCtx, EncodeError, Value};

macro_rules! via_serde {
    ($($t:ty),*) => {$(
        impl Reducible for $t {
            fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
                to_value(self, ctx)
            }
            fn rebuild(v: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
                from_value(v)
            }
            fn __capture_route() -> Route {
                Route::Serde
            }
        }
    )*};
}

via_serde!(
    bool,
    char,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    String,
    ()
);

impl Reducible for str {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        to_value(self, ctx)
    }
    fn __capture_route() -> Route {
        Route::Serde
    }
}

impl<T: Reducible + ?Sized> Reducible for &T {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        (**self).reduce(ctx)
    }
    fn rebuild(_: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
        Err(RebuildError::new(format!(
            "a borrowed `{}` cannot be rebuilt from a capture (nothing would own it): take the value by ownership, or skip the field with #[reduce(skip)]",
            std::any::type_name::<T>()
        )))
    }
    fn __capture_route() -> Route {
        T::__capture_route()
    }
}

impl<T: Reducible> Reducible for Box<T> {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        (**self).reduce(ctx)
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        Ok(Box::new(T::rebuild(v, cx)?))
    }
    fn __capture_route() -> Route {
        T::__capture_route()
    }
}

impl<T: Reducible> Reducible for Option<T> {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        Ok(Value::Option(match self {
            None => None,
            Some(t) => Some(Box::new(t.reduce(ctx)?)),
        }))
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        match v {
            Value::Option(None) | Value::Unit => Ok(None),
            Value::Option(Some(inner)) => Ok(Some(T::rebuild(inner, cx)?)),
            // On disk `Some(x)` is just `x`.
            other => Ok(Some(T::rebuild(other, cx)?)),
        }
    }
    fn __capture_route() -> Route {
        T::__capture_route()
    }
}

impl<T: Reducible> Reducible for Vec<T> {
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
            other => Err(RebuildError::expected("a sequence", other)),
        }
    }
    fn __capture_route() -> Route {
        T::__capture_route()
    }
}

macro_rules! tuple_impl {
    ($n:literal: $($T:ident $i:tt),+) => {
        impl<$($T: Reducible),+> Reducible for ($($T,)+) {
            fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
                Ok(Value::Seq(vec![$(ctx.index_with($i, |ctx| self.$i.reduce(ctx))?),+]))
            }
            fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
                match v {
                    Value::Seq(items) if items.len() == $n => {
                        Ok(($($T::rebuild(&items[$i], cx).map_err(|e| e.at_index($i))?,)+))
                    }
                    other => Err(RebuildError::expected(concat!("a tuple of ", $n), other)),
                }
            }
        }
    };
}
tuple_impl!(1: A 0);
tuple_impl!(2: A 0, B 1);
tuple_impl!(3: A 0, B 1, C 2);
tuple_impl!(4: A 0, B 1, C 2, D 3);

fn map_entries<'a, K: Serialize + 'a, V: Reducible + 'a>(
    iter: impl Iterator<Item = (&'a K, &'a V)>,
    ctx: &mut EncodeCtx<'_>,
) -> Result<Value, EncodeError> {
    let mut entries = Vec::new();
    for (k, v) in iter {
        let key = to_value(k, ctx)?;
        let value = ctx.entry_with(&key, std::any::type_name::<V>(), |ctx| v.reduce(ctx))?;
        entries.push((key, value));
    }
    entries.sort_by(|a, b| a.0.canonical_cmp(&b.0));
    Ok(Value::Map(entries))
}

fn rebuild_entries<K: DeserializeOwned, V: Reducible>(
    v: &Value,
    cx: &mut RebuildCtx,
    mut put: impl FnMut(K, V),
) -> Result<(), RebuildError> {
    let Value::Map(entries) = v else {
        return Err(RebuildError::expected("a map", v));
    };
    for (k, x) in entries {
        let key: K = from_value(k)?;
        put(
            key,
            V::rebuild(x, cx).map_err(|e| e.at_field(&format!("[{}]", k.key_text())))?,
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
        map_entries(self.iter(), ctx)
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        let mut out = HashMap::default();
        rebuild_entries(v, cx, |k, x| {
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
        map_entries(self.iter(), ctx)
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        let mut out = BTreeMap::new();
        rebuild_entries(v, cx, |k, x| {
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
