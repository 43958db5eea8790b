//! Reducers registered at run time for foreign types (types you cannot
//! derive `Reducible` or serde for), keyed by `TypeId`.
//!
//! The registry is process-wide and thread-safe. The first registration for a
//! type wins; [`register`] returns `false` when the type already had one, and
//! only [`replace`] overrides. A type is consulted only when it implements
//! neither `Reducible` nor `Serialize` (that choice is made at compile time).
//!
//! ```
//! use capture_runtime::reduce::registry::{self, Reducer};
//! use capture_runtime::value::Value;
//!
//! struct Foreign(u32); // imagine it comes from another crate
//! let first = registry::register(
//!     Reducer::new(|f: &Foreign| Value::U64(f.0 as u64)).rebuild(|v| match v {
//!         Value::U64(n) => Ok(Foreign(*n as u32)),
//!         _ => Err("expected a number".to_string()),
//!     }),
//! );
//! assert!(first);
//! assert!(registry::is_registered::<Foreign>());
//! // A second registration is refused: the first one wins.
//! assert!(!registry::register(Reducer::new(|_: &Foreign| Value::Unit)));
//! ```
//!
//! A reducer covers its exact type only. For fields holding the type inside
//! a container (`Vec<Foreign>`, `Option<Foreign>`, maps) use the field
//! modules [`via`], [`via_vec`], [`via_option`], [`via_box`], [`via_map`]
//! and [`via_btree_map`] with `#[reduce(with = ...)]`.

mod fields;
pub use fields::{via, via_box, via_btree_map, via_map, via_option, via_vec};

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::value::Value;

type ReduceFn = dyn Fn(&dyn Any) -> Option<Value> + Send + Sync;
type RebuildFn = dyn Fn(&Value) -> Result<Box<dyn Any>, String> + Send + Sync;

type TypedRebuild<T> = Box<dyn Fn(&Value) -> Result<T, String> + Send + Sync>;

/// A reducer (and optional rebuilder) for `T`, ready to register.
pub struct Reducer<T> {
    reduce: Box<dyn Fn(&T) -> Value + Send + Sync>,
    rebuild: Option<TypedRebuild<T>>,
}

impl<T: 'static> Reducer<T> {
    /// A reducer turning a `T` into a [`Value`]. Strings in the result are
    /// still scanned for secrets and PII, and sensitive map keys redacted.
    pub fn new(reduce: impl Fn(&T) -> Value + Send + Sync + 'static) -> Self {
        Reducer {
            reduce: Box::new(reduce),
            rebuild: None,
        }
    }

    /// Add the function rebuilding a `T` from what `reduce` produced (as read
    /// back from disk). Without it, captures of `T` are recorded but not replayable.
    pub fn rebuild(mut self, rebuild: impl Fn(&Value) -> Result<T, String> + Send + Sync + 'static) -> Self {
        self.rebuild = Some(Box::new(rebuild));
        self
    }

    fn erase(self) -> ErasedReducer {
        let reduce = self.reduce;
        let rebuild = self.rebuild;
        ErasedReducer {
            type_name: std::any::type_name::<T>(),
            reduce: Arc::new(move |any: &dyn Any| any.downcast_ref::<T>().map(&reduce)),
            rebuild: rebuild
                .map(|f| -> Arc<RebuildFn> { Arc::new(move |v: &Value| f(v).map(|t| Box::new(t) as Box<dyn Any>)) }),
        }
    }
}

/// A registered reducer, type-erased.
#[derive(Clone)]
pub struct ErasedReducer {
    type_name: &'static str,
    reduce: Arc<ReduceFn>,
    rebuild: Option<Arc<RebuildFn>>,
}

impl std::fmt::Debug for ErasedReducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErasedReducer")
            .field("type_name", &self.type_name)
            .field("rebuild", &self.rebuild.is_some())
            .finish()
    }
}

impl ErasedReducer {
    /// Name of the registered type.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }
    /// Reduce a value of the registered type (`None` for another type).
    pub fn reduce(&self, v: &dyn Any) -> Option<Value> {
        (self.reduce)(v)
    }
    /// Rebuild a value of the registered type, when a rebuild function was given.
    pub fn rebuild(&self, v: &Value) -> Option<Result<Box<dyn Any>, String>> {
        self.rebuild.as_ref().map(|f| f(v))
    }
    /// Whether a rebuild function was given.
    pub fn can_rebuild(&self) -> bool {
        self.rebuild.is_some()
    }
}

static REGISTRY: RwLock<Option<HashMap<TypeId, ErasedReducer>>> = RwLock::new(None);

/// Register `reducer` for `T`. The first registration wins: returns `false`
/// (and keeps the earlier one) when `T` already had one; use [`replace`] to override.
pub fn register<T: 'static>(reducer: Reducer<T>) -> bool {
    insert(TypeId::of::<T>(), reducer.erase(), false)
}

/// Register `reducer` for `T`, replacing any earlier one. Returns whether one was replaced.
///
/// ```
/// use capture_runtime::reduce::registry::{self, Reducer};
/// use capture_runtime::value::Value;
/// struct Port(u16);
/// registry::register(Reducer::new(|p: &Port| Value::U64(p.0 as u64)));
/// assert!(registry::replace(Reducer::new(|p: &Port| Value::Str(p.0.to_string()))));
/// let r = registry::lookup::<Port>().unwrap();
/// assert_eq!(r.reduce(&Port(80)), Some(Value::Str("80".into())));
/// ```
pub fn replace<T: 'static>(reducer: Reducer<T>) -> bool {
    !insert(TypeId::of::<T>(), reducer.erase(), true)
}

fn insert(id: TypeId, erased: ErasedReducer, overwrite: bool) -> bool {
    let mut guard = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    match map.entry(id) {
        std::collections::hash_map::Entry::Occupied(mut o) => {
            if overwrite {
                o.insert(erased);
            }
            false
        }
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert(erased);
            true
        }
    }
}

/// Remove the reducer registered for `T`; returns whether there was one.
pub fn unregister<T: 'static>() -> bool {
    let mut guard = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    guard.as_mut().is_some_and(|m| m.remove(&TypeId::of::<T>()).is_some())
}

/// Whether a reducer is registered for `T`.
pub fn is_registered<T: 'static>() -> bool {
    lookup_id(TypeId::of::<T>()).is_some()
}

/// The reducer registered for `T`, if any.
pub fn lookup<T: 'static>() -> Option<ErasedReducer> {
    lookup_id(TypeId::of::<T>())
}

/// The reducer registered for a `TypeId`, if any.
pub fn lookup_id(id: TypeId) -> Option<ErasedReducer> {
    let guard = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    guard.as_ref().and_then(|m| m.get(&id).cloned())
}

/// Names of every registered type (for diagnostics), sorted.
pub fn registered_types() -> Vec<&'static str> {
    let guard = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    let mut v: Vec<_> = guard.iter().flat_map(|m| m.values().map(|r| r.type_name)).collect();
    v.sort_unstable();
    v
}
