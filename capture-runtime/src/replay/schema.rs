//! Schema fingerprints: a type's structure (names, field names and types,
//! variants), traced from its `Deserialize` impl with `serde-reflection`,
//! rendered as text and hashed.
//!
//! The text is both what people read in drift messages and what
//! [`super::drift`] parses to say what changed. It is one line for the root
//! type, then one line per named type it contains, sorted by name:
//!
//! ```text
//! Order
//! struct LineItem { sku: str, quantity: u32, unit_cents: u64 }
//! struct Order { id: u64, customer_email: str, items: [LineItem] }
//! ```
//!
//! Tracing runs once per type (cached by type name), so capturing pays a map
//! look-up per argument, not a trace.

use std::collections::HashMap;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::RwLock;

use serde::de::DeserializeOwned;

use crate::record::Schema;

/// Build a [`Schema`] from its description: the fingerprint is the first 16
/// hex characters of the SHA-256 of the text.
///
/// ```
/// use capture_runtime::replay::schema::from_description;
/// let s = from_description("u32".into());
/// assert_eq!(s.fingerprint.len(), 16);
/// assert_eq!(s, from_description("u32".into()));
/// ```
pub fn from_description(description: String) -> Schema {
    let fingerprint = crate::ContentId::of(description.as_bytes()).short(16);
    Schema {
        fingerprint,
        description,
    }
}

// Keyed by type name rather than `TypeId` so that probes work for types that
// are not `'static` (generic methods of `impl<T> Svc<T>` blocks), where trait
// selection, which ignores lifetimes, would otherwise pick a `'static` layer
// and fail to compile. Each type's answer is leaked once, as a `Known`.
static CACHE: RwLock<Option<HashMap<&'static str, &'static Known>>> = RwLock::new(None);

/// One type's traced schema (or that it has none).
struct Known {
    name: &'static str,
    schema: Option<&'static Schema>,
}

/// The hot path's cache in front of [`CACHE`]: `Known`s by the address of
/// the type name (a `'static` string), one atomic load per probe, no hashing
/// of the name, no lock. A slot holds one of the leaked `Known`s, so
/// replacing it on a collision leaks nothing.
static RECENT: [AtomicPtr<Known>; 256] = [const { AtomicPtr::new(std::ptr::null_mut()) }; 256];

fn recent_slot(name: &'static str) -> &'static AtomicPtr<Known> {
    let addr = name.as_ptr() as u64 ^ name.len() as u64;
    &RECENT[(addr.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize]
}

/// The schema of `T`, traced once per process and cached; `None` when the
/// type cannot be traced (custom `Deserialize` impls that need real input,
/// `#[serde(flatten)]`, untagged enums, two types sharing a name) or when the
/// `schema` feature is off.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Point { x: i32, y: i32 }
/// let s = capture_runtime::replay::schema::schema_of::<Point>().unwrap();
/// assert_eq!(s.description, "Point\nstruct Point { x: i32, y: i32 }");
/// ```
pub fn schema_of<T: DeserializeOwned>() -> Option<&'static Schema> {
    let id = std::any::type_name::<T>();
    let slot = recent_slot(id);
    // SAFETY: slots only ever hold pointers to leaked (never freed) `Known`s.
    if let Some(k) = unsafe { slot.load(Ordering::Acquire).as_ref() } {
        if std::ptr::eq(k.name, id) || k.name == id {
            return k.schema;
        }
    }
    let known = known::<T>(id);
    slot.store(known as *const Known as *mut Known, Ordering::Release);
    known.schema
}

#[cold]
fn known<T: DeserializeOwned>(id: &'static str) -> &'static Known {
    if let Some(map) = CACHE.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        if let Some(k) = map.get(&id) {
            return k;
        }
    }
    // Tracing runs the type's `Deserialize`, which may call captured
    // functions (constructors): they run, but are not captured.
    let _inside = crate::capture::reentry::Inside::enter();
    let traced = std::panic::catch_unwind(trace::<T>)
        .ok()
        .flatten()
        .map(|d| &*Box::leak(Box::new(from_description(d))));
    let mut guard = CACHE.write().unwrap_or_else(|e| e.into_inner());
    guard.get_or_insert_with(HashMap::new).entry(id).or_insert_with(|| {
        Box::leak(Box::new(Known {
            name: id,
            schema: traced,
        }))
    })
}

/// The schema of `[T]` as captured from a slice argument (same as `Vec<T>`).
pub fn schema_of_slice<T: DeserializeOwned>() -> Option<&'static Schema> {
    schema_of::<Vec<T>>()
}

