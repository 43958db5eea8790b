//! The tree serializer's compound builders: sequences, maps and structs, with
//! the size limit's truncation rules.

use serde::ser::{self, Serialize};

use super::{variant_value, EncodeError, ValueSerializer, R};
use crate::value::ctx::EncodeCtx;
use crate::value::{Marker, Name, Value, VariantBody};

/// Sequences, tuples, tuple structs and tuple variants. Once the size limit
/// is hit, the remaining elements are counted, not encoded, and one
/// [`Marker::TooLarge`] ends the sequence.
pub(in crate::value) struct SeqBuilder<'c, 'p> {
    ctx: &'c mut EncodeCtx<'p>,
    items: Vec<Value>,
    variant: Option<(&'static str, u32, &'static str)>,
    skipped: Option<Value>,
    dropped: usize,
    limit: u64,
}

impl<'c, 'p> SeqBuilder<'c, 'p> {
    pub(super) fn new(
        ctx: &'c mut EncodeCtx<'p>,
        len: Option<usize>,
        variant: Option<(&'static str, u32, &'static str)>,
        skipped: Option<Value>,
    ) -> Self {
        let cap = if skipped.is_some() {
            0
        } else {
            len.unwrap_or(0).min(4096)
        };
        SeqBuilder {
            ctx,
            items: Vec::with_capacity(cap),
            variant,
            skipped,
            dropped: 0,
            limit: 0,
        }
    }
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        if self.skipped.is_some() {
            return Ok(());
        }
        if self.dropped > 0 {
            self.dropped += 1;
            return Ok(());
        }
        let index = self.items.len();
        match self.ctx.nested(|c| c.path.index(index), value) {
            Ok(v) => self.items.push(v),
            Err(EncodeError::TooLarge { limit }) => {
                self.dropped = 1;
                self.limit = limit;
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }
    fn finish(mut self) -> R {
        if let Some(m) = self.skipped {
            return Ok(m);
        }
        if self.dropped > 0 {
            let what = format!("{} of {} elements", self.dropped, self.items.len() + self.dropped);
            let marker = self.ctx.dropped(self.limit, what);
            self.items.push(marker);
        }
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

/// Key under which a truncated map records what the size limit dropped.
pub(crate) const TRUNCATED_KEY: &str = "$capture:truncated";

pub(in crate::value) struct MapBuilder<'c, 'p> {
    pub(super) ctx: &'c mut EncodeCtx<'p>,
    pub(super) entries: Vec<(Value, Value)>,
    pub(super) key: Option<Value>,
    /// The key of this entry was dropped: drop its value too.
    pub(super) skip_value: bool,
    pub(super) dropped: usize,
    pub(super) limit: u64,
}

impl ser::SerializeMap for MapBuilder<'_, '_> {
    type Ok = Value;
    type Error = EncodeError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EncodeError> {
        // Keys are scanned for PII like any string; a key that is a
        // sensitive name redacts its value below.
        if self.dropped > 0 {
            self.dropped += 1;
            self.skip_value = true;
            return Ok(());
        }
        match key.serialize(ValueSerializer { ctx: self.ctx }) {
            Ok(k) => self.key = Some(k),
            Err(EncodeError::TooLarge { limit }) => {
                self.dropped = 1;
                self.limit = limit;
                self.skip_value = true;
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        if std::mem::take(&mut self.skip_value) {
            return Ok(());
        }
        let key = self
            .key
            .take()
            .ok_or_else(|| EncodeError::Custom("map value without key".into()))?;
        // A newtype or unit-variant key is its name on the wire: it counts too.
        let sensitive = key.key_name().is_some_and(|n| self.ctx.name_sensitive(&n));
        let value = if sensitive {
            let k = key.key_text();
            self.ctx.path.key(k.clone());
            let m = self.ctx.redacted_marker::<T>(&k);
            self.ctx.path.pop();
            m
        } else {
            let text = key.key_text();
            match self.ctx.nested(|c| c.path.key(text), value) {
                Ok(v) => v,
                Err(EncodeError::TooLarge { limit }) => {
                    self.dropped = 1;
                    self.limit = limit;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        };
        self.entries.push((key, value));
        Ok(())
    }

    fn end(mut self) -> R {
        if self.dropped > 0 {
            let what = format!("{} of {} entries", self.dropped, self.entries.len() + self.dropped);
            let marker = self.ctx.dropped(self.limit, what);
            self.entries.push((Value::Str(TRUNCATED_KEY.to_owned()), marker));
        }
        self.entries.sort_by(|a, b| a.0.canonical_cmp(&b.0));
        Ok(Value::Map(self.entries))
    }
}

/// Structs and struct variants. Once the size limit is hit, each remaining
/// field keeps its name and gets a [`Marker::TooLarge`] (the shape stays).
pub(in crate::value) struct StructBuilder<'c, 'p> {
    ctx: &'c mut EncodeCtx<'p>,
    name: &'static str,
    fields: Vec<(Name, Value)>,
    variant: Option<(u32, &'static str)>,
    skipped: Option<Value>,
    dropped: usize,
    limit: u64,
}

impl<'c, 'p> StructBuilder<'c, 'p> {
    pub(super) fn new(
        ctx: &'c mut EncodeCtx<'p>,
        name: &'static str,
        len: usize,
        variant: Option<(u32, &'static str)>,
        skipped: Option<Value>,
    ) -> Self {
        let cap = if skipped.is_some() { 0 } else { len };
        StructBuilder {
            ctx,
            name,
            fields: Vec::with_capacity(cap),
            variant,
            skipped,
            dropped: 0,
            limit: 0,
        }
    }
    fn push<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), EncodeError> {
        if self.skipped.is_some() {
            return Ok(());
        }
        if self.dropped == 0 {
            let encoded = self
                .ctx
                .grow(key.len() + 1)
                .and_then(|()| self.ctx.field(Name::Borrowed(key), value));
            match encoded {
                Ok(v) => {
                    self.fields.push((Name::Borrowed(key), v));
                    return Ok(());
                }
                Err(EncodeError::TooLarge { limit }) => self.limit = limit,
                Err(e) => return Err(e),
            }
        }
        self.dropped += 1;
        let marker = Value::Marker(Marker::TooLarge {
            limit: self.limit,
            what: format!("field `{key}`"),
        });
        self.fields.push((Name::Borrowed(key), marker));
        Ok(())
    }
    fn finish(self) -> R {
        if let Some(m) = self.skipped {
            return Ok(m);
        }
        if self.dropped > 0 {
            let what = format!("{} of {} fields of `{}`", self.dropped, self.fields.len(), self.name);
            self.ctx.dropped(self.limit, what);
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
