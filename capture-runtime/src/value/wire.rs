//! `Serialize` for [`Value`]: emit what the original type would have emitted.
//!
//! Structs become maps keyed by field name (rmp-serde's `with_struct_map`
//! layout, and JSON's), newtypes are transparent, enums are externally tagged
//! (a unit variant is its name, any other variant a one-entry map). Markers are
//! maps with a `$capture` key, which no user type produces by accident.

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

use super::{Marker, Name, Value, VariantBody};

/// The key that identifies a marker map on the wire.
pub(crate) const MARKER_KEY: &str = "$capture";

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Unit => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::I64(n) => s.serialize_i64(*n),
            Value::U64(n) => s.serialize_u64(*n),
            Value::I128(n) => s.serialize_i128(*n),
            Value::U128(n) => s.serialize_u128(*n),
            Value::F32(n) => s.serialize_f32(*n),
            Value::F64(n) => s.serialize_f64(*n),
            Value::Char(c) => s.serialize_char(*c),
            Value::Str(v) => s.serialize_str(v),
            Value::Bytes(b) => s.serialize_bytes(b),
            Value::Option(None) => s.serialize_none(),
            Value::Option(Some(v)) => s.serialize_some(v.as_ref()),
            Value::Seq(items) => seq(s, items),
            Value::Map(entries) => {
                let mut m = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Value::Struct(_, fields) => fields_map(s, fields),
            Value::Newtype(_, v) => v.serialize(s),
            Value::Variant(var) => match &var.body {
                VariantBody::Unit => s.serialize_str(&var.variant),
                VariantBody::Newtype(v) => tagged(s, &var.variant, v),
                VariantBody::Tuple(items) => tagged(s, &var.variant, &SeqRef(items)),
                VariantBody::Struct(fields) => tagged(s, &var.variant, &FieldsRef(fields)),
            },
            Value::Marker(marker) => marker.serialize(s),
        }
    }
}

impl Serialize for Marker {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Marker::Redacted { reason, type_name } => {
                m.serialize_entry(MARKER_KEY, "redacted")?;
                m.serialize_entry("reason", reason)?;
                m.serialize_entry("type", type_name)?;
            }
            Marker::Placeholder {
                type_name,
                debug,
                reason,
            } => {
                m.serialize_entry(MARKER_KEY, "placeholder")?;
                m.serialize_entry("type", type_name)?;
                m.serialize_entry("debug", debug)?;
                m.serialize_entry("reason", reason)?;
            }
            Marker::TooLarge { limit, what } => {
                m.serialize_entry(MARKER_KEY, "too_large")?;
                m.serialize_entry("limit", limit)?;
                m.serialize_entry("what", what)?;
            }
            Marker::Ref(id) => {
                m.serialize_entry(MARKER_KEY, "ref")?;
                m.serialize_entry("id", id)?;
            }
        }
        m.end()
    }
}

fn seq<S: Serializer>(s: S, items: &[Value]) -> Result<S::Ok, S::Error> {
    let mut q = s.serialize_seq(Some(items.len()))?;
    for v in items {
        q.serialize_element(v)?;
    }
    q.end()
}

fn fields_map<S: Serializer>(s: S, fields: &[(Name, Value)]) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(fields.len()))?;
    for (k, v) in fields {
        m.serialize_entry(k.as_ref(), v)?;
    }
    m.end()
}

fn tagged<S: Serializer, T: Serialize + ?Sized>(s: S, tag: &str, body: &T) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(1))?;
    m.serialize_entry(tag, body)?;
    m.end()
}

struct SeqRef<'a>(&'a [Value]);
impl Serialize for SeqRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        seq(s, self.0)
    }
}

struct FieldsRef<'a>(&'a [(Name, Value)]);
impl Serialize for FieldsRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        fields_map(s, self.0)
    }
}
