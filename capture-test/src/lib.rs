//! Test-side support for capture: every stored call becomes its own named
//! regression test.
//!
//! # One test per stored call
//!
//! Make a test target with `harness = false` and list the captured functions:
//!
//! ```toml
//! [[test]]
//! name = "replay"
//! harness = false
//! ```
//!
//! ```no_run
//! # mod checkout {
//! #     use capture_runtime::capture_args;
//! #     #[capture_args(ret)] pub fn price(cents: u64, discount: f64) -> u64 { cents - (cents as f64 * discount) as u64 }
//! #     #[capture_args(ret, ignore(password))] pub fn authorize(user: &str, password: &str) -> bool { !password.is_empty() }
//! #     #[capture_args(ret)] pub fn apply_coupon(total: &mut u64, code: &str) -> bool { *total /= 2; true }
//! #     #[capture_args(ret)] pub fn total(xs: &[f64]) -> f64 { xs.iter().sum() }
//! # }
//! # mod parse { #[capture_runtime::capture_args] pub fn tokenize(input: &str) -> Vec<String> { input.split(' ').map(String::from).collect() } }
//! # mod stats { #[capture_runtime::capture_args(ret)] pub fn largest<T: Copy + PartialOrd + serde::Serialize>(xs: &[T]) -> T { xs[0] } }
//! // tests/replay.rs
//! capture_test::replay_main! {
//!     checkout::price,                                      // compare with the recorded return value
//!     checkout::authorize with { password = "test-pw" },    // stand-in for an ignored argument
//!     checkout::apply_coupon => snapshot,                   // insta snapshot per capture
//!     checkout::total => ret(tolerance = 1e-9),             // floats within a tolerance
//!     parse::tokenize => |input, out| assert!(out.len() <= input.len()),
//!     stats::largest::<u32>,                                // generic functions: name the type
//! }
//! ```
//!
//! `cargo test` then lists `checkout::price::3f2a9c01b2c4 ... ok`, one line
//! per distinct recorded input. The stored calls are found when the test
//! binary starts (as datatest-stable does), so new captures are replayed
//! without editing or touching any source file. A capture that cannot be
//! replayed shows as `ignored (<reason>)` and is counted as ignored, never
//! as passed. See the user guide's replay chapter for every option.
//!
//! # Hand-written tests
//!
//! ```no_run
//! # mod checkout { #[capture_runtime::capture_args(ret)] pub fn price(x: u32) -> u32 { x } }
//! #[test]
//! fn prices_replay() {
//!     capture_test::assert_replays!(checkout::price);
//! }
//!
//! #[test]
//! fn every_price_capture_is_positive() {
//!     for call in capture_test::calls("checkout::price").unwrap() {
//!         let x: u32 = call.arg("x").unwrap();
//!         capture_test::assert_ret_eq(&call, &checkout::price(x));
//!     }
//! }
//! ```
#![warn(missing_docs)]

mod harness;

use capture_runtime::replay::compare::{diff, render, Tolerance};
use capture_runtime::value::Value;
use capture_runtime::{CaptureError, CaptureLoader};
use serde::Serialize;

pub use capture_runtime::replay::{Check, ReplayOptions, ReplayOutcome, StandIns};
pub use capture_runtime::{CaptureLoader as Loader, CapturedCall};
pub use harness::{discover, replay_one, Adapter, Harness};

/// Expands to a `fn main()` that runs one libtest-mimic test per stored call
/// of each listed function (use it in a `harness = false` test target).
///
/// Each entry is `path [with { arg = value, .. }] [=> check]`, where check is
/// `ret`, `ret(tolerance = 1e-9)`, `snapshot` or a closure receiving the
/// rebuilt inputs (by reference, `&str` for `&str` arguments, after-state for
/// `&mut`) and the output. Without a check, the recorded return value and
/// `&mut` after-states are compared when they were recorded.
///
/// ```no_run
/// # mod checkout {
/// #     #[capture_runtime::capture_args(ret)] pub fn price(cents: u64) -> u64 { cents }
/// #     #[capture_runtime::capture_args(ret, ignore(password))] pub fn authorize(user: &str, password: &str) -> bool { true }
/// # }
/// capture_test::replay_main! { checkout::price, checkout::authorize with { password = "pw" } => snapshot }
/// ```
pub use capture_macros::replay_main;

