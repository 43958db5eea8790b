//! Items used by generated replay adapters only (re-exported as
//! `__private::replay`). Not public API.
//!
//! Most are autoref probes: which traits a type implements is decided at
//! compile time by method resolution (`(&&&Probe(..)).method()` picks the
//! most specific layer in scope), so adapters need no bounds the user did
//! not write.

use std::fmt::Debug;
use std::future::Future;

use super::options::Executor;
pub use super::schema::probe::{SchemaFor, SchemaOf, TypeViaNone, TypeViaTrace, ViaNone, ViaSlice, ViaStr, ViaTrace};
use crate::capture::dispatch::Want;
pub use crate::codec::Codec;
use crate::record::Schema;
use crate::reduce::{RebuildCtx, Reducible};

/// What the adapter knows about one parameter, at compile time.
#[derive(Clone, Copy, Debug)]
pub struct ArgSpec {
    /// Parameter name (`self` for the receiver).
    pub name: &'static str,
    /// The current type's schema, when it can be traced.
    pub schema: Option<&'static Schema>,
    /// `type_name` of the parameter's type as capture records it (`[u32]` for `&[u32]`).
    pub type_name: &'static str,
    /// Whether the type mentions a type parameter of the function: then it
    /// must be the type that was recorded.
    pub generic: bool,
    /// Whether the type has a rebuild path (`Reducible`, `Deserialize` or a
    /// registered rebuild function).
    pub rebuildable: bool,
}

/// Drive a replayed `async fn`'s future: with the entry's executor, else the
/// std-only [`super::block_on`].
pub fn run_future<F: Future>(executor: &Option<Executor>, future: F) -> F::Output {
    match executor {
        Some(e) => e.block_on(future),
        None => super::block_on(future),
    }
}

/// Call `f` with a fresh [`std::fmt::Formatter`] (default flags) writing
/// into a `String`: how a replayed function taking `&mut fmt::Formatter`
/// (every `Display::fmt`) is called. Returns what `f` returned and the text
/// it wrote (a formatter cannot be recorded; the text is what replay shows).
pub fn with_formatter<R>(f: impl FnOnce(&mut std::fmt::Formatter<'_>) -> R) -> (R, String) {
    use std::cell::RefCell;
    struct Shim<F, R>(RefCell<Option<F>>, RefCell<Option<R>>);
    impl<F: FnOnce(&mut std::fmt::Formatter<'_>) -> R, R> std::fmt::Display for Shim<F, R> {
        fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            if let Some(f) = self.0.borrow_mut().take() {
                *self.1.borrow_mut() = Some(f(out));
            }
            Ok(())
        }
    }
    let shim = Shim(RefCell::new(Some(f)), RefCell::new(None));
    let mut text = String::new();
    // Writing to a `String` fails only when `fmt` says so; the shim never does.
    let _ = std::fmt::write(&mut text, format_args!("{shim}"));
    let out = shim
        .1
        .into_inner()
        .expect("`fmt::write` calls `Display::fmt` exactly once");
    (out, text)
}

/// A rebuild marker for the type of `value` (for macros that only have a value).
pub fn want_of<T>(_: &T) -> Want<T> {
    Want::new()
}

/// Passed by the replay macros to `__capture_args_missing_on_<fn>`: whether
/// the entry named the function's type parameters (`largest::<u32>`).
#[derive(Clone, Copy, Debug)]
pub struct TypesNamed<const NAMED: bool>;

/// Implemented only for [`TypesNamed<true>`]: a generic function must be
/// listed with its types.
#[diagnostic::on_unimplemented(
    message = "this #[capture_args] function is generic: name the type(s) to replay it at",
    label = "generic function listed without its types",
    note = "write the entry with a turbofish, e.g. `stats::largest::<u32>`; captures recorded at other types are skipped with the reason"
)]
pub trait NamesItsTypes {}
#[diagnostic::do_not_recommend]
impl NamesItsTypes for TypesNamed<true> {}

/// Owned parts of an argument that also holds borrowed data (the `u32` of
/// `Vec<(&str, u32)>`): the adapter rebuilds owned storage (`Vec<(String,
/// u32)>`) and builds the borrowed view from it, copying such parts.
#[diagnostic::on_unimplemented(
    message = "`{Self}` sits beside borrowed data in a #[capture_args] argument, so replay copies it out of the rebuilt storage: it must be `Clone`",
    label = "not `Clone`",
    note = "derive or implement `Clone` for it, or pass the argument as owned data (e.g. `Vec<(String, T)>` instead of `Vec<(&str, T)>`)"
)]
pub trait OwnedBesideBorrowed: Clone {}
#[diagnostic::do_not_recommend]
impl<T: Clone> OwnedBesideBorrowed for T {}

/// The copy of an owned part (see [`OwnedBesideBorrowed`]).
pub fn owned_beside_borrowed<T: OwnedBesideBorrowed>(part: &T) -> T {
    part.clone()
}

