//! The redacting serializer that writes MessagePack straight into a buffer.
//!
//! It applies the same policy as [`to_value`](super::to_value) (sensitive
//! names, PII in strings, skipped types, the size limit, canonical map order)
//! and produces exactly the bytes that `to_value` followed by the MessagePack
//! codec produces — so content ids do not depend on which path encoded a
//! value — without building the intermediate [`Value`] tree. The same
//! [`EncodeCtx`] bookkeeping runs in the same order (size estimate, redaction
//! report, error path), so reports are identical too.
//!
//! Where the tree path needs a whole subtree before it can decide, this one
//! writes first and fixes up afterwards:
//!
//! * array and map headers are written from serde's length hint and
//!   rewritten when the final count differs (truncation, unknown lengths);
//! * a part that runs over the size limit is cut off the buffer again;
//! * map entries are written as they come and reordered at the end of the map
//!   (keys are small [`Value`]s, compared with [`Value::canonical_cmp`]).
//!
//! Rare pieces (markers, map keys) are written through [`Value`]'s own
//! `Serialize` and rmp-serde, the path they would take anyway.

use super::mp_write as mp;
use serde::ser::{self, Serialize};

use super::ctx::EncodeCtx;
use super::ser::EncodeError;
use super::Value;

mod compound;
mod fail;

use compound::{MapWriter, SeqWriter, StructWriter};
use fail::Fail;

/// Encode `value` as MessagePack into `out` (appending), applying `ctx`'s
/// policy: the bytes equal `Codec::MsgPack.encode(&to_value(value, ctx)?)`.
///
/// ```
/// use capture_runtime::filter::Policy;
/// use capture_runtime::value::{to_msgpack, to_value, EncodeCtx};
/// use capture_runtime::Codec;
/// let policy = Policy::default();
/// let value = ("mail bob@example.com", [("password", "hunter2")]);
/// let mut direct = Vec::new();
/// to_msgpack(&value, &mut EncodeCtx::with_policy(&policy), &mut direct).unwrap();
/// let tree = to_value(&value, &mut EncodeCtx::with_policy(&policy)).unwrap();
/// assert_eq!(direct, Codec::MsgPack.encode(&tree).unwrap());
/// ```
pub fn to_msgpack<T: Serialize + ?Sized>(
    value: &T,
    ctx: &mut EncodeCtx<'_>,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    match value.serialize(Direct { ctx, out }).map_err(Fail::into_inner) {
        Err(EncodeError::Custom(m)) => Err(EncodeError::Custom(match ctx.error_path.take() {
            Some(path) => format!("{m} (at `{path}`)"),
            None => m,
        })),
        other => other,
    }
}

/// Write a value tree the way the MessagePack codec does.
fn emit(v: &Value, out: &mut Vec<u8>) {
    // Writing to a `Vec` cannot fail, and `Value` serializes infallibly.
    let _ = v.serialize(&mut rmp_serde::Serializer::new(&mut *out).with_struct_map());
}

fn emit_marker(m: Value, out: &mut Vec<u8>) {
    emit(&m, out);
}

#[inline(always)]
fn str_key(out: &mut Vec<u8>, s: &str) {
    mp::str(out, s);
}

/// `{variant: ...}`: the head of a non-unit enum variant on the wire.
fn variant_head(out: &mut Vec<u8>, variant: &str) {
    mp::header(out, 1, true);
    str_key(out, variant);
}

/// Rewrite the array or map header at `at` (written for `written` elements)
/// for `count` elements.
#[inline]
fn fix_header(out: &mut Vec<u8>, at: usize, written: usize, count: usize, map: bool) {
    if written != count {
        refit_header(out, at, written, count, map);
    }
}

#[cold]
fn refit_header(out: &mut Vec<u8>, at: usize, written: usize, count: usize, map: bool) {
    let mut h = Vec::with_capacity(5);
    mp::header(&mut h, count, map);
    out.splice(at..at + mp::header_len(written), h);
}

#[inline]
fn write_header(out: &mut Vec<u8>, count: usize, map: bool) -> usize {
    let at = out.len();
    mp::header(out, count, map);
    at
}

/// Encode `value` one level down, in the field `name`.
#[inline]
fn in_field<T: Serialize + ?Sized>(ctx: &mut EncodeCtx<'_>, out: &mut Vec<u8>, name: &'static str, value: &T) -> R {
    ctx.path.field(name);
    let r = below(ctx, out, value);
    ctx.path.pop_plain();
    r
}

/// Encode `value` one level down, at element `index`.
#[inline]
fn at_index<T: Serialize + ?Sized>(ctx: &mut EncodeCtx<'_>, out: &mut Vec<u8>, index: usize, value: &T) -> R {
    ctx.path.index(index);
    let r = below(ctx, out, value);
    ctx.path.pop_plain();
    r
}

/// Encode `value` one level down, in the map entry whose key reads `key`.
fn at_key<T: Serialize + ?Sized>(ctx: &mut EncodeCtx<'_>, out: &mut Vec<u8>, key: String, value: &T) -> R {
    ctx.path.key(key);
    let r = below(ctx, out, value);
    ctx.path.pop();
    r
}

