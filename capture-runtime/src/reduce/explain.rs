//! "Why can't this be captured?": which path each part of a value took
//! (Reducible / serde / registry / placeholder), field by field, and why a
//! part became a placeholder. The same lines go to the log (once per type)
//! when a capture falls back.

use std::collections::HashSet;
use std::fmt;
use std::sync::Mutex;

use super::Reducible;
use crate::capture::dispatch::Encoded;
use crate::value::{EncodeCtx, Value};

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
    /// Only described (`#[reduce(placeholder, default)]`): not stored, but
    /// rebuilt from the field's default, so the capture stays replayable.
    Described,
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
            Route::Described => "placeholder, rebuilt from its default",
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
    /// The parts a capture would list as not stored (path, reason), exactly
    /// as it records them for a captured argument: a capture with any of
    /// these is listed as not replayable.
    pub unstored: Vec<(String, String)>,
}

impl Explanation {
    /// The parts that became placeholders or failed (these make a capture
    /// not replayable). A `#[reduce(placeholder, default)]` field is not one
    /// of them: it is rebuilt from its default ([`Route::Described`]).
    pub fn placeholders(&self) -> impl Iterator<Item = &Note> {
        self.notes
            .iter()
            .filter(|n| matches!(n.route, Route::Placeholder | Route::Failed))
    }

    /// The note for `path`, if that part was reached.
    pub fn at(&self, path: &str) -> Option<&Note> {
        self.notes.iter().find(|n| n.path == path)
    }

    /// Whether a capture of this value would be replayable: it encoded, and
    /// no part became a placeholder, failed, or was otherwise not stored (the
    /// same test a capture applies to an argument).
    pub fn is_replayable(&self) -> bool {
        self.value.is_some() && self.placeholders().next().is_none() && self.unstored.is_empty()
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for n in &self.notes {
            writeln!(f, "{n}")?;
        }
        if self.is_replayable() {
            return write!(f, "=> replayable");
        }
        write!(f, "=> not replayable")?;
        let reasons: Vec<String> = self
            .unstored
            .iter()
            .map(|(p, why)| match p.is_empty() {
                true => why.clone(),
                false => format!("{p}: {why}"),
            })
            .collect();
        if !reasons.is_empty() {
            write!(f, ": not stored: {}", reasons.join("; "))?;
        }
        Ok(())
    }
}

/// Explain how a value would be captured: field by field, which path each
/// part took (Reducible / serde / registry / placeholder) and why a part
/// became a placeholder. Takes any expression, by value or by reference
/// (`explain!(job)`, `explain!(&job)`, `explain!(job_ref)`: the value behind
/// the references is explained, never moved), and resolves like
/// `#[capture_args]` does at each argument.
///
/// ```
/// let text = capture_runtime::explain!(vec![1, 2]).to_string();
/// assert!(text.contains("serde"), "{text}");
/// struct Opaque;
/// let opaque = Opaque;
/// let e = capture_runtime::explain!(&opaque);
/// assert!(!e.is_replayable());
/// assert!(e.to_string().contains("placeholder"));
/// ```
///
/// It is a macro because the path is chosen at compile time from the
/// value's type, exactly as at a captured argument; for `Reducible` types
/// (also in generic code) the function [`explain()`](crate::explain()) does the same.
#[macro_export]
macro_rules! explain {
    ($value:expr $(,)?) => {{
        #[allow(unused_imports)]
        use $crate::__private::dispatch::{
            PeelNone as _, ViaDebug as _, ViaOpaque as _, ViaReducible as _, ViaRegistry as _, ViaRegistryDebug as _,
            ViaSerde as _,
        };
        let __capture_value = &$value;
        // Explain the value behind the references (its own type, its own registry entry).
        let __capture_value = $crate::__private::dispatch::Peel(__capture_value).__capture_peel();
        let __capture_value = $crate::__private::dispatch::Peel(__capture_value).__capture_peel();
        let __capture_value = $crate::__private::dispatch::Peel(__capture_value).__capture_peel();
        $crate::reduce::explain::explain_with($crate::__private::type_name_of(__capture_value), |__capture_ctx| {
            #[allow(clippy::needless_borrow)]
            (&&&&&&$crate::__private::dispatch::Wrap(__capture_value)).__capture_encode(__capture_ctx)
        })
    }};
}

/// [`explain!`](crate::explain!) as a function, for `Reducible` types (the
/// ones with parts worth explaining; it works in generic code too, where
/// `T: Reducible` is all that is known). Any other type: use the macro.
///
/// ```
/// #[derive(capture_runtime::Reducible)]
/// struct Job { name: String, log: std::fs::File }
///
/// let job = Job { name: "nightly".into(), log: std::fs::File::open(std::env::current_exe().unwrap()).unwrap() };
/// let e = capture_runtime::explain(&job);
/// assert_eq!(e.at("log").unwrap().route, capture_runtime::reduce::explain::Route::Placeholder);
/// assert!(!e.is_replayable());
/// ```
pub fn explain<T: Reducible + ?Sized>(value: &T) -> Explanation {
    use crate::capture::dispatch::{ViaReducible as _, Wrap};
    explain_with(std::any::type_name::<T>(), |ctx| {
        #[allow(clippy::needless_borrow)]
        (&&&&&&Wrap(value)).__capture_encode(ctx)
    })
}

/// Run an encoding with tracing on and collect the notes (used by [`explain!`](crate::explain!)).
#[doc(hidden)]
pub fn explain_with(type_name: &str, encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded) -> Explanation {
    let mut ctx = EncodeCtx::plain();
    ctx.reduce.trace = Some(Vec::new());
    let encoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| encode(&mut ctx)))
        .unwrap_or_else(|_| Encoded::Failed(format!("encoding `{type_name}` panicked")));
    let mut notes = ctx.reduce.trace.take().unwrap_or_default();
    let unstored = std::mem::take(&mut ctx.report.redacted);
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
    Explanation { notes, value, unstored }
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