#[cfg(feature = "schema")]
fn trace<T: DeserializeOwned>() -> Option<String> {
    use serde_reflection::{Error, Samples, Tracer, TracerConfig};
    let samples = Samples::new();
    // A nested enum is explored one variant per pass, and only while it is not
    // marked incomplete: learn the enum names from a first attempt, then clear
    // their marks between passes until every variant is known (bounded).
    let mut enums = std::collections::BTreeSet::<String>::new();
    for _attempt in 0..16 {
        let mut tracer = Tracer::new(TracerConfig::default());
        let mut root = None;
        for _pass in 0..256 {
            root = Some(tracer.trace_type::<T>(&samples).ok()?.0);
            let mut progressed = false;
            for name in &enums {
                progressed |= tracer.check_incomplete_enum(name).is_some();
            }
            if !progressed {
                break;
            }
        }
        match tracer.registry() {
            Ok(registry) => return Some(render::describe(&root?, &registry)),
            Err(Error::MissingVariants(names)) => {
                let before = enums.len();
                enums.extend(names);
                if enums.len() == before {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
    None
}

#[cfg(not(feature = "schema"))]
fn trace<T: DeserializeOwned>() -> Option<String> {
    None
}

#[cfg(feature = "schema")]
mod render {
    use serde_reflection::{ContainerFormat, Format, Named, Registry, VariantFormat};

    pub(super) fn describe(root: &Format, registry: &Registry) -> String {
        let mut out = format(root);
        for (name, c) in registry {
            out.push('\n');
            out.push_str(&container(name, c));
        }
        out
    }

    fn list(items: &[Format]) -> String {
        items.iter().map(format).collect::<Vec<_>>().join(", ")
    }

    fn fields(items: &[Named<Format>]) -> String {
        items
            .iter()
            .map(|f| format!("{}: {}", f.name, format(&f.value)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn container(name: &str, c: &ContainerFormat) -> String {
        match c {
            ContainerFormat::UnitStruct => format!("struct {name}"),
            ContainerFormat::NewTypeStruct(f) => format!("struct {name}({})", format(f)),
            ContainerFormat::TupleStruct(fs) => format!("struct {name}({})", list(fs)),
            ContainerFormat::Struct(fs) => format!("struct {name} {{ {} }}", fields(fs)),
            ContainerFormat::Enum(variants) => {
                let vs: Vec<String> = variants
                    .values()
                    .map(|v| match &v.value {
                        VariantFormat::Unit | VariantFormat::Variable(_) => v.name.clone(),
                        VariantFormat::NewType(f) => format!("{}({})", v.name, format(f)),
                        VariantFormat::Tuple(fs) => format!("{}({})", v.name, list(fs)),
                        VariantFormat::Struct(fs) => format!("{} {{ {} }}", v.name, fields(fs)),
                    })
                    .collect();
                format!("enum {name} {{ {} }}", vs.join(", "))
            }
        }
    }

    fn format(f: &Format) -> String {
        match f {
            Format::Variable(_) => "?".into(),
            Format::TypeName(n) => n.clone(),
            Format::Unit => "()".into(),
            Format::Bool => "bool".into(),
            Format::I8 => "i8".into(),
            Format::I16 => "i16".into(),
            Format::I32 => "i32".into(),
            Format::I64 => "i64".into(),
            Format::I128 => "i128".into(),
            Format::U8 => "u8".into(),
            Format::U16 => "u16".into(),
            Format::U32 => "u32".into(),
            Format::U64 => "u64".into(),
            Format::U128 => "u128".into(),
            Format::F32 => "f32".into(),
            Format::F64 => "f64".into(),
            Format::Char => "char".into(),
            Format::Str => "str".into(),
            Format::Bytes => "bytes".into(),
            Format::Option(f) => format!("Option<{}>", format(f)),
            Format::Seq(f) => format!("[{}]", format(f)),
            Format::Map { key, value } => format!("{{{}: {}}}", format(key), format(value)),
            Format::Tuple(fs) => format!("({})", list(fs)),
            Format::TupleArray { content, size } => format!("[{}; {size}]", format(content)),
        }
    }
}

/// Autoref probes used by generated code: the schema of a captured value's
/// type when it has one (`DeserializeOwned`, `str`, `[T]`), else `None`.
#[doc(hidden)]
pub mod probe {
    use super::*;

    /// Wraps a borrowed value for the probe.
    pub struct SchemaOf<'a, T: ?Sized>(pub &'a T);

    /// Layer 1: a traceable sized type.
    pub trait ViaTrace {
        /// The schema.
        fn __capture_schema(&self) -> Option<&'static Schema>;
    }
    impl<T: DeserializeOwned> ViaTrace for &&SchemaOf<'_, T> {
        fn __capture_schema(&self) -> Option<&'static Schema> {
            schema_of::<T>()
        }
    }

    /// Layer 2: `str` (rebuilt as `String`).
    pub trait ViaStr {
        /// The schema.
        fn __capture_schema(&self) -> Option<&'static Schema>;
    }
    impl ViaStr for &SchemaOf<'_, str> {
        fn __capture_schema(&self) -> Option<&'static Schema> {
            schema_of::<String>()
        }
    }

    /// Layer 2: `[T]` (rebuilt as `Vec<T>`).
    pub trait ViaSlice {
        /// The schema.
        fn __capture_schema(&self) -> Option<&'static Schema>;
    }
    impl<T: DeserializeOwned> ViaSlice for &SchemaOf<'_, [T]> {
        fn __capture_schema(&self) -> Option<&'static Schema> {
            schema_of_slice::<T>()
        }
    }

    /// Layer 3: no schema.
    pub trait ViaNone {
        /// `None`.
        fn __capture_schema(&self) -> Option<&'static Schema>;
    }
    impl<T: ?Sized> ViaNone for SchemaOf<'_, T> {
        fn __capture_schema(&self) -> Option<&'static Schema> {
            None
        }
    }

    /// Names a type (not a value) for the probe, in replay adapters.
    pub struct SchemaFor<T: ?Sized>(pub std::marker::PhantomData<fn() -> Box<T>>);

    impl<T: ?Sized> SchemaFor<T> {
        /// A probe for `T`.
        #[allow(clippy::new_without_default)]
        pub fn new() -> Self {
            SchemaFor(std::marker::PhantomData)
        }
    }

    /// Layer 1 by type.
    pub trait TypeViaTrace {
        /// The schema.
        fn __capture_schema(&self) -> Option<&'static Schema>;
    }
    impl<T: DeserializeOwned> TypeViaTrace for &SchemaFor<T> {
        fn __capture_schema(&self) -> Option<&'static Schema> {
            schema_of::<T>()
        }
    }

    /// Layer 2 by type: no schema.
    pub trait TypeViaNone {
        /// `None`.
        fn __capture_schema(&self) -> Option<&'static Schema>;
    }
    impl<T: ?Sized> TypeViaNone for SchemaFor<T> {
        fn __capture_schema(&self) -> Option<&'static Schema> {
            None
        }
    }
}

