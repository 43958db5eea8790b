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
    /// Inlined whole into the caller's `Serialize` impl with everything
    /// else that takes `&mut self`, so the writer's state stays in registers:
    /// a writer spilled to the stack and copied for `end` stalled on store
    /// forwarding (`perf`: a quarter of a struct's samples on one load).
    #[inline(always)]
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
    #[inline(always)]
    fn finish(mut self) -> R {
        if self.skipped {
            return Ok(());
        }
        if self.dropped > 0 {
            mark_dropped(self.ctx, self.out, self.limit, self.dropped, self.count);
            self.count += 1;
        }
        fix_header(self.out, self.header_at, self.written, self.count, false);
        Ok(())
    }
}

/// The marker saying how many elements of a sequence the size limit dropped.
#[cold]
fn mark_dropped(ctx: &mut EncodeCtx<'_>, out: &mut Vec<u8>, limit: u64, dropped: usize, kept: usize) {
    let what = format!("{} of {} elements", dropped, kept + dropped);
    let marker = ctx.dropped(limit, what);
    emit_marker(marker, out);
}

macro_rules! seq_impl {
    ($trait:ident, $method:ident) => {
        impl ser::$trait for SeqWriter<'_, '_> {
            type Ok = ();
            type Error = Fail;
            #[inline(always)]
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> R {
                self.push(value)
            }
            #[inline(always)]
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
    #[inline(always)]
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
    /// Inlined into the caller's `Serialize` impl, and nothing out of line
    /// takes `&mut self`: the writer's state stays in registers (see
    /// [`SeqWriter`]'s `push`); the field itself is encoded out of line.
    #[inline(always)]
    fn push<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> R {
        if self.skipped {
            return Ok(());
        }
        self.count += 1;
        if self.dropped == 0 {
            match named_field(self.ctx, self.out, key, value) {
                Ok(()) => return Ok(()),
                Err(f) => {
                    let Some(limit) = f.too_large() else { return Err(f) };
                    self.limit = limit;
                }
            }
        }
        self.dropped += 1;
        push_dropped(self.out, key, self.limit);
        Ok(())
    }
    #[inline(always)]
    fn finish(self) -> R {
        if self.skipped {
            return Ok(());
        }
        if self.dropped > 0 {
            note_dropped(self.ctx, self.limit, self.dropped, self.count, self.name);
        }
        fix_header(self.out, self.header_at, self.written, self.count, true);
        Ok(())
    }
}

/// A struct field's name and value; on an error nothing of it is left in `out`.
#[inline]
fn named_field<T: Serialize + ?Sized>(ctx: &mut EncodeCtx<'_>, out: &mut Vec<u8>, key: &'static str, value: &T) -> R {
    let mark = out.len();
    ctx.grow(key.len() + 1)?;
    str_key(out, key);
    let r = field(ctx, out, key, value);
    if r.is_err() {
        out.truncate(mark);
    }
    r
}

/// A field past the size limit: its name with a marker.
#[cold]
fn push_dropped(out: &mut Vec<u8>, key: &'static str, limit: u64) {
    str_key(out, key);
    emit_marker(
        Value::Marker(Marker::TooLarge {
            limit,
            what: format!("field `{key}`"),
        }),
        out,
    );
}

/// Report how many fields the size limit dropped (each kept its name with a marker).
#[cold]
fn note_dropped(ctx: &mut EncodeCtx<'_>, limit: u64, dropped: usize, count: usize, name: &str) {
    let what = format!("{dropped} of {count} fields of `{name}`");
    ctx.dropped(limit, what);
}

impl ser::SerializeStruct for StructWriter<'_, '_> {
    type Ok = ();
    type Error = Fail;
    #[inline(always)]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> R {
        self.push(key, value)
    }
    #[inline(always)]
    fn end(self) -> R {
        self.finish()
    }
}

impl ser::SerializeStructVariant for StructWriter<'_, '_> {
    type Ok = ();
    type Error = Fail;
    #[inline(always)]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> R {
        self.push(key, value)
    }
    #[inline(always)]
    fn end(self) -> R {
        self.finish()
    }
}
