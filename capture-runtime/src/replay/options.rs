//! What a replay checks and how: [`Check`], [`ReplayOptions`] (stand-ins,
//! float tolerance, redaction policy, the executor for `async fn`s).

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::compare::Tolerance;
use super::stand_in::StandIns;
use crate::record::Kinds;
use crate::store::Store;

/// What a replay checks after calling the function.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Check {
    /// The recorded return value and `&mut` after-states, when they were
    /// recorded; otherwise only that the call returns (or panics) as recorded
    /// (the passing replay then carries a note saying so).
    #[default]
    Auto,
    /// The recorded return value; a capture without one is skipped with the reason.
    Ret,
    /// An insta snapshot of the output and the `&mut` after-states (needs `Debug`).
    Snapshot,
    /// Only the user's closure (and that the call returns as recorded).
    Closure,
}

/// A future handed to an [`Executor`]: the replayed `async fn` call.
pub type ReplayFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Drives the future of a replayed `async fn` to completion, for functions
/// that need a particular runtime (a tokio timer or socket, say). Without
/// one, a std-only [`super::block_on`] is used.
///
/// ```
/// use capture_runtime::replay::{Executor, ReplayOptions};
/// // Any `block_on` works, e.g. `tokio::runtime::Runtime::block_on`.
/// let exec = Executor::new(|future| capture_runtime::replay::block_on(future));
/// let opts = ReplayOptions::new("client::fetch").executor(exec);
/// assert!(opts.has_executor());
/// ```
#[derive(Clone)]
pub struct Executor(Arc<dyn for<'a> Fn(ReplayFuture<'a>) + Send + Sync>);

impl Executor {
    /// An executor from a function that runs a future to completion on the
    /// calling thread (a runtime's `block_on`).
    pub fn new(run: impl for<'a> Fn(ReplayFuture<'a>) + Send + Sync + 'static) -> Self {
        Executor(Arc::new(run))
    }

    /// Run `future` to completion with this executor.
    ///
    /// # Panics
    /// If the executor returns before the future completed.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let mut out = None;
        (self.0)(Box::pin(async {
            out = Some(future.await);
        }));
        out.expect("the replay executor returned before the future completed: it must run the future to completion (a runtime's `block_on`)")
    }
}

impl Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Executor(..)")
    }
}

/// How one function's captures are replayed.
///
/// ```
/// use capture_runtime::replay::{Check, ReplayOptions, StandIns};
/// let opts = ReplayOptions::new("checkout::price")
///     .check(Check::Ret)
///     .float_tolerance(1e-9)
///     .stand_ins(StandIns::new().with("order.customer_email", "a@example.com"));
/// assert_eq!(opts.label(), "checkout::price");
/// ```
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub(crate) label: String,
    pub(crate) check: Check,
    pub(crate) tolerance: Tolerance,
    pub(crate) stand_ins: StandIns,
    pub(crate) redacted_as_recorded: bool,
    pub(crate) executor: Option<Executor>,
    pub(crate) kinds: Option<Kinds>,
    pub(crate) allow_empty: bool,
}

impl ReplayOptions {
    /// Options for the function named `label` in test names (e.g. `checkout::price`).
    pub fn new(label: impl Into<String>) -> Self {
        ReplayOptions {
            label: label.into(),
            check: Check::Auto,
            tolerance: Tolerance::default(),
            stand_ins: StandIns::new(),
            redacted_as_recorded: false,
            executor: None,
            kinds: None,
            allow_empty: false,
        }
    }

    /// What to check.
    pub fn check(mut self, check: Check) -> Self {
        self.check = check;
        self
    }

    /// Compare floats with this tolerance (see [`Tolerance`]). The return
    /// value is then compared as stored values, not with `PartialEq`.
    pub fn float_tolerance(mut self, tol: f64) -> Self {
        self.tolerance.float = Some(tol);
        self
    }

    /// Values for arguments (or parts) that were not stored.
    pub fn stand_ins(mut self, stand_ins: StandIns) -> Self {
        self.stand_ins = stand_ins;
        self
    }

    /// Replay text in which PII was redacted at capture time as it was
    /// recorded (`[REDACTED:email]`) instead of skipping the capture. Parts
    /// redacted by *name* (a `password` field) were not stored at all and
    /// still need a stand-in.
    pub fn redacted_as_recorded(mut self, yes: bool) -> Self {
        self.redacted_as_recorded = yes;
        self
    }

    /// Drive replayed `async fn`s with `executor` instead of the std-only
    /// [`super::block_on`].
    pub fn executor(mut self, executor: Executor) -> Self {
        self.executor = Some(executor);
        self
    }

    /// Which captures to replay. Without it: `CAPTURE_REPLAY`, else
    /// [`crate::Config::replay`], else accepted captures only.
    ///
    /// ```
    /// use capture_runtime::{record::Kinds, replay::ReplayOptions};
    /// let opts = ReplayOptions::new("checkout::price").kinds(Kinds::All);
    /// assert_eq!(opts.replayed_kinds(), Kinds::All);
    /// ```
    pub fn kinds(mut self, kinds: Kinds) -> Self {
        self.kinds = Some(kinds);
        self
    }

    /// The captures replayed: [`ReplayOptions::kinds`], `CAPTURE_REPLAY`,
    /// [`crate::Config::replay`], or [`Kinds::Accepted`].
    pub fn replayed_kinds(&self) -> Kinds {
        self.kinds
            .or(crate::config::env_config().replay)
            .or_else(|| crate::config::programmatic().and_then(|c| c.replay))
            .unwrap_or(Kinds::Accepted)
    }

    /// Whether a function with no captures to replay is acceptable in CI
    /// (`allow_empty` in `replay_main!`): without it, CI fails such an
    /// entry, naming the folder that should have been committed.
    pub fn allow_empty(mut self, yes: bool) -> Self {
        self.allow_empty = yes;
        self
    }

    /// Whether [`ReplayOptions::allow_empty`] was given.
    pub fn empty_allowed(&self) -> bool {
        self.allow_empty
    }

    /// Whether an executor was given.
    pub fn has_executor(&self) -> bool {
        self.executor.is_some()
    }

    /// The label used in test names.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The check in force.
    pub fn check_kind(&self) -> Check {
        self.check
    }
}

/// Where a function's captures are: its id and store, as the capturing
/// crate resolves them (its `CARGO_MANIFEST_DIR`, `path = ..`, `CAPTURE_DIR`).
#[derive(Clone, Debug)]
pub struct Located {
    /// Function id in the store.
    pub function: String,
    /// The store.
    pub store: Store,
}

/// Name and description handed to a snapshot callback.
#[derive(Clone, Debug)]
pub struct SnapshotInfo {
    /// Snapshot name: `<label>__<replay id>` with `::` as `__`.
    pub name: String,
    /// Human description (function, capture id).
    pub description: String,
}

/// Snapshot callback: asserts `value` against the snapshot named in `info`.
pub type SnapshotFn = Box<dyn FnMut(&SnapshotInfo, &dyn Debug) + Send>;