#[cfg(all(test, feature = "schema"))]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Deserialize)]
    enum Status {
        Pending,
        Paid(u64),
        Refunded { amount: u64, reason: Option<String> },
    }

    #[allow(dead_code)]
    #[derive(Deserialize)]
    struct Line {
        sku: String,
        status: Status,
        tags: Vec<(u8, char)>,
    }

    #[test]
    fn nested_enums_and_containers_are_described_completely() {
        let s = schema_of::<Vec<Line>>().expect("traceable");
        assert_eq!(
            s.description,
            "[Line]\nstruct Line { sku: str, status: Status, tags: [(u8, char)] }\n\
             enum Status { Pending, Paid(u64), Refunded { amount: u64, reason: Option<str> } }"
        );
        assert!(std::ptr::eq(s, schema_of::<Vec<Line>>().unwrap()), "cached");
    }

    #[test]
    fn primitives_have_schemas_and_distinct_fingerprints() {
        let a = schema_of::<u32>().unwrap();
        let b = schema_of::<String>().unwrap();
        assert_eq!(a.description, "u32");
        assert_eq!(b.description, "str");
        assert_ne!(a.fingerprint, b.fingerprint);
    }

    #[test]
    #[allow(clippy::needless_borrow)]
    fn probes_pick_the_best_layer() {
        #[allow(unused_imports)]
        use probe::{SchemaOf, ViaNone as _, ViaSlice as _, ViaStr as _, ViaTrace as _};
        let text: &str = "x";
        assert_eq!((&&SchemaOf(text)).__capture_schema().unwrap().description, "str");
        let xs: &[u16] = &[1];
        assert_eq!((&&SchemaOf(xs)).__capture_schema().unwrap().description, "[u16]");
        struct Opaque;
        assert!((&&SchemaOf(&Opaque)).__capture_schema().is_none());
    }
}
