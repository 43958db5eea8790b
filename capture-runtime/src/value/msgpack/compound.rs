//! The direct writer's compound serializers: sequences, maps (entries put in
//! canonical order at the end) and structs, with the size limit's truncation
//! rules (the same as the tree builders').

use std::ops::Range;

use serde::ser::{self, Serialize};

use super::{at_index, at_key, emit, emit_marker, field, fix_header, str_key, write_header, Fail, R};
use crate::value::ctx::EncodeCtx;
use crate::value::mp_write as mp;
use crate::value::ser::{EncodeError, ValueSerializer, TRUNCATED_KEY};
use crate::value::{Marker, Value};

/// Sequences, tuples, tuple structs and tuple variants (see the tree
/// builder for the truncation rule).
pub(in crate::value) struct SeqWriter<'c, 'p> {
    ctx: &'c mut EncodeCtx<'p>,
    out: &'c mut Vec<u8>,
    header_at: usize,
    written: usize,
    count: usize,
    skipped: bool,
    dropped: usize,
    limit: u64,
}

impl<'c, 'p> SeqWriter<'c, 'p> {
    #[inline]
    pub(super) fn new(ctx: &'c mut EncodeCtx<'p>, out: &'c mut Vec<u8>, len: usize, skipped: bool) -> Self {
        let header_at = if skipped { 0 } else { write_header(out, len, false) };
        SeqWriter {
            ctx,
            out,
            header_at,
            written: len,
            count: 0,
            skipped,
            dropped: 0,
            limit: 0,
        }
    }
    #[inline]
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> R {
        if self.skipped {
            return Ok(());
        }
        if self.dropped > 0 {
            self.dropped += 1;
            return Ok(());
        }
        let mark = self.out.len();
        match at_index(self.ctx, self.out, self.count, value) {
            Ok(()) => self.count += 1,
            Err(f) => {
                let Some(limit) = f.too_large() else { return Err(f) };
                self.out.truncate(mark);
                self.dropped = 1;
                self.limit = limit;
            }
        }
        Ok(())
    }
    #[inline]
    fn finish(mut self) -> R {
        if self.skipped {
            return Ok(());
        }
        if self.dropped > 0 {
            self.mark_dropped();
        }
        fix_header(self.out, self.header_at, self.written, self.count, false);
        Ok(())
    }

    /// The marker saying how many elements the size limit dropped.
    #[cold]
    fn mark_dropped(&mut self) {
        let what = format!("{} of {} elements", self.dropped, self.count + self.dropped);
        let marker = self.ctx.dropped(self.limit, what);
        emit_marker(marker, self.out);
        self.count += 1;
    }
}

