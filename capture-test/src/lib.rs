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
//! replayed is listed as an ignored test (under `cargo test` and
//! `cargo nextest` alike), with its reason printed when the binary runs; it
//! is never passed. See the user guide's replay chapter for every option.
//!
//! `replay_harness!` builds the same harness as a value, for adding tests of
//! your own (`Harness::add_test`) before `run()`.
//!
//! # Hand-written tests
//!
//! ```no_run
//! # mod checkout { #[capture_runtime::capture_args(ret)] pub fn price(cents: u64, discount: f64) -> u64 { cents } }
//! #[test]
//! fn prices_replay() {
//!     capture_test::assert_replays!(checkout::price);
//! }
//!
//! #[test]
//! fn every_price_capture_is_below_its_input() {
//!     for call in capture_test::calls_of!(checkout::price).unwrap() {
//!         let (cents, discount) = capture_test::load_args!(checkout::price, &call).unwrap();
//!         let out = checkout::price(cents, discount);
//!         assert!(out <= cents);
//!         capture_test::assert_ret_eq!(checkout::price, &call, out);
//!     }
//! }
//! ```
#![warn(missing_docs)]

mod harness;

pub use capture_runtime::replay::{Check, Executor, ReplayOptions, ReplayOutcome, StandIns};
pub use capture_runtime::{CaptureLoader as Loader, CapturedCall};
pub use harness::{discover, probe_one, replay_one, Adapter, Harness};

/// Expands to a `fn main()` that runs one libtest-mimic test per stored call
/// of each listed function (use it in a `harness = false` test target).
///
/// Each entry is `path [with { arg = value, .. }] [executor(..)]
/// [redacted_as_recorded] [=> check]`, where check is `ret`,
/// `ret(tolerance = 1e-9)`, `snapshot` or a closure receiving the rebuilt
/// inputs (by reference, `&str` for `&str` arguments, after-state for
/// `&mut`) and the output. Without a check, the recorded return value and
/// `&mut` after-states are compared when they were recorded. A trait
/// method is written `<Type as Trait>::method`; a generic function names its
/// types, `largest::<u32>`.
///
/// ```no_run
/// # mod checkout {
/// #     #[capture_runtime::capture_args(ret)] pub fn price(cents: u64) -> u64 { cents }
/// #     #[capture_runtime::capture_args(ret, ignore(password))] pub fn authorize(user: &str, password: &str) -> bool { true }
/// # }
/// capture_test::replay_main! { checkout::price, checkout::authorize with { password = "pw" } => snapshot }
/// ```
pub use capture_macros::replay_main;

/// The [`Harness`] that [`replay_main!`] runs, as a value: add tests of your
/// own, then `run()` it (in a `harness = false` test target).
///
/// ```no_run
/// # mod checkout { #[capture_runtime::capture_args(ret)] pub fn price(cents: u64) -> u64 { cents } }
/// fn main() {
///     let mut harness = capture_test::replay_harness! { checkout::price };
///     harness.add_test("price_is_captured", || Ok(()));
///     harness.run()
/// }
/// ```
pub use capture_macros::replay_harness;

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
/// panics listing every failure, or when no stored call was replayed at all;
/// prints every skipped capture with its reason.
///
/// ```no_run
/// # mod checkout { #[capture_runtime::capture_args(ret)] pub fn price(x: u32) -> u32 { x } }
/// capture_test::assert_replays!(checkout::price, checkout::price => ret);
/// ```
pub use capture_macros::assert_replays;

/// The stored calls of a captured function, oldest first: a
/// `Result<Vec<CapturedCall>, CaptureError>`, empty when none are stored.
/// The store is found through the function's replay adapter, as replay
/// finds it (`path = ..`, the capturing crate's folder, `CAPTURE_DIR`).
///
/// ```no_run
/// # mod checkout { #[capture_runtime::capture_args(ret)] pub fn price(cents: u64, discount: f64) -> u64 { cents } }
/// for call in capture_test::calls_of!(checkout::price)? {
///     let discount: f64 = call.arg("discount")?;
///     assert!((0.0..1.0).contains(&discount));
/// }
/// # Ok::<(), capture_runtime::CaptureError>(())
/// ```
pub use capture_macros::calls_of;

/// The arguments of one stored call rebuilt as the function's types: a
/// `Result<(A, B, ..), LoadError>` (the receiver first when recorded;
/// `String` for `&str`, `Vec<T>` for `&[T]`). Rebuilt exactly as a replay
/// does (`Reducible`, shared `Rc`s, stand-ins from `with { .. }`); a call
/// that cannot be replayed is a [`LoadError::NotReplayable`] with the reason.
///
/// ```no_run
/// # mod checkout { #[capture_runtime::capture_args(ret)] pub fn price(cents: u64, discount: f64) -> u64 { cents } }
/// for call in capture_test::calls_of!(checkout::price).unwrap() {
///     let (cents, discount): (u64, f64) = capture_test::load_args!(checkout::price, &call).unwrap();
///     assert_eq!(checkout::price(cents, discount), cents);
/// }
/// ```
pub use capture_macros::load_args;

/// Assert that a value equals the return value recorded with a stored call,
/// compared exactly as a replay compares (`PartialEq` when the type has it,
/// else the stored forms path by path, under the function's redaction
/// policy). Messages name the call by its replay id, as test names do.
/// `=> ret(tolerance = 1e-9)` after the path compares floats within a tolerance.
///
/// # Panics
/// When the values differ, the call has no recorded return value, or the
/// recorded one cannot be read.
///
/// ```no_run
/// # mod checkout { #[capture_runtime::capture_args(ret)] pub fn total(xs: &[f64]) -> f64 { xs.iter().sum() } }
/// for call in capture_test::calls_of!(checkout::total).unwrap() {
///     let (xs,) = capture_test::load_args!(checkout::total, &call).unwrap();
///     capture_test::assert_ret_eq!(checkout::total => ret(tolerance = 1e-9), &call, checkout::total(&xs));
/// }
/// ```
pub use capture_macros::assert_ret_eq;

/// Why `load_args!` returned no arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The call cannot be replayed (an argument was not stored, ...): the reason says what to do.
    NotReplayable(String),
    /// Rebuilding failed (the types drifted since recording, ...).
    Failed(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::NotReplayable(r) => write!(f, "the call cannot be replayed: {r}"),
            LoadError::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for LoadError {}

/// Items used by the replay macros. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::harness::{assert_compared, assert_outcomes, calls_of, loaded, outcomes, Harness};
    pub use capture_runtime::__private as rt;
    pub use capture_runtime::__private::replay::TypesNamed;
    pub use capture_runtime::replay::{Check, Executor, ReplayCx, ReplayOptions, SnapshotInfo, StandIns};
    pub use capture_runtime::CapturedCall;
    pub use insta;
}
