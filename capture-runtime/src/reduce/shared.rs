//! Shared pointers: `Rc`, `Arc`, their `Weak`s, and the cells usually found
//! inside them (`RefCell`, `Mutex`, `RwLock`).
//!
//! Encoding keeps a memo by pointer identity (as pickle's memo): the first
//! time an allocation is met it is written as a definition
//! `{"$capture": "shared", "id": n, "value": ...}`, every later time as
//! `Marker::Ref(n)`. The memo lives for the whole call, so cycles end at the
//! first repeat (no recursion blow-up) and two arguments pointing to one value
//! store it once.
//!
//! Rebuilding keeps the rebuilt `Rc`s by id in the [`RebuildCtx`]. A
//! definition that refers back to itself (a cycle) is rebuilt with
//! `Rc::new_cyclic`, so back edges that are `Weak` (the Rust way to build
//! cyclic graphs: parent pointers, `Rc<RefCell<Node>>` trees) come back
//! exactly. A strong back edge (an `Rc` cycle, which leaks in Rust) cannot be
//! rebuilt and gives an error that says so.

use std::any::Any;
use std::cell::RefCell;
use std::rc::{self, Rc};
use std::sync::{self, Arc, Mutex, RwLock, TryLockError};

use super::explain::{self, Route};
use super::rebuild::SharedEntry;
use super::{RebuildCtx, RebuildError, Reducible};
use crate::reduce::derive_support::placeholder_marker;
use crate::value::{EncodeCtx, EncodeError, Marker, Value};

const SHARED: &str = "shared";

fn definition(id: u32, value: Value) -> Value {
    // Keys in canonical order ("$capture" < "id" < "value").
    Value::Map(vec![
        (Value::Str("$capture".into()), Value::Str(SHARED.into())),
        (Value::Str("id".into()), Value::U64(id as u64)),
        (Value::Str("value".into()), value),
    ])
}

/// `(id, inner)` when `v` is a shared definition.
pub(crate) fn as_definition(v: &Value) -> Option<(u32, &Value)> {
    let Value::Map(entries) = v else { return None };
    if entries.len() != 3 {
        return None;
    }
    let get = |key: &str| {
        entries.iter().find_map(|(k, v)| match k {
            Value::Str(s) if s == key => Some(v),
            _ => None,
        })
    };
    match (get("$capture"), get("id"), get("value")) {
        (Some(Value::Str(kind)), Some(Value::U64(id)), Some(inner)) if kind == SHARED => Some((*id as u32, inner)),
        _ => None,
    }
}

/// Find the definitions inside `v` that refer back to themselves, once per definition.
fn scan(v: &Value, open: &mut Vec<u32>, cx: &mut RebuildCtx) {
    if let Some((id, inner)) = as_definition(v) {
        if !cx.scanned.insert(id) {
            return;
        }
        open.push(id);
        scan(inner, open, cx);
        open.pop();
        return;
    }
    match v {
        Value::Marker(Marker::Ref(id)) if open.contains(id) => {
            cx.cyclic.insert(*id);
        }
        Value::Option(Some(x)) | Value::Newtype(_, x) => scan(x, open, cx),
        Value::Seq(items) => items.iter().for_each(|x| scan(x, open, cx)),
        Value::Map(entries) => entries.iter().for_each(|(k, x)| {
            scan(k, open, cx);
            scan(x, open, cx)
        }),
        Value::Struct(_, fields) => fields.iter().for_each(|(_, x)| scan(x, open, cx)),
        Value::Variant(var) => match &var.body {
            crate::value::VariantBody::Unit => {}
            crate::value::VariantBody::Newtype(x) => scan(x, open, cx),
            crate::value::VariantBody::Tuple(items) => items.iter().for_each(|x| scan(x, open, cx)),
            crate::value::VariantBody::Struct(fields) => fields.iter().for_each(|(_, x)| scan(x, open, cx)),
        },
        _ => {}
    }
}

/// Carries a rebuild error out of `new_cyclic` (which must produce a value).
struct CycleAbort(RebuildError);

