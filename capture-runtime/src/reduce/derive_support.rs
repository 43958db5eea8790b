//! Helpers called by `#[derive(Reducible)]` code (through
//! `capture_runtime::__private::derive`). Not public API.

use super::explain::{self, Route};
use super::{RebuildCtx, RebuildError};
use crate::capture::dispatch::Encoded;
use crate::value::{EncodeCtx, EncodeError, Marker, Value, Variant, VariantBody};

pub use crate::hash::NumericBuffer;
pub use crate::value::Name;

/// Turn the dispatch outcome of one part into a value: placeholders and
/// failures of a part become placeholder markers (the rest of the value is
/// kept) and mark the capture not replayable.
pub fn part(ctx: &mut EncodeCtx<'_>, type_name: &'static str, e: Encoded) -> Result<Value, EncodeError> {
    match e {
        Encoded::Value(v) => Ok(v),
        // Not produced for parts (the reducible layer turns bytes off); read
        // back as a tree should a hand-written impl ask for them.
        Encoded::Bytes(b) => crate::Codec::MsgPack
            .decode::<Value>(&b)
            .map_err(|e| EncodeError::Custom(format!("re-reading encoded part: {e}"))),
        // Only the capture path asks for appended bytes, at the top of a value.
        Encoded::Appended(_) => Err(EncodeError::Custom("internal error: part appended to no buffer".into())),
        Encoded::TooLarge(limit) => Err(EncodeError::TooLarge { limit }),
        Encoded::Placeholder { debug, reason } => Ok(placeholder_marker(ctx, type_name, debug, reason)),
        Encoded::Failed(m) => {
            explain::note(ctx, Route::Failed, type_name, || m.clone());
            explain::log_once(Route::Failed, &ctx.path_text(), type_name, &m);
            Ok(placeholder_marker(ctx, type_name, None, format!("failed: {m}")))
        }
    }
}

/// A placeholder marker for the part at the current path, recorded in the
/// report so the call is listed as not replayable, with the reason.
pub fn placeholder_marker(ctx: &mut EncodeCtx<'_>, type_name: &str, debug: Option<String>, reason: String) -> Value {
    ctx.note_redacted(format!("placeholder:{type_name}"));
    Value::Marker(Marker::Placeholder {
        type_name: type_name.to_owned(),
        debug,
        reason,
    })
}

/// A `#[reduce(placeholder)]` field: description only. With a default the
/// field is rebuilt from it, so the capture stays replayable (and `explain!`
/// says so: [`Route::Described`]); without one the capture is listed as not
/// replayable.
pub fn placeholder_field(
    ctx: &mut EncodeCtx<'_>,
    type_name: &'static str,
    debug: Option<String>,
    has_default: bool,
) -> Value {
    if has_default {
        let reason = "#[reduce(placeholder)]: described only, rebuilt from its default".to_owned();
        explain::note(ctx, Route::Described, type_name, || reason.clone());
        return Value::Marker(Marker::Placeholder {
            type_name: type_name.to_owned(),
            debug,
            reason,
        });
    }
    let reason =
        "#[reduce(placeholder)]: described only; give it #[reduce(default)] to make captures replayable".to_owned();
    explain::note(ctx, Route::Placeholder, type_name, || reason.clone());
    placeholder_marker(ctx, type_name, debug, reason)
}

/// Name of the newtype that stands for a `#[reduce(hash = sampled)]` field in
/// a cache key: its content is the field's sampled id (never a stored value).
pub const SAMPLED_FIELD: &str = "$capture:sampled";

