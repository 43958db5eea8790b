//! The run-time side of `replay_main!`: discover stored calls when the test
//! binary starts (so new captures are picked up without touching sources)
//! and run each as its own libtest-mimic trial named `<fn>::<replay id>`.

use std::collections::BTreeMap;
use std::sync::Arc;

use capture_runtime::replay::{replay_id, ReplayCx, ReplayOptions, ReplayOutcome};
use capture_runtime::{CaptureError, CaptureLoader, CapturedCall};
use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// A function's replay adapter, wrapped by the replay macros.
pub type Adapter = fn(&mut ReplayCx<'_>);

/// Collects one trial per stored call of each function, then runs them.
pub struct Harness {
    args: Arguments,
    trials: Vec<Trial>,
}

/// The stored calls of one function, one per distinct input (newest kept),
/// and where they were looked for.
pub fn discover(opts: &ReplayOptions, adapter: Adapter) -> Result<(String, Vec<CapturedCall>), String> {
    let mut cx = ReplayCx::locate(opts);
    adapter(&mut cx);
    let located = cx.located().cloned().ok_or_else(|| {
        format!(
            "the replay adapter of `{}` did not say where its captures are",
            opts.label()
        )
    })?;
    let loader = CaptureLoader::from_store(located.store.clone());
    let calls = match loader.load_all(&located.function) {
        Ok(calls) => calls,
        Err(CaptureError::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(format!("{}: {e}", located.store.describe())),
    };
    // Oldest first: a newer call with the same inputs replaces an older one.
    let mut by_id: BTreeMap<String, CapturedCall> = BTreeMap::new();
    for c in calls {
        by_id.insert(replay_id(&c), c);
    }
    Ok((
        format!("`{}` in {}", located.function, located.store.describe()),
        by_id.into_values().collect(),
    ))
}

/// Replay one stored call.
pub fn replay_one(opts: &ReplayOptions, adapter: Adapter, call: &CapturedCall) -> ReplayOutcome {
    let mut cx = ReplayCx::run(call, opts);
    adapter(&mut cx);
    cx.finish()
}

/// Replay every stored call of one function: `(test name, outcome)` pairs.
/// A function without captures gives one skipped outcome saying so.
pub fn outcomes(opts: ReplayOptions, adapter: Adapter) -> Vec<(String, ReplayOutcome)> {
    match discover(&opts, adapter) {
        Err(e) => vec![(
            format!("{}::discover", opts.label()),
            ReplayOutcome::Failed { message: e },
        )],
        Ok((where_, calls)) if calls.is_empty() => vec![(
            format!("{}::no_captures", opts.label()),
            ReplayOutcome::Skipped {
                reason: no_captures(&where_),
            },
        )],
        Ok((_, calls)) => calls
            .iter()
            .map(|c| {
                (
                    format!("{}::{}", opts.label(), replay_id(c)),
                    replay_one(&opts, adapter, c),
                )
            })
            .collect(),
    }
}

fn no_captures(where_: &str) -> String {
    format!("no stored calls of {where_}: run the program that captures first")
}

/// Panic with every failure if any outcome failed; print the skipped ones.
pub fn assert_outcomes(outcomes: &[(String, ReplayOutcome)]) {
    let mut failures = Vec::new();
    let (mut passed, mut skipped) = (0, 0);
    for (name, o) in outcomes {
        match o {
            ReplayOutcome::Passed { .. } => passed += 1,
            ReplayOutcome::Skipped { reason } => {
                skipped += 1;
                eprintln!("replay {name}: SKIPPED: {reason}");
            }
            ReplayOutcome::Failed { message } => failures.push(format!("---- {name} ----\n{message}")),
        }
    }
    eprintln!("replayed {passed} passed, {} failed, {skipped} skipped", failures.len());
    if !failures.is_empty() {
        panic!("{} replay(s) failed:\n{}", failures.len(), failures.join("\n"));
    }
}

impl Harness {
    /// A harness reading the test binary's command line (filters, `--list`,
    /// `--ignored`, `--exact`, as `cargo test` and `cargo nextest` pass them).
    pub fn from_args() -> Self {
        Harness {
            args: Arguments::from_args(),
            trials: Vec::new(),
        }
    }

    /// Add one trial per stored call of the function behind `adapter`.
    pub fn add(&mut self, opts: ReplayOptions, adapter: Adapter) {
        let opts = Arc::new(opts);
        match discover(&opts, adapter) {
            Err(e) => self.trials.push(Trial::test(
                format!("{}::discover", opts.label()),
                move || Err(e.into()),
            )),
            Ok((where_, calls)) if calls.is_empty() => {
                let reason = no_captures(&where_);
                self.trials.push(Trial::ignorable_test(
                    format!("{}::no_captures", opts.label()),
                    move || Ok(Completion::ignored_with(reason)),
                ));
            }
            Ok((_, calls)) => {
                for call in calls {
                    let opts = opts.clone();
                    let name = format!("{}::{}", opts.label(), replay_id(&call));
                    self.trials.push(Trial::ignorable_test(name, move || {
                        trial_result(replay_one(&opts, adapter, &call))
                    }));
                }
            }
        }
    }

    /// The trials built so far (names, for tests of the harness).
    pub fn trial_names(&self) -> Vec<String> {
        self.trials.iter().map(|t| t.name().to_owned()).collect()
    }

    /// Run the trials and exit with libtest's exit code.
    pub fn run(self) -> ! {
        libtest_mimic::run(&self.args, self.trials).exit()
    }
}

/// A skipped replay is an ignored trial whose reason is printed
/// (`ignored (argument `password`: ...)`) and counted in the summary.
fn trial_result(outcome: ReplayOutcome) -> Result<Completion, Failed> {
    match outcome {
        ReplayOutcome::Passed { .. } => Ok(Completion::Completed),
        ReplayOutcome::Skipped { reason } => Ok(Completion::ignored_with(reason)),
        ReplayOutcome::Failed { message } => Err(message.into()),
    }
}
