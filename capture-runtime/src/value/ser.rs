//! `serde::Serializer` that builds a [`Value`] while applying the redaction
//! policy (sensitive field names and map keys, PII inside strings, skipped
//! types, the size limit) and sorting map entries canonically: one pass, before
//! any byte is hashed, written or logged.

use std::fmt;

use serde::ser::{self, Serialize};

use super::ctx::EncodeCtx;
use super::{Name, Value, Variant, VariantBody};

mod compound;

pub(crate) use compound::TRUNCATED_KEY;
use compound::{MapBuilder, SeqBuilder, StructBuilder};

/// Serializer-side helpers: a nested part at its path segment, a struct field
/// under its (possibly sensitive) name.
impl EncodeCtx<'_> {
    /// Encode `value` one level down, at `seg`.
    fn nested<T: Serialize + ?Sized>(&mut self, down: impl FnOnce(&mut Self), value: &T) -> R {
        down(self);
        let v = match self.check_depth() {
            Ok(()) => value.serialize(ValueSerializer { ctx: self }),
            Err(e) => Err(e),
        };
        if matches!(v, Err(EncodeError::Custom(_))) && self.error_path.is_none() {
            self.error_path = Some(self.path_text());
        }
        self.path.pop();
        v
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: Name, value: &T) -> R {
        if self.name_sensitive(&name) {
            self.path.name(&name);
            let m = self.redacted_marker::<T>(&name);
            self.path.pop();
            return Ok(m);
        }
        self.nested(|c| c.path.name(&name), value)
    }
}

/// Encode `value` into a [`Value`], applying `ctx`'s policy.
///
/// Sensitive names become [`Marker::Redacted`](super::Marker::Redacted), PII inside strings is
/// replaced by `[REDACTED:<kind>]`, skipped types become placeholders, and
/// once the size limit is reached the rest of each open sequence, map or
/// struct is replaced by a [`Marker::TooLarge`](super::Marker::TooLarge) saying what was dropped (a
/// single value larger than the limit is an [`EncodeError::TooLarge`]).
///
/// ```
/// use capture_runtime::filter::Policy;
/// use capture_runtime::value::{to_value, EncodeCtx, Marker, Value};
/// let v = to_value("hi", &mut EncodeCtx::plain()).unwrap();
/// assert_eq!(v, Value::Str("hi".into()));
///
/// let policy = Policy::default().max_size(Some(64));
/// let mut ctx = EncodeCtx::with_policy(&policy);
/// let Value::Seq(items) = to_value(&vec![7u64; 100], &mut ctx).unwrap() else { panic!() };
/// let Some(Value::Marker(Marker::TooLarge { what, .. })) = items.last() else { panic!() };
/// assert!(what.ends_with("of 100 elements"), "{what}");
/// ```
pub fn to_value<T: Serialize + ?Sized>(value: &T, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
    match value.serialize(ValueSerializer { ctx }) {
        Err(EncodeError::Custom(m)) => Err(EncodeError::Custom(match ctx.error_path.take() {
            Some(path) => format!("{m} (at `{path}`)"),
            None => m,
        })),
        other => other,
    }
}

/// Why a value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The value's `Serialize` impl reported an error. The text never
    /// contains the impl's own message (it may quote the value), except for
    /// a few fixed messages of serde's standard impls.
    Custom(String),
    /// The encoded value exceeded the size limit.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::Custom(m) => f.write_str(m),
            EncodeError::TooLarge { limit } => {
                write!(f, "value larger than the size limit of {limit} bytes")
            }
        }
    }
}

impl std::error::Error for EncodeError {}

/// Messages of serde's own `Serialize` impls that never contain data.
const KNOWN_SAFE_MESSAGES: &[&str] = &[
    "path contains invalid UTF-8 characters",
    "lock poison error while serializing",
    "already mutably borrowed",
    "can only flatten structs and maps",
    "SystemTime must be later than UNIX_EPOCH",
];

impl ser::Error for EncodeError {
    /// A `Serialize` impl's error text can quote the very value being
    /// captured (`custom(format!("bad token {t}"))`), and it would end up in
    /// the call record and the log: it is withheld.
    fn custom<T: fmt::Display>(msg: T) -> Self {
        let text = msg.to_string();
        if let Some(known) = KNOWN_SAFE_MESSAGES.iter().find(|k| text.starts_with(**k)) {
            return EncodeError::Custom(format!("the type's Serialize impl failed: {known}"));
        }
        EncodeError::Custom(
            "the type's Serialize impl returned an error (message withheld: it may quote the value)".to_owned(),
        )
    }
}

pub(super) struct ValueSerializer<'c, 'p> {
    pub(super) ctx: &'c mut EncodeCtx<'p>,
}

type R = Result<Value, EncodeError>;

impl<'c, 'p> ser::Serializer for ValueSerializer<'c, 'p> {
    type Ok = Value;
    type Error = EncodeError;
    type SerializeSeq = SeqBuilder<'c, 'p>;
    type SerializeTuple = SeqBuilder<'c, 'p>;
    type SerializeTupleStruct = SeqBuilder<'c, 'p>;
    type SerializeTupleVariant = SeqBuilder<'c, 'p>;
    type SerializeMap = MapBuilder<'c, 'p>;
    type SerializeStruct = StructBuilder<'c, 'p>;
    type SerializeStructVariant = StructBuilder<'c, 'p>;

