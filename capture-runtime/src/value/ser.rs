//! `serde::Serializer` that builds a [`Value`] while applying the redaction
//! policy (sensitive field names and map keys, PII inside strings, skipped
//! types, the size limit) and sorting map entries canonically: one pass, before
//! any byte is hashed, written or logged.

use std::fmt;

use serde::ser::{self, Serialize};

use super::{Marker, Name, Value, Variant, VariantBody};
use crate::filter::Policy;

/// State for one encoding: the policy in force, the current path and what was
/// redacted on the way.
///
/// ```
/// use capture_runtime::value::{to_value, EncodeCtx};
/// let mut ctx = EncodeCtx::plain();
/// to_value(&("a", 1), &mut ctx).unwrap();
/// assert!(ctx.report.redacted.is_empty());
/// ```
pub struct EncodeCtx<'p> {
    policy: Option<&'p Policy>,
    path: Vec<Seg>,
    size: u64,
    limit: Option<u64>,
    /// What happened during encoding.
    pub report: EncodeReport,
    /// Per-call state of `Reducible` encoding (shared-pointer memo, explain trace).
    pub(crate) reduce: crate::reduce::EncodeState,
}

/// What the encoder did besides encoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodeReport {
    /// Paths whose values were replaced by a redaction marker, with the reason.
    pub redacted: Vec<(String, String)>,
}

#[derive(Clone)]
enum Seg {
    Field(Name),
    Index(usize),
    Key(String),
}

impl<'p> EncodeCtx<'p> {
    /// A context without any policy: nothing is redacted, no size limit.
    pub fn plain() -> EncodeCtx<'static> {
        EncodeCtx {
            policy: None,
            path: Vec::new(),
            size: 0,
            limit: None,
            report: EncodeReport::default(),
            reduce: Default::default(),
        }
    }

    /// A context applying `policy` (redaction, PII detection, size limit).
    pub fn with_policy(policy: &'p Policy) -> Self {
        EncodeCtx {
            policy: Some(policy),
            path: Vec::new(),
            size: 0,
            limit: policy.size_limit(),
            report: EncodeReport::default(),
            reduce: Default::default(),
        }
    }

    /// The policy in force, if any.
    pub fn policy(&self) -> Option<&'p Policy> {
        self.policy
    }

    /// Start a new top-level value named `root` (an argument name).
    pub fn begin(&mut self, root: &str) {
        self.path.clear();
        self.path.push(Seg::Field(Name::Owned(root.to_owned())));
        self.size = 0;
    }

    /// The current path, as `order.items[2].card`.
    pub fn path_text(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                Seg::Field(n) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(n);
                }
                Seg::Index(i) => s.push_str(&format!("[{i}]")),
                Seg::Key(k) => s.push_str(&format!("[{k:?}]")),
            }
        }
        s
    }

    /// Record that the value at the current path was redacted.
    pub fn note_redacted(&mut self, reason: impl Into<String>) {
        let path = self.path_text();
        self.report.redacted.push((path, reason.into()));
    }

    fn name_sensitive(&self, name: &str) -> bool {
        self.policy.is_some_and(|p| p.is_sensitive_name(name))
    }

    fn redacted_marker(&mut self, reason: String) -> Value {
        self.note_redacted(reason.clone());
        Value::Marker(Marker::Redacted { reason })
    }

    fn grow(&mut self, n: usize) -> Result<(), EncodeError> {
        self.size += n as u64;
        match self.limit {
            Some(limit) if self.size > limit => Err(EncodeError::TooLarge { limit }),
            _ => Ok(()),
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: Name, value: &T) -> Result<Value, EncodeError> {
        if self.name_sensitive(&name) {
            return Ok(self.redacted_marker(format!("name:{name}")));
        }
        self.path.push(Seg::Field(name));
        let v = value.serialize(ValueSerializer { ctx: self });
        self.path.pop();
        v
    }
}

/// Encode `value` into a [`Value`], applying `ctx`'s policy.
///
/// ```
/// use capture_runtime::value::{to_value, EncodeCtx, Value};
/// let v = to_value("hi", &mut EncodeCtx::plain()).unwrap();
/// assert_eq!(v, Value::Str("hi".into()));
/// ```
pub fn to_value<T: Serialize + ?Sized>(value: &T, ctx: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
    value.serialize(ValueSerializer { ctx })
}