/// Encode `value` at the path just entered, noting where it failed.
#[inline(always)]
fn below<T: Serialize + ?Sized>(ctx: &mut EncodeCtx<'_>, out: &mut Vec<u8>, value: &T) -> R {
    ctx.check_depth()?;
    let r = value.serialize(Direct { ctx: &mut *ctx, out });
    if r.is_err() {
        note_error_path(ctx, &r);
    }
    r
}

/// Remember where a `Serialize` impl first failed, for the message.
#[cold]
fn note_error_path(ctx: &mut EncodeCtx<'_>, r: &R) {
    if matches!(r, Err(f) if f.is_custom()) && ctx.error_path.is_none() {
        ctx.error_path = Some(ctx.path_text());
    }
}

/// A string whose PII was redacted: the cleaned text, and a note of what.
#[cold]
fn redacted_str(ctx: &mut EncodeCtx<'_>, out: &mut Vec<u8>, clean: &str, kinds: &[String]) {
    ctx.note_redacted(format!("pii:{}", kinds.join(",")));
    str_key(out, clean);
}

/// A struct field: a redaction marker under a sensitive name, else the value.
#[inline]
fn field<T: Serialize + ?Sized>(ctx: &mut EncodeCtx<'_>, out: &mut Vec<u8>, name: &'static str, value: &T) -> R {
    if ctx.static_name_sensitive(name) {
        redact_field(ctx, out, name, std::any::type_name::<T>());
        return Ok(());
    }
    in_field(ctx, out, name, value)
}

/// The marker of a field with a sensitive name, in place of its value.
#[cold]
fn redact_field(ctx: &mut EncodeCtx<'_>, out: &mut Vec<u8>, name: &'static str, type_name: &str) {
    ctx.path.field(name);
    let m = ctx.redacted_marker_of(name, type_name);
    ctx.path.pop();
    emit_marker(m, out);
}

struct Direct<'c, 'p> {
    ctx: &'c mut EncodeCtx<'p>,
    out: &'c mut Vec<u8>,
}

type R = Result<(), Fail>;

impl<'c, 'p> ser::Serializer for Direct<'c, 'p> {
    type Ok = ();
    type Error = Fail;
    type SerializeSeq = SeqWriter<'c, 'p>;
    type SerializeTuple = SeqWriter<'c, 'p>;
    type SerializeTupleStruct = SeqWriter<'c, 'p>;
    type SerializeTupleVariant = SeqWriter<'c, 'p>;
    type SerializeMap = MapWriter<'c, 'p>;
    type SerializeStruct = StructWriter<'c, 'p>;
    type SerializeStructVariant = StructWriter<'c, 'p>;

