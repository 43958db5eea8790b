//! Values serde cannot handle: the [`Reducible`] trait (derived with
//! `#[derive(Reducible)]`) and the run-time registry of reducers for foreign
//! types.

pub mod registry;

use crate::value::{EncodeCtx, EncodeError, Value};

/// A type that can be reduced to a [`Value`] and rebuilt from one.
///
/// Derive it with `#[derive(Reducible)]`; implement it by hand for full control.
///
/// ```
/// use capture_runtime::{reduce::{Reducible, RebuildError}, value::{EncodeCtx, EncodeError, Value}};
/// struct Celsius(f64);
/// impl Reducible for Celsius {
///     fn reduce(&self, _ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> { Ok(Value::F64(self.0)) }
///     fn rebuild(v: &Value) -> Result<Self, RebuildError> {
///         match v { Value::F64(x) => Ok(Celsius(*x)), other => Err(RebuildError::new(format!("expected a float, found {}", other.kind_name()))) }
///     }
/// }
/// ```
pub trait Reducible {
    /// Reduce `self` to a value tree (use `ctx` so redaction and sharing apply to parts).
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError>;
    /// Rebuild a value from what [`Reducible::reduce`] produced (as read back from disk).
    fn rebuild(value: &Value) -> Result<Self, RebuildError>
    where
        Self: Sized;
}

/// Why a value could not be rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RebuildError {
    /// What went wrong, with the path when known.
    pub message: String,
}

impl RebuildError {
    /// A rebuild error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        RebuildError {
            message: message.into(),
        }
    }
}
