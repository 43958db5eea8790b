//! Replay support: what the companion adapters emitted by `#[capture_args]`
//! and the `capture-test` harness use to turn stored calls into tests.
//!
//! - [`ReplayCx`]: one replay (rebuild arguments, call, check), driven by the
//!   adapter `__capture_replay_<fn>` generated next to each captured function.
//! - [`ReplayOptions`]: what to check, stand-ins, tolerance, [`Executor`].
//! - [`schema`]: per-type schema fingerprints recorded at capture time;
//!   [`drift`]: what changed when a value no longer fits its type.
//! - [`compare`]: path-by-path comparison of recorded and replayed values.
//! - [`StandIns`]: values for arguments (or parts) that were not stored.
//! - [`block_on`]: run an `async fn` to completion without a runtime.
//!
//! The user guide's replay chapter (`docs/replay.md`) shows the whole flow.

mod args;
mod block_on;
pub mod compare;
mod cx;
pub mod drift;
mod options;
mod output;
mod probes;
pub mod schema;
mod stand_in;

pub use block_on::block_on;
pub use cx::ReplayCx;
pub use options::{Check, Executor, Located, ReplayFuture, ReplayOptions, SnapshotFn, SnapshotInfo};
pub use output::{Afters, EqProbe};
pub use stand_in::StandIns;

use std::cell::Cell;

use crate::load::CapturedCall;

thread_local! {
    static REPLAYING: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is inside a replayed call: captures are suppressed
/// there, so replaying never records new calls (nor trims the fixtures the
/// replay reads through retention).
pub(crate) fn replaying() -> bool {
    REPLAYING.with(|r| r.get())
}

/// Marks the thread as replaying until dropped (panic-safe).
pub(crate) struct ReplayingGuard(bool);

impl ReplayingGuard {
    pub(crate) fn enter() -> Self {
        ReplayingGuard(REPLAYING.with(|r| r.replace(true)))
    }
}

impl Drop for ReplayingGuard {
    fn drop(&mut self) {
        let previous = self.0;
        REPLAYING.with(|r| r.set(previous));
    }
}

/// How one replay ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// Every check passed (notes say what was not checked, if anything).
    Passed {
        /// Remarks, e.g. "panicked, as the recorded call did".
        notes: Vec<String>,
    },
    /// The capture cannot be replayed; the reason says what to do.
    Skipped {
        /// Why, and the fix.
        reason: String,
    },
    /// The replay ran and a check failed, or the recorded types drifted.
    Failed {
        /// The full failure message.
        message: String,
    },
}

/// A short id of a stored call that depends only on the function and what
/// was recorded as its inputs (content ids of the arguments, or why they were
/// not stored): re-recording the same inputs gives the same id, so test and
/// snapshot names stay stable across re-runs of the capturing program.
///
/// ```no_run
/// let loader = capture_runtime::CaptureLoader::new("captures");
/// let call = loader.latest("price")?;
/// assert_eq!(capture_runtime::replay::replay_id(&call).len(), 12);
/// # Ok::<(), capture_runtime::CaptureError>(())
/// ```
pub fn replay_id(call: &CapturedCall) -> String {
    call.metadata().input_id()
}

/// Generated adapters only. Not public API.
#[doc(hidden)]
pub mod __adapter {
    pub use super::probes::*;
}
