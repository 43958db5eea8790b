//! The replay context: what a generated replay adapter talks to while it
//! rebuilds the arguments of one stored call, calls the function and checks
//! what came out. Rebuilding lives in `args.rs`, checking in `output.rs`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::compare::render;
use super::options::{Executor, ReplayOptions, SnapshotFn};
use super::{replay_id, Located, ReplayOutcome};
use crate::capture::site::Resolved;
use crate::load::CapturedCall;
use crate::record::Outcome;
use crate::reduce::RebuildCtx;

pub(super) enum State {
    Running,
    Skipped(String),
    Failed(String),
    /// Probing stopped before the call: nothing found that would skip it.
    Probed,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Only find out where the captures are.
    Locate,
    /// Rebuild the arguments and stop before the call (is it replayable?).
    Probe,
    /// Rebuild, call and check.
    Run,
    /// Locate, then let the caller check a value it computed (`assert_ret_eq!`).
    Compare,
}

/// One replay in progress (or a look-up of where captures are).
///
/// Generated adapters (`__capture_replay_<fn>`) drive it; tests normally use
/// the harness in `capture-test`, which builds one per stored call.
pub struct ReplayCx<'a> {
    pub(super) call: Option<&'a CapturedCall>,
    pub(super) opts: &'a ReplayOptions,
    pub(super) mode: Mode,
    located: Option<Located>,
    pub(super) resolved: Option<Arc<Resolved>>,
    pub(super) state: State,
    pub(super) notes: Vec<String>,
    pub(super) snapshot: Option<SnapshotFn>,
    pub(super) id: String,
    pub(super) returned: bool,
    /// One rebuild context for all arguments of the call, so two arguments
    /// pointing to one `Rc` get one `Rc` back.
    pub(super) rebuild: RebuildCtx,
    /// A second one for the copies of owned arguments shown to check closures.
    pub(super) view_rebuild: RebuildCtx,
    /// The function is `async` (its future was driven by the executor).
    is_async: bool,
    /// The function returns `()`: there is no return value to record or check.
    pub(super) unit_output: bool,
    /// Replay never writes: while a context lives on this thread (rebuilding
    /// arguments, calling, decoding the recorded return value to compare),
    /// captured functions record nothing and cached ones run their body.
    _replaying: super::ReplayingGuard,
}

impl<'a> ReplayCx<'a> {
    /// A context that only finds out where the function's captures are.
    pub fn locate(opts: &'a ReplayOptions) -> Self {
        ReplayCx::new(None, opts, Mode::Locate)
    }

    /// A context that replays `call`.
    pub fn run(call: &'a CapturedCall, opts: &'a ReplayOptions) -> Self {
        ReplayCx::new(Some(call), opts, Mode::Run)
    }

    /// A context that rebuilds the arguments of `call` and stops before
    /// calling: [`Self::finish`] then says whether the capture would be
    /// skipped (and why) without running anything. Drift and other failures
    /// are left for the real replay to report.
    pub fn probe(call: &'a CapturedCall, opts: &'a ReplayOptions) -> Self {
        ReplayCx::new(Some(call), opts, Mode::Probe)
    }

    /// A context for checking a value computed by the caller against the
    /// return value recorded with `call` (the adapter only locates the
    /// function's settings; the caller then calls the output check).
    pub fn compare(call: &'a CapturedCall, opts: &'a ReplayOptions) -> Self {
        ReplayCx::new(Some(call), opts, Mode::Compare)
    }

    fn new(call: Option<&'a CapturedCall>, opts: &'a ReplayOptions, mode: Mode) -> Self {
        ReplayCx {
            _replaying: super::ReplayingGuard::enter(),
            id: call.map(replay_id).unwrap_or_default(),
            call,
            opts,
            mode,
            located: None,
            resolved: None,
            state: State::Running,
            notes: Vec::new(),
            snapshot: None,
            returned: false,
            rebuild: RebuildCtx::new(),
            view_rebuild: RebuildCtx::new(),
            is_async: false,
            unit_output: false,
        }
    }

    /// Install the snapshot callback (used by `Check::Snapshot`).
    pub fn set_snapshot(&mut self, f: SnapshotFn) {
        self.snapshot = Some(f);
    }

    /// Add a remark shown with the outcome (e.g. about the stored call).
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Where the adapter said the captures are (after it ran).
    pub fn located(&self) -> Option<&Located> {
        self.located.as_ref()
    }

    /// The outcome, once the adapter has run. After [`Self::probe`], a
    /// capture that would be replayed is reported as passed.
    pub fn finish(mut self) -> ReplayOutcome {
        // Copies of arguments rebuilt for a check closure repeat their notes.
        let mut seen = std::collections::HashSet::new();
        self.notes.retain(|n| seen.insert(n.clone()));
        let function = self
            .located
            .as_ref()
            .map(|l| l.function.clone())
            .unwrap_or_else(|| self.opts.label.clone());
        match self.state {
            State::Skipped(reason) => ReplayOutcome::Skipped { reason },
            State::Failed(mut message) => {
                if !message.ends_with('\n') {
                    message.push('\n');
                }
                let inputs = self.call.map(describe_inputs).unwrap_or_default();
                let notes: String = self.notes.iter().map(|n| format!("  note: {n}\n")).collect();
                ReplayOutcome::Failed {
                    message: format!(
                        "replay of `{function}` capture {} failed:\n{message}{notes}{inputs}",
                        self.id
                    ),
                }
            }
            State::Running if self.call.is_some() && self.resolved.is_none() => ReplayOutcome::Failed {
                message: format!("the replay adapter of `{function}` did not run (bug)"),
            },
            State::Running | State::Probed => ReplayOutcome::Passed { notes: self.notes },
        }
    }

