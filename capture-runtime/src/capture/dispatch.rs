//! Compile-time choice of how each argument is captured and rebuilt, by
//! autoref specialization: `Reducible` > serde > registered reducer >
//! placeholder (with `Debug` text when the type has one).
//!
//! Generated code calls `(&&&&&&Wrap(&value)).__capture_encode(ctx)`; method
//! resolution picks the first layer whose bounds hold. In generic functions the
//! choice follows the bounds in scope.

use std::any::Any;
use std::fmt::Debug;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::reduce::{registry, Reducible};
use crate::value::{to_value, EncodeCtx, EncodeError, Value};

/// Longest `Debug` text kept in a placeholder.
pub const DEBUG_CAP: usize = 256;

/// The outcome of encoding one argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Encoded {
    /// Encoded (possibly with redacted parts).
    Value(Value),
    /// Not encodable: a description was kept.
    Placeholder {
        /// Capped, PII-scanned `Debug` text.
        debug: Option<String>,
        /// Why.
        reason: String,
    },
    /// Larger than the size limit.
    TooLarge(u64),
    /// The type's own code failed.
    Failed(String),
}

impl Encoded {
    fn from_result(r: Result<Value, EncodeError>) -> Encoded {
        match r {
            Ok(v) => Encoded::Value(v),
            Err(EncodeError::TooLarge { limit }) => Encoded::TooLarge(limit),
            Err(EncodeError::Custom(m)) => Encoded::Failed(m),
        }
    }
}

/// Wraps a borrowed argument for dispatch.
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

/// Layer 1: `Reducible`.
pub trait ViaReducible {
    /// Encode.
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded;
}
impl<T: Reducible + ?Sized> ViaReducible for &&&&&Wrap<'_, T> {
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded {
        Encoded::from_result(self.0.reduce(ctx))
    }
}

/// Layer 2: serde `Serialize`.
pub trait ViaSerde {
    /// Encode.
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded;
}
impl<T: Serialize + ?Sized> ViaSerde for &&&&Wrap<'_, T> {
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded {
        Encoded::from_result(to_value(self.0, ctx))
    }
}

/// Layer 3: a registered reducer, else a placeholder with `Debug` text.
pub trait ViaRegistryDebug {
    /// Encode.
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded;
}
impl<T: Any + Debug> ViaRegistryDebug for &&&Wrap<'_, T> {
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded {
        registered(self.0).unwrap_or_else(|| placeholder(Some(self.0 as &dyn Debug), std::any::type_name::<T>(), ctx))
    }
}

/// Layer 4: a registered reducer, else an opaque placeholder.
pub trait ViaRegistry {
    /// Encode.
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded;
}
impl<T: Any> ViaRegistry for &&Wrap<'_, T> {
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded {
        registered(self.0).unwrap_or_else(|| placeholder(None, std::any::type_name::<T>(), ctx))
    }
}

/// Layer 5: placeholder with `Debug` text (non-`'static` types).
pub trait ViaDebug {
    /// Encode.
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded;
}
impl<T: Debug + ?Sized> ViaDebug for &Wrap<'_, T> {
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded {
        placeholder(Some(&self.0 as &dyn Debug), std::any::type_name::<T>(), ctx)
    }
}

/// Layer 6: opaque placeholder.
pub trait ViaOpaque {
    /// Encode.
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded;
}
impl<T: ?Sized> ViaOpaque for Wrap<'_, T> {
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded {
        placeholder(None, std::any::type_name::<T>(), ctx)
    }
}

fn registered<T: Any>(v: &T) -> Option<Encoded> {
    let r = registry::lookup::<T>()?;
    Some(
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.reduce(v))) {
            Ok(Some(value)) => Encoded::Value(value),
            Ok(None) => Encoded::Failed(format!(
                "registered reducer for `{}` did not accept the value",
                r.type_name
            )),
            Err(_) => Encoded::Failed(format!("registered reducer for `{}` panicked", r.type_name)),
        },
    )
}

fn placeholder(debug: Option<&dyn Debug>, type_name: &str, ctx: &mut EncodeCtx<'_>) -> Encoded {
    let debug = debug.and_then(|d| {
        let text = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| format!("{d:?}"))).ok()?;
        let mut text = match ctx.policy().and_then(|p| p.scan_str(&text)) {
            Some((clean, _)) => clean,
            None => text,
        };
        if text.len() > DEBUG_CAP {
            let mut cut = DEBUG_CAP;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        Some(text)
    });
    Encoded::Placeholder {
        debug,
        reason: format!(
            "`{type_name}` implements neither Reducible nor serde::Serialize and has no registered reducer; derive one of them or call capture_runtime::reduce::registry::register"
        ),
    }
}

/// Names the type to rebuild, for decode dispatch.
pub struct Want<T>(PhantomData<fn() -> T>);

impl<T> Want<T> {
    /// A marker for `T`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Want(PhantomData)
    }
}

/// Layer 1 of rebuilding: `Reducible`.
pub trait RebuildViaReducible<T> {
    /// Rebuild from stored bytes.
    fn __capture_decode(&self, codec: crate::Codec, bytes: &[u8]) -> Result<T, String>;
}
impl<T: Reducible> RebuildViaReducible<T> for &&&Want<T> {
    fn __capture_decode(&self, codec: crate::Codec, bytes: &[u8]) -> Result<T, String> {
        let v: Value = codec.decode(bytes)?;
        T::rebuild(&v).map_err(|e| e.message)
    }
}

/// Layer 2 of rebuilding: serde `Deserialize`.
pub trait RebuildViaSerde<T> {
    /// Rebuild from stored bytes.
    fn __capture_decode(&self, codec: crate::Codec, bytes: &[u8]) -> Result<T, String>;
}
impl<T: DeserializeOwned> RebuildViaSerde<T> for &&Want<T> {
    fn __capture_decode(&self, codec: crate::Codec, bytes: &[u8]) -> Result<T, String> {
        codec.decode(bytes)
    }
}

/// Layer 3 of rebuilding: a registered rebuilder.
pub trait RebuildViaRegistry<T> {
    /// Rebuild from stored bytes.
    fn __capture_decode(&self, codec: crate::Codec, bytes: &[u8]) -> Result<T, String>;
}
impl<T: Any> RebuildViaRegistry<T> for &Want<T> {
    fn __capture_decode(&self, codec: crate::Codec, bytes: &[u8]) -> Result<T, String> {
        let name = std::any::type_name::<T>();
        let r = registry::lookup::<T>().ok_or_else(|| no_rebuild(name))?;
        let v: Value = codec.decode(bytes)?;
        let any = r
            .rebuild(&v)
            .ok_or_else(|| format!("the reducer registered for `{name}` has no rebuild function"))??;
        any.downcast::<T>()
            .map(|b| *b)
            .map_err(|_| format!("registered rebuilder for `{name}` returned another type"))
    }
}

/// Layer 4 of rebuilding: impossible.
pub trait RebuildNever<T> {
    /// Always fails, naming the fix.
    fn __capture_decode(&self, codec: crate::Codec, bytes: &[u8]) -> Result<T, String>;
}
impl<T> RebuildNever<T> for Want<T> {
    fn __capture_decode(&self, _: crate::Codec, _: &[u8]) -> Result<T, String> {
        Err(no_rebuild(std::any::type_name::<T>()))
    }
}

fn no_rebuild(name: &str) -> String {
    format!("`{name}` cannot be rebuilt: derive Reducible or serde::Deserialize for it, or register a rebuild function")
}
