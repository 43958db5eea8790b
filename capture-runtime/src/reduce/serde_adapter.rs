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

use std::cell::{Cell, RefCell};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{RebuildCtx, Reducible};
use crate::value::{EncodeCtx, Value};

thread_local! {
    /// How many captures are encoding a serde value on this thread (nested
    /// when a `Serialize` impl itself calls a captured function).
    static COLLECTING: Cell<u32> = const { Cell::new(0) };
    /// Why parts of reducible fields inside those values were not stored;
    /// each capture takes what was added after its mark.
    static UNSTORED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Run `encode` (a capture encoding a serde value) and collect the reasons
/// reported by `serialize` for parts it could not store. The common case
/// (nothing reported) costs two reads of thread-local counters, not a swap
/// of a list.
pub(crate) fn collect_unstored<R>(encode: impl FnOnce() -> R) -> (R, Vec<String>) {
    /// Ends this capture's collection even when `encode` unwinds (then
    /// forgetting what it collected, so no enclosing capture takes it).
    struct Collecting {
        outer: u32,
        mark: usize,
    }
    impl Drop for Collecting {
        fn drop(&mut self) {
            let _ = COLLECTING.try_with(|c| c.set(self.outer));
            if std::thread::panicking() {
                let _ = UNSTORED.try_with(|u| u.try_borrow_mut().map(|mut u| u.truncate(self.mark)));
            }
        }
    }
    let Ok(outer) = COLLECTING.try_with(|c| c.replace(c.get() + 1)) else {
        return (encode(), Vec::new());
    };
    let mark = UNSTORED.with_borrow(Vec::len);
    let collecting = Collecting { outer, mark };
    let r = encode();
    drop(collecting);
    let inner = UNSTORED.with_borrow_mut(|u| if u.len() > mark { u.split_off(mark) } else { Vec::new() });
    (r, inner)
}

/// Serialize a reducible value (for `#[serde(with = ...)]`).
pub fn serialize<T: Reducible + ?Sized, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    let mut ctx = EncodeCtx::plain();
    let v = value
        .reduce(&mut ctx)
        .map_err(|e| serde::ser::Error::custom(format!("reducing `{}`: {e}", std::any::type_name::<T>())))?;
    if !ctx.report.redacted.is_empty() {
        report_unstored(&ctx.report.redacted);
    }
    v.serialize(s)
}

/// Tell the capture encoding this value (if any) which parts were not stored.
fn report_unstored(redacted: &[(String, String)]) {
    if COLLECTING.get() == 0 {
        return;
    }
    UNSTORED.with_borrow_mut(|list| {
        for (path, why) in redacted {
            list.push(match path.is_empty() {
                true => format!("{why} (in a serde_adapter field)"),
                false => format!("{why} (in a serde_adapter field, at {path})"),
            });
        }
    });
}

/// Deserialize a reducible value (for `#[serde(with = ...)]`).
pub fn deserialize<'de, T: Reducible, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    T::rebuild(&v, &mut RebuildCtx::new())
        .map_err(|e| serde::de::Error::custom(format!("rebuilding `{}`: {e}", std::any::type_name::<T>())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(why: &str) {
        report_unstored(&[(String::new(), why.to_owned())]);
    }

    #[test]
    fn each_capture_collects_its_own_reports() {
        report("outside any capture");
        let ((), outer) = collect_unstored(|| {
            report("a");
            let ((), inner) = collect_unstored(|| report("nested"));
            assert_eq!(inner, ["nested (in a serde_adapter field)"]);
            report("b");
        });
        assert_eq!(outer, ["a (in a serde_adapter field)", "b (in a serde_adapter field)"]);
        let ((), none) = collect_unstored(|| ());
        assert!(none.is_empty(), "nothing left over from earlier captures: {none:?}");
    }

    #[test]
    fn a_panicking_encoding_leaves_nothing_behind() {
        let ((), outer) = collect_unstored(|| {
            let r = std::panic::catch_unwind(|| {
                collect_unstored(|| {
                    report("lost with the panic");
                    panic!("a user's Serialize panicked");
                })
            });
            assert!(r.is_err());
            report("after");
        });
        assert_eq!(outer, ["after (in a serde_adapter field)"]);
        report("outside again");
        assert!(collect_unstored(|| ()).1.is_empty());
    }
}
