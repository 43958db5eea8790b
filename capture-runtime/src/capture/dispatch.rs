//! Compile-time choice of how each argument is captured and rebuilt, by
//! autoref specialization: `Reducible` > serde > registered reducer >
//! placeholder (with `Debug` text when the type has one).
//!
//! Generated code calls `(&&&&&&Wrap(&value)).__capture_encode(ctx)`; method
//! resolution picks the first layer whose bounds hold. In generic functions the
//! choice follows the bounds in scope. Rebuilding mirrors it with
//! `(&&&&Want::<T>::new()).__capture_rebuild(&value, cx)` (four `&`: one per layer) (or `__capture_decode`
//! from stored bytes). `#[derive(Reducible)]` runs the same chain on every
//! field, so a field's type needs no annotation unless serde cannot handle it.
//!
//! Sharing across the arguments of one call: the encode context keeps one
//! memo of `Rc`/`Arc` pointers for the whole call (see `ArgSink`), so a pointer
//! seen in an earlier argument is written as a reference to it. Rebuild the
//! arguments in order with one [`RebuildCtx`] (`__capture_decode_in`) to get the
//! sharing back.

use std::any::Any;
use std::fmt::Debug;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::reduce::explain::{self, Route};
use crate::reduce::{from_value, registry, serde_adapter, RebuildCtx, RebuildError, Reducible};
use crate::value::{to_value, EncodeCtx, EncodeError, Value};

/// Longest `Debug` text kept in a placeholder.
pub const DEBUG_CAP: usize = 256;

/// The outcome of encoding one argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Encoded {
    /// Encoded (possibly with redacted parts).
    Value(Value),
    /// Encoded straight to MessagePack (possibly with redacted parts): the
    /// bytes the codec would write for the [`Encoded::Value`] of the same
    /// value. Produced only when the caller asked for bytes
    /// (`EncodeCtx::want_bytes`), for a serde value at the top of an encoding.
    Bytes(Vec<u8>),
    /// Encoded straight to MessagePack and appended to the caller's buffer
    /// (`EncodeCtx::append_to`): these are its bytes there.
    Appended(std::ops::Range<usize>),
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
        let route = T::__capture_route();
        explain::note(ctx, route.clone(), std::any::type_name::<T>(), String::new);
        // Built-in impls that encode like serde write bytes at the top, as
        // the serde layer does.
        if route == Route::Serde && std::mem::take(&mut ctx.want_bytes) {
            if let Some(encoded) = append(ctx, |ctx, out| self.0.__capture_append(ctx, out)) {
                return encoded;
            }
        }
        // Parts of a reducible value are trees: bytes are for the top only.
        ctx.want_bytes = false;
        // Scalars and strings encode through serde, policy included. Any
        // other impl may build parts by hand (`Value::Str(..)`, fields, a
        // `with = module`): the outermost reducible value passes its whole
        // tree through the policy once (nested ones are covered by it).
        let owner = route != Route::Serde && ctx.begin_policy_pass();
        // Shared pointers first met inside a part that fails are forgotten
        // again: their definitions are not stored, so nothing may refer to them.
        let mark = ctx.reduce.open_part();
        let built = self.0.reduce(ctx);
        ctx.reduce.close_part(mark, built.is_err());
        Encoded::from_result(if owner { ctx.end_policy_pass(built) } else { built })
    }
}

/// Layer 2: serde `Serialize`.
pub trait ViaSerde {
    /// Encode.
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded;
}
impl<T: Serialize + ?Sized> ViaSerde for &&&&Wrap<'_, T> {
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded {
        explain::note(ctx, Route::Serde, std::any::type_name::<T>(), String::new);
        // Reducible fields inside (through `serde_adapter`) report the parts
        // they could not store, so the capture is listed as not replayable.
        let (encoded, inner) = serde_adapter::collect_unstored(|| {
            if std::mem::take(&mut ctx.want_bytes) {
                if let Some(encoded) = append(ctx, |ctx, out| Some(crate::value::to_msgpack(self.0, ctx, out))) {
                    return encoded;
                }
                return match crate::value::to_msgpack_reused(self.0, ctx) {
                    Ok(bytes) => Encoded::Bytes(bytes),
                    Err(e) => Encoded::from_result(Err(e)),
                };
            }
            Encoded::from_result(to_value(self.0, ctx))
        });
        for reason in inner {
            ctx.note_redacted(reason);
        }
        encoded
    }
}