/// The `(test name, outcome)` of every stored call of one function, for
/// tests that assert on replay results themselves (same entry syntax as
/// [`replay_main!`]).
///
/// ```no_run
/// # mod checkout { #[capture_runtime::capture_args(ret)] pub fn price(x: u32) -> u32 { x } }
/// use capture_test::ReplayOutcome;
/// for (name, outcome) in capture_test::replay_outcomes!(checkout::price => ret) {
///     assert!(matches!(outcome, ReplayOutcome::Passed { .. }), "{name}: {outcome:?}");
/// }
/// ```
pub use capture_macros::replay_outcomes;

/// Replay every stored call of the listed functions inside one `#[test]`;
/// panics listing every failure, prints every skipped capture with its reason.
///
/// ```no_run
/// # mod checkout { #[capture_runtime::capture_args(ret)] pub fn price(x: u32) -> u32 { x } }
/// capture_test::assert_replays!(checkout::price, checkout::price => ret);
/// ```
pub use capture_macros::assert_replays;

/// The stored calls of `function` (full id or unique suffix, e.g.
/// `checkout::price`) in the default store of the crate under test
/// (`CAPTURE_DIR`, else `$CARGO_MANIFEST_DIR/captures`), oldest first.
///
/// ```no_run
/// for call in capture_test::calls("checkout::price")? {
///     let discount: f64 = call.arg("discount")?;
///     assert!((0.0..1.0).contains(&discount));
/// }
/// # Ok::<(), capture_runtime::CaptureError>(())
/// ```
pub fn calls(function: &str) -> Result<Vec<CapturedCall>, CaptureError> {
    CaptureLoader::default_location()?.load_all(function)
}

/// Assert that `actual` equals the return value recorded with `call`
/// (compared as encoded values; a mismatch lists each differing path).
///
/// # Panics
/// When no return value was recorded, or the values differ.
///
/// ```no_run
/// let call = capture_runtime::load_latest("checkout::price")?;
/// let discount: f64 = call.arg("discount")?;
/// capture_test::assert_ret_eq(&call, &(discount * 2.0));
/// # Ok::<(), capture_runtime::CaptureError>(())
/// ```
#[track_caller]
pub fn assert_ret_eq<T: Serialize + ?Sized>(call: &CapturedCall, actual: &T) {
    assert_ret_eq_within(call, actual, Tolerance::default())
}

/// [`assert_ret_eq`] with floats compared within `tolerance`.
///
/// ```no_run
/// let call = capture_runtime::load_latest("checkout::total")?;
/// capture_test::assert_ret_eq_within(&call, &12.5f64, capture_runtime::replay::compare::Tolerance { float: Some(1e-9) });
/// # Ok::<(), capture_runtime::CaptureError>(())
/// ```
#[track_caller]
pub fn assert_ret_eq_within<T: Serialize + ?Sized>(call: &CapturedCall, actual: &T, tolerance: Tolerance) {
    let function = &call.metadata().function;
    let recorded: Value = call
        .ret::<Value>()
        .unwrap_or_else(|e| panic!("capture {} of `{function}`: {e}", call.capture_id()));
    let codec = capture_runtime::Codec::MsgPack;
    let now: Value = codec
        .encode(actual)
        .and_then(|b| codec.decode(&b))
        .unwrap_or_else(|e| panic!("the value to compare cannot be encoded: {e}"));
    let d = diff("return", &recorded, &now, tolerance);
    assert!(
        d.is_empty(),
        "return value of `{function}` capture {} differs:\n  {}\n  recorded: {}\n  now:      {}",
        call.capture_id(),
        d.join("\n  "),
        render(&recorded),
        render(&now)
    );
}

/// Items used by the replay macros. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::harness::{assert_outcomes, outcomes, Harness};
    pub use capture_runtime::replay::{Check, ReplayCx, ReplayOptions, SnapshotInfo, StandIns};
    pub use insta;
}
