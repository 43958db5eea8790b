//! The replay context: what a generated replay adapter talks to while it
//! rebuilds the arguments of one stored call, calls the function and checks
//! what came out.

use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::compare::{diff, render, Tolerance};
use super::drift::Drift;
use super::stand_in::{markers, StandIns};
use super::{replay_id, ReplayOutcome};
use crate::capture::call::encode_arg;
use crate::capture::dispatch::Encoded;
use crate::capture::site::Resolved;
use crate::codec::Codec;
use crate::error::CaptureError;
use crate::load::CapturedCall;
use crate::record::{ArgRecord, Outcome, Schema, Slot};
use crate::store::Store;
use crate::value::{EncodeCtx, Value};

/// What a replay checks after calling the function.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Check {
    /// The recorded return value and `&mut` after-states, when they were
    /// recorded; otherwise only that the call returns (or panics) as recorded.
    #[default]
    Auto,
    /// The recorded return value; a capture without one is skipped with the reason.
    Ret,
    /// An insta snapshot of the output (needs `Debug`).
    Snapshot,
    /// Only the user's closure (and that the call returns as recorded).
    Closure,
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
    label: String,
    check: Check,
    tolerance: Tolerance,
    stand_ins: StandIns,
}

impl ReplayOptions {
    /// Options for the function named `label` in test names (e.g. `checkout::price`).
    pub fn new(label: impl Into<String>) -> Self {
        ReplayOptions {
            label: label.into(),
            check: Check::Auto,
            tolerance: Tolerance::default(),
            stand_ins: StandIns::new(),
        }
    }

    /// What to check.
    pub fn check(mut self, check: Check) -> Self {
        self.check = check;
        self
    }

    /// Compare floats with this tolerance (see [`Tolerance`]).
    pub fn float_tolerance(mut self, tol: f64) -> Self {
        self.tolerance.float = Some(tol);
        self
    }

    /// Values for arguments (or parts) that were not stored.
    pub fn stand_ins(mut self, stand_ins: StandIns) -> Self {
        self.stand_ins = stand_ins;
        self
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

enum State {
    Running,
    Skipped(String),
    Failed(String),
}

/// One replay in progress (or a look-up of where captures are).
///
/// Generated adapters (`__capture_replay_<fn>`) drive it; tests normally use
/// the harness in `capture-test`, which builds one per stored call.
pub struct ReplayCx<'a> {
    call: Option<&'a CapturedCall>,
    opts: &'a ReplayOptions,
    located: Option<Located>,
    resolved: Option<Arc<Resolved>>,
    state: State,
    notes: Vec<String>,
    snapshot: Option<SnapshotFn>,
    id: String,
    returned: bool,
}

impl<'a> ReplayCx<'a> {
    /// A context that only finds out where the function's captures are.
    pub fn locate(opts: &'a ReplayOptions) -> Self {
        ReplayCx::new(None, opts)
    }

    /// A context that replays `call`.
    pub fn run(call: &'a CapturedCall, opts: &'a ReplayOptions) -> Self {
        ReplayCx::new(Some(call), opts)
    }

    fn new(call: Option<&'a CapturedCall>, opts: &'a ReplayOptions) -> Self {
        ReplayCx {
            id: call.map(replay_id).unwrap_or_default(),
            call,
            opts,
            located: None,
            resolved: None,
            state: State::Running,
            notes: Vec::new(),
            snapshot: None,
            returned: false,
        }
    }

    /// Install the snapshot callback (used by `Check::Snapshot`).
    pub fn set_snapshot(&mut self, f: SnapshotFn) {
        self.snapshot = Some(f);
    }

    /// Where the adapter said the captures are (after it ran).
    pub fn located(&self) -> Option<&Located> {
        self.located.as_ref()
    }

    /// The outcome, once the adapter has run.
    pub fn finish(self) -> ReplayOutcome {
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
            State::Running => ReplayOutcome::Passed { notes: self.notes },
        }
    }

    fn running(&self) -> bool {
        matches!(self.state, State::Running)
    }

    fn skip<T>(&mut self, reason: String) -> Option<T> {
        if self.running() {
            self.state = State::Skipped(reason);
        }
        None
    }

    fn fail<T>(&mut self, message: String) -> Option<T> {
        if self.running() {
            self.state = State::Failed(message);
        }
        None
    }

    fn function(&self) -> String {
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
        self.call.map(|_| ())
    }

    /// Adapter: this function cannot be replayed at all (e.g. `impl Trait` arguments).
    #[doc(hidden)]
    pub fn __unsupported(&mut self, reason: &str) -> Option<()> {
        self.skip(reason.to_owned())
    }

