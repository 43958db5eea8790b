//! Capturing what can be captured of a value whose type, as a whole, has no
//! capture path: `Result<T, E>` where only `E` lacks `Serialize`, an
//! `Option` or a tuple of such parts.
//!
//! For a parameter or return type written as `Result<..>`, `Option<..>` or a
//! tuple, the macro asks [`Whole`] whether the type has a whole-value path
//! (`Reducible` or `Serialize`). When it has, that path is used, exactly as
//! for any other type. When it has not, each part is encoded through its own
//! dispatch and the parts are assembled here into the value serde would have
//! produced: `{"Ok": ..}` for `Ok`, `Some` as its payload, a tuple as a
//! sequence. Only the part that cannot be captured becomes a placeholder, and
//! its message names that part's type, not `core::result::Result`.

use super::dispatch::Encoded;
use crate::value::{EncodeCtx, Marker, Name, Value, Variant, VariantBody};

/// Generated code: whether a type has a whole-value capture path, by
/// autoref specialization (`(&&Wrap(&value)).__capture_whole()`).
pub struct Whole<'a, T: ?Sized>(pub &'a T);

/// `Reducible` types are captured whole.
pub trait WholeViaReducible {
    /// Whether the type is captured as a whole.
    fn __capture_whole(&self) -> bool {
        true
    }
}
impl<T: crate::Reducible + ?Sized> WholeViaReducible for &&Whole<'_, T> {}

/// `Serialize` types are captured whole.
pub trait WholeViaSerde {
    /// Whether the type is captured as a whole.
    fn __capture_whole(&self) -> bool {
        true
    }
}
impl<T: serde::Serialize + ?Sized> WholeViaSerde for &Whole<'_, T> {}

/// Other types are captured part by part.
pub trait WholeNone {
    /// Whether the type is captured as a whole.
    fn __capture_whole(&self) -> bool {
        false
    }
}
impl<T: ?Sized> WholeNone for Whole<'_, T> {}

/// One part, encoded through its own dispatch, as a value: a part that could
/// not be encoded is a marker naming its own type. `Err` for a failure that
/// fails the whole value (the part's own code failed).
fn part(
    ctx: &mut EncodeCtx<'_>,
    type_name: &'static str,
    encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
) -> Result<Value, Encoded> {
    // Parts are trees: the bytes shortcut is for a whole value at the top.
    let want_bytes = std::mem::take(&mut ctx.want_bytes);
    let append_to = ctx.append_to.take();
    let encoded = encode(ctx);
    ctx.want_bytes = want_bytes;
    ctx.append_to = append_to;
    match encoded {
        Encoded::Value(v) => Ok(v),
        Encoded::Placeholder { debug, reason } => Ok(Value::Marker(Marker::Placeholder {
            type_name: type_name.to_owned(),
            debug,
            reason,
        })),
        Encoded::TooLarge(limit) => Ok(Value::Marker(Marker::TooLarge {
            limit,
            what: type_name.to_owned(),
        })),
        Encoded::Bytes(bytes) => crate::Codec::MsgPack.decode(&bytes).map_err(Encoded::Failed),
        Encoded::Appended(_) => Err(Encoded::Failed("a part was appended to the call's buffer".into())),
        failed @ Encoded::Failed(_) => Err(failed),
    }
}

/// Generated code: an enum variant with one payload (`Ok(x)`, `Err(e)`),
/// the payload encoded by `encode`.
pub fn variant(
    ctx: &mut EncodeCtx<'_>,
    enum_name: &'static str,
    variant: &'static str,
    index: u32,
    type_name: &'static str,
    encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
) -> Encoded {
    ctx.path.field(variant);
    let v = part(ctx, type_name, encode);
    ctx.path.pop();
    match v {
        Ok(v) => Encoded::Value(Value::Variant(Box::new(Variant {
            enum_name: Name::Borrowed(enum_name),
            variant: Name::Borrowed(variant),
            index,
            body: VariantBody::Newtype(v),
        }))),
        Err(failed) => failed,
    }
}

/// Generated code: `Some(x)` (the payload encoded by `encode`).
pub fn some(
    ctx: &mut EncodeCtx<'_>,
    type_name: &'static str,
    encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
) -> Encoded {
    match part(ctx, type_name, encode) {
        Ok(v) => Encoded::Value(Value::Option(Some(Box::new(v)))),
        Err(failed) => failed,
    }
}

/// Generated code: `None`.
pub fn none() -> Encoded {
    Encoded::Value(Value::Option(None))
}

/// Generated code: a tuple, each element encoded by its own dispatch.
pub type Element<'e> = (&'static str, &'e mut dyn FnMut(&mut EncodeCtx<'_>) -> Encoded);

/// Generated code: a tuple of parts.
pub fn tuple(ctx: &mut EncodeCtx<'_>, elements: &mut [Element<'_>]) -> Encoded {
    let mut items = Vec::with_capacity(elements.len());
    for (i, (type_name, encode)) in elements.iter_mut().enumerate() {
        ctx.path.index(i);
        let v = part(ctx, type_name, &mut **encode);
        ctx.path.pop();
        match v {
            Ok(v) => items.push(v),
            Err(failed) => return failed,
        }
    }
    Encoded::Value(Value::Seq(items))
}
