//! The captured-value tree.
//!
//! Every argument is first turned into a [`Value`] (by its `Serialize` impl, its
//! `Reducible` impl or a registered reducer), with redaction and canonical map
//! order applied while the tree is built, then written to the wire by
//! [`Value`]'s own `Serialize`, which emits exactly what the original type's
//! `Serialize` would have emitted (structs as maps of field names, enums
//! externally tagged). A type's `Deserialize` therefore rebuilds it straight
//! from the stored bytes.

mod ctx;
mod de;
mod mp_write;
mod msgpack;
pub(crate) mod path;
mod policy_pass;
mod ser;
mod wire;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

pub use ctx::{EncodeCtx, EncodeReport, MAX_DEPTH};
pub use msgpack::to_msgpack;
pub(crate) use msgpack::to_msgpack_reused;
pub use ser::{to_value, EncodeError};

/// A struct, field, enum or variant name: borrowed from serde when capturing,
/// owned when read back from disk.
pub type Name = Cow<'static, str>;

/// An encoded value, shaped like the serde data model.
///
/// ```
/// use capture_runtime::value::{to_value, EncodeCtx, Value};
/// let v = to_value(&vec![1u8, 2], &mut EncodeCtx::plain()).unwrap();
/// assert_eq!(v, Value::Seq(vec![Value::U64(1), Value::U64(2)]));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `()`, unit structs and `None`-like nils.
    Unit,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A 128-bit signed integer.
    I128(i128),
    /// A 128-bit unsigned integer.
    U128(u128),
    /// A 32-bit float.
    F32(f32),
    /// A 64-bit float.
    F64(f64),
    /// A char.
    Char(char),
    /// A string.
    Str(String),
    /// A byte string.
    Bytes(Vec<u8>),
    /// `Option` (`None` is `Option(None)`).
    Option(Option<Box<Value>>),
    /// Sequences, tuples and tuple structs.
    Seq(Vec<Value>),
    /// A map, entries in canonical key order.
    Map(Vec<(Value, Value)>),
    /// A struct with named fields, in declaration order.
    Struct(Name, Vec<(Name, Value)>),
    /// A newtype struct (transparent on the wire).
    Newtype(Name, Box<Value>),
    /// An enum variant.
    Variant(Box<Variant>),
    /// Something that stands in for a value that was not stored.
    Marker(Marker),
}

/// An enum variant and its payload.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// The enum's name.
    pub enum_name: Name,
    /// The variant's name.
    pub variant: Name,
    /// The variant's index.
    pub index: u32,
    /// The payload.
    pub body: VariantBody,
}

/// The payload of an enum variant.
#[derive(Clone, Debug, PartialEq)]
pub enum VariantBody {
    /// `E::A`
    Unit,
    /// `E::A(x)`
    Newtype(Value),
    /// `E::A(x, y)`
    Tuple(Vec<Value>),
    /// `E::A { x, y }`
    Struct(Vec<(Name, Value)>),
}

/// What stands where a value was not stored.
///
/// Markers never contain the value they replace, nor a reversible hash of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Marker {
    /// A sensitive value (by name or by content) that was redacted.
    Redacted {
        /// Why: `name:password` (a sensitive field or map key).
        reason: String,
        /// `std::any::type_name` of the value that was redacted (empty when
        /// read from a store written before this field existed).
        type_name: String,
    },
    /// A value that cannot be encoded: its type name and `Debug` text if any.
    Placeholder {
        /// `std::any::type_name` of the value.
        type_name: String,
        /// Capped `Debug` output, when the type has one and it is not sensitive.
        debug: Option<String>,
        /// Why it could not be encoded.
        reason: String,
    },
    /// A value dropped because it was larger than the size limit.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// What was dropped.
        what: String,
    },
    /// A reference to a shared value (`Rc`/`Arc`) recorded earlier in the same capture.
    Ref(u32),
}

impl Marker {
    /// Short, human-readable description (never contains the value).
    pub fn describe(&self) -> String {
        match self {
            Marker::Redacted { reason, type_name } if type_name.is_empty() => format!("redacted ({reason})"),
            Marker::Redacted { reason, type_name } => format!("redacted `{type_name}` ({reason})"),
            Marker::Placeholder { type_name, reason, .. } => {
                format!("placeholder for `{type_name}` ({reason})")
            }
            Marker::TooLarge { limit, what } => {
                format!("{what} dropped: larger than {limit} bytes")
            }
            Marker::Ref(id) => format!("reference to shared value #{id}"),
        }
    }
}

impl Value {
    /// Every marker in this tree, with its path (`order.items[2].card`).
    pub fn markers(&self) -> Vec<(String, &Marker)> {
        let mut out = Vec::new();
        self.walk_markers(&mut String::new(), &mut out);
        out
    }

    fn walk_markers<'a>(&'a self, path: &mut String, out: &mut Vec<(String, &'a Marker)>) {
        let len = path.len();
        match self {
            Value::Marker(m) => out.push((path.clone(), m)),
            Value::Option(Some(v)) | Value::Newtype(_, v) => v.walk_markers(path, out),
            Value::Seq(items) => {
                for (i, v) in items.iter().enumerate() {
                    path.push_str(&format!("[{i}]"));
                    v.walk_markers(path, out);
                    path.truncate(len);
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    path.push_str(&format!("[{}]", k.key_text()));
                    v.walk_markers(path, out);
                    path.truncate(len);
                }
            }
            Value::Struct(_, fields) => walk_fields(fields, path, out),
            Value::Variant(var) => match &var.body {
                VariantBody::Unit => {}
                VariantBody::Newtype(v) => v.walk_markers(path, out),
                VariantBody::Tuple(items) => {
                    for (i, v) in items.iter().enumerate() {
                        path.push_str(&format!(".{i}"));
                        v.walk_markers(path, out);
                        path.truncate(len);
                    }
                }
                VariantBody::Struct(fields) => walk_fields(fields, path, out),
            },
            _ => {}
        }
    }

