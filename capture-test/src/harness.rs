//! The run-time side of `replay_main!`: discover stored calls when the test
//! binary starts (so new captures are picked up without touching sources)
//! and run each as its own libtest-mimic trial named `<fn>::<replay id>`.
//!
//! Whether a capture can be replayed is decided while the trials are listed
//! (the arguments are rebuilt, nothing is called): captures that cannot are
//! trials with libtest's *ignored* flag, so `cargo test` and `cargo nextest`
//! both list and count them as ignored/skipped, and the reasons are printed
//! when the binary runs. A skipped capture that is run anyway (`--ignored`,
//! `--include-ignored`, nextest's `--run-ignored`) fails with its reason.

use std::collections::BTreeMap;
use std::sync::Arc;

use capture_runtime::record::Kinds;
use capture_runtime::replay::{replay_id, ReplayCx, ReplayOptions, ReplayOutcome};
use capture_runtime::store::layout::function_dir;
use capture_runtime::{CaptureError, CaptureLoader, CapturedCall};
use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// A function's replay adapter, wrapped by the replay macros.
pub type Adapter = fn(&mut ReplayCx<'_>);

/// Collects one trial per stored call of each function, then runs them.
pub struct Harness {
    args: Arguments,
    trials: Vec<Trial>,
    /// (test name, reason) of the trials listed as ignored.
    skipped: Vec<(String, String)>,
    /// Remarks printed when the binary runs (pending captures awaiting review).
    notes: Vec<String>,
}

/// One stored call to replay, and remarks about it found while discovering.
struct Found {
    call: CapturedCall,
    notes: Vec<String>,
}

/// What discovery found for one function: where it looked, the calls to
/// replay, and the records that could not be read (each a failing test
/// named `<fn>::unreadable_<id>`: a damaged fixture must not pass unseen).
struct Discovered {
    where_: String,
    found: Vec<Found>,
    unreadable: Vec<(String, String)>,
    /// Pending captures not replayed (only accepted ones were asked for).
    awaiting: usize,
    /// The folder accepted captures of the function live in.
    accepted_dir: String,
}

/// Where a function's captures are, as the adapter resolves them.
fn locate(opts: &ReplayOptions, adapter: Adapter) -> Result<capture_runtime::replay::Located, String> {
    let mut cx = ReplayCx::locate(opts);
    adapter(&mut cx);
    cx.located().cloned().ok_or_else(|| {
        format!(
            "the replay adapter of `{}` did not say where its captures are",
            opts.label()
        )
    })
}

/// Every stored call of the function behind `adapter`, oldest first (the
/// store is found through the adapter, so `path = ..` and the capturing
/// crate's folder are honoured). No captures yet is an empty list.
pub fn calls_of(opts: &ReplayOptions, adapter: Adapter) -> Result<Vec<CapturedCall>, CaptureError> {
    // Generated adapters always say where their captures are.
    let located = locate(opts, adapter).unwrap_or_else(|e| panic!("{e} (bug)"));
    match CaptureLoader::from_store(located.store.clone()).load_all(&located.function) {
        Err(CaptureError::NotFound { .. }) => Ok(Vec::new()),
        other => other,
    }
}

fn discover_noted(opts: &ReplayOptions, adapter: Adapter) -> Result<Discovered, String> {
    let located = locate(opts, adapter)?;
    let kinds = opts.replayed_kinds();
    let loader = CaptureLoader::from_store(located.store.clone());
    let (calls, bad) = match loader.clone().kinds(kinds).load_checked(&located.function) {
        Ok(loaded) => (loaded.calls, loaded.bad),
        Err(CaptureError::NotFound { .. }) => (Vec::new(), Vec::new()),
        Err(e) => return Err(format!("{}: {e}", located.store.describe())),
    };
    let awaiting = if kinds == Kinds::Accepted {
        located.store.pending(&located.function).map_or(0, |p| p.captures.len())
    } else {
        0
    };
    let accepted_dir = match located.store.local_root() {
        Some(root) => root.join(function_dir(&located.function)).display().to_string(),
        None => format!("{}/{}", located.store.describe(), function_dir(&located.function)),
    };
    let unreadable = bad
        .into_iter()
        .map(|b| {
            let name = b.key.rsplit('/').next().unwrap_or(&b.key);
            let id = capture_runtime::ContentId::of(name.as_bytes()).short(12);
            (
                format!("{}::unreadable_{id}", opts.label()),
                format!("stored call {} cannot be read: {}", b.key, b.error),
            )
        })
        .collect();
    // Oldest first: a newer call with the same inputs replaces an older one.
    let mut by_id: BTreeMap<String, Vec<CapturedCall>> = BTreeMap::new();
    for c in calls {
        by_id.entry(replay_id(&c)).or_default().push(c);
    }
    let found = by_id
        .into_values()
        .filter_map(|mut same| {
            let call = same.pop()?;
            let differ = same.iter().filter(|o| !same_result(o, &call)).count();
            let notes = if differ > 0 {
                vec![format!(
                    "{differ} older stored call(s) with the same inputs recorded another outcome or return value (is the function deterministic?); the newest was replayed"
                )]
            } else {
                Vec::new()
            };
            Some(Found { call, notes })
        })
        .collect();
    Ok(Discovered {
        where_: format!("`{}` in {}", located.function, located.store.describe()),
        found,
        unreadable,
        awaiting,
        accepted_dir,
    })
}

/// Whether two stored calls with the same inputs recorded the same result.
fn same_result(a: &CapturedCall, b: &CapturedCall) -> bool {
    let (a, b) = (a.metadata(), b.metadata());
    let slot = |r: &Option<capture_runtime::record::ArgRecord>| r.as_ref().map(|r| r.slot.clone());
    a.outcome == b.outcome && slot(&a.ret) == slot(&b.ret)
}

/// The stored calls of one function, one per distinct input (newest kept),
/// and where they were looked for.
pub fn discover(opts: &ReplayOptions, adapter: Adapter) -> Result<(String, Vec<CapturedCall>), String> {
    discover_noted(opts, adapter).map(|d| (d.where_, d.found.into_iter().map(|f| f.call).collect()))
}

/// Replay one stored call.
pub fn replay_one(opts: &ReplayOptions, adapter: Adapter, call: &CapturedCall) -> ReplayOutcome {
    replay_noted(opts, adapter, call, &[])
}

fn replay_noted(opts: &ReplayOptions, adapter: Adapter, call: &CapturedCall, notes: &[String]) -> ReplayOutcome {
    let mut cx = ReplayCx::run(call, opts);
    for n in notes {
        cx.note(n.clone());
    }
    adapter(&mut cx);
    cx.finish()
}

/// Why `call` would be skipped, found by rebuilding its arguments without
/// calling anything; `None` when it would be replayed.
pub fn probe_one(opts: &ReplayOptions, adapter: Adapter, call: &CapturedCall) -> Option<String> {
    let mut cx = ReplayCx::probe(call, opts);
    adapter(&mut cx);
    match cx.finish() {
        ReplayOutcome::Skipped { reason } => Some(reason),
        _ => None,
    }
}

/// Replay every stored call of one function: `(test name, outcome)` pairs.
/// A function without captures gives one skipped outcome saying so.
pub fn outcomes(opts: ReplayOptions, adapter: Adapter) -> Vec<(String, ReplayOutcome)> {
    let d = match discover_noted(&opts, adapter) {
        Err(e) => {
            return vec![(
                format!("{}::discover", opts.label()),
                ReplayOutcome::Failed { message: e },
            )]
        }
        Ok(d) => d,
    };
    let mut d = d;
    let mut out: Vec<(String, ReplayOutcome)> = std::mem::take(&mut d.unreadable)
        .into_iter()
        .map(|(name, message)| (name, ReplayOutcome::Failed { message }))
        .collect();
    if d.found.is_empty() && out.is_empty() {
        let (reason, fail) = no_captures(&opts, &d);
        out.push((
            format!("{}::no_captures", opts.label()),
            if fail {
                ReplayOutcome::Failed { message: reason }
            } else {
                ReplayOutcome::Skipped { reason }
            },
        ));
    } else if d.awaiting > 0 {
        eprintln!("replay {}: {}", opts.label(), awaiting_review(d.awaiting));
    }
    out.extend(d.found.iter().map(|f| {
        (
            format!("{}::{}", opts.label(), replay_id(&f.call)),
            replay_noted(&opts, adapter, &f.call, &f.notes),
        )
    }));
    out
}

/// Why a function has nothing to replay, and whether that fails the run:
/// in CI (`CI` set) it does, unless the entry says `allow_empty`.
fn no_captures(opts: &ReplayOptions, d: &Discovered) -> (String, bool) {
    let ci = capture_runtime::config::env_config().ci;
    let kinds = opts.replayed_kinds();
    let mut reason = match kinds {
        Kinds::Accepted => format!(
            "no accepted captures of {} (accepted captures live in {}, committed with the code)",
            d.where_, d.accepted_dir
        ),
        _ => format!("no stored calls of {}: run the program that captures first", d.where_),
    };
    if d.awaiting > 0 {
        reason.push_str("; ");
        reason.push_str(&awaiting_review(d.awaiting));
    } else if kinds == Kinds::Accepted {
        reason.push_str("; record some by running the program that captures, then accept them");
    }
    let fail = ci && !opts.empty_allowed();
    if fail {
        reason.push_str(
            "; CI fails a replay entry with nothing to replay: commit the accepted captures, or mark the entry `allow_empty`",
        );
    }
    (reason, fail)
}

/// What to do about pending captures that were not replayed.
fn awaiting_review(n: usize) -> String {
    format!(
        "{n} pending capture(s) await review: replay them too with `CAPTURE_REPLAY=all cargo test`, and accept them with `CAPTURE_ACCEPT=new` while recording or `CaptureLoader::accept_pending`"
    )
}

/// Panic with every failure if any outcome failed, or if none passed (every
/// capture skipped, or none stored); print the skipped ones and the notes.
pub fn assert_outcomes(outcomes: &[(String, ReplayOutcome)]) {
    let mut failures = Vec::new();
    let mut skips = Vec::new();
    let mut passed = 0;
    for (name, o) in outcomes {
        match o {
            ReplayOutcome::Passed { notes } => {
                passed += 1;
                for n in notes {
                    eprintln!("replay {name}: note: {n}");
                }
            }
            ReplayOutcome::Skipped { reason } => {
                eprintln!("replay {name}: SKIPPED: {reason}");
                skips.push(format!("{name}: {reason}"));
            }
            ReplayOutcome::Failed { message } => failures.push(format!("---- {name} ----\n{message}")),
        }
    }
    eprintln!(
        "replayed {passed} passed, {} failed, {} skipped",
        failures.len(),
        skips.len()
    );
    if !failures.is_empty() {
        panic!("{} replay(s) failed:\n{}", failures.len(), failures.join("\n"));
    }
    if passed == 0 {
        panic!(
            "no stored call was replayed ({} skipped):\n  {}",
            skips.len(),
            skips.join("\n  ")
        );
    }
}

/// The typed arguments handed over by `load_args!`, or why there are none.
pub fn loaded<T>(outcome: ReplayOutcome, args: Option<T>) -> Result<T, crate::LoadError> {
    match (outcome, args) {
        (_, Some(a)) => Ok(a),
        (ReplayOutcome::Skipped { reason }, None) => Err(crate::LoadError::NotReplayable(reason)),
        (ReplayOutcome::Failed { message }, None) => Err(crate::LoadError::Failed(message)),
        (ReplayOutcome::Passed { .. }, None) => Err(crate::LoadError::Failed(
            "the adapter returned without rebuilding the arguments (bug)".into(),
        )),
    }
}

/// Panic unless `outcome` (of `assert_ret_eq!`) passed.
#[track_caller]
pub fn assert_compared(call: &CapturedCall, outcome: ReplayOutcome) {
    let function = &call.metadata().function;
    let id = replay_id(call);
    if !call.has_ret() {
        panic!(
            "capture {id} of `{function}` has no recorded return value: add `ret` to #[capture_args(..)] and re-record"
        );
    }
    match outcome {
        ReplayOutcome::Passed { notes } => {
            for n in notes {
                eprintln!("capture {id} of `{function}`: note: {n}");
            }
        }
        ReplayOutcome::Skipped { reason } => panic!("capture {id} of `{function}` cannot be compared: {reason}"),
        ReplayOutcome::Failed { message } => panic!("{message}"),
    }
}

impl Harness {
    /// A harness reading the test binary's command line (filters, `--list`,
    /// `--ignored`, `--exact`, as `cargo test` and `cargo nextest` pass them).
    pub fn from_args() -> Self {
        Harness::with_args(Arguments::from_args())
    }

    /// A harness with the given arguments.
    pub fn with_args(args: Arguments) -> Self {
        Harness {
            args,
            trials: Vec::new(),
            skipped: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Add one trial per stored call of the function behind `adapter`.
    pub fn add(&mut self, opts: ReplayOptions, adapter: Adapter) {
        let opts = Arc::new(opts);
        match discover_noted(&opts, adapter) {
            Err(e) => self.trials.push(Trial::test(
                format!("{}::discover", opts.label()),
                move || Err(e.into()),
            )),
            Ok(d) if d.found.is_empty() && d.unreadable.is_empty() => {
                let name = format!("{}::no_captures", opts.label());
                let (reason, fail) = no_captures(&opts, &d);
                if fail {
                    self.trials.push(Trial::test(name, move || Err(reason.into())));
                } else {
                    self.skipped.push((name.clone(), reason.clone()));
                    self.trials
                        .push(Trial::test(name, move || Err(run_anyway(&reason).into())).with_ignored_flag(true));
                }
            }
            Ok(d) => {
                if d.awaiting > 0 {
                    self.notes
                        .push(format!("{}: {}", opts.label(), awaiting_review(d.awaiting)));
                }
                for (name, message) in d.unreadable {
                    self.trials.push(Trial::test(name, move || Err(message.into())));
                }
                for Found { call, notes } in d.found {
                    let opts = opts.clone();
                    let name = format!("{}::{}", opts.label(), replay_id(&call));
                    let skip = probe_one(&opts, adapter, &call);
                    let pre_skipped = skip.is_some();
                    if let Some(reason) = skip {
                        self.skipped.push((name.clone(), reason));
                    }
                    let trial = Trial::ignorable_test(name.clone(), move || {
                        let outcome = replay_noted(&opts, adapter, &call, &notes);
                        trial_result(&name, outcome, pre_skipped)
                    });
                    self.trials.push(trial.with_ignored_flag(pre_skipped));
                }
            }
        }
    }

    /// Add a plain test of your own (it runs, filters and lists like the replays).
    pub fn add_test(&mut self, name: impl Into<String>, test: impl FnOnce() -> Result<(), String> + Send + 'static) {
        self.trials
            .push(Trial::test(name, move || test().map_err(Failed::from)));
    }

    /// The trials built so far (names, for tests of the harness).
    pub fn trial_names(&self) -> Vec<String> {
        self.trials.iter().map(|t| t.name().to_owned()).collect()
    }

    /// `(test name, reason)` of the captures that cannot be replayed (listed as ignored).
    pub fn skipped(&self) -> &[(String, String)] {
        &self.skipped
    }

    /// Print why the ignored trials that match the filter are skipped, run
    /// the trials and exit with libtest's exit code.
    pub fn run(self) -> ! {
        let runs_ignored = self.args.ignored || self.args.include_ignored;
        if !self.args.list && !runs_ignored {
            let shown: Vec<&(String, String)> = self
                .skipped
                .iter()
                .filter(|(name, _)| {
                    self.trials
                        .iter()
                        .find(|t| t.name() == name)
                        .is_some_and(|t| !self.args.is_filtered_out(t))
                })
                .collect();
            if !shown.is_empty() {
                eprintln!(
                    "replay: {} stored call(s) cannot be replayed; they are listed as ignored:",
                    shown.len()
                );
                for (name, reason) in shown {
                    eprintln!("  {name}: {reason}");
                }
            }
            for note in &self.notes {
                eprintln!("replay {note}");
            }
        }
        libtest_mimic::run(&self.args, self.trials).exit()
    }
}

fn run_anyway(reason: &str) -> String {
    format!(
        "cannot be replayed: {reason}\n(it is listed as ignored, and fails only because ignored tests were asked to run)"
    )
}

/// Passed replays print their notes (shown by libtest-mimic as the test
/// runs, and by nextest for failing tests or with `--success-output`). A
/// replay found to be skipped only while running is an ignored trial with
/// its reason; one listed as ignored and run anyway fails with its reason.
fn trial_result(name: &str, outcome: ReplayOutcome, listed_as_ignored: bool) -> Result<Completion, Failed> {
    match outcome {
        ReplayOutcome::Passed { notes } => {
            for n in notes {
                eprintln!("{name}: note: {n}");
            }
            Ok(Completion::Completed)
        }
        ReplayOutcome::Skipped { reason } if listed_as_ignored => Err(run_anyway(&reason).into()),
        ReplayOutcome::Skipped { reason } => {
            eprintln!("{name}: skipped: {reason}");
            Ok(Completion::ignored_with(reason))
        }
        ReplayOutcome::Failed { message } => Err(message.into()),
    }
}
