//! `Reducible` for the standard types serde has no impl for but real
//! signatures use: `Result` (whose parts are reducible), `cmp::Ordering`,
//! `fmt::Error` (in every `fmt::Result`), and the errors of std's parsers
//! and conversions (`ParseIntError`, `ParseFloatError`, `ParseBoolError`,
//! `ParseCharError`, `TryFromIntError`, `Utf8Error`), plus `Infallible`.
//!
//! Each encodes as serde would encode an equivalent type (a unit variant as
//! its name, a unit struct as nil, a struct as a map) and rebuilds into a
//! value equal (`==`) to the one captured. The errors have no public
//! constructors: they are rebuilt by running the std function that makes
//! the same error (`"".parse::<u8>()` for an empty-input `ParseIntError`).
//! The list is in the guide (`docs/capturing.md`, "Standard types").

use std::num::IntErrorKind;

use super::{RebuildCtx, RebuildError, Reducible};
use crate::value::{EncodeCtx, EncodeError, Name, Value, Variant, VariantBody};

impl<T: Reducible, E: Reducible> Reducible for Result<T, E> {
    fn reduce(&self, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        let (variant, index, v) = match self {
            Ok(t) => (
                "Ok",
                0,
                ctx.field_with("Ok", std::any::type_name::<T>(), |ctx| t.reduce(ctx))?,
            ),
            Err(e) => (
                "Err",
                1,
                ctx.field_with("Err", std::any::type_name::<E>(), |ctx| e.reduce(ctx))?,
            ),
        };
        Ok(Value::Variant(Box::new(Variant {
            enum_name: Name::Borrowed("Result"),
            variant: Name::Borrowed(variant),
            index,
            body: VariantBody::Newtype(v),
        })))
    }
    fn rebuild(v: &Value, cx: &mut RebuildCtx) -> Result<Self, RebuildError> {
        let (variant, payload) = match v {
            Value::Variant(var) => match &var.body {
                VariantBody::Newtype(p) => (var.variant.as_ref(), p),
                _ => return Err(RebuildError::expected("`Ok(..)` or `Err(..)`", v)),
            },
            // On disk a variant with a payload is a one-entry map.
            Value::Map(entries) if entries.len() == 1 => match &entries[0] {
                (Value::Str(k), p) => (k.as_str(), p),
                _ => return Err(RebuildError::expected("`Ok(..)` or `Err(..)`", v)),
            },
            other => return Err(RebuildError::expected("`Ok(..)` or `Err(..)`", other)),
        };
        match variant {
            "Ok" => Ok(Ok(T::rebuild(payload, cx).map_err(|e| e.at_field("Ok"))?)),
            "Err" => Ok(Err(E::rebuild(payload, cx).map_err(|e| e.at_field("Err"))?)),
            other => Err(RebuildError::new(format!(
                "expected `Ok` or `Err`, found variant `{other}`"
            ))),
        }
    }
}

/// A unit variant or a kind name: how the enums and kinds below are stored.
fn name_of(v: &Value) -> Option<&str> {
    match v {
        Value::Str(s) => Some(s),
        Value::Variant(var) if matches!(var.body, VariantBody::Unit) => Some(&var.variant),
        _ => None,
    }
}

fn unit_variant(enum_name: &'static str, variant: &'static str, index: u32) -> Value {
    Value::Variant(Box::new(Variant {
        enum_name: Name::Borrowed(enum_name),
        variant: Name::Borrowed(variant),
        index,
        body: VariantBody::Unit,
    }))
}

impl Reducible for std::cmp::Ordering {
    fn reduce(&self, _: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        Ok(match self {
            Self::Less => unit_variant("Ordering", "Less", 0),
            Self::Equal => unit_variant("Ordering", "Equal", 1),
            Self::Greater => unit_variant("Ordering", "Greater", 2),
        })
    }
    fn rebuild(v: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
        match name_of(v) {
            Some("Less") => Ok(Self::Less),
            Some("Equal") => Ok(Self::Equal),
            Some("Greater") => Ok(Self::Greater),
            _ => Err(RebuildError::expected("`Less`, `Equal` or `Greater`", v)),
        }
    }
}

/// A struct with one field, `kind`, holding a name.
fn kind_struct(type_name: &'static str, kind: &str) -> Value {
    Value::Struct(
        Name::Borrowed(type_name),
        vec![(Name::Borrowed("kind"), Value::Str(kind.to_owned()))],
    )
}