/// Rebuild the cyclic definition `id` (whose contents refer back to it
/// through a `Weak`) with `new_cyclic`, handing the `Weak` to the contents
/// through `cx`.
///
/// `new_cyclic` needs a value, so an error while rebuilding the contents
/// leaves it by unwinding, with `resume_unwind` (which does not run the panic
/// hook: no panic message, nothing reported by crash reporters). Under
/// `panic = "abort"` unwinding is impossible, so an error would abort the
/// process: there, cyclic values are refused with an error instead (tests
/// always unwind, whatever the profile says).
fn rebuild_cyclic<P, T: Reducible>(
    id: u32,
    cx: &mut RebuildCtx,
    new_cyclic: impl FnOnce(&mut RebuildCtx, &mut dyn FnMut(&mut RebuildCtx, Box<dyn Any>) -> T) -> P,
    inner: &Value,
) -> Result<P, RebuildError> {
    if cfg!(panic = "abort") {
        return Err(RebuildError::new(format!(
            "shared value #{id} (`{}`) is part of a cycle, which can only be rebuilt when panics unwind (this binary is built with panic = \"abort\"): rebuild it in a test, or a binary built with panic = \"unwind\"",
            std::any::type_name::<T>()
        )));
    }
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        new_cyclic(cx, &mut |cx: &mut RebuildCtx, weak: Box<dyn Any>| {
            cx.shared.insert(id, SharedEntry::Pending(weak));
            match T::rebuild(inner, cx) {
                Ok(t) => t,
                Err(e) => std::panic::resume_unwind(Box::new(CycleAbort(e))),
            }
        })
    }));
    match built {
        Ok(p) => Ok(p),
        Err(payload) => {
            cx.shared.remove(&id);
            Err(match payload.downcast::<CycleAbort>() {
                Ok(abort) => abort.0,
                Err(_) => RebuildError::new(format!("rebuilding `{}` panicked", std::any::type_name::<T>())),
            })
        }
    }
}

macro_rules! shared_impls {
    ($Ptr:ident, $weak:ident, $ptr_name:literal) => {
        impl<T: Reducible + 'static> Reducible for $Ptr<T> {
            fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
                let addr = $Ptr::as_ptr(self) as *const () as usize;
                // The memo keeps a clone, so the address cannot be reused while the call is encoded.
                match ctx.reduce.memo(addr, || Box::new(self.clone())) {
                    Ok(id) => {
                        explain::note(ctx, Route::Shared, std::any::type_name::<Self>(), || {
                            format!("reference to shared value #{id} recorded earlier in this call")
                        });
                        Ok(Value::Marker(Marker::Ref(id)))
                    }
                    Err(id) => {
                        explain::note(ctx, Route::Shared, std::any::type_name::<Self>(), || {
                            format!("shared value #{id}, contents via {}", T::__capture_route())
                        });
                        Ok(definition(id, (**self).reduce(ctx)?))
                    }
                }
            }

            fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
                if let Value::Marker(Marker::Ref(id)) = v {
                    return match cx.shared.get(id) {
                        Some(SharedEntry::Done(b)) => b.downcast_ref::<$Ptr<T>>().cloned().ok_or_else(|| {
                            RebuildError::new(format!(
                                "shared value #{id} was rebuilt as another type than `{}`",
                                std::any::type_name::<Self>()
                            ))
                        }),
                        Some(SharedEntry::Pending(_)) => Err(RebuildError::new(format!(
                            "shared value #{id} refers to itself through a strong `{}` (a reference cycle, which leaks in Rust): only cycles whose back edge is a `Weak` can be rebuilt; make the back edge a Weak",
                            $ptr_name
                        ))),
                        None => Err(RebuildError::new(format!(
                            "reference to shared value #{id}, which was not rebuilt before it: rebuild the arguments of a call in order with one RebuildCtx"
                        ))),
                    };
                }
                let Some((id, inner)) = as_definition(v) else {
                    // Not written by this impl (e.g. a plain serde value): rebuild the contents.
                    return Ok($Ptr::new(T::rebuild(v, cx)?));
                };
                if !cx.scanned.contains(&id) {
                    scan(v, &mut Vec::new(), cx);
                }
                let rc = if cx.cyclic.contains(&id) {
                    rebuild_cyclic::<$Ptr<T>, T>(id, cx, |cx, f| $Ptr::new_cyclic(|w: &$weak::Weak<T>| f(cx, Box::new(w.clone()))), inner)?
                } else {
                    $Ptr::new(T::rebuild(inner, cx)?)
                };
                cx.shared.insert(id, SharedEntry::Done(Box::new(rc.clone()) as Box<dyn Any>));
                Ok(rc)
            }

            fn __capture_route() -> Route {
                Route::Shared
            }
        }

        impl<T: Reducible + 'static> Reducible for $weak::Weak<T> {
            fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
                match self.upgrade() {
                    None => {
                        explain::note(ctx, Route::Shared, std::any::type_name::<Self>(), || {
                            "dangling Weak (target dropped): rebuilt dangling".to_owned()
                        });
                        Ok(Value::Option(None))
                    }
                    Some(strong) => {
                        let addr = $Ptr::as_ptr(&strong) as *const () as usize;
                        match ctx.reduce.lookup(addr) {
                            Some(id) => {
                                explain::note(ctx, Route::Shared, std::any::type_name::<Self>(), || {
                                    format!("weak reference to shared value #{id}")
                                });
                                Ok(Value::Marker(Marker::Ref(id)))
                            }
                            None => strong.reduce(ctx),
                        }
                    }
                }
            }

            fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
                match v {
                    Value::Option(None) | Value::Unit => Ok($weak::Weak::new()),
                    Value::Marker(Marker::Ref(id)) => match cx.shared.get(id) {
                        Some(SharedEntry::Pending(b)) => b.downcast_ref::<$weak::Weak<T>>().cloned(),
                        Some(SharedEntry::Done(b)) => b.downcast_ref::<$Ptr<T>>().map($Ptr::downgrade),
                        None => {
                            return Err(RebuildError::new(format!(
                                "weak reference to shared value #{id}, which was not rebuilt before it: rebuild the arguments of a call in order with one RebuildCtx"
                            )))
                        }
                    }
                    .ok_or_else(|| {
                        RebuildError::new(format!(
                            "shared value #{id} was rebuilt as another type than `{}`",
                            std::any::type_name::<T>()
                        ))
                    }),
                    other => Ok($Ptr::downgrade(&<$Ptr<T>>::rebuild(other, cx)?)),
                }
            }

            fn __capture_route() -> Route {
                Route::Shared
            }
        }
    };
}