    /// Adapter: rebuild argument `name` (or `self`) as a `T`.
    #[doc(hidden)]
    pub fn __arg<T>(
        &mut self,
        name: &str,
        current: Option<&'static Schema>,
        decode: impl FnOnce(Codec, &[u8]) -> Result<T, String>,
    ) -> Option<T> {
        let call = self.call?;
        if !self.running() {
            return None;
        }
        let type_name = std::any::type_name::<T>();
        let Some(rec) = call.metadata().args.iter().find(|a| a.name == name) else {
            if name == "self" {
                return match self.opts.stand_ins.whole("self") {
                    Some(v) => self.decode_value(name, v.clone(), decode),
                    None => self.skip(
                        "receiver not recorded: add `self` to #[capture_args(..)] and re-record, or supply one with `with { self = .. }`"
                            .into(),
                    ),
                };
            }
            let known: Vec<&str> = call.arg_names();
            return self.fail(format!(
                "the capture has no argument `{name}` (recorded: {}): the function's parameters changed since recording; re-record",
                known.join(", ")
            ));
        };
        if let Some(v) = self.opts.stand_ins.whole(name) {
            return self.decode_value(name, v.clone(), decode);
        }
        if let Some(reason) = rec.slot.missing_reason() {
            return self.skip(format!(
                "argument `{name}`: {reason}; supply a stand-in value (`with {{ {name} = .. }}`) to replay it"
            ));
        }
        let Slot::Stored { id, .. } = &rec.slot else {
            return None;
        };
        let (codec, bytes) = match call.store().get_object(id) {
            Ok(x) => x,
            Err(CaptureError::BadFile { reason, .. }) if reason.contains("missing") => {
                return self.skip(format!("argument `{name}`: stored value is missing ({reason})"))
            }
            Err(e) => return self.fail(format!("argument `{name}`: {e}")),
        };
        let uncovered: Vec<String> = rec
            .redacted
            .iter()
            .filter(|(path, _)| !self.opts.stand_ins.covers(path))
            .map(|(path, why)| format!("{path} ({why})"))
            .collect();
        if !uncovered.is_empty() {
            self.notes.push(format!(
                "redacted at capture time and replayed as recorded: {}; supply stand-ins (`with {{ path = value }}`) if the function depends on them",
                uncovered.join(", ")
            ));
        }
        let patched = self.opts.stand_ins.has_parts(name);
        let result = if patched {
            let mut tree: Value = match codec.decode(&bytes) {
                Ok(v) => v,
                Err(e) => return self.fail(format!("argument `{name}`: stored value unreadable: {e}")),
            };
            let unknown = self.opts.stand_ins.patch(name, &mut tree);
            if !unknown.is_empty() {
                return self.fail(format!(
                    "stand-in path(s) {} do not exist in the recorded argument `{name}`",
                    unknown.join(", ")
                ));
            }
            let left = markers(name, &tree);
            if !left.is_empty() {
                let parts: Vec<String> = left.iter().map(|(p, m)| format!("{p} ({})", m.describe())).collect();
                return self.skip(format!(
                    "argument `{name}` has parts that were not stored: {}; supply stand-ins (`with {{ {} = .. }}`)",
                    parts.join(", "),
                    left[0].0
                ));
            }
            match codec.encode(&tree) {
                Ok(b) => decode(codec, &b),
                Err(e) => Err(e),
            }
        } else {
            decode(codec, &bytes)
        };
        let recorded = rec.schema.clone();
        match result {
            Ok(v) => {
                if let (Some(r), Some(c)) = (&recorded, current) {
                    if r.fingerprint != c.fingerprint {
                        let drift = self.drift(rec, type_name, current, None).message();
                        if allow_drift() {
                            self.notes
                                .push(format!("drift tolerated (CAPTURE_ALLOW_DRIFT): {drift}"));
                        } else {
                            return self.fail(drift);
                        }
                    }
                }
                Some(v)
            }
            Err(e) if e.contains("cannot be rebuilt") => self.skip(format!("argument `{name}`: {e}")),
            Err(e) => {
                let drift = self.drift(rec, type_name, current, Some(e)).message();
                self.fail(drift)
            }
        }
    }

    fn decode_value<T>(
        &mut self,
        name: &str,
        v: Value,
        decode: impl FnOnce(Codec, &[u8]) -> Result<T, String>,
    ) -> Option<T> {
        let codec = Codec::MsgPack;
        let result = codec.encode(&v).and_then(|b| decode(codec, &b));
        match result {
            Ok(t) => Some(t),
            Err(e) => self.fail(format!(
                "the stand-in for `{name}` does not fit `{}`: {e}",
                std::any::type_name::<T>()
            )),
        }
    }

    fn drift(&self, rec: &ArgRecord, current_type: &str, current: Option<&Schema>, error: Option<String>) -> Drift {
        let call = self.call.expect("running");
        Drift {
            function: self.function(),
            capture: self.id.clone(),
            arg: rec.name.clone(),
            recorded_type: rec.type_name.clone(),
            recorded: rec.schema.clone(),
            current_type: current_type.to_owned(),
            current: current.cloned(),
            decode_error: error,
            record_key: call.key().to_owned(),
        }
    }