/// The `kind` of a [`kind_struct`].
fn kind_of<'v>(v: &'v Value, what: &str) -> Result<&'v str, RebuildError> {
    let found = match v {
        Value::Struct(_, fields) => fields.iter().find(|(n, _)| n == "kind").map(|(_, k)| k),
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| matches!(k, Value::Str(s) if s == "kind"))
            .map(|(_, k)| k),
        _ => None,
    };
    found
        .and_then(name_of)
        .ok_or_else(|| RebuildError::expected(&format!("a `{what}` (a map with its `kind`)"), v))
}

/// A unit struct: nil, as serde stores one.
macro_rules! unit_error {
    ($t:ty, $make:expr) => {
        impl Reducible for $t {
            fn reduce(&self, _: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
                Ok(Value::Unit)
            }
            fn rebuild(v: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
                match v {
                    Value::Unit | Value::Option(None) => Ok($make),
                    other => Err(RebuildError::expected(
                        concat!("`", stringify!($t), "` (nil)"),
                        other,
                    )),
                }
            }
        }
    };
}

unit_error!(std::fmt::Error, std::fmt::Error);
unit_error!(std::str::ParseBoolError, {
    "not a bool".parse::<bool>().expect_err("only `true` and `false` parse")
});
unit_error!(std::num::TryFromIntError, {
    u8::try_from(256u16).expect_err("256 does not fit in a u8")
});

impl Reducible for std::num::ParseIntError {
    fn reduce(&self, _: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        let kind = match self.kind() {
            IntErrorKind::Empty => "Empty",
            IntErrorKind::InvalidDigit => "InvalidDigit",
            IntErrorKind::PosOverflow => "PosOverflow",
            IntErrorKind::NegOverflow => "NegOverflow",
            IntErrorKind::Zero => "Zero",
            // `IntErrorKind` is non-exhaustive: a kind this version does not
            // know is stored by its `Debug` name and fails to rebuild.
            other => return Ok(kind_struct("ParseIntError", &format!("{other:?}"))),
        };
        Ok(kind_struct("ParseIntError", kind))
    }
    fn rebuild(v: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
        // The same std parse that makes each kind of error.
        let parsed = match kind_of(v, "ParseIntError")? {
            "Empty" => "".parse::<u8>().map(drop),
            "InvalidDigit" => "x".parse::<u8>().map(drop),
            "PosOverflow" => "256".parse::<u8>().map(drop),
            "NegOverflow" => "-129".parse::<i8>().map(drop),
            "Zero" => "0".parse::<std::num::NonZeroU8>().map(drop),
            other => return Err(RebuildError::new(format!("unknown `ParseIntError` kind `{other}`"))),
        };
        Ok(parsed.expect_err("each input above fails to parse"))
    }
}

/// An error of a std parser with two kinds, told apart by comparing with the
/// error an empty input gives, and rebuilt by parsing an input of its kind.
macro_rules! two_kind_parse_error {
    ($t:ty, $parsed:ty, $name:literal, ($empty:literal, $empty_input:literal), ($other:literal, $other_input:literal)) => {
        impl Reducible for $t {
            fn reduce(&self, _: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
                let empty = $empty_input
                    .parse::<$parsed>()
                    .expect_err("empty input does not parse");
                Ok(kind_struct($name, if *self == empty { $empty } else { $other }))
            }
            fn rebuild(v: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
                let input = match kind_of(v, $name)? {
                    $empty => $empty_input,
                    $other => $other_input,
                    other => {
                        return Err(RebuildError::new(format!(
                            concat!("unknown `", $name, "` kind `{}`"),
                            other
                        )))
                    }
                };
                Ok(input
                    .parse::<$parsed>()
                    .expect_err("the input above does not parse"))
            }
        }
    };
}

two_kind_parse_error!(
    std::num::ParseFloatError,
    f64,
    "ParseFloatError",
    ("Empty", ""),
    ("Invalid", "x")
);
two_kind_parse_error!(
    std::char::ParseCharError,
    char,
    "ParseCharError",
    ("EmptyString", ""),
    ("TooManyChars", "ab")
);

