//! The rebuild side: errors with paths, the per-call context of shared
//! values, and `from_value` for serde types inside reducible ones.

use std::any::Any;
use std::collections::{HashMap, HashSet};

use serde::de::DeserializeOwned;

use crate::value::{Marker, Value};

/// Why a value could not be rebuilt: what went wrong and where.
///
/// ```
/// use capture_runtime::reduce::RebuildError;
/// let e = RebuildError::new("expected a number").at_field("qty").at_field("order");
/// assert_eq!(e.to_string(), "at order.qty: expected a number");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct RebuildError {
    /// What went wrong.
    pub message: String,
    /// Where, outermost first (`order`, `items`, `[2]`).
    pub path: Vec<String>,
}

impl RebuildError {
    /// A rebuild error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        RebuildError {
            message: message.into(),
            path: Vec::new(),
        }
    }

    /// "expected {what}, found {the value's shape}"; for markers, says why
    /// the part was not stored.
    pub fn expected(what: &str, found: &Value) -> Self {
        match found {
            Value::Marker(m) => RebuildError::from_marker(m),
            other => RebuildError::new(format!("expected {what}, found {}", other.kind_name())),
        }
    }

    /// The error for a part that was not stored (redacted, placeholder, too large).
    pub fn from_marker(m: &Marker) -> Self {
        RebuildError::new(format!(
            "not replayable: this part was not stored: {} (give the field #[reduce(default)] to rebuild it from a default)",
            m.describe()
        ))
    }

    /// Prefix the path with a field name.
    pub fn at_field(mut self, name: &str) -> Self {
        self.path.insert(0, name.to_owned());
        self
    }

    /// Prefix the path with an index.
    pub fn at_index(mut self, index: usize) -> Self {
        self.path.insert(0, format!("[{index}]"));
        self
    }

    fn render(&self) -> String {
        if self.path.is_empty() {
            return self.message.clone();
        }
        let mut p = String::new();
        for seg in &self.path {
            if !p.is_empty() && !seg.starts_with('[') {
                p.push('.');
            }
            p.push_str(seg);
        }
        format!("at {p}: {}", self.message)
    }
}

pub(crate) enum SharedEntry {
    /// Being rebuilt: holds the `Weak` handed out by `Rc::new_cyclic`.
    Pending(Box<dyn Any>),
    /// Rebuilt: holds the `Rc`/`Arc` (which also keeps it alive while the context lives).
    Done(Box<dyn Any>),
}

/// State of one rebuild: shared values (`Rc`/`Arc`) already rebuilt, by the
/// id they were recorded under. Use one context for every argument of a call
/// (in declaration order) so that arguments sharing a value get one value.
///
/// The context keeps every rebuilt shared value alive while it lives: a
/// `Weak` whose target is held only by the context (the target was held
/// outside the captured arguments at capture time) dies with the context.
///
/// ```
/// use std::rc::Rc;
/// use capture_runtime::reduce::{RebuildCtx, Reducible};
/// use capture_runtime::value::EncodeCtx;
/// let shared = Rc::new(String::from("one"));
/// let mut ctx = EncodeCtx::plain();
/// let a = shared.reduce(&mut ctx).unwrap();
/// let b = shared.reduce(&mut ctx).unwrap(); // a reference to `a`
/// let mut cx = RebuildCtx::new();
/// let ra = <Rc<String>>::rebuild(&a, &mut cx).unwrap();
/// let rb = <Rc<String>>::rebuild(&b, &mut cx).unwrap();
/// assert!(Rc::ptr_eq(&ra, &rb));
/// ```
#[derive(Default)]
pub struct RebuildCtx {
    pub(crate) shared: HashMap<u32, SharedEntry>,
    /// Ids whose definition contains a reference back to them (a cycle).
    pub(crate) cyclic: HashSet<u32>,
    /// Ids whose definitions were scanned for cycles.
    pub(crate) scanned: HashSet<u32>,
}

impl RebuildCtx {
    /// A fresh context.
    pub fn new() -> Self {
        RebuildCtx::default()
    }

    /// How many shared values were rebuilt so far.
    pub fn shared_count(&self) -> usize {
        self.shared.len()
    }
}

impl std::fmt::Debug for RebuildCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RebuildCtx")
            .field("shared", &self.shared.len())
            .finish()
    }
}

/// Rebuild a serde type from a value tree (for serde types inside reducible
/// ones). Markers give an error saying why the part was not stored.
///
/// ```
/// use capture_runtime::reduce::from_value;
/// use capture_runtime::value::Value;
/// let v = Value::Seq(vec![Value::U64(1), Value::U64(2)]);
/// assert_eq!(from_value::<Vec<u8>>(&v).unwrap(), vec![1, 2]);
/// ```
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, RebuildError> {
    if let Some((path, m)) = value.markers().into_iter().find(|(_, m)| !matches!(m, Marker::Ref(_))) {
        let e = RebuildError::from_marker(m);
        return Err(if path.is_empty() { e } else { e.at_field(&path) });
    }
    let bytes = rmp_serde::to_vec_named(value).map_err(|e| RebuildError::new(e.to_string()))?;
    rmp_serde::from_slice(&bytes).map_err(|e| RebuildError::new(e.to_string()))
}
