//! "Why can't this be captured?": which path each part of a value took
//! (Reducible / serde / registry / placeholder), field by field, and why a
//! part became a placeholder. The same lines go to the log (once per type)
//! when a capture falls back.

use std::collections::HashSet;
use std::fmt;
use std::sync::Mutex;

use crate::capture::dispatch::Encoded;
use crate::value::{EncodeCtx, Marker, Value};

/// How one part of a value was encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Through its `Reducible` impl.
    Reducible,
    /// Through serde `Serialize`.
    Serde,
    /// Through a reducer registered at run time.
    Registry,
    /// A shared pointer (`Rc`/`Arc`/`Weak`) through the memo.
    Shared,
    /// Not stored: `#[reduce(skip)]`.
    Skipped,
    /// Through a `#[reduce(with = module)]` module.
    With,
    /// Through a `#[reduce(into = Proxy)]` proxy type.
    Proxy,
    /// Only described: the value is not stored and cannot be rebuilt from the capture.
    Placeholder,
    /// The type's own code failed (error or panic); the part was replaced by a placeholder.
    Failed,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Route::Reducible => "Reducible",
            Route::Serde => "serde",
            Route::Registry => "registry",
            Route::Shared => "shared",
            Route::Skipped => "skipped",
            Route::With => "with",
            Route::Proxy => "proxy",
            Route::Placeholder => "placeholder",
            Route::Failed => "failed",
        })
    }
}

/// One line of an [`Explanation`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Path of the part (`conn.sock`, `items[2]`).
    pub path: String,
    /// `std::any::type_name` of the part.
    pub type_name: String,
    /// How it was encoded.
    pub route: Route,
    /// Details: why it became a placeholder, which module or proxy was used.
    pub detail: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "<value>" } else { &self.path };
        write!(f, "{path}: {} -> {}", self.type_name, self.route)?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

/// What [`explain!`](crate::explain!) found: one [`Note`] per part, parents first.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// The parts, in encoding order.
    pub notes: Vec<Note>,
    /// The encoded value (markers where parts were not stored), when it encoded.
    pub value: Option<Value>,
}

impl Explanation {
    /// The parts that became placeholders or failed (these make a capture not replayable).
    pub fn placeholders(&self) -> impl Iterator<Item = &Note> {
        self.notes
            .iter()
            .filter(|n| matches!(n.route, Route::Placeholder | Route::Failed))
    }

    /// The note for `path`, if that part was reached.
    pub fn at(&self, path: &str) -> Option<&Note> {
        self.notes.iter().find(|n| n.path == path)
    }

    /// Whether a capture of this value could be replayed (no placeholder,
    /// failure or redaction inside).
    pub fn is_replayable(&self) -> bool {
        self.placeholders().next().is_none()
            && self
                .value
                .as_ref()
                .is_some_and(|v| v.markers().iter().all(|(_, m)| matches!(m, Marker::Ref(_))))
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for n in &self.notes {
            writeln!(f, "{n}")?;
        }
        if self.is_replayable() {
            write!(f, "=> replayable")
        } else {
            write!(f, "=> not replayable")
        }
    }
}

/// Explain how a value would be captured: field by field, which path each
/// part took (Reducible / serde / registry / placeholder) and why a part
/// became a placeholder. Takes any expression (borrowed, never moved), and
/// resolves like `#[capture_args]` does at each argument.
///
/// ```
/// use std::sync::Mutex;
/// let text = capture_runtime::explain!(vec![1, 2]).to_string();
/// assert!(text.contains("serde"), "{text}");
/// struct Opaque;
/// let e = capture_runtime::explain!(Opaque);
/// assert!(!e.is_replayable());
/// assert!(e.to_string().contains("placeholder"));
/// ```
#[macro_export]
macro_rules! explain {
    ($value:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::dispatch::{
            ViaDebug as _, ViaOpaque as _, ViaReducible as _, ViaRegistry as _, ViaRegistryDebug as _, ViaSerde as _,
        };
        let __capture_value = &$value;
        $crate::reduce::explain::explain_with($crate::__private::type_name_of(__capture_value), |__capture_ctx| {
            (&&&&&&$crate::__private::dispatch::Wrap(__capture_value)).__capture_encode(__capture_ctx)
        })
    }};
}

/// Run an encoding with tracing on and collect the notes (used by [`explain!`](crate::explain!)).
#[doc(hidden)]
pub fn explain_with(type_name: &str, encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded) -> Explanation {
    let mut ctx = EncodeCtx::plain();
    ctx.reduce.trace = Some(Vec::new());
    let encoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| encode(&mut ctx)))
        .unwrap_or_else(|_| Encoded::Failed(format!("encoding `{type_name}` panicked")));
    let mut notes = ctx.reduce.trace.take().unwrap_or_default();
    let value = match encoded {
        Encoded::Value(v) => Some(v),
        Encoded::Bytes(b) => crate::Codec::MsgPack.decode::<Value>(&b).ok(),
        // Only the capture path asks for appended bytes.
        Encoded::Appended(_) => None,
        Encoded::Placeholder { reason, .. } => {
            if !notes.iter().any(|n| n.path.is_empty() && n.route == Route::Placeholder) {
                notes.insert(0, note_of("", type_name, Route::Placeholder, reason));
            }
            None
        }
        Encoded::TooLarge(limit) => {
            notes.push(note_of(
                "",
                type_name,
                Route::Failed,
                format!("larger than {limit} bytes"),
            ));
            None
        }
        Encoded::Failed(m) => {
            notes.push(note_of("", type_name, Route::Failed, m));
            None
        }
    };
    Explanation { notes, value }
}

fn note_of(path: &str, type_name: &str, route: Route, detail: String) -> Note {
    Note {
        path: path.to_owned(),
        type_name: type_name.to_owned(),
        route,
        detail,
    }
}

/// Record how the part at the current path was encoded (only when explaining;
/// otherwise one branch). A later note at the same path refines the earlier one.
pub(crate) fn note(ctx: &mut EncodeCtx<'_>, route: Route, type_name: &str, detail: impl FnOnce() -> String) {
    if ctx.reduce.trace.is_none() {
        return;
    }
    let path = ctx.path_text();
    // Paths are relative to the explained value: drop the argument root when one was set.
    let n = note_of(&path, type_name, route, detail());
    let trace = ctx.reduce.trace.as_mut().expect("checked");
    match trace.last_mut() {
        Some(last) if last.path == n.path => *last = n,
        _ => trace.push(n),
    }
}

/// The text logged (once per type) when a part falls back to a placeholder
/// or a registered reducer; the same wording as [`explain!`](crate::explain!).
pub(crate) fn log_once(route: Route, path: &str, type_name: &str, detail: &str) {
    static SEEN: Mutex<Option<HashSet<(String, &'static str)>>> = Mutex::new(None);
    let key = (
        type_name.to_owned(),
        match route {
            Route::Placeholder => "placeholder",
            Route::Registry => "registry",
            _ => "other",
        },
    );
    {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        let set = seen.get_or_insert_with(HashSet::new);
        if set.len() > 4096 || !set.insert(key) {
            return;
        }
    }
    let line = note_of(path, type_name, route.clone(), detail.to_owned());
    match route {
        Route::Registry => tracing::info!(target: "capture::reduce", "{line}"),
        _ => tracing::warn!(target: "capture::reduce", "{line} (logged once for this type)"),
    }
}