/// Why a value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The value's `Serialize` impl reported an error.
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

impl ser::Error for EncodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        EncodeError::Custom(msg.to_string())
    }
}

struct ValueSerializer<'c, 'p> {
    ctx: &'c mut EncodeCtx<'p>,
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
    fn serialize_unit_struct(self, _name: &'static str) -> R {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, name: &'static str, index: u32, variant: &'static str) -> R {
        self.ctx.grow(variant.len() + 1)?;
        Ok(variant_value(name, index, variant, VariantBody::Unit))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> R {
        if let Some(m) = self.ctx.policy.and_then(|p| p.skip_type_marker(name)) {
            return Ok(Value::Marker(m));
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
        self.ctx.grow(variant.len() + 2)?;
        let body = value.serialize(ValueSerializer { ctx: self.ctx })?;
        Ok(variant_value(name, index, variant, VariantBody::Newtype(body)))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder<'c, 'p>, EncodeError> {
        self.ctx.grow(5)?;
        Ok(SeqBuilder::new(self.ctx, len, None))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder<'c, 'p>, EncodeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqBuilder<'c, 'p>, EncodeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder<'c, 'p>, EncodeError> {
        self.ctx.grow(variant.len() + 6)?;
        Ok(SeqBuilder::new(self.ctx, Some(len), Some((name, index, variant))))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder<'c, 'p>, EncodeError> {
        self.ctx.grow(5)?;
        Ok(MapBuilder {
            ctx: self.ctx,
            entries: Vec::with_capacity(len.unwrap_or(0).min(1024)),
            key: None,
        })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<StructBuilder<'c, 'p>, EncodeError> {
        self.ctx.grow(5)?;
        let skipped = self.ctx.policy.and_then(|p| p.skip_type_marker(name));
        Ok(StructBuilder {
            ctx: self.ctx,
            name,
            fields: Vec::with_capacity(len),
            variant: None,
            skipped,
        })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<StructBuilder<'c, 'p>, EncodeError> {
        self.ctx.grow(variant.len() + 6)?;
        Ok(StructBuilder {
            ctx: self.ctx,
            name,
            fields: Vec::with_capacity(len),
            variant: Some((index, variant)),
            skipped: None,
        })
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

struct SeqBuilder<'c, 'p> {
    ctx: &'c mut EncodeCtx<'p>,
    items: Vec<Value>,
    variant: Option<(&'static str, u32, &'static str)>,
}

impl<'c, 'p> SeqBuilder<'c, 'p> {
    fn new(ctx: &'c mut EncodeCtx<'p>, len: Option<usize>, variant: Option<(&'static str, u32, &'static str)>) -> Self {
        SeqBuilder {
            ctx,
            items: Vec::with_capacity(len.unwrap_or(0).min(4096)),
            variant,
        }
    }
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        self.ctx.path.push(Seg::Index(self.items.len()));
        let v = value.serialize(ValueSerializer { ctx: self.ctx });
        self.ctx.path.pop();
        self.items.push(v?);
        Ok(())
    }
    fn finish(self) -> R {
        Ok(match self.variant {
            None => Value::Seq(self.items),
            Some((name, index, variant)) => variant_value(name, index, variant, VariantBody::Tuple(self.items)),
        })
    }
}

macro_rules! seq_impl {
    ($trait:ident, $method:ident) => {
        impl ser::$trait for SeqBuilder<'_, '_> {
            type Ok = Value;
            type Error = EncodeError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
                self.push(value)
            }
            fn end(self) -> R {
                self.finish()
            }
        }
    };
}
seq_impl!(SerializeSeq, serialize_element);
seq_impl!(SerializeTuple, serialize_element);
seq_impl!(SerializeTupleStruct, serialize_field);
seq_impl!(SerializeTupleVariant, serialize_field);

struct MapBuilder<'c, 'p> {
    ctx: &'c mut EncodeCtx<'p>,
    entries: Vec<(Value, Value)>,
    key: Option<Value>,
}

impl ser::SerializeMap for MapBuilder<'_, '_> {
    type Ok = Value;
    type Error = EncodeError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EncodeError> {
        // Keys are encoded without PII scanning of the key path itself;
        // a key that is a secret name redacts its value below.
        self.key = Some(key.serialize(ValueSerializer { ctx: self.ctx })?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| EncodeError::Custom("map value without key".into()))?;
        let key_text = match &key {
            Value::Str(s) => Some(s.clone()),
            Value::Char(c) => Some(c.to_string()),
            _ => None,
        };
        let value = match key_text {
            Some(k) if self.ctx.name_sensitive(&k) => {
                self.ctx.path.push(Seg::Key(k.clone()));
                let m = self.ctx.redacted_marker(format!("name:{k}"));
                self.ctx.path.pop();
                m
            }
            _ => {
                self.ctx.path.push(Seg::Key(key.key_text()));
                let v = value.serialize(ValueSerializer { ctx: self.ctx });
                self.ctx.path.pop();
                v?
            }
        };
        self.entries.push((key, value));
        Ok(())
    }

    fn end(mut self) -> R {
        self.entries.sort_by(|a, b| a.0.canonical_cmp(&b.0));
        Ok(Value::Map(self.entries))
    }
}

struct StructBuilder<'c, 'p> {
    ctx: &'c mut EncodeCtx<'p>,
    name: &'static str,
    fields: Vec<(Name, Value)>,
    variant: Option<(u32, &'static str)>,
    skipped: Option<Marker>,
}

impl StructBuilder<'_, '_> {
    fn push<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), EncodeError> {
        if self.skipped.is_some() {
            return Ok(());
        }
        self.ctx.grow(key.len() + 1)?;
        let v = self.ctx.field(Name::Borrowed(key), value)?;
        self.fields.push((Name::Borrowed(key), v));
        Ok(())
    }
    fn finish(self) -> R {
        if let Some(m) = self.skipped {
            return Ok(Value::Marker(m));
        }
        Ok(match self.variant {
            None => Value::Struct(Name::Borrowed(self.name), self.fields),
            Some((index, variant)) => variant_value(self.name, index, variant, VariantBody::Struct(self.fields)),
        })
    }
}

impl ser::SerializeStruct for StructBuilder<'_, '_> {
    type Ok = Value;
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), EncodeError> {
        self.push(key, value)
    }
    fn end(self) -> R {
        self.finish()
    }
}

impl ser::SerializeStructVariant for StructBuilder<'_, '_> {
    type Ok = Value;
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), EncodeError> {
        self.push(key, value)
    }
    fn end(self) -> R {
        self.finish()
    }
}

/// Hooks for `Reducible` implementations (derived or by hand): encode a part
/// under its name, index or key so the policy (sensitive names) and the path
/// (in redaction reports and `explain!`) apply to it as they do to serde types.
impl EncodeCtx<'_> {
    /// Encode the field `name` with `f`; a sensitive name gives a redaction marker instead.
    ///
    /// ```
    /// use capture_runtime::value::{EncodeCtx, Value};
    /// let mut ctx = EncodeCtx::plain();
    /// let v = ctx.field_with("qty", |_| Ok(Value::U64(3))).unwrap();
    /// assert_eq!(v, Value::U64(3));
    /// ```
    pub fn field_with(
        &mut self,
        name: &'static str,
        f: impl FnOnce(&mut Self) -> Result<Value, EncodeError>,
    ) -> Result<Value, EncodeError> {
        if self.name_sensitive(name) {
            self.path.push(Seg::Field(Name::Borrowed(name)));
            let m = self.redacted_marker(format!("name:{name}"));
            self.path.pop();
            return Ok(m);
        }
        self.path.push(Seg::Field(Name::Borrowed(name)));
        let v = f(self);
        self.path.pop();
        v
    }

    /// Encode the element at `index` with `f`.
    pub fn index_with(
        &mut self,
        index: usize,
        f: impl FnOnce(&mut Self) -> Result<Value, EncodeError>,
    ) -> Result<Value, EncodeError> {
        self.path.push(Seg::Index(index));
        let v = f(self);
        self.path.pop();
        v
    }

    /// Encode the map value under `key` with `f`; a sensitive key name gives a redaction marker instead.
    pub fn entry_with(
        &mut self,
        key: &Value,
        f: impl FnOnce(&mut Self) -> Result<Value, EncodeError>,
    ) -> Result<Value, EncodeError> {
        let text = key.key_text();
        self.path.push(Seg::Key(text.clone()));
        let v = match key {
            Value::Str(_) | Value::Char(_) if self.name_sensitive(&text) => {
                Ok(self.redacted_marker(format!("name:{text}")))
            }
            _ => f(self),
        };
        self.path.pop();
        v
    }
}
