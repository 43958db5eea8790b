//! Untyped reading of stored values (for inspection, `explain` and drift
//! messages). Struct and enum names are not on the wire, so structs read back
//! as maps; marker maps are recognised and read back as [`Marker`]s.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::wire::MARKER_KEY;
use super::{Marker, Value};

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any stored value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::I64(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::U64(v))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::I128(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(Value::U128(v))
    }
    fn visit_f32<E>(self, v: f32) -> Result<Value, E> {
        Ok(Value::F32(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::F64(v))
    }
    fn visit_char<E>(self, v: char) -> Result<Value, E> {
        Ok(Value::Char(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Unit)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Option(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Ok(Value::Option(Some(Box::new(Value::deserialize(d)?))))
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(a.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = a.next_element()? {
            items.push(v);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(Value, Value)> = Vec::with_capacity(a.size_hint().unwrap_or(0).min(4096));
        while let Some(kv) = a.next_entry()? {
            entries.push(kv);
        }
        Ok(marker_from_map(&entries)
            .map(Value::Marker)
            .unwrap_or(Value::Map(entries)))
    }
}

fn marker_from_map(entries: &[(Value, Value)]) -> Option<Marker> {
    let get = |key: &str| {
        entries.iter().find_map(|(k, v)| match k {
            Value::Str(s) if s == key => Some(v),
            _ => None,
        })
    };
    let text = |key: &str| match get(key) {
        Some(Value::Str(s)) => s.clone(),
        _ => String::new(),
    };
    let Some(Value::Str(kind)) = get(MARKER_KEY) else {
        return None;
    };
    Some(match kind.as_str() {
        "redacted" => Marker::Redacted {
            reason: text("reason"),
            type_name: text("type"),
        },
        "placeholder" => Marker::Placeholder {
            type_name: text("type"),
            debug: match get("debug") {
                Some(Value::Str(s)) => Some(s.clone()),
                Some(Value::Option(Some(v))) => match v.as_ref() {
                    Value::Str(s) => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            },
            reason: text("reason"),
        },
        "too_large" => Marker::TooLarge {
            limit: match get("limit") {
                Some(Value::U64(n)) => *n,
                _ => 0,
            },
            what: text("what"),
        },
        "ref" => Marker::Ref(match get("id") {
            Some(Value::U64(n)) => *n as u32,
            _ => 0,
        }),
        _ => return None,
    })
}
