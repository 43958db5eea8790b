//! A `#[serde(with = ...)]` adapter for a `Reducible` field inside a
//! serde-derived type.
//!
//! Serialization reduces the field to a [`Value`] and writes that value; when
//! the outer type is being captured, the value passes through the capture
//! encoder again, so redaction (sensitive names, PII) and the size limit still
//! apply to it. Deserialization reads the value back and rebuilds the field.
//! Sharing (`Rc`) is kept inside the field, not across the serde boundary.
//!
//! A part of the field that could not be stored (a placeholder, a failed
//! reducer) is reported to the capture around it, so a captured argument
//! holding it is listed as not replayable, with the reason.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use capture_runtime::reduce::{RebuildCtx, RebuildError, Reducible};
//! use capture_runtime::value::{EncodeCtx, EncodeError, Value};
//!
//! #[derive(Debug, PartialEq)]
//! struct Handle(u32); // reducible, not serde
//! impl Reducible for Handle {
//!     fn reduce(&self, _: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> { Ok(Value::U64(self.0 as u64)) }
//!     fn rebuild(v: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
//!         match v { Value::U64(n) => Ok(Handle(*n as u32)), o => Err(RebuildError::expected("a number", o)) }
//!     }
//! }
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Job {
//!     name: String,
//!     #[serde(with = "capture_runtime::reduce::serde_adapter")]
//!     handle: Handle,
//! }
//!
//! let job = Job { name: "nightly".into(), handle: Handle(7) };
//! let json = serde_json::to_string(&job).unwrap();
//! assert_eq!(json, r#"{"name":"nightly","handle":7}"#);
//! assert_eq!(serde_json::from_str::<Job>(&json).unwrap(), job);
//! ```

use std::cell::RefCell;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{RebuildCtx, Reducible};
use crate::value::{EncodeCtx, Value};

thread_local! {
    /// While a capture encodes a serde value: why parts of reducible fields
    /// inside it were not stored. `None` outside captures.
    static UNSTORED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Run `encode` (a capture encoding a serde value) and collect the reasons
/// reported by `serialize` for parts it could not store.
pub(crate) fn collect_unstored<R>(encode: impl FnOnce() -> R) -> (R, Vec<String>) {
    let outer = UNSTORED.with(|u| u.replace(Some(Vec::new())));
    let r = encode();
    let inner = UNSTORED.with(|u| u.replace(outer)).unwrap_or_default();
    (r, inner)
}

/// Serialize a reducible value (for `#[serde(with = ...)]`).
pub fn serialize<T: Reducible + ?Sized, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    let mut ctx = EncodeCtx::plain();
    let v = value
        .reduce(&mut ctx)
        .map_err(|e| serde::ser::Error::custom(format!("reducing `{}`: {e}", std::any::type_name::<T>())))?;
    if !ctx.report.redacted.is_empty() {
        UNSTORED.with(|u| {
            if let Some(list) = u.borrow_mut().as_mut() {
                for (path, why) in &ctx.report.redacted {
                    list.push(match path.is_empty() {
                        true => format!("{why} (in a serde_adapter field)"),
                        false => format!("{why} (in a serde_adapter field, at {path})"),
                    });
                }
            }
        });
    }
    v.serialize(s)
}

/// Deserialize a reducible value (for `#[serde(with = ...)]`).
pub fn deserialize<'de, T: Reducible, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    T::rebuild(&v, &mut RebuildCtx::new())
        .map_err(|e| serde::de::Error::custom(format!("rebuilding `{}`: {e}", std::any::type_name::<T>())))
}
