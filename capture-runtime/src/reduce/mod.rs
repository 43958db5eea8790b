//! Values serde cannot handle: the [`Reducible`] trait (derived with
//! `#[derive(Reducible)]`), the run-time [`registry`] of reducers for foreign
//! types, shared pointers (`Rc`/`Arc`/`Weak`, cycles included) and
//! [`explain!`](crate::explain!).
//!
//! Each argument of a captured call is encoded by the first of these that
//! applies, chosen at compile time: `Reducible` > serde `Serialize` > a
//! reducer registered for its `TypeId` > a placeholder (type name and capped
//! `Debug` text). Inside a derived `Reducible` type every field goes through
//! the same chain, so only the types serde cannot handle need attention.

pub mod canonical;
mod collections;
#[doc(hidden)]
pub mod derive_support;
pub mod explain;
mod rebuild;
pub mod registry;
pub mod serde_adapter;
mod shared;
mod state;
mod std_impls;
mod std_types;

pub use rebuild::{from_value, RebuildCtx, RebuildError};
pub(crate) use state::EncodeState;

use crate::value::{EncodeCtx, EncodeError, Value};

/// A type that can be reduced to a [`Value`] and rebuilt from one.
///
/// Derive it with `#[derive(Reducible)]` (see the `reducible` chapter of the
/// guide for the attributes); implement it by hand for full control.
/// `rebuild` receives the value as read back from disk: structs as maps with
/// string keys, enums as a string (unit variants) or a one-entry map, and
/// markers ([`Marker`](crate::value::Marker)) where parts were not stored.
///
/// ```
/// use capture_runtime::reduce::{Reducible, RebuildCtx, RebuildError};
/// use capture_runtime::value::{EncodeCtx, EncodeError, Value};
///
/// struct Celsius(f64);
/// impl Reducible for Celsius {
///     fn reduce(&self, _ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
///         Ok(Value::F64(self.0))
///     }
///     fn rebuild(v: &Value, _cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
///         match v {
///             Value::F64(x) => Ok(Celsius(*x)),
///             other => Err(RebuildError::expected("a float", other)),
///         }
///     }
/// }
/// let v = Celsius(21.5).reduce(&mut EncodeCtx::plain()).unwrap();
/// assert_eq!(Celsius::rebuild(&v, &mut RebuildCtx::new()).unwrap().0, 21.5);
/// ```
pub trait Reducible {
    /// Reduce `self` to a value tree. Encode parts through `ctx`
    /// ([`EncodeCtx::field_with`] and friends) so redaction, sharing and
    /// `explain!` apply to them.
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError>;

    /// Rebuild a value from what [`Reducible::reduce`] produced (as read back
    /// from disk). `cx` carries shared values (`Rc`/`Arc`) already rebuilt in
    /// the same call, so sharing and cycles come back as they were.
    fn rebuild(value: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError>
    where
        Self: Sized;

    /// How `explain!` names this impl's path (built-in impls that encode like
    /// serde say so). Not part of the stable API.
    #[doc(hidden)]
    fn __capture_route() -> explain::Route {
        explain::Route::Reducible
    }

    /// Append the MessagePack bytes of `self` to `out`, for impls that
    /// encode exactly like serde (built-in scalars and strings): a captured
    /// `f64` argument then costs no tree. `None`: build the tree. Not part
    /// of the stable API.
    #[doc(hidden)]
    fn __capture_append(&self, _ctx: &mut EncodeCtx<'_>, _out: &mut Vec<u8>) -> Option<Result<(), EncodeError>> {
        None
    }
}

/// Rebuild a `T` from a value with a fresh context (one value on its own; use
/// one [`RebuildCtx`] for all arguments of a call to keep sharing between them).
///
/// ```
/// use capture_runtime::reduce::{rebuild, Reducible};
/// use capture_runtime::value::EncodeCtx;
/// let v = vec![1u32, 2].reduce(&mut EncodeCtx::plain()).unwrap();
/// assert_eq!(rebuild::<Vec<u32>>(&v).unwrap(), vec![1, 2]);
/// ```
pub fn rebuild<T: Reducible>(value: &Value) -> Result<T, RebuildError> {
    T::rebuild(value, &mut RebuildCtx::new())
}