shared_impls!(Rc, rc, "Rc");
shared_impls!(Arc, sync, "Arc");

impl<T: Reducible> Reducible for RefCell<T> {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        match self.try_borrow() {
            Ok(b) => b.reduce(ctx),
            Err(_) => Ok(busy(ctx, std::any::type_name::<Self>(), "mutably borrowed")),
        }
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        Ok(RefCell::new(T::rebuild(v, cx)?))
    }
    fn __capture_route() -> Route {
        T::__capture_route()
    }
}

impl<T: Reducible> Reducible for Mutex<T> {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        // Never block: the caller may hold the lock while calling the captured function.
        match self.try_lock() {
            Ok(g) => g.reduce(ctx),
            Err(TryLockError::Poisoned(p)) => p.into_inner().reduce(ctx),
            Err(TryLockError::WouldBlock) => Ok(busy(ctx, std::any::type_name::<Self>(), "locked")),
        }
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        Ok(Mutex::new(T::rebuild(v, cx)?))
    }
    fn __capture_route() -> Route {
        T::__capture_route()
    }
}

impl<T: Reducible> Reducible for RwLock<T> {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        match self.try_read() {
            Ok(g) => g.reduce(ctx),
            Err(TryLockError::Poisoned(p)) => p.into_inner().reduce(ctx),
            Err(TryLockError::WouldBlock) => Ok(busy(ctx, std::any::type_name::<Self>(), "write-locked")),
        }
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        Ok(RwLock::new(T::rebuild(v, cx)?))
    }
    fn __capture_route() -> Route {
        T::__capture_route()
    }
}

fn busy(ctx: &mut EncodeCtx<'_>, type_name: &str, state: &str) -> Value {
    let reason = format!("was {state} at capture time (capturing never blocks or panics on a busy cell)");
    explain::note(ctx, Route::Placeholder, type_name, || reason.clone());
    placeholder_marker(ctx, type_name, None, reason)
}