    fn is_human_readable(&self) -> bool {
        false
    }
    #[inline(always)]
    fn serialize_bool(self, v: bool) -> R {
        self.ctx.grow(1)?;
        mp::bool(self.out, v);
        Ok(())
    }
    #[inline]
    fn serialize_i8(self, v: i8) -> R {
        self.serialize_i64(v as i64)
    }
    #[inline]
    fn serialize_i16(self, v: i16) -> R {
        self.serialize_i64(v as i64)
    }
    #[inline(always)]
    fn serialize_i32(self, v: i32) -> R {
        self.serialize_i64(v as i64)
    }
    #[inline(always)]
    fn serialize_i64(self, v: i64) -> R {
        self.ctx.grow(9)?;
        // The tree keeps non-negative integers as `U64`, written as unsigned.
        mp::sint(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> R {
        self.ctx.grow(17)?;
        mp::bin(self.out, &v.to_be_bytes());
        Ok(())
    }
    #[inline]
    fn serialize_u8(self, v: u8) -> R {
        self.serialize_u64(v as u64)
    }
    #[inline]
    fn serialize_u16(self, v: u16) -> R {
        self.serialize_u64(v as u64)
    }
    #[inline(always)]
    fn serialize_u32(self, v: u32) -> R {
        self.serialize_u64(v as u64)
    }
    #[inline(always)]
    fn serialize_u64(self, v: u64) -> R {
        self.ctx.grow(9)?;
        mp::uint(self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> R {
        self.ctx.grow(17)?;
        mp::bin(self.out, &v.to_be_bytes());
        Ok(())
    }
    #[inline]
    fn serialize_f32(self, v: f32) -> R {
        self.ctx.grow(5)?;
        mp::f32(self.out, v);
        Ok(())
    }
    #[inline(always)]
    fn serialize_f64(self, v: f64) -> R {
        self.ctx.grow(9)?;
        mp::f64(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> R {
        self.ctx.grow(5)?;
        str_key(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    #[inline(always)]
    fn serialize_str(self, v: &str) -> R {
        self.ctx.grow(v.len() + 5)?;
        if let Some(policy) = self.ctx.policy() {
            if let Some((clean, kinds)) = policy.scan_str(v) {
                redacted_str(self.ctx, self.out, &clean, &kinds);
                return Ok(());
            }
        }
        str_key(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> R {
        self.ctx.grow(v.len() + 5)?;
        mp::bin(self.out, v);
        Ok(())
    }
    #[inline]
    fn serialize_none(self) -> R {
        self.ctx.grow(1)?;
        mp::nil(self.out);
        Ok(())
    }
    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> R {
        value.serialize(self)
    }
    #[inline]
    fn serialize_unit(self) -> R {
        self.ctx.grow(1)?;
        mp::nil(self.out);
        Ok(())
    }
    fn serialize_unit_struct(self, name: &'static str) -> R {
        if let Some(m) = self.ctx.skipped(name) {
            emit_marker(m, self.out);
            return Ok(());
        }
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, name: &'static str, _index: u32, variant: &'static str) -> R {
        if let Some(m) = self.ctx.skipped(name) {
            emit_marker(m, self.out);
            return Ok(());
        }
        self.ctx.grow(variant.len() + 1)?;
        str_key(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> R {
        if let Some(m) = self.ctx.skipped(name) {
            emit_marker(m, self.out);
            return Ok(());
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> R {
        if let Some(m) = self.ctx.skipped(name) {
            emit_marker(m, self.out);
            return Ok(());
        }
        self.ctx.grow(variant.len() + 2)?;
        if self.ctx.static_name_sensitive(variant) {
            let marker = self.ctx.variant_marker(variant, std::any::type_name::<T>());
            variant_head(self.out, variant);
            emit_marker(marker, self.out);
            return Ok(());
        }
        variant_head(self.out, variant);
        in_field(self.ctx, self.out, variant, value)
    }
    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqWriter<'c, 'p>, Fail> {
        self.ctx.grow(5)?;
        Ok(SeqWriter::new(self.ctx, self.out, len.unwrap_or(0), false))
    }
    #[inline]
    fn serialize_tuple(self, len: usize) -> Result<SeqWriter<'c, 'p>, Fail> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<SeqWriter<'c, 'p>, Fail> {
        self.ctx.grow(5)?;
        if let Some(m) = self.ctx.skipped(name) {
            emit_marker(m, self.out);
            return Ok(SeqWriter::new(self.ctx, self.out, 0, true));
        }
        Ok(SeqWriter::new(self.ctx, self.out, len, false))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqWriter<'c, 'p>, Fail> {
        self.ctx.grow(variant.len() + 6)?;
        if skipped_variant(self.ctx, self.out, name, variant) {
            return Ok(SeqWriter::new(self.ctx, self.out, 0, true));
        }
        variant_head(self.out, variant);
        Ok(SeqWriter::new(self.ctx, self.out, len, false))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapWriter<'c, 'p>, Fail> {
        self.ctx.grow(5)?;
        let body_start = self.out.len();
        Ok(MapWriter {
            ctx: self.ctx,
            out: self.out,
            body_start,
            entries: Vec::new(),
            key: None,
            skip_value: false,
            dropped: 0,
            limit: 0,
        })
    }
    #[inline]
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<StructWriter<'c, 'p>, Fail> {
        self.ctx.grow(5)?;
        if let Some(m) = self.ctx.skipped(name) {
            emit_marker(m, self.out);
            return Ok(StructWriter::new(self.ctx, self.out, name, 0, true));
        }
        Ok(StructWriter::new(self.ctx, self.out, name, len, false))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<StructWriter<'c, 'p>, Fail> {
        self.ctx.grow(variant.len() + 6)?;
        if skipped_variant(self.ctx, self.out, name, variant) {
            return Ok(StructWriter::new(self.ctx, self.out, name, 0, true));
        }
        variant_head(self.out, variant);
        Ok(StructWriter::new(self.ctx, self.out, name, len, false))
    }
}

/// A tuple or struct variant replaced as a whole: its enum type is skipped
/// by the policy, or the variant name is sensitive (`{variant: marker}`).
fn skipped_variant(ctx: &mut EncodeCtx<'_>, out: &mut Vec<u8>, name: &'static str, variant: &'static str) -> bool {
    if let Some(m) = ctx.skipped(name) {
        emit_marker(m, out);
        return true;
    }
    if ctx.static_name_sensitive(variant) {
        let marker = ctx.variant_marker(variant, &format!("{name}::{variant}"));
        variant_head(out, variant);
        emit_marker(marker, out);
        return true;
    }
    false
}

/// Largest scratch buffer kept per thread between encodings.
const SCRATCH_KEEP: usize = 1 << 20;

/// [`to_msgpack`] into this thread's reused scratch buffer; returns an
/// exact-size copy of the bytes (the one allocation of the encoding).
pub(crate) fn to_msgpack_reused<T: Serialize + ?Sized>(
    value: &T,
    ctx: &mut EncodeCtx<'_>,
) -> Result<Vec<u8>, EncodeError> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            let r = to_msgpack(value, ctx, &mut buf).map(|()| buf.to_vec());
            if buf.capacity() > SCRATCH_KEEP {
                *buf = Vec::new();
            }
            r
        }
        // A `Serialize` impl that itself calls a captured function: encode
        // that nested call into a buffer of its own.
        Err(_) => {
            let mut buf = Vec::new();
            to_msgpack(value, ctx, &mut buf).map(|()| buf)
        }
    })
}
