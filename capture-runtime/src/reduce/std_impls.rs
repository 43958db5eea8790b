//! `Reducible` for standard types, so reducible values nest in them
//! (`Vec<Conn>`, `Option<Rc<Node>>`, `HashMap<String, Conn>`) and generic
//! derived types work with ordinary arguments (`Pair<String>`).
//!
//! Scalars and `String` encode exactly as serde would (same bytes, same
//! redaction). Maps and sets are in [`super::collections`].

use super::explain::Route;
use super::{from_value, RebuildCtx, RebuildError, Reducible};
use crate::value::{to_value, EncodeCtx, EncodeError, Value};

macro_rules! via_serde {
    ($($t:ty),*) => {$(
        impl Reducible for $t {
            fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
                to_value(self, ctx)
            }
            fn rebuild(v: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
                from_value(v)
            }
            fn __capture_route() -> Route {
                Route::Serde
            }
            fn __capture_append(&self, ctx: &mut EncodeCtx<'_>, out: &mut Vec<u8>) -> Option<Result<(), EncodeError>> {
                Some(crate::value::to_msgpack(self, ctx, out))
            }
        }
    )*};
}

via_serde!(
    bool,
    char,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    String,
    ()
);

impl Reducible for str {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        to_value(self, ctx)
    }
    fn __capture_route() -> Route {
        Route::Serde
    }
}

impl<T: Reducible + ?Sized> Reducible for &T {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        (**self).reduce(ctx)
    }
    fn rebuild(_: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
        Err(RebuildError::new(format!(
            "a borrowed `{}` cannot be rebuilt from a capture (nothing would own it): take the value by ownership, or skip the field with #[reduce(skip)]",
            std::any::type_name::<T>()
        )))
    }
    fn __capture_route() -> Route {
        T::__capture_route()
    }
}

impl<T: Reducible> Reducible for Box<T> {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        (**self).reduce(ctx)
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        Ok(Box::new(T::rebuild(v, cx)?))
    }
    fn __capture_route() -> Route {
        T::__capture_route()
    }
}

impl<T: Reducible> Reducible for Option<T> {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        Ok(Value::Option(match self {
            None => None,
            Some(t) => Some(Box::new(t.reduce(ctx)?)),
        }))
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        match v {
            Value::Option(None) | Value::Unit => Ok(None),
            Value::Option(Some(inner)) => Ok(Some(T::rebuild(inner, cx)?)),
            // On disk `Some(x)` is just `x`.
            other => Ok(Some(T::rebuild(other, cx)?)),
        }
    }
    fn __capture_route() -> Route {
        T::__capture_route()
    }
}

impl<T: Reducible> Reducible for Vec<T> {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        seq(self.iter(), ctx)
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        rebuild_seq(v, cx)
    }
    fn __capture_route() -> Route {
        T::__capture_route()
    }
}

/// Encode the items of a sequence (`Vec`, arrays, `VecDeque`) with their indexes.
fn seq<'a, T: Reducible + 'a>(
    items: impl ExactSizeIterator<Item = &'a T>,
    ctx: &mut EncodeCtx<'_>,
) -> Result<Value, EncodeError> {
    let mut out = Vec::with_capacity(items.len());
    for (i, t) in items.enumerate() {
        out.push(ctx.index_with(i, |ctx| t.reduce(ctx))?);
    }
    Ok(Value::Seq(out))
}

/// Rebuild the items of a stored sequence.
fn rebuild_seq<T: Reducible, C: FromIterator<T>>(v: &Value, cx: &mut RebuildCtx) -> Result<C, RebuildError> {
    match v {
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| T::rebuild(x, cx).map_err(|e| e.at_index(i)))
            .collect(),
        other => Err(RebuildError::expected("a sequence", other)),
    }
}

impl<T: Reducible, const N: usize> Reducible for [T; N] {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        seq(self.iter(), ctx)
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        let items: Vec<T> = rebuild_seq(v, cx)?;
        let len = items.len();
        items
            .try_into()
            .map_err(|_| RebuildError::new(format!("expected an array of {N} items, found {len}")))
    }
    fn __capture_route() -> Route {
        T::__capture_route()
    }
}