    fn is_human_readable(&self) -> bool {
        false
    }
    fn serialize_bool(self, v: bool) -> R {
        self.ctx.grow(1)?;
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> R {
        self.serialize_i64(v as i64)
    }
    fn serialize_i16(self, v: i16) -> R {
        self.serialize_i64(v as i64)
    }
    fn serialize_i32(self, v: i32) -> R {
        self.serialize_i64(v as i64)
    }
    fn serialize_i64(self, v: i64) -> R {
        self.ctx.grow(9)?;
        Ok(if v >= 0 { Value::U64(v as u64) } else { Value::I64(v) })
    }
    fn serialize_i128(self, v: i128) -> R {
        self.ctx.grow(17)?;
        Ok(Value::I128(v))
    }
    fn serialize_u8(self, v: u8) -> R {
        self.serialize_u64(v as u64)
    }
    fn serialize_u16(self, v: u16) -> R {
        self.serialize_u64(v as u64)
    }
    fn serialize_u32(self, v: u32) -> R {
        self.serialize_u64(v as u64)
    }
    fn serialize_u64(self, v: u64) -> R {
        self.ctx.grow(9)?;
        Ok(Value::U64(v))
    }
    fn serialize_u128(self, v: u128) -> R {
        self.ctx.grow(17)?;
        Ok(Value::U128(v))
    }
    fn serialize_f32(self, v: f32) -> R {
        self.ctx.grow(5)?;
        Ok(Value::F32(v))
    }
    fn serialize_f64(self, v: f64) -> R {
        self.ctx.grow(9)?;
        Ok(Value::F64(v))
    }
    fn serialize_char(self, v: char) -> R {
        self.ctx.grow(5)?;
        Ok(Value::Char(v))
    }
    fn serialize_str(self, v: &str) -> R {
        self.ctx.grow(v.len() + 5)?;
        if let Some(policy) = self.ctx.policy {
            if let Some((clean, kinds)) = policy.scan_str(v) {
                self.ctx.note_redacted(format!("pii:{}", kinds.join(",")));
                return Ok(Value::Str(clean));
            }
        }
        Ok(Value::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> R {
        self.ctx.grow(v.len() + 5)?;
        Ok(Value::Bytes(v.to_vec()))
    }
    fn serialize_none(self) -> R {
        self.ctx.grow(1)?;
        Ok(Value::Option(None))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> R {
        Ok(Value::Option(Some(Box::new(value.serialize(self)?))))
    }
    fn serialize_unit(self) -> R {
        self.ctx.grow(1)?;
        Ok(Value::Unit)
    }
    fn serialize_unit_struct(self, name: &'static str) -> R {
        if let Some(m) = self.ctx.skipped(name) {
            return Ok(m);
        }
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, name: &'static str, index: u32, variant: &'static str) -> R {
        if let Some(m) = self.ctx.skipped(name) {
            return Ok(m);
        }
        self.ctx.grow(variant.len() + 1)?;
        Ok(variant_value(name, index, variant, VariantBody::Unit))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> R {
        if let Some(m) = self.ctx.skipped(name) {
            return Ok(m);
        }
        Ok(Value::Newtype(Name::Borrowed(name), Box::new(value.serialize(self)?)))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> R {
        if let Some(m) = self.ctx.skipped(name) {
            return Ok(m);
        }
        self.ctx.grow(variant.len() + 2)?;
        if self.ctx.name_sensitive(variant) {
            // `Credential::Password(..)` is `{"Password": ..}` on the wire:
            // the variant name is a key like any other.
            let marker = self.ctx.variant_marker(variant, std::any::type_name::<T>());
            return Ok(variant_value(name, index, variant, VariantBody::Newtype(marker)));
        }
        let body = self.ctx.nested(|c| c.path.field(variant), value)?;
        Ok(variant_value(name, index, variant, VariantBody::Newtype(body)))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder<'c, 'p>, EncodeError> {
        self.ctx.grow(5)?;
        Ok(SeqBuilder::new(self.ctx, len, None, None))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder<'c, 'p>, EncodeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<SeqBuilder<'c, 'p>, EncodeError> {
        self.ctx.grow(5)?;
        let skipped = self.ctx.skipped(name);
        Ok(SeqBuilder::new(self.ctx, Some(len), None, skipped))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder<'c, 'p>, EncodeError> {
        self.ctx.grow(variant.len() + 6)?;
        let skipped = self.ctx.skipped(name).or_else(|| {
            self.ctx.name_sensitive(variant).then(|| {
                let marker = self.ctx.variant_marker(variant, &format!("{name}::{variant}"));
                variant_value(name, index, variant, VariantBody::Newtype(marker))
            })
        });
        Ok(SeqBuilder::new(
            self.ctx,
            Some(len),
            Some((name, index, variant)),
            skipped,
        ))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder<'c, 'p>, EncodeError> {
        self.ctx.grow(5)?;
        Ok(MapBuilder {
            ctx: self.ctx,
            entries: Vec::with_capacity(len.unwrap_or(0).min(1024)),
            key: None,
            skip_value: false,
            dropped: 0,
            limit: 0,
        })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<StructBuilder<'c, 'p>, EncodeError> {
        self.ctx.grow(5)?;
        let skipped = self.ctx.skipped(name);
        Ok(StructBuilder::new(self.ctx, name, len, None, skipped))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<StructBuilder<'c, 'p>, EncodeError> {
        self.ctx.grow(variant.len() + 6)?;
        let skipped = self.ctx.skipped(name).or_else(|| {
            self.ctx.name_sensitive(variant).then(|| {
                let marker = self.ctx.variant_marker(variant, &format!("{name}::{variant}"));
                variant_value(name, index, variant, VariantBody::Newtype(marker))
            })
        });
        Ok(StructBuilder::new(self.ctx, name, len, Some((index, variant)), skipped))
    }
}

fn variant_value(name: &'static str, index: u32, variant: &'static str, body: VariantBody) -> Value {
    Value::Variant(Box::new(Variant {
        enum_name: Name::Borrowed(name),
        variant: Name::Borrowed(variant),
        index,
        body,
    }))
}
