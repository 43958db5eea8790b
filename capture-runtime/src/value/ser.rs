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
    pub(super) path: Vec<Seg>,
    size: u64,
    limit: Option<u64>,
    /// Where a `Serialize` impl first returned an error, for the message.
    pub(super) error_path: Option<String>,
    /// The caller stores MessagePack: a serde value at the top of this
    /// encoding may be written straight to bytes ([`super::msgpack`]) instead
    /// of building a tree. Taken (reset) by the first dispatch layer that runs.
    pub(crate) want_bytes: bool,
    /// With `want_bytes`: the buffer the bytes are appended to (the call's
    /// buffer on the capture path), instead of a fresh `Vec` per value.
    pub(crate) append_to: Option<Vec<u8>>,
    /// What happened during encoding.
    pub report: EncodeReport,
    /// Per-call state of `Reducible` encoding (shared-pointer memo, explain trace).
    pub(crate) reduce: crate::reduce::EncodeState,
    /// A reducible value's tree is being built and will get one pass of the
    /// policy when it is done ([`Self::begin_policy_pass`]).
    pub(super) policy_pass: bool,
    /// A cache key is being hashed: fields marked `#[reduce(hash = sampled)]`
    /// contribute their sampled id instead of their bytes
    /// ([`crate::__private::derive::sampled_field`]). Never set while
    /// capturing: captured values are always encoded in full.
    pub(crate) sampled_fields: bool,
}

/// What the encoder did besides encoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodeReport {
    /// Paths whose values were replaced by a marker, with the reason:
    /// `name:<field>` and `pii:<kinds>` (redacted), `type:<name>` (type
    /// skipped by policy), `too_large:<what was dropped>` (size limit).
    /// Paths and reasons never contain a redacted value.
    pub redacted: Vec<(String, String)>,
}

thread_local! {
    /// A path buffer handed from one encoding to the next on this thread
    /// (see [`EncodeCtx::recycle`]), so capturing a call allocates no path.
    static PATHS: std::cell::Cell<Vec<Seg>> = const { std::cell::Cell::new(Vec::new()) };
}

#[derive(Clone)]
pub(super) enum Seg {
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
            error_path: None,
            want_bytes: false,
            append_to: None,
            report: EncodeReport::default(),
            reduce: Default::default(),
            policy_pass: false,
            sampled_fields: false,
        }
    }

    /// A context applying `policy` (redaction, PII detection, size limit).
    pub fn with_policy(policy: &'p Policy) -> Self {
        EncodeCtx {
            policy: Some(policy),
            path: PATHS.with(|p| p.take()),
            size: 0,
            limit: policy.size_limit(),
            error_path: None,
            want_bytes: false,
            append_to: None,
            report: EncodeReport::default(),
            reduce: Default::default(),
            policy_pass: false,
            sampled_fields: false,
        }
    }

    /// Give this context's path buffer to the next encoding on this thread.
    pub(crate) fn recycle(mut self) {
        let mut path = std::mem::take(&mut self.path);
        if path.capacity() <= 64 {
            path.clear();
            PATHS.with(|p| p.set(path));
        }
    }

    /// The policy in force, if any.
    pub fn policy(&self) -> Option<&'p Policy> {
        self.policy
    }

    /// Start a new top-level value named `root` (an argument name).
    pub fn begin(&mut self, root: &str) {
        self.begin_name(Name::Owned(root.to_owned()));
    }

    /// [`Self::begin`] with a name that may be borrowed for ever (no copy).
    pub(crate) fn begin_name(&mut self, root: Name) {
        self.path.clear();
        self.path.push(Seg::Field(root));
        self.size = 0;
        self.error_path = None;
        self.policy_pass = false;
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

    pub(super) fn name_sensitive(&self, name: &str) -> bool {
        self.policy.is_some_and(|p| p.is_sensitive_name(name))
    }

    /// [`Self::name_sensitive`] for names that live forever (serde's field and
    /// variant names): cached by address, no hashing of the text.
    #[inline]
    pub(super) fn static_name_sensitive(&self, name: &'static str) -> bool {
        self.policy.is_some_and(|p| p.is_sensitive_static(name))
    }

    /// The marker for a value under a sensitive name: records the reason and
    /// the type, never the value.
    pub(super) fn redacted_marker<T: ?Sized>(&mut self, name: &str) -> Value {
        self.redacted_marker_of(name, std::any::type_name::<T>())
    }

    pub(super) fn redacted_marker_of(&mut self, name: &str, type_name: &str) -> Value {
        let reason = format!("name:{name}");
        self.note_redacted(reason.clone());
        Value::Marker(Marker::Redacted {
            reason,
            type_name: type_name.to_owned(),
        })
    }

    /// The marker replacing the payload of an enum variant whose name is
    /// sensitive (`Credential::Password(..)`).
    pub(super) fn variant_marker(&mut self, variant: &'static str, type_name: &str) -> Value {
        self.path.push(Seg::Field(Name::Borrowed(variant)));
        let reason = format!("name:{variant}");
        self.note_redacted(reason.clone());
        self.path.pop();
        Value::Marker(Marker::Redacted {
            reason,
            type_name: type_name.to_owned(),
        })
    }

    /// The marker for a type skipped by the policy, if `name` is one.
    #[inline]
    pub(super) fn skipped(&mut self, name: &str) -> Option<Value> {
        match self.policy {
            Some(p) if p.skips_types() => self.skipped_slow(p, name),
            _ => None,
        }
    }

    #[cold]
    fn skipped_slow(&mut self, policy: &Policy, name: &str) -> Option<Value> {
        let m = policy.skip_type_marker(name)?;
        self.note_redacted(format!("type:{name}"));
        Some(Value::Marker(m))
    }

    /// Record what the size limit dropped here and return its marker.
    pub(super) fn dropped(&mut self, limit: u64, what: String) -> Value {
        self.note_redacted(format!("too_large:{what} (limit {limit} bytes)"));
        Value::Marker(Marker::TooLarge { limit, what })
    }

    #[inline]
    pub(super) fn grow(&mut self, n: usize) -> Result<(), EncodeError> {
        self.size += n as u64;
        match self.limit {
            Some(limit) if self.size > limit => Err(EncodeError::TooLarge { limit }),
            _ => Ok(()),
        }
    }

    /// Encode `value` one level down, at `seg`.
    fn nested<T: Serialize + ?Sized>(&mut self, seg: Seg, value: &T) -> R {
        self.path.push(seg);
        let v = value.serialize(ValueSerializer { ctx: self });
        if matches!(v, Err(EncodeError::Custom(_))) && self.error_path.is_none() {
            self.error_path = Some(self.path_text());
        }
        self.path.pop();
        v
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: Name, value: &T) -> R {
        if self.name_sensitive(&name) {
            self.path.push(Seg::Field(name.clone()));
            let m = self.redacted_marker::<T>(&name);
            self.path.pop();
            return Ok(m);
        }
        self.nested(Seg::Field(name), value)
    }
}