/// A `#[reduce(hash = sampled)]` field: while a cache key is hashed, the
/// field contributes its sampled id ([`crate::hash::sampled_hash`]: length,
/// element type, shape, first/middle/last blocks and a stride sample) instead
/// of its bytes; everywhere else (captures, checkpoints, `explain!`) `exact`
/// encodes it in full, as an unmarked field.
///
/// The type bound is what makes a wrong field type a compile error at the
/// field: only numeric buffers have a sampled id.
///
/// ```
/// use capture_runtime::Reducible;
///
/// #[derive(Reducible)]
/// struct Frame {
///     label: String,
///     #[reduce(hash = sampled)]
///     pixels: Vec<f32>,
/// }
///
/// // Outside cache keys the field is encoded in full.
/// let frame = Frame { label: "a".into(), pixels: vec![0.5; 8] };
/// let v = frame.reduce(&mut capture_runtime::value::EncodeCtx::plain()).unwrap();
/// let capture_runtime::value::Value::Struct(_, fields) = v else { panic!() };
/// assert!(matches!(&fields[1].1, capture_runtime::value::Value::Seq(items) if items.len() == 8));
/// ```
pub fn sampled_field<B, F>(ctx: &mut EncodeCtx<'_>, buf: &B, exact: F) -> Result<Value, EncodeError>
where
    B: crate::hash::NumericBuffer + ?Sized,
    F: FnOnce(&mut EncodeCtx<'_>) -> Result<Value, EncodeError>,
{
    if !ctx.sampled_fields {
        return exact(ctx);
    }
    let id = crate::hash::sampled_hash(buf);
    Ok(Value::Newtype(
        Name::Borrowed(SAMPLED_FIELD),
        Box::new(Value::Bytes(id.0.to_vec())),
    ))
}

/// Note a skipped field (for `explain!`).
pub fn skipped(ctx: &mut EncodeCtx<'_>, name: &'static str, type_name: &'static str, rebuilt_from: &'static str) {
    if ctx.reduce.trace.is_none() {
        return;
    }
    let _ = ctx.field_with(name, type_name, |ctx| {
        explain::note(ctx, Route::Skipped, type_name, || {
            format!("not stored; rebuilt from {rebuilt_from}")
        });
        Ok(Value::Unit)
    });
}

/// Note a route for the part at the current path (for `explain!`).
pub fn note(ctx: &mut EncodeCtx<'_>, route: Route, type_name: &'static str, detail: &'static str) {
    explain::note(ctx, route, type_name, || detail.to_owned());
}

/// `explain` routes, for generated code.
pub use super::explain::Route as PartRoute;

/// A struct value.
pub fn struct_value(name: &'static str, fields: Vec<(Name, Value)>) -> Value {
    Value::Struct(Name::Borrowed(name), fields)
}

/// A newtype struct value.
pub fn newtype_value(name: &'static str, inner: Value) -> Value {
    Value::Newtype(Name::Borrowed(name), Box::new(inner))
}

/// An enum variant value.
pub fn variant_value(enum_name: &'static str, index: u32, variant: &'static str, body: VariantBody) -> Value {
    Value::Variant(Box::new(Variant {
        enum_name: Name::Borrowed(enum_name),
        variant: Name::Borrowed(variant),
        index,
        body,
    }))
}

pub use crate::value::VariantBody as Body;

/// The named fields of a stored struct (a `Value::Struct` in memory, a map
/// with string keys once read back from disk).
pub struct Fields<'v> {
    entries: Vec<(&'v str, &'v Value)>,
    type_name: &'static str,
}

impl<'v> Fields<'v> {
    /// The fields of `v`, or an error naming what was found instead.
    pub fn of(v: &'v Value, type_name: &'static str) -> Result<Self, RebuildError> {
        let entries = match v {
            Value::Struct(_, fields) => fields.iter().map(|(k, v)| (k.as_ref(), v)).collect(),
            Value::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    match k {
                        Value::Str(s) => out.push((s.as_str(), v)),
                        other => {
                            return Err(RebuildError::new(format!(
                                "`{type_name}`: expected field names, found a {} key",
                                other.kind_name()
                            )))
                        }
                    }
                }
                out
            }
            other => return Err(RebuildError::expected(&format!("the fields of `{type_name}`"), other)),
        };
        Ok(Fields { entries, type_name })
    }

    /// Fields of a struct variant.
    pub fn of_fields(fields: &'v [(Name, Value)], type_name: &'static str) -> Self {
        Fields {
            entries: fields.iter().map(|(k, v)| (k.as_ref(), v)).collect(),
            type_name,
        }
    }

    /// The stored field `name`, if present.
    pub fn get(&self, name: &str) -> Option<&'v Value> {
        self.entries.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }

    /// The stored field `name`, when it holds a value (not missing, not a
    /// redaction or placeholder marker): fields with a default use it.
    pub fn usable(&self, name: &str) -> Option<&'v Value> {
        match self.get(name)? {
            Value::Marker(Marker::Ref(_)) => self.get(name),
            Value::Marker(_) => None,
            v => Some(v),
        }
    }

    /// The stored field `name`, or an error saying how to cope with its absence.
    pub fn required(&self, name: &str) -> Result<&'v Value, RebuildError> {
        self.get(name).ok_or_else(|| {
            RebuildError::new(format!(
                "the capture of `{}` has no field `{name}` (the type gained it after the capture?): give the field #[reduce(default)] or re-record",
                self.type_name
            ))
        })
    }
}