impl<T: Reducible> Reducible for std::collections::VecDeque<T> {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        seq(self.iter(), ctx)
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        rebuild_seq(v, cx)
    }
    fn __capture_route() -> Route {
        T::__capture_route()
    }
}

/// A `Cow` is reduced as what it points to and rebuilt owned (`Cow<str>`;
/// slices are not `Reducible`, so that `&[T]` arguments of serde types keep
/// serde's direct encoding).
impl<B> Reducible for std::borrow::Cow<'_, B>
where
    B: ToOwned + Reducible + ?Sized,
    B::Owned: Reducible,
{
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        (**self).reduce(ctx)
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        Ok(std::borrow::Cow::Owned(B::Owned::rebuild(v, cx)?))
    }
    fn __capture_route() -> Route {
        B::__capture_route()
    }
}

macro_rules! tuple_impl {
    ($n:literal: $($T:ident $i:tt),+) => {
        impl<$($T: Reducible),+> Reducible for ($($T,)+) {
            fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
                Ok(Value::Seq(vec![$(ctx.index_with($i, |ctx| self.$i.reduce(ctx))?),+]))
            }
            fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
                match v {
                    Value::Seq(items) if items.len() == $n => {
                        Ok(($($T::rebuild(&items[$i], cx).map_err(|e| e.at_index($i))?,)+))
                    }
                    other => Err(RebuildError::expected(concat!("a tuple of ", $n), other)),
                }
            }
        }
    };
}
tuple_impl!(1: A 0);
tuple_impl!(2: A 0, B 1);
tuple_impl!(3: A 0, B 1, C 2);
tuple_impl!(4: A 0, B 1, C 2, D 3);
tuple_impl!(5: A 0, B 1, C 2, D 3, E 4);
tuple_impl!(6: A 0, B 1, C 2, D 3, E 4, F 5);
tuple_impl!(7: A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_impl!(8: A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Policy;

    /// What the tree route writes for `v`: reduce under `policy`, then the codec.
    fn via_tree<T: Reducible>(v: &T, policy: &Policy) -> (Vec<u8>, Vec<(String, String)>) {
        let mut ctx = EncodeCtx::with_policy(policy);
        ctx.begin("x");
        let tree = v.reduce(&mut ctx).expect("reduces");
        (
            crate::Codec::MsgPack.encode(&tree).expect("encodes"),
            ctx.report.redacted,
        )
    }

    /// What the direct route appends for `v` after `prefix`.
    fn via_append<T: Reducible>(v: &T, policy: &Policy) -> (Vec<u8>, Vec<(String, String)>) {
        let mut ctx = EncodeCtx::with_policy(policy);
        ctx.begin("x");
        let mut out = b"prefix".to_vec();
        v.__capture_append(&mut ctx, &mut out)
            .expect("built-in impls append")
            .expect("encodes");
        assert_eq!(&out[..6], b"prefix", "earlier bytes kept");
        (out[6..].to_vec(), ctx.report.redacted)
    }

    /// Built-in scalars and strings skip the tree on the capture path: the
    /// bytes and the redaction report must be what the tree route gives.
    #[test]
    fn appended_bytes_are_the_tree_routes_bytes() {
        let p = Policy::default();
        macro_rules! same {
            ($($v:expr),* $(,)?) => {$(
                assert_eq!(via_append(&$v, &p), via_tree(&$v, &p), "{:?}", $v);
            )*};
        }
        same!(
            true,
            'é',
            -3i8,
            -300i16,
            i32::MIN,
            i64::MAX,
            i128::MIN,
            -1isize,
            200u8,
            u16::MAX,
            70_000u32,
            u64::MAX,
            u128::MAX,
            usize::MAX,
            1.5f32,
            0.1f64,
            f64::NAN.to_bits(),
            String::from("plain"),
            String::from("mail bob@example.com now"),
            (),
        );
        let (_, redacted) = via_append(&String::from("mail bob@example.com now"), &p);
        assert_eq!(
            redacted.len(),
            1,
            "PII in a string argument is redacted on the direct route too"
        );
    }

    /// Impls that build trees by hand keep building them.
    #[test]
    fn other_impls_do_not_append() {
        let mut ctx = EncodeCtx::plain();
        let mut out = Vec::new();
        assert!(vec![1u8].__capture_append(&mut ctx, &mut out).is_none());
        assert!(out.is_empty());
    }
}