/// Write a value's bytes with `write` straight to the call's buffer
/// (`EncodeCtx::append_to`), when there is one and `write` can (`None`
/// otherwise, the context as it was). The buffer holds the call's earlier
/// arguments: it goes back to the context even when the value's `Serialize`
/// panics (the panic then goes on).
#[inline(always)]
fn append(
    ctx: &mut EncodeCtx<'_>,
    write: impl FnOnce(&mut EncodeCtx<'_>, &mut Vec<u8>) -> Option<Result<(), EncodeError>>,
) -> Option<Encoded> {
    let mut out = ctx.append_to.take()?;
    let start = out.len();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(ctx, &mut out)));
    let encoded = match &r {
        Ok(None) => None,
        Ok(Some(Ok(()))) => Some(Encoded::Appended(start..out.len())),
        Ok(Some(Err(e))) => Some(Encoded::from_result(Err(e.clone()))),
        Err(_) => Some(Encoded::Failed(String::new())),
    };
    if !matches!(encoded, Some(Encoded::Appended(_))) {
        out.truncate(start);
    }
    ctx.append_to = Some(out);
    if let Err(panic) = r {
        std::panic::resume_unwind(panic);
    }
    encoded
}

/// Layer 3: a registered reducer, else a placeholder with `Debug` text.
pub trait ViaRegistryDebug {
    /// Encode.
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded;
}
impl<T: Any + Debug> ViaRegistryDebug for &&&Wrap<'_, T> {
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded {
        registered(self.0, ctx)
            .unwrap_or_else(|| placeholder(Some(self.0 as &dyn Debug), std::any::type_name::<T>(), ctx))
    }
}

/// Layer 4: a registered reducer, else an opaque placeholder.
pub trait ViaRegistry {
    /// Encode.
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded;
}
impl<T: Any> ViaRegistry for &&Wrap<'_, T> {
    fn __capture_encode(&self, ctx: &mut EncodeCtx<'_>) -> Encoded {
        registered(self.0, ctx).unwrap_or_else(|| placeholder(None, std::any::type_name::<T>(), ctx))
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

/// What `explain!` explains: its argument behind every reference (up to
/// three), so `explain!(&file)` and `explain!(some_ref)` explain the value
/// itself, looked up in the registry by its own type.
pub struct Peel<'a, T: ?Sized>(pub &'a T);

impl<'a, 'b, T: ?Sized> Peel<'a, &'b T> {
    /// One reference less (an inherent method: chosen before the trait's).
    #[allow(clippy::explicit_auto_deref)] // auto-deref would give the shorter `&'a T`
    pub fn __capture_peel(self) -> &'b T {
        *self.0
    }
}

/// The value of a [`Peel`] that is not a reference: itself.
pub trait PeelNone<'a, T: ?Sized> {
    /// The value.
    fn __capture_peel(self) -> &'a T;
}
impl<'a, T: ?Sized> PeelNone<'a, T> for Peel<'a, T> {
    fn __capture_peel(self) -> &'a T {
        self.0
    }
}

/// Description of a value for `#[reduce(placeholder)]` fields: its `Debug` text when it has one.
pub trait DescribeDebug {
    /// Capped `Debug` text.
    fn __capture_describe(&self, ctx: &mut EncodeCtx<'_>) -> Option<String>;
}
impl<T: Debug + ?Sized> DescribeDebug for &Wrap<'_, T> {
    fn __capture_describe(&self, ctx: &mut EncodeCtx<'_>) -> Option<String> {
        debug_text(&self.0, ctx)
    }
}

/// Description of a value without `Debug`: nothing.
pub trait DescribeOpaque {
    /// Nothing.
    fn __capture_describe(&self, ctx: &mut EncodeCtx<'_>) -> Option<String>;
}
impl<T: ?Sized> DescribeOpaque for Wrap<'_, T> {
    fn __capture_describe(&self, _: &mut EncodeCtx<'_>) -> Option<String> {
        None
    }
}

/// Encode `v` with the reducer registered for `T`, if there is one.
pub(crate) fn registered<T: Any>(v: &T, ctx: &mut EncodeCtx<'_>) -> Option<Encoded> {
    let r = registry::lookup::<T>()?;
    let type_name = std::any::type_name::<T>();
    explain::note(ctx, Route::Registry, type_name, || {
        format!("reducer registered for `{}`", r.type_name())
    });
    explain::log_once(
        Route::Registry,
        &ctx.path_text(),
        type_name,
        "encoded by a reducer registered at run time",
    );
    Some(
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.reduce(v))) {
            // Pass the reducer's output through the encoder so redaction and the size limit apply to it.
            Ok(Some(value)) => Encoded::from_result(to_value(&value, ctx)),
            Ok(None) => Encoded::Failed(format!(
                "registered reducer for `{}` did not accept the value",
                r.type_name()
            )),
            Err(_) => {
                let m = format!("registered reducer for `{}` panicked", r.type_name());
                explain::note(ctx, Route::Failed, type_name, || m.clone());
                Encoded::Failed(m)
            }
        },
    )
}