/// Encode `value` into a [`Value`], applying `ctx`'s policy.
///
/// Sensitive names become [`Marker::Redacted`], PII inside strings is
/// replaced by `[REDACTED:<kind>]`, skipped types become placeholders, and
/// once the size limit is reached the rest of each open sequence, map or
/// struct is replaced by a [`Marker::TooLarge`] saying what was dropped (a
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
        let body = self.ctx.nested(Seg::Field(Name::Borrowed(variant)), value)?;
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

/// Sequences, tuples, tuple structs and tuple variants. Once the size limit
/// is hit, the remaining elements are counted, not encoded, and one
/// [`Marker::TooLarge`] ends the sequence.
pub(super) struct SeqBuilder<'c, 'p> {
    ctx: &'c mut EncodeCtx<'p>,
    items: Vec<Value>,
    variant: Option<(&'static str, u32, &'static str)>,
    skipped: Option<Value>,
    dropped: usize,
    limit: u64,
}

impl<'c, 'p> SeqBuilder<'c, 'p> {
    fn new(
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
        match self.ctx.nested(Seg::Index(self.items.len()), value) {
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

pub(super) struct MapBuilder<'c, 'p> {
    ctx: &'c mut EncodeCtx<'p>,
    entries: Vec<(Value, Value)>,
    key: Option<Value>,
    /// The key of this entry was dropped: drop its value too.
    skip_value: bool,
    dropped: usize,
    limit: u64,
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
            self.ctx.path.push(Seg::Key(k.clone()));
            let m = self.ctx.redacted_marker::<T>(&k);
            self.ctx.path.pop();
            m
        } else {
            match self.ctx.nested(Seg::Key(key.key_text()), value) {
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
pub(super) struct StructBuilder<'c, 'p> {
    ctx: &'c mut EncodeCtx<'p>,
    name: &'static str,
    fields: Vec<(Name, Value)>,
    variant: Option<(u32, &'static str)>,
    skipped: Option<Value>,
    dropped: usize,
    limit: u64,
}

impl<'c, 'p> StructBuilder<'c, 'p> {
    fn new(
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

/// Hooks for `Reducible` implementations (derived or by hand): encode a part
/// under its name, index or key so the policy (sensitive names) and the path
/// (in redaction reports and `explain!`) apply to it as they do to serde types.
impl EncodeCtx<'_> {
    /// Encode the field `name` with `f`; a sensitive name gives a redaction marker instead.
    ///
    /// ```
    /// use capture_runtime::value::{EncodeCtx, Value};
    /// let mut ctx = EncodeCtx::plain();
    /// let v = ctx.field_with("qty", "u64", |_| Ok(Value::U64(3))).unwrap();
    /// assert_eq!(v, Value::U64(3));
    /// ```
    pub fn field_with(
        &mut self,
        name: &'static str,
        type_name: &str,
        f: impl FnOnce(&mut Self) -> Result<Value, EncodeError>,
    ) -> Result<Value, EncodeError> {
        if self.name_sensitive(name) {
            self.path.push(Seg::Field(Name::Borrowed(name)));
            let m = self.redacted_marker_of(name, type_name);
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
        type_name: &str,
        f: impl FnOnce(&mut Self) -> Result<Value, EncodeError>,
    ) -> Result<Value, EncodeError> {
        let text = key.key_text();
        self.path.push(Seg::Key(text.clone()));
        let v = if key.key_name().is_some_and(|n| self.name_sensitive(&n)) {
            Ok(self.redacted_marker_of(&text, type_name))
        } else {
            f(self)
        };
        self.path.pop();
        v
    }
}