    /// The name a map key stands for, checked against the sensitive names:
    /// a string or char, a newtype around one (`struct HeaderName(String)`),
    /// or a unit enum variant (`Field::Password`). Each of these is just that
    /// string on the wire. Other keys (numbers, tuples, ...) name nothing.
    ///
    /// ```
    /// use capture_runtime::value::{to_value, EncodeCtx, Value};
    /// #[derive(serde::Serialize)]
    /// struct HeaderName(String);
    /// #[derive(serde::Serialize)]
    /// enum Field { Password }
    /// let key = |v: Value| v.key_name().map(|n| n.into_owned());
    /// let mut ctx = EncodeCtx::plain();
    /// let header = to_value(&HeaderName("X-Api-Key".into()), &mut ctx).unwrap();
    /// assert_eq!(key(header).as_deref(), Some("X-Api-Key"));
    /// assert_eq!(key(to_value(&Field::Password, &mut ctx).unwrap()).as_deref(), Some("Password"));
    /// assert_eq!(key(Value::U64(7)), None);
    /// ```
    pub fn key_name(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Char(c) => Some(Cow::Owned(c.to_string())),
            Value::Newtype(_, inner) => inner.key_name(),
            Value::Variant(v) if matches!(v.body, VariantBody::Unit) => Some(Cow::Borrowed(&v.variant)),
            _ => None,
        }
    }

    /// Text used for a map key in paths and messages.
    pub fn key_text(&self) -> String {
        if let Some(name) = self.key_name() {
            return name.into_owned();
        }
        match self {
            Value::I64(n) => n.to_string(),
            Value::U64(n) => n.to_string(),
            other => format!("{other:?}"),
        }
    }

    /// Total order used to sort map entries canonically (so `HashMap`
    /// iteration order never changes a content id).
    pub fn canonical_cmp(&self, other: &Value) -> Ordering {
        fn rank(v: &Value) -> u8 {
            match v {
                Value::Unit => 0,
                Value::Bool(_) => 1,
                Value::I64(_) | Value::U64(_) | Value::I128(_) | Value::U128(_) => 2,
                Value::F32(_) | Value::F64(_) => 3,
                Value::Char(_) | Value::Str(_) => 4,
                Value::Bytes(_) => 5,
                Value::Option(_) => 6,
                Value::Seq(_) => 7,
                Value::Map(_) => 8,
                Value::Struct(..) => 9,
                Value::Newtype(..) => 10,
                Value::Variant(_) => 11,
                Value::Marker(_) => 12,
            }
        }
        fn int(v: &Value) -> Option<i128> {
            match *v {
                Value::I64(n) => Some(n as i128),
                Value::U64(n) => Some(n as i128),
                Value::I128(n) => Some(n),
                Value::U128(n) => i128::try_from(n).ok(),
                _ => None,
            }
        }
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::F32(a), Value::F32(b)) => a.total_cmp(b),
            (Value::F64(a), Value::F64(b)) => a.total_cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::Char(a), Value::Char(b)) => a.cmp(b),
            (Value::Bytes(a), Value::Bytes(b)) => a.cmp(b),
            (Value::Option(a), Value::Option(b)) => match (a, b) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) => a.canonical_cmp(b),
            },
            (Value::Seq(a), Value::Seq(b)) => cmp_iter(a.iter(), b.iter()),
            (Value::Newtype(_, a), Value::Newtype(_, b)) => a.canonical_cmp(b),
            (a, b) if rank(a) == 2 && rank(b) == 2 => match (int(a), int(b)) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => format!("{a:?}").cmp(&format!("{b:?}")),
            },
            (a, b) if rank(a) != rank(b) => rank(a).cmp(&rank(b)),
            // Rare composite keys: fall back to a stable textual order.
            (a, b) => format!("{a:?}").cmp(&format!("{b:?}")),
        }
    }

    /// A short name of this value's shape (`struct Order`, `seq`, `str`), for messages.
    pub fn kind_name(&self) -> String {
        match self {
            Value::Unit => "unit".into(),
            Value::Bool(_) => "bool".into(),
            Value::I64(_) | Value::I128(_) => "signed integer".into(),
            Value::U64(_) | Value::U128(_) => "unsigned integer".into(),
            Value::F32(_) | Value::F64(_) => "float".into(),
            Value::Char(_) => "char".into(),
            Value::Str(_) => "string".into(),
            Value::Bytes(_) => "bytes".into(),
            Value::Option(_) => "option".into(),
            Value::Seq(_) => "sequence".into(),
            Value::Map(_) => "map".into(),
            Value::Struct(n, _) => format!("struct {n}"),
            Value::Newtype(n, _) => format!("newtype {n}"),
            Value::Variant(v) => format!("variant {}::{}", v.enum_name, v.variant),
            Value::Marker(m) => m.describe(),
        }
    }
}

fn walk_fields<'a>(fields: &'a [(Name, Value)], path: &mut String, out: &mut Vec<(String, &'a Marker)>) {
    let len = path.len();
    for (name, v) in fields {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(name);
        v.walk_markers(path, out);
        path.truncate(len);
    }
}

fn cmp_iter<'a>(mut a: impl Iterator<Item = &'a Value>, mut b: impl Iterator<Item = &'a Value>) -> Ordering {
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match x.canonical_cmp(y) {
                Ordering::Equal => continue,
                o => return o,
            },
        }
    }
}

impl fmt::Display for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}