macro_rules! seq_impl {
    ($trait:ident, $method:ident) => {
        impl ser::$trait for SeqWriter<'_, '_> {
            type Ok = ();
            type Error = Fail;
            #[inline]
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> R {
                self.push(value)
            }
            #[inline]
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

/// Maps: values are written as they come, keys kept as small trees; the
/// entries are put in canonical key order when the map ends.
pub(in crate::value) struct MapWriter<'c, 'p> {
    pub(super) ctx: &'c mut EncodeCtx<'p>,
    pub(super) out: &'c mut Vec<u8>,
    pub(super) body_start: usize,
    /// Each key with the range of its value's bytes (relative to `body_start`).
    pub(super) entries: Vec<(Value, Range<usize>)>,
    pub(super) key: Option<Value>,
    pub(super) skip_value: bool,
    pub(super) dropped: usize,
    pub(super) limit: u64,
}

impl ser::SerializeMap for MapWriter<'_, '_> {
    type Ok = ();
    type Error = Fail;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> R {
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
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> R {
        if std::mem::take(&mut self.skip_value) {
            return Ok(());
        }
        let key = self
            .key
            .take()
            .ok_or_else(|| EncodeError::Custom("map value without key".into()))?;
        // A newtype or unit-variant key is its name on the wire: it counts too.
        let sensitive = key.key_name().is_some_and(|n| self.ctx.name_sensitive(&n));
        let mark = self.out.len();
        if sensitive {
            let k = key.key_text();
            self.ctx.path.key(k.clone());
            let m = self.ctx.redacted_marker::<T>(&k);
            self.ctx.path.pop();
            emit_marker(m, self.out);
        } else {
            match at_key(self.ctx, self.out, key.key_text(), value) {
                Ok(()) => {}
                Err(f) => {
                    let Some(limit) = f.too_large() else { return Err(f) };
                    self.out.truncate(mark);
                    self.dropped = 1;
                    self.limit = limit;
                    return Ok(());
                }
            }
        }
        let base = self.body_start;
        self.entries.push((key, mark - base..self.out.len() - base));
        Ok(())
    }

    fn end(mut self) -> R {
        if self.dropped > 0 {
            let what = format!("{} of {} entries", self.dropped, self.entries.len() + self.dropped);
            let marker = self.ctx.dropped(self.limit, what);
            let mark = self.out.len() - self.body_start;
            emit_marker(marker, self.out);
            let end = self.out.len() - self.body_start;
            self.entries.push((Value::Str(TRUNCATED_KEY.to_owned()), mark..end));
        }
        self.entries.sort_by(|a, b| a.0.canonical_cmp(&b.0));
        let body = self.out.split_off(self.body_start);
        mp::header(self.out, self.entries.len(), true);
        for (k, range) in &self.entries {
            emit(k, self.out);
            self.out.extend_from_slice(&body[range.clone()]);
        }
        Ok(())
    }
}

/// Structs and struct variants: maps keyed by field name; past the size
/// limit each remaining field keeps its name with a [`Marker::TooLarge`].
pub(in crate::value) struct StructWriter<'c, 'p> {
    ctx: &'c mut EncodeCtx<'p>,
    out: &'c mut Vec<u8>,
    name: &'static str,
    header_at: usize,
    written: usize,
    count: usize,
    skipped: bool,
    dropped: usize,
    limit: u64,
}

impl<'c, 'p> StructWriter<'c, 'p> {
    #[inline]
    pub(super) fn new(
        ctx: &'c mut EncodeCtx<'p>,
        out: &'c mut Vec<u8>,
        name: &'static str,
        len: usize,
        skipped: bool,
    ) -> Self {
        let header_at = if skipped { 0 } else { write_header(out, len, true) };
        StructWriter {
            ctx,
            out,
            name,
            header_at,
            written: len,
            count: 0,
            skipped,
            dropped: 0,
            limit: 0,
        }
    }
    #[inline]
    fn push<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> R {
        if self.skipped {
            return Ok(());
        }
        self.count += 1;
        if self.dropped == 0 {
            let mark = self.out.len();
            let encoded = match self.ctx.grow(key.len() + 1) {
                Ok(()) => {
                    str_key(self.out, key);
                    field(self.ctx, self.out, key, value)
                }
                Err(e) => Err(e.into()),
            };
            match encoded {
                Ok(()) => return Ok(()),
                Err(f) => {
                    let Some(limit) = f.too_large() else { return Err(f) };
                    self.out.truncate(mark);
                    self.limit = limit;
                }
            }
        }
        self.push_dropped(key);
        Ok(())
    }

    /// A field past the size limit: its name with a marker.
    #[cold]
    fn push_dropped(&mut self, key: &'static str) {
        self.dropped += 1;
        str_key(self.out, key);
        emit_marker(
            Value::Marker(Marker::TooLarge {
                limit: self.limit,
                what: format!("field `{key}`"),
            }),
            self.out,
        );
    }
    #[inline]
    fn finish(mut self) -> R {
        if self.skipped {
            return Ok(());
        }
        if self.dropped > 0 {
            self.note_dropped();
        }
        fix_header(self.out, self.header_at, self.written, self.count, true);
        Ok(())
    }

    /// Report how many fields the size limit dropped (each kept its name with a marker).
    #[cold]
    fn note_dropped(&mut self) {
        let what = format!("{} of {} fields of `{}`", self.dropped, self.count, self.name);
        self.ctx.dropped(self.limit, what);
    }
}

impl ser::SerializeStruct for StructWriter<'_, '_> {
    type Ok = ();
    type Error = Fail;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> R {
        self.push(key, value)
    }
    #[inline]
    fn end(self) -> R {
        self.finish()
    }
}

impl ser::SerializeStructVariant for StructWriter<'_, '_> {
    type Ok = ();
    type Error = Fail;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> R {
        self.push(key, value)
    }
    #[inline]
    fn end(self) -> R {
        self.finish()
    }
}