    /// Adapter: call the function; `None` if it panicked (which passes when
    /// the recorded call panicked too).
    #[doc(hidden)]
    pub fn __call<O>(&mut self, f: impl FnOnce() -> O) -> Option<O> {
        let call = self.call?;
        if !self.running() {
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
            Err(p) => self.fail(format!("the function panicked: {}", panic_text(&p))),
        }
    }

    fn encode_now(
        &mut self,
        name: &str,
        type_name: &str,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) -> Result<Value, String> {
        let resolved = self.resolved.clone().ok_or("no site")?;
        let pending = encode_arg(&resolved, name, type_name, encode);
        match (&pending.record.slot, pending.body) {
            (Slot::Stored { .. }, Some(body)) => resolved.store.codec().decode(&body),
            (slot, _) => Err(slot.missing_reason().unwrap_or_default()),
        }
    }

    fn recorded_value(&self, rec: &ArgRecord) -> Result<Value, String> {
        let call = self.call.ok_or("no call")?;
        call.decode_record(rec, |c, b| c.decode::<Value>(b), "Value")
            .map_err(|e| e.to_string())
    }

    /// Adapter: compare the state of a `&mut` argument after the call with the
    /// recorded after-state, when one was recorded.
    #[doc(hidden)]
    pub fn __after(&mut self, name: &str, type_name: &str, encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded) {
        let Some(call) = self.call else { return };
        if !self.running() || !self.returned || matches!(self.opts.check, Check::Closure | Check::Snapshot) {
            return;
        }
        let Some(rec) = call.metadata().after.iter().find(|a| a.name == name) else {
            return;
        };
        let recorded = match self.recorded_value(rec) {
            Ok(v) => v,
            Err(e) => {
                self.notes.push(format!("after-state of `{name}` not compared: {e}"));
                return;
            }
        };
        match self.encode_now(name, type_name, encode) {
            Ok(now) => {
                let d = diff(name, &recorded, &now, self.opts.tolerance);
                if !d.is_empty() {
                    self.fail::<()>(format!(
                        "`&mut {name}` after the call differs from the recorded after-state:\n  {}\n",
                        d.join("\n  ")
                    ));
                }
            }
            Err(e) => {
                self.fail::<()>(format!("the after-state of `{name}` cannot be encoded now: {e}"));
            }
        }
    }

    /// Adapter: check the output (recorded return value or snapshot).
    #[doc(hidden)]
    pub fn __output(
        &mut self,
        type_name: &str,
        debug: Option<&dyn Debug>,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        let Some(call) = self.call else { return };
        if !self.running() || !self.returned {
            return;
        }
        match self.opts.check {
            Check::Closure => {}
            Check::Snapshot => {
                let Some(value) = debug else {
                    self.fail::<()>(format!(
                        "snapshot mode needs `Debug` on the output type `{type_name}`; derive it, or check with a closure"
                    ));
                    return;
                };
                let info = SnapshotInfo {
                    name: format!("{}__{}", self.opts.label.replace("::", "__"), self.id)
                        .chars()
                        .map(|c| {
                            if c.is_alphanumeric() || c == '_' || c == '-' {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect(),
                    description: format!("replay of `{}` capture {}", self.function(), self.id),
                };
                let Some(mut snap) = self.snapshot.take() else {
                    self.fail::<()>(
                        "snapshot mode without a snapshot callback (use capture_test::replay_main!)".into(),
                    );
                    return;
                };
                let r = catch_unwind(AssertUnwindSafe(|| snap(&info, value)));
                self.snapshot = Some(snap);
                if let Err(p) = r {
                    self.fail::<()>(format!(
                        "snapshot `{}` does not match: {}\n  review with `cargo insta review`, or accept with INSTA_UPDATE=always\n",
                        info.name,
                        panic_text(&p)
                    ));
                }
            }
            Check::Auto | Check::Ret => {
                let Some(rec) = call.metadata().ret.clone() else {
                    if self.opts.check == Check::Ret {
                        self.skip::<()>(
                            "no return value was recorded: add `ret` to #[capture_args(..)] and re-record, or check with `=> snapshot` or a closure"
                                .into(),
                        );
                    }
                    return;
                };
                let recorded = match self.recorded_value(&rec) {
                    Ok(v) => v,
                    Err(e) => {
                        self.skip::<()>(format!("the recorded return value cannot be read: {e}"));
                        return;
                    }
                };
                match self.encode_now("return", type_name, encode) {
                    Ok(now) => {
                        let d = diff("return", &recorded, &now, self.opts.tolerance);
                        if !d.is_empty() {
                            let shown = debug.map(|v| format!("\n  now (Debug): {v:?}")).unwrap_or_default();
                            self.fail::<()>(format!(
                                "the return value differs from the recorded one:\n  {}\n  recorded: {}\n  now:      {}{shown}\n",
                                d.join("\n  "),
                                render(&recorded),
                                render(&now),
                            ));
                        }
                    }
                    Err(e) => {
                        self.fail::<()>(format!("the return value cannot be encoded now: {e}"));
                    }
                }
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
}

fn allow_drift() -> bool {
    std::env::var("CAPTURE_ALLOW_DRIFT").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
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