    pub(super) fn running(&self) -> bool {
        matches!(self.state, State::Running)
    }

    pub(super) fn skip<T>(&mut self, reason: String) -> Option<T> {
        if self.running() {
            self.state = State::Skipped(reason);
        }
        None
    }

    pub(super) fn fail<T>(&mut self, message: String) -> Option<T> {
        if self.running() {
            self.state = State::Failed(message);
        }
        None
    }

    pub(super) fn function(&self) -> String {
        self.resolved.as_ref().map(|r| r.fn_id.clone()).unwrap_or_default()
    }

    /// Adapter step 1: record where captures are; `None` when only locating.
    #[doc(hidden)]
    pub fn __enter(&mut self, resolved: Arc<Resolved>) -> Option<()> {
        self.located = Some(Located {
            function: resolved.fn_id.clone(),
            store: resolved.store.clone(),
        });
        self.resolved = Some(resolved);
        match self.mode {
            Mode::Locate | Mode::Compare => None,
            Mode::Probe | Mode::Run => self.call.map(|_| ()),
        }
    }

    /// Adapter: this function cannot be replayed at all (e.g. `impl Trait` arguments).
    #[doc(hidden)]
    pub fn __unsupported(&mut self, reason: &str) -> Option<()> {
        self.skip(reason.to_owned())
    }

    /// Adapter (typed loading): stop after rebuilding the arguments.
    #[doc(hidden)]
    pub fn __loaded(&mut self) {
        if self.running() {
            self.state = State::Probed;
        }
    }

    /// Adapter: the function returns `()` (`=> ret` then checks the
    /// after-states only, with its tolerance).
    #[doc(hidden)]
    pub fn __unit_output(&mut self) {
        self.unit_output = true;
    }

    /// Adapter: the executor for an `async fn` (the function is async).
    #[doc(hidden)]
    pub fn __executor(&mut self) -> Option<Executor> {
        self.is_async = true;
        self.opts.executor.clone()
    }

    /// Adapter: a generic return type must be the one recorded (checked
    /// before calling, so probing finds it).
    #[doc(hidden)]
    pub fn __generic_ret(&mut self, type_name: &str) -> Option<()> {
        let call = self.call?;
        if let Some(rec) = &call.metadata().ret {
            if rec.type_name != type_name {
                return self.skip(format!(
                    "recorded returning `{}`, but this entry replays it returning `{type_name}`: list `{}` with the type parameters it was recorded at",
                    rec.type_name, self.opts.label
                ));
            }
        }
        Some(())
    }

    /// Adapter: call the function; `None` if it panicked (which passes when
    /// the recorded call panicked too), or when only probing.
    #[doc(hidden)]
    pub fn __call<O>(&mut self, f: impl FnOnce() -> O) -> Option<O> {
        let call = self.call?;
        if !self.running() {
            return None;
        }
        if self.opts.check == super::Check::Ret && call.metadata().ret.is_none() && !self.unit_output {
            return self.skip(
                "no return value was recorded: add `ret` to #[capture_args(..)] and re-record, or check with `=> snapshot` or a closure"
                    .into(),
            );
        }
        if self.mode == Mode::Probe {
            self.state = State::Probed;
            return None;
        }
        let recorded = call.metadata().outcome;
        let result = {
            let _replaying = super::ReplayingGuard::enter();
            catch_unwind(AssertUnwindSafe(f))
        };
        match result {
            Ok(out) if recorded == Outcome::Panicked => {
                drop(out);
                self.fail("the recorded call panicked, but the replay returned normally".into())
            }
            Ok(out) => {
                self.returned = true;
                Some(out)
            }
            Err(_) if recorded == Outcome::Panicked => {
                self.notes.push("panicked, as the recorded call did".into());
                None
            }
            Err(p) => {
                let text = panic_text(&p);
                let hint = if self.is_async && self.opts.executor.is_none() && needs_runtime(&text) {
                    "\n  this `async fn` needs an async runtime: give the entry an executor, e.g. `executor(|f| tokio::runtime::Runtime::new().unwrap().block_on(f))`"
                } else {
                    ""
                };
                self.fail(format!("the function panicked: {text}{hint}"))
            }
        }
    }

    /// Adapter: whether a user closure should run.
    #[doc(hidden)]
    pub fn __wants_check(&self) -> bool {
        self.running() && self.returned
    }

    /// Adapter: run the user's closure; a panic (failed assertion) fails the replay.
    #[doc(hidden)]
    pub fn __check(&mut self, f: impl FnOnce()) {
        if !self.__wants_check() {
            return;
        }
        if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
            self.fail::<()>(format!("the check closure failed: {}\n", panic_text(&p)));
        }
    }

    /// For `assert_ret_eq!`: treat the caller's value as the call's output.
    #[doc(hidden)]
    pub fn __compare_ready(&mut self) -> bool {
        if self.mode != Mode::Compare || self.call.is_none() || self.resolved.is_none() {
            return false;
        }
        self.returned = true;
        true
    }
}

/// Whether a panic message says a runtime's reactor or context was missing.
fn needs_runtime(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("reactor") || t.contains("no reactor") || t.contains("runtime") || t.contains("tokio")
}

/// The message of a panic payload.
pub(crate) fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-text panic payload)".into()
    }
}

fn describe_inputs(call: &CapturedCall) -> String {
    let mut s = String::from("  inputs:\n");
    for a in &call.metadata().args {
        let v = match call.value(&a.name) {
            Ok(v) => render(&v),
            Err(_) => a.slot.missing_reason().unwrap_or_default(),
        };
        s.push_str(&format!("    {}: {} = {v}\n", a.name, a.type_name));
    }
    s.push_str(&format!("  record: {}", call.key()));
    s
}
