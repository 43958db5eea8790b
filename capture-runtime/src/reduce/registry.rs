//! Reducers registered at run time for foreign types, keyed by `TypeId`.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::value::Value;

type ReduceFn = dyn Fn(&dyn Any) -> Option<Value> + Send + Sync;
type RebuildFn = dyn Fn(&Value) -> Result<Box<dyn Any>, String> + Send + Sync;

/// A registered reducer, type-erased.
#[derive(Clone)]
pub struct ErasedReducer {
    /// Name of the type.
    pub type_name: &'static str,
    reduce: Arc<ReduceFn>,
    rebuild: Option<Arc<RebuildFn>>,
}

impl ErasedReducer {
    /// Reduce a value of the registered type.
    pub fn reduce(&self, v: &dyn Any) -> Option<Value> {
        (self.reduce)(v)
    }
    /// Rebuild a value of the registered type, when a rebuild function was given.
    pub fn rebuild(&self, v: &Value) -> Option<Result<Box<dyn Any>, String>> {
        self.rebuild.as_ref().map(|f| f(v))
    }
}

static REGISTRY: RwLock<Option<HashMap<TypeId, ErasedReducer>>> = RwLock::new(None);

/// Register a reducer (and optionally a rebuilder) for `T`. The first
/// registration wins; returns `false` when `T` already had one (use
/// [`replace`] to override).
///
/// ```
/// use capture_runtime::{reduce::registry, value::Value};
/// struct Foreign(u32);
/// registry::register::<Foreign>(|f| Value::U64(f.0 as u64), Some(|v: &Value| match v { Value::U64(n) => Ok(Foreign(*n as u32)), _ => Err("expected a number".to_string()) }));
/// assert!(registry::lookup::<Foreign>().is_some());
/// ```
pub fn register<T: 'static>(
    reduce: impl Fn(&T) -> Value + Send + Sync + 'static,
    rebuild: Option<impl Fn(&Value) -> Result<T, String> + Send + Sync + 'static>,
) -> bool {
    insert::<T>(reduce, rebuild, false)
}

/// Register a reducer for `T`, replacing any earlier one.
pub fn replace<T: 'static>(
    reduce: impl Fn(&T) -> Value + Send + Sync + 'static,
    rebuild: Option<impl Fn(&Value) -> Result<T, String> + Send + Sync + 'static>,
) {
    insert::<T>(reduce, rebuild, true);
}

fn insert<T: 'static>(
    reduce: impl Fn(&T) -> Value + Send + Sync + 'static,
    rebuild: Option<impl Fn(&Value) -> Result<T, String> + Send + Sync + 'static>,
    overwrite: bool,
) -> bool {
    let erased = ErasedReducer {
        type_name: std::any::type_name::<T>(),
        reduce: Arc::new(move |any: &dyn Any| any.downcast_ref::<T>().map(&reduce)),
        rebuild: rebuild
            .map(|f| -> Arc<RebuildFn> { Arc::new(move |v: &Value| f(v).map(|t| Box::new(t) as Box<dyn Any>)) }),
    };
    let mut guard = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    if !overwrite && map.contains_key(&TypeId::of::<T>()) {
        return false;
    }
    map.insert(TypeId::of::<T>(), erased);
    true
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