/// The items of a stored tuple struct or tuple variant with `n` fields.
pub fn tuple_items<'v>(v: &'v Value, n: usize, type_name: &'static str) -> Result<&'v [Value], RebuildError> {
    match v {
        Value::Seq(items) if items.len() == n => Ok(items),
        Value::Seq(items) => Err(RebuildError::new(format!(
            "`{type_name}` has {n} fields but the capture has {}",
            items.len()
        ))),
        other => Err(RebuildError::expected(
            &format!("the {n} fields of `{type_name}`"),
            other,
        )),
    }
}

/// The inner value of a stored newtype (transparent on disk).
pub fn newtype_inner(v: &Value) -> &Value {
    match v {
        Value::Newtype(_, inner) => inner,
        other => other,
    }
}

/// A stored enum variant: its name and payload.
pub enum VariantRef<'v> {
    /// No payload.
    Unit,
    /// A payload read back from disk (or a newtype payload).
    Value(&'v Value),
    /// A tuple payload in memory.
    Tuple(&'v [Value]),
    /// A struct payload in memory.
    Struct(&'v [(Name, Value)]),
}

/// Split a stored enum value into its variant name and payload.
pub fn variant_of<'v>(v: &'v Value, type_name: &'static str) -> Result<(&'v str, VariantRef<'v>), RebuildError> {
    match v {
        Value::Variant(var) => Ok((
            var.variant.as_ref(),
            match &var.body {
                VariantBody::Unit => VariantRef::Unit,
                VariantBody::Newtype(v) => VariantRef::Value(v),
                VariantBody::Tuple(items) => VariantRef::Tuple(items),
                VariantBody::Struct(fields) => VariantRef::Struct(fields),
            },
        )),
        Value::Str(s) => Ok((s.as_str(), VariantRef::Unit)),
        Value::Map(entries) if entries.len() == 1 => match &entries[0] {
            (Value::Str(s), body) => Ok((s.as_str(), VariantRef::Value(body))),
            (k, _) => Err(RebuildError::new(format!(
                "`{type_name}`: expected a variant name, found a {}",
                k.kind_name()
            ))),
        },
        other => Err(RebuildError::expected(&format!("a variant of `{type_name}`"), other)),
    }
}

impl<'v> VariantRef<'v> {
    /// The fields of a struct variant.
    pub fn fields(&self, type_name: &'static str) -> Result<Fields<'v>, RebuildError> {
        match self {
            VariantRef::Struct(f) => Ok(Fields::of_fields(f, type_name)),
            VariantRef::Value(v) => Fields::of(v, type_name),
            _ => Err(RebuildError::new(format!("`{type_name}`: expected a struct variant"))),
        }
    }

    /// The items of a tuple variant with `n` fields.
    pub fn items(&self, n: usize, type_name: &'static str) -> Result<&'v [Value], RebuildError> {
        match self {
            VariantRef::Tuple(items) if items.len() == n => Ok(items),
            VariantRef::Value(v) => tuple_items(v, n, type_name),
            _ => Err(RebuildError::new(format!(
                "`{type_name}`: expected a tuple variant with {n} fields"
            ))),
        }
    }

    /// The payload of a newtype variant.
    pub fn newtype(&self, type_name: &'static str) -> Result<&'v Value, RebuildError> {
        match self {
            VariantRef::Value(v) => Ok(v),
            _ => Err(RebuildError::new(format!("`{type_name}`: expected a newtype variant"))),
        }
    }
}

/// The error for an unknown variant name.
pub fn unknown_variant(name: &str, type_name: &'static str, known: &[&str]) -> RebuildError {
    RebuildError::new(format!(
        "`{type_name}` has no variant `{name}` (variants: {}); was it renamed since the capture?",
        known.join(", ")
    ))
}

/// The error for a `#[reduce(placeholder)]` field without a default.
pub fn placeholder_field_error(name: &str, type_name: &'static str) -> RebuildError {
    RebuildError::new(format!(
        "not replayable: field `{name}` of `{type_name}` is #[reduce(placeholder)] and has no default; add #[reduce(default)] or #[reduce(default = \"path\")]"
    ))
    .at_field(name)
}

/// Check a stored unit struct (anything but a marker will do).
pub fn unit(v: &Value) -> Result<(), RebuildError> {
    match v {
        Value::Marker(m) if !matches!(m, Marker::Ref(_)) => Err(RebuildError::from_marker(m)),
        _ => Ok(()),
    }
}

/// Keep `cx` used in generated code that rebuilds nothing.
pub fn touch(_: &mut RebuildCtx) {}