fn debug_text(d: &dyn Debug, ctx: &mut EncodeCtx<'_>) -> Option<String> {
    // The text is written into a sink that refuses more than the cap (plus
    // room for a secret straddling it): a `Debug` impl stops at its first
    // `?` after that, so a huge or deeply nested value costs a bounded
    // amount of time and stack, where `format!` would walk all of it.
    let text = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| capped_debug(d))).ok()?;
    // Sensitive `name: value` pairs and PII are scrubbed before the cap, so a
    // cut can never expose half of a secret.
    let mut text = ctx.policy().and_then(|p| p.scrub_debug(&text)).unwrap_or(text);
    if text.len() > DEBUG_CAP {
        let mut cut = DEBUG_CAP;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    Some(text)
}

/// `Debug` text of `d`, cut off a little past [`DEBUG_CAP`] bytes.
fn capped_debug(d: &dyn Debug) -> String {
    struct Capped(String);
    impl std::fmt::Write for Capped {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let room = (DEBUG_CAP * 4).saturating_sub(self.0.len());
            if s.len() <= room {
                self.0.push_str(s);
                return Ok(());
            }
            let mut cut = room;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            self.0.push_str(&s[..cut]);
            Err(std::fmt::Error)
        }
    }
    let mut out = Capped(String::new());
    // An error here is the cap (or the impl's own failure): keep what was written.
    let _ = std::fmt::write(&mut out, format_args!("{d:?}"));
    out.0
}

pub(crate) fn placeholder(debug: Option<&dyn Debug>, type_name: &str, ctx: &mut EncodeCtx<'_>) -> Encoded {
    let debug = debug.and_then(|d| debug_text(d, ctx));
    let generic = ctx.generic.filter(|_| ctx.path.at_top());
    let reason = match generic {
        // For a value of a generic parameter's type, the bounds are the cause:
        // the type at this call (`type_name`) may well implement `Serialize`.
        Some(param) => format!(
            "the argument's type is the generic parameter `{param}` (here `{type_name}`): inside a generic function capture sees only the bounds written on `{param}`, and they include neither serde::Serialize nor Reducible; add `+ serde::Serialize` to its bounds to record it"
        ),
        _ => format!(
            "`{type_name}` implements neither Reducible nor serde::Serialize and has no registered reducer; derive one of them, call capture_runtime::reduce::registry::register, or mark the field #[reduce(skip)]"
        ),
    };
    explain::note(ctx, Route::Placeholder, type_name, || reason.clone());
    explain::log_once(Route::Placeholder, &ctx.path_text(), type_name, &reason);
    Encoded::Placeholder { debug, reason }
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
    /// Rebuild from stored bytes (one value on its own).
    fn __capture_decode(&self, codec: crate::Codec, bytes: &[u8]) -> Result<T, String>;
    /// Rebuild from stored bytes, sharing `cx` with the other arguments of the call.
    fn __capture_decode_in(&self, codec: crate::Codec, bytes: &[u8], cx: &mut RebuildCtx) -> Result<T, String>;
    /// Rebuild from a value tree (a part of a reducible value).
    fn __capture_rebuild(&self, v: &Value, cx: &mut RebuildCtx) -> Result<T, RebuildError>;
}
impl<T: Reducible> RebuildViaReducible<T> for &&&Want<T> {
    fn __capture_decode(&self, codec: crate::Codec, bytes: &[u8]) -> Result<T, String> {
        self.__capture_decode_in(codec, bytes, &mut RebuildCtx::new())
    }
    fn __capture_decode_in(&self, codec: crate::Codec, bytes: &[u8], cx: &mut RebuildCtx) -> Result<T, String> {
        let v: Value = codec.decode(bytes)?;
        T::rebuild(&v, cx).map_err(|e| e.to_string())
    }
    fn __capture_rebuild(&self, v: &Value, cx: &mut RebuildCtx) -> Result<T, RebuildError> {
        T::rebuild(v, cx)
    }
}