/// Borrow a value as `&dyn Debug` when its type has `Debug`.
pub struct DebugOf<'a, T: ?Sized>(pub &'a T);

/// Layer 1: `Debug`.
pub trait DebugVia<'a> {
    /// The value as `&dyn Debug` (borrowed as long as the value, not the probe).
    fn __capture_debug(&self) -> Option<&'a dyn Debug>;
}
impl<'a, T: Debug + 'a> DebugVia<'a> for &DebugOf<'a, T> {
    fn __capture_debug(&self) -> Option<&'a dyn Debug> {
        Some(self.0 as &dyn Debug)
    }
}

/// Layer 2: no `Debug`.
pub trait DebugNone<'a> {
    /// `None`.
    fn __capture_debug(&self) -> Option<&'a dyn Debug>;
}
impl<'a, T: ?Sized> DebugNone<'a> for DebugOf<'a, T> {
    fn __capture_debug(&self) -> Option<&'a dyn Debug> {
        None
    }
}

/// The result of comparing a replayed output with the recorded one by `PartialEq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EqResult {
    /// `recorded == now`.
    pub equal: bool,
    /// `Debug` of the rebuilt recorded value, when the type has `Debug`.
    pub recorded_debug: Option<String>,
}

/// The output and how to rebuild a recorded one, for the `PartialEq` probe.
pub struct EqOf<'a, T, D>(pub &'a T, pub D);

/// Layer 1: `PartialEq + Debug`.
pub trait EqViaDebug {
    /// Rebuild the recorded value and compare; `None` without `PartialEq`.
    fn __capture_eq(&self, codec: Codec, bytes: &[u8]) -> Option<Result<EqResult, String>>;
}
impl<T, D> EqViaDebug for &&EqOf<'_, T, D>
where
    T: PartialEq + Debug,
    D: Fn(Codec, &[u8], &mut RebuildCtx) -> Result<T, String>,
{
    fn __capture_eq(&self, codec: Codec, bytes: &[u8]) -> Option<Result<EqResult, String>> {
        Some((self.1)(codec, bytes, &mut RebuildCtx::new()).map(|recorded| EqResult {
            equal: recorded == *self.0,
            recorded_debug: Some(format!("{recorded:?}")),
        }))
    }
}

/// Layer 2: `PartialEq` only.
pub trait EqViaPartialEq {
    /// Rebuild the recorded value and compare.
    fn __capture_eq(&self, codec: Codec, bytes: &[u8]) -> Option<Result<EqResult, String>>;
}
impl<T, D> EqViaPartialEq for &EqOf<'_, T, D>
where
    T: PartialEq,
    D: Fn(Codec, &[u8], &mut RebuildCtx) -> Result<T, String>,
{
    fn __capture_eq(&self, codec: Codec, bytes: &[u8]) -> Option<Result<EqResult, String>> {
        Some((self.1)(codec, bytes, &mut RebuildCtx::new()).map(|recorded| EqResult {
            equal: recorded == *self.0,
            recorded_debug: None,
        }))
    }
}

/// Layer 3: no `PartialEq`: compared as stored values.
pub trait EqNone {
    /// `None`.
    fn __capture_eq(&self, codec: Codec, bytes: &[u8]) -> Option<Result<EqResult, String>>;
}
impl<T, D> EqNone for EqOf<'_, T, D> {
    fn __capture_eq(&self, _: Codec, _: &[u8]) -> Option<Result<EqResult, String>> {
        None
    }
}

/// Layer 1 of "has a rebuild path": `Reducible`.
pub trait RebuildableReducible {
    /// Whether values of the type can be rebuilt.
    fn __capture_rebuildable(&self) -> bool;
}
impl<T: Reducible> RebuildableReducible for &&&Want<T> {
    fn __capture_rebuildable(&self) -> bool {
        true
    }
}

/// Layer 2: serde `Deserialize`.
pub trait RebuildableSerde {
    /// Whether values of the type can be rebuilt.
    fn __capture_rebuildable(&self) -> bool;
}
impl<T: serde::de::DeserializeOwned> RebuildableSerde for &&Want<T> {
    fn __capture_rebuildable(&self) -> bool {
        true
    }
}

/// Layer 3: a registered rebuild function (only in scope for concrete types).
pub trait RebuildableRegistry {
    /// Whether a rebuild function is registered for the type.
    fn __capture_rebuildable(&self) -> bool;
}
impl<T: 'static> RebuildableRegistry for &Want<T> {
    fn __capture_rebuildable(&self) -> bool {
        crate::reduce::registry::lookup::<T>().is_some_and(|r| r.can_rebuild())
    }
}

/// Layer 4: no rebuild path.
pub trait RebuildableNever {
    /// `false`.
    fn __capture_rebuildable(&self) -> bool;
}
impl<T> RebuildableNever for Want<T> {
    fn __capture_rebuildable(&self) -> bool {
        false
    }
}
