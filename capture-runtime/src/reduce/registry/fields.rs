//! `#[reduce(with = ...)]` modules that send a field of a registered foreign
//! type through the registry, also when the type sits inside a container.
//!
//! The registry is looked up by the exact `TypeId` of an argument or field:
//! a reducer registered for `Foreign` does not cover `Vec<Foreign>`,
//! `Option<Foreign>` or `HashMap<String, Foreign>` (those are other types,
//! and they are `Reducible` only when `Foreign` is). Name the field's shape
//! with one of these modules and every `Foreign` inside goes through its
//! reducer:
//!
//! ```
//! use capture_runtime::Reducible;
//! use capture_runtime::reduce::registry::{self, Reducer};
//! use capture_runtime::value::Value;
//!
//! #[derive(Debug, PartialEq)]
//! pub struct Foreign(u32); // imagine it comes from another crate
//!
//! #[derive(Reducible, Debug, PartialEq)]
//! struct Batch {
//!     #[reduce(with = capture_runtime::reduce::registry::via)]
//!     first: Foreign,
//!     #[reduce(with = capture_runtime::reduce::registry::via_vec)]
//!     all: Vec<Foreign>,
//!     #[reduce(with = capture_runtime::reduce::registry::via_option)]
//!     spare: Option<Foreign>,
//! }
//!
//! registry::register(Reducer::new(|f: &Foreign| Value::U64(f.0 as u64)).rebuild(|v| match v {
//!     Value::U64(n) => Ok(Foreign(*n as u32)),
//!     _ => Err("expected a number".to_string()),
//! }));
//! let batch = Batch { first: Foreign(1), all: vec![Foreign(2), Foreign(3)], spare: None };
//! let e = capture_runtime::explain(&batch);
//! assert!(e.is_replayable(), "{e}");
//! let back: Batch = capture_runtime::reduce::rebuild(&e.value.unwrap()).unwrap();
//! assert_eq!(back, batch);
//! ```
//!
//! An item whose type has no registered reducer becomes a placeholder (and
//! the capture is listed as not replayable), as it would on its own.

use std::any::Any;

use crate::capture::dispatch::{placeholder, registered, registry_rebuild};
use crate::reduce::derive_support::part;
use crate::reduce::{RebuildCtx, RebuildError};
use crate::value::{EncodeCtx, EncodeError, Value};

fn reduce_one<T: Any>(v: &T, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
    let name = std::any::type_name::<T>();
    let e = registered(v, ctx).unwrap_or_else(|| placeholder(None, name, ctx));
    part(ctx, name, e)
}

/// A field of a registered type `T`.
pub mod via {
    use super::*;

    /// Reduce through the reducer registered for `T`.
    pub fn reduce<T: Any>(v: &T, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        reduce_one(v, ctx)
    }

    /// Rebuild through the rebuild function registered for `T`.
    pub fn rebuild<T: Any>(v: &Value, _: &mut RebuildCtx) -> Result<T, RebuildError> {
        registry_rebuild(v)
    }
}

/// A `Vec<T>` field, `T` registered.
pub mod via_vec {
    use super::*;

    /// Reduce every item through the reducer registered for `T`.
    pub fn reduce<T: Any>(v: &[T], ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        let mut items = Vec::with_capacity(v.len());
        for (i, t) in v.iter().enumerate() {
            items.push(ctx.index_with(i, |ctx| reduce_one(t, ctx))?);
        }
        Ok(Value::Seq(items))
    }

    /// Rebuild every item through the rebuild function registered for `T`.
    pub fn rebuild<T: Any>(v: &Value, _: &mut RebuildCtx) -> Result<Vec<T>, RebuildError> {
        match v {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, x)| registry_rebuild(x).map_err(|e| e.at_index(i)))
                .collect(),
            other => Err(RebuildError::expected("a sequence", other)),
        }
    }
}

/// An `Option<T>` field, `T` registered.
pub mod via_option {
    use super::*;

    /// Reduce the value, if any, through the reducer registered for `T`.
    pub fn reduce<T: Any>(v: &Option<T>, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        Ok(Value::Option(match v {
            None => None,
            Some(t) => Some(Box::new(reduce_one(t, ctx)?)),
        }))
    }

    /// Rebuild the value, if any, through the rebuild function registered for `T`.
    pub fn rebuild<T: Any>(v: &Value, _: &mut RebuildCtx) -> Result<Option<T>, RebuildError> {
        match v {
            Value::Option(None) | Value::Unit => Ok(None),
            Value::Option(Some(inner)) => registry_rebuild(inner).map(Some),
            // On disk `Some(x)` is just `x`.
            other => registry_rebuild(other).map(Some),
        }
    }
}

/// A `Box<T>` field, `T` registered.
pub mod via_box {
    use super::*;

    /// Reduce the boxed value through the reducer registered for `T`.
    #[allow(clippy::borrowed_box)] // the field is a `Box<T>`: `T` is looked up, not the box
    pub fn reduce<T: Any>(v: &Box<T>, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        reduce_one(&**v, ctx)
    }

    /// Rebuild through the rebuild function registered for `T`, boxed.
    pub fn rebuild<T: Any>(v: &Value, _: &mut RebuildCtx) -> Result<Box<T>, RebuildError> {
        registry_rebuild(v).map(Box::new)
    }
}

/// A `HashMap<K, T>` field (keys serde), `T` registered; written in canonical key order.
pub mod via_map {
    use std::collections::HashMap;
    use std::hash::{BuildHasher, Hash};

    use serde::de::DeserializeOwned;
    use serde::Serialize;

    use super::*;
    use crate::reduce::collections::{map_entries, rebuild_entries};

    /// Reduce every value through the reducer registered for `T`.
    pub fn reduce<K: Serialize, T: Any, S>(
        v: &HashMap<K, T, S>,
        ctx: &mut EncodeCtx<'_>,
    ) -> Result<Value, EncodeError> {
        map_entries(v.iter(), ctx, |t, ctx| reduce_one(t, ctx))
    }

    /// Rebuild every value through the rebuild function registered for `T`.
    pub fn rebuild<K, T, S>(v: &Value, cx: &mut RebuildCtx) -> Result<HashMap<K, T, S>, RebuildError>
    where
        K: DeserializeOwned + Eq + Hash,
        T: Any,
        S: BuildHasher + Default,
    {
        let mut out = HashMap::default();
        rebuild_entries(
            v,
            cx,
            |x, _| registry_rebuild(x),
            |k, t| {
                out.insert(k, t);
            },
        )?;
        Ok(out)
    }
}

/// A `BTreeMap<K, T>` field (keys serde), `T` registered.
pub mod via_btree_map {
    use std::collections::BTreeMap;

    use serde::de::DeserializeOwned;
    use serde::Serialize;

    use super::*;
    use crate::reduce::collections::{map_entries, rebuild_entries};

    /// Reduce every value through the reducer registered for `T`.
    pub fn reduce<K: Serialize, T: Any>(v: &BTreeMap<K, T>, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        map_entries(v.iter(), ctx, |t, ctx| reduce_one(t, ctx))
    }

    /// Rebuild every value through the rebuild function registered for `T`.
    pub fn rebuild<K: DeserializeOwned + Ord, T: Any>(
        v: &Value,
        cx: &mut RebuildCtx,
    ) -> Result<BTreeMap<K, T>, RebuildError> {
        let mut out = BTreeMap::new();
        rebuild_entries(
            v,
            cx,
            |x, _| registry_rebuild(x),
            |k, t| {
                out.insert(k, t);
            },
        )?;
        Ok(out)
    }
}