impl Reducible for std::str::Utf8Error {
    fn reduce(&self, _: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        Ok(Value::Struct(
            Name::Borrowed("Utf8Error"),
            vec![
                (Name::Borrowed("valid_up_to"), Value::U64(self.valid_up_to() as u64)),
                (
                    Name::Borrowed("error_len"),
                    Value::Option(self.error_len().map(|n| Box::new(Value::U64(n as u64)))),
                ),
            ],
        ))
    }
    fn rebuild(v: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
        let field = |name: &str| match v {
            Value::Struct(_, fields) => fields.iter().find(|(n, _)| n == name).map(|(_, x)| x),
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == name))
                .map(|(_, x)| x),
            _ => None,
        };
        let number = |x: Option<&Value>| match x {
            Some(Value::U64(n)) => Some(*n),
            Some(Value::I64(n)) => u64::try_from(*n).ok(),
            _ => None,
        };
        let bad = || RebuildError::expected("a `Utf8Error` (`valid_up_to`, `error_len`)", v);
        let valid_up_to = number(field("valid_up_to")).ok_or_else(bad)?;
        let error_len = match field("error_len") {
            None | Some(Value::Option(None)) | Some(Value::Unit) => None,
            Some(Value::Option(Some(n))) => Some(number(Some(n)).ok_or_else(bad)?),
            Some(n) => Some(number(Some(n)).ok_or_else(bad)?),
        };
        // Valid ASCII up to the error, then a sequence std reports as
        // `error_len` bytes long (`None`: cut short by the end of input).
        let tail: &[u8] = match error_len {
            None => &[0xE2, 0x82],
            Some(1) => &[0x80],
            Some(2) => &[0xE2, 0x82, 0x41],
            Some(3) => &[0xF0, 0x90, 0x80, 0x41],
            Some(n) => {
                return Err(RebuildError::new(format!(
                    "a UTF-8 error is 1 to 3 bytes long, not {n}"
                )))
            }
        };
        if valid_up_to > 64 << 20 {
            return Err(RebuildError::new(format!(
                "`valid_up_to` {valid_up_to} is implausibly large"
            )));
        }
        let mut bytes = vec![b'a'; valid_up_to as usize];
        bytes.extend_from_slice(tail);
        Ok(std::str::from_utf8(&bytes).expect_err("the tail above is invalid UTF-8"))
    }
}

impl Reducible for std::convert::Infallible {
    fn reduce(&self, _: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        match *self {}
    }
    fn rebuild(v: &Value, _: &mut RebuildCtx) -> Result<Self, RebuildError> {
        Err(RebuildError::expected("nothing (`Infallible` has no values)", v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Through the codec and back, as replay reads a stored value.
    fn round_trip<T: Reducible + PartialEq + std::fmt::Debug>(x: T) {
        let mut ctx = EncodeCtx::plain();
        ctx.begin("x");
        let tree = x.reduce(&mut ctx).expect("reduces");
        let bytes = crate::Codec::MsgPack.encode(&tree).expect("encodes");
        let back: Value = crate::Codec::MsgPack.decode(&bytes).expect("decodes");
        let rebuilt = T::rebuild(&back, &mut RebuildCtx::new()).expect("rebuilds");
        assert_eq!(rebuilt, x, "{tree:?} read back as {back:?}");
        // And from the tree itself (a part of a reducible value).
        assert_eq!(
            T::rebuild(&tree, &mut RebuildCtx::new()).expect("rebuilds from the tree"),
            x
        );
    }

    #[test]
    fn std_types_serde_leaves_out_rebuild_equal() {
        use std::cmp::Ordering;
        for o in [Ordering::Less, Ordering::Equal, Ordering::Greater] {
            round_trip(o);
        }
        round_trip(std::fmt::Error);
        for input in ["", "x", "256", "-129"] {
            let e = input
                .parse::<u8>()
                .or_else(|_| input.parse::<i8>().map(|_| 0))
                .unwrap_err();
            round_trip(e);
        }
        round_trip("0".parse::<std::num::NonZeroU8>().unwrap_err());
        round_trip("".parse::<f64>().unwrap_err());
        round_trip("1.2.3".parse::<f64>().unwrap_err());
        round_trip("".parse::<char>().unwrap_err());
        round_trip("abc".parse::<char>().unwrap_err());
        round_trip("yes".parse::<bool>().unwrap_err());
        round_trip(u8::try_from(1000u32).unwrap_err());
        for bytes in [&b"ab\xE2\x82"[..], b"\x80", b"abc\xE2\x82\x41", b"\xF0\x90\x80\x41"] {
            round_trip(std::str::from_utf8(bytes).unwrap_err());
        }
        round_trip(Ok::<u32, std::num::ParseIntError>(7));
        round_trip(Err::<u32, std::num::ParseIntError>("".parse::<u32>().unwrap_err()));
        round_trip(Ok::<(), std::fmt::Error>(()));
    }
}