/// Layer 2 of rebuilding: serde `Deserialize`.
pub trait RebuildViaSerde<T> {
    /// Rebuild from stored bytes.
    fn __capture_decode(&self, codec: crate::Codec, bytes: &[u8]) -> Result<T, String>;
    /// Rebuild from stored bytes (serde values share nothing).
    fn __capture_decode_in(&self, codec: crate::Codec, bytes: &[u8], cx: &mut RebuildCtx) -> Result<T, String>;
    /// Rebuild from a value tree.
    fn __capture_rebuild(&self, v: &Value, cx: &mut RebuildCtx) -> Result<T, RebuildError>;
}
impl<T: DeserializeOwned> RebuildViaSerde<T> for &&Want<T> {
    fn __capture_decode(&self, codec: crate::Codec, bytes: &[u8]) -> Result<T, String> {
        codec.decode(bytes)
    }
    fn __capture_decode_in(&self, codec: crate::Codec, bytes: &[u8], _: &mut RebuildCtx) -> Result<T, String> {
        codec.decode(bytes)
    }
    fn __capture_rebuild(&self, v: &Value, _: &mut RebuildCtx) -> Result<T, RebuildError> {
        from_value(v)
    }
}

/// Layer 3 of rebuilding: a registered rebuilder.
pub trait RebuildViaRegistry<T> {
    /// Rebuild from stored bytes.
    fn __capture_decode(&self, codec: crate::Codec, bytes: &[u8]) -> Result<T, String>;
    /// Rebuild from stored bytes.
    fn __capture_decode_in(&self, codec: crate::Codec, bytes: &[u8], cx: &mut RebuildCtx) -> Result<T, String>;
    /// Rebuild from a value tree.
    fn __capture_rebuild(&self, v: &Value, cx: &mut RebuildCtx) -> Result<T, RebuildError>;
}
impl<T: Any> RebuildViaRegistry<T> for &Want<T> {
    fn __capture_decode(&self, codec: crate::Codec, bytes: &[u8]) -> Result<T, String> {
        let v: Value = codec.decode(bytes)?;
        registry_rebuild(&v).map_err(|e| e.to_string())
    }
    fn __capture_decode_in(&self, codec: crate::Codec, bytes: &[u8], _: &mut RebuildCtx) -> Result<T, String> {
        self.__capture_decode(codec, bytes)
    }
    fn __capture_rebuild(&self, v: &Value, _: &mut RebuildCtx) -> Result<T, RebuildError> {
        registry_rebuild(v)
    }
}

/// Rebuild a `T` with the rebuild function registered for it.
pub(crate) fn registry_rebuild<T: Any>(v: &Value) -> Result<T, RebuildError> {
    let name = std::any::type_name::<T>();
    if let Value::Marker(m) = v {
        return Err(RebuildError::from_marker(m));
    }
    let r = registry::lookup::<T>().ok_or_else(|| RebuildError::new(no_rebuild(name)))?;
    let any = r.rebuild(v).ok_or_else(|| {
        RebuildError::new(format!(
            "the reducer registered for `{name}` has no rebuild function: register one with Reducer::rebuild"
        ))
    })?;
    any.map_err(RebuildError::new)?
        .downcast::<T>()
        .map(|b| *b)
        .map_err(|_| RebuildError::new(format!("registered rebuilder for `{name}` returned another type")))
}

/// Layer 4 of rebuilding: impossible.
pub trait RebuildNever<T> {
    /// Always fails, naming the fix.
    fn __capture_decode(&self, codec: crate::Codec, bytes: &[u8]) -> Result<T, String>;
    /// Always fails, naming the fix.
    fn __capture_decode_in(&self, codec: crate::Codec, bytes: &[u8], cx: &mut RebuildCtx) -> Result<T, String>;
    /// Always fails, naming the fix.
    fn __capture_rebuild(&self, v: &Value, cx: &mut RebuildCtx) -> Result<T, RebuildError>;
}
impl<T> RebuildNever<T> for Want<T> {
    fn __capture_decode(&self, _: crate::Codec, _: &[u8]) -> Result<T, String> {
        Err(no_rebuild(std::any::type_name::<T>()))
    }
    fn __capture_decode_in(&self, _: crate::Codec, _: &[u8], _: &mut RebuildCtx) -> Result<T, String> {
        Err(no_rebuild(std::any::type_name::<T>()))
    }
    fn __capture_rebuild(&self, v: &Value, _: &mut RebuildCtx) -> Result<T, RebuildError> {
        if let Value::Marker(m) = v {
            return Err(RebuildError::from_marker(m));
        }
        Err(RebuildError::new(no_rebuild(std::any::type_name::<T>())))
    }
}

fn no_rebuild(name: &str) -> String {
    format!("`{name}` cannot be rebuilt: derive Reducible or serde::Deserialize for it, or register a rebuild function with capture_runtime::reduce::registry")
}
