//! One crate from start to end: prepare the copies, build the annotated
//! one (leaving out what does not compile, round by round), run the suites
//! pristine / capture off / capture on, time the test binaries, replay.

use std::fmt::Write as _;
use std::time::Duration;

use super::annotate::write_annotated;
use super::build::{build, CompileError};
use super::fetch::prepare;
use super::replay::{run_replay, Replay};
use super::spec::Spec;
use super::store::{calls_of, count_captures, dir_bytes};
use super::suite::{median, run_suite, time_binaries, Suite, Timed};

/// Time limit of a suite run pristine or with capture off (and at least 3x
/// the pristine suite for capture off).
const SUITE_LIMIT: Duration = Duration::from_secs(600);
/// Capture on is stopped at this many times the capture-off time (far past
/// the 1.5x target: enough to say by how much it is missed), but not before
/// `ON_LIMIT_MIN` (timed binaries) / `SUITE_LIMIT_ON_MIN` (the full suite).
const ON_LIMIT_FACTOR: u32 = 10;
const ON_LIMIT_MIN: Duration = Duration::from_secs(60);
const SUITE_LIMIT_ON_MIN: Duration = Duration::from_secs(180);
/// Rebuilds after leaving out what did not compile, before giving up.
const MAX_BUILD_ROUNDS: usize = 8;

/// What became of one spec'd function.
pub(super) struct FnResult {
    pub(super) compiled: bool,
    pub(super) replay_compiled: bool,
    pub(super) errors: Vec<CompileError>,
    /// For a function without a replay entry (`replay=none`): its calls in
    /// the store after the capture-on suite.
    pub(super) stored_calls: Option<usize>,
}

/// Everything `run_crate` found out about one crate.
pub(super) struct Outcome {
    pub(super) spec: Spec,
    pub(super) fatal: Option<String>,
    pub(super) fns: Vec<FnResult>,
    pub(super) unblamed: Vec<CompileError>,
    pub(super) pristine: Option<Suite>,
    pub(super) off: Option<Suite>,
    pub(super) on: Option<Suite>,
    pub(super) times: [Option<Duration>; 3],
    /// Capture on was stopped at this limit (the time is a lower bound).
    pub(super) on_stopped: Option<Duration>,
    pub(super) store_bytes: u64,
    pub(super) timed_runs: usize,
    pub(super) replay: Replay,
    pub(super) store_calls: usize,
}

/// Prepare, build, run the suites, time and replay one crate; what fails
/// on the way is `fatal` in the outcome, the rest of the report stays.
pub(super) fn run_crate(spec: Spec, quick: bool) -> Outcome {
    let n = spec.fns.len();
    let mut o = Outcome {
        fns: (0..n)
            .map(|_| FnResult {
                compiled: true,
                replay_compiled: true,
                errors: Vec::new(),
                stored_calls: None,
            })
            .collect(),
        spec,
        fatal: None,
        unblamed: Vec::new(),
        pristine: None,
        off: None,
        on: None,
        times: [None; 3],
        on_stopped: None,
        store_bytes: 0,
        timed_runs: 0,
        replay: Replay::default(),
        store_calls: 0,
    };
    if let Err(e) = run_crate_inner(&mut o, quick) {
        o.fatal = Some(e);
    }
    o
}

fn run_crate_inner(o: &mut Outcome, quick: bool) -> Result<(), String> {
    let spec = o.spec.clone();
    let feats = &spec.features;
    let name = &spec.name;
    let dirs = prepare(&spec)?;

    eprintln!("realworld: {name}: pristine build and suite");
    let pb = build(&dirs.pristine, &dirs, feats, &[], &[])?;
    if !pb.ok {
        return Err(format!("the pristine crate does not build:\n{}", pb.stderr_tail));
    }
    o.pristine = Some(run_suite(
        &dirs.pristine,
        &dirs,
        feats,
        &[],
        SUITE_LIMIT,
        "suite-pristine",
    )?);

    // annotated: build, leave out what does not compile, build again
    let mut active = vec![true; spec.fns.len()];
    let mut replay_ok = vec![true; spec.fns.len()];
    let mut errlog = String::new();
    let mut exes = Vec::new();
    let mut built = false;
    for round in 1..=MAX_BUILD_ROUNDS {
        eprintln!(
            "realworld: {name}: annotated build, round {round} ({} functions, {} replay entries)",
            active.iter().filter(|a| **a).count(),
            (0..spec.fns.len())
                .filter(|&i| active[i] && replay_ok[i] && spec.fns[i].entry().is_some())
                .count()
        );
        let blame = write_annotated(&spec, &dirs, &active, &replay_ok)?;
        let b = build(&dirs.annotated, &dirs, feats, &[], &blame)?;
        let b = if b.ok {
            exes = b.executables;
            // the replay target (not part of the suite: test = false)
            build(&dirs.annotated, &dirs, feats, &["--test", "capture_replay"], &blame)?
        } else {
            b
        };
        for e in &b.errors {
            let _ = writeln!(errlog, "--- round {round}\n{}", e.rendered);
        }
        if b.ok {
            built = true;
            break;
        }
        let mut progress = false;
        for (err, who) in &b.blamed {
            if who.is_empty() {
                if !o.unblamed.iter().any(|u| u.short() == err.short()) {
                    o.unblamed.push(err.clone());
                }
                continue;
            }
            for &(i, in_replay) in who {
                let r = &mut o.fns[i];
                if !r.errors.iter().any(|x| x.short() == err.short()) {
                    r.errors.push(err.clone());
                }
                if in_replay {
                    if replay_ok[i] {
                        replay_ok[i] = false;
                        r.replay_compiled = false;
                        progress = true;
                    }
                } else if active[i] {
                    active[i] = false;
                    r.compiled = false;
                    progress = true;
                }
            }
        }
        if !progress {
            if b.errors.is_empty() {
                return Err(format!("the annotated crate does not build:\n{}", b.stderr_tail));
            }
            break;
        }
        // unblamed errors of this round may be consequences of blamed ones
        o.unblamed.clear();
    }
    std::fs::write(dirs.root.join("compile-errors.log"), &errlog).ok();
    if !built {
        return Err(format!(
            "the annotated crate does not compile even without the functions that failed (errors in {})",
            dirs.root.join("compile-errors.log").display()
        ));
    }
    o.unblamed.clear();

    eprintln!("realworld: {name}: suites, capture off and on");
    let store = dirs.store.display().to_string();
    let off_env = [("CAPTURE_ENABLED", "0"), ("CAPTURE_DIR", store.as_str())];
    let on_env = [("CAPTURE_ENABLED", "1"), ("CAPTURE_DIR", store.as_str())];
    let p_took = o.pristine.as_ref().map_or(Duration::ZERO, |p| p.took);
    let off = run_suite(
        &dirs.annotated,
        &dirs,
        feats,
        &off_env,
        (p_took * 3).max(SUITE_LIMIT),
        "suite-off",
    )?;
    let off_took = off.took;
    o.off = Some(off);

    // timing: the test binaries (doc tests excluded), interleaved
    let pexes = pb.executables;
    let runs = if quick { 1 } else { 3 };
    o.timed_runs = runs;
    let mut t: [Vec<Duration>; 3] = Default::default();
    for i in 0..runs {
        eprintln!("realworld: {name}: timing run {}/{runs}", i + 1);
        if let Timed::Took(d) = time_binaries(&dirs, &dirs.pristine, &pexes, &[], SUITE_LIMIT) {
            t[0].push(d);
        }
        let off_t = match time_binaries(&dirs, &dirs.annotated, &exes, &off_env, SUITE_LIMIT) {
            Timed::Took(d) => d,
            _ => continue,
        };
        t[1].push(off_t);
        let _ = std::fs::remove_dir_all(&dirs.store);
        let limit = (off_t * ON_LIMIT_FACTOR).max(ON_LIMIT_MIN);
        match time_binaries(&dirs, &dirs.annotated, &exes, &on_env, limit) {
            Timed::Took(d) => t[2].push(d),
            Timed::Stopped(d) => {
                eprintln!("realworld: {name}: capture on stopped at {:.0}s", d.as_secs_f64());
                o.on_stopped = Some(d);
                break;
            }
            Timed::Failed => {}
        }
    }
    let got = [t[0].len(), t[1].len(), t[2].len()];
    let stopped = o.on_stopped.is_some();
    for (k, v) in t.into_iter().enumerate() {
        o.times[k] = if got[k] == runs || (stopped && !v.is_empty()) {
            median(v)
        } else {
            None
        };
    }
    if stopped {
        o.times[2] = o.on_stopped;
    }

    // the full suite with capture on, into a fresh store: what replay reads
    let _ = std::fs::remove_dir_all(&dirs.store);
    let on_limit = (off_took * ON_LIMIT_FACTOR).max(SUITE_LIMIT_ON_MIN);
    eprintln!(
        "realworld: {name}: suite with capture on (limit {:.0}s)",
        on_limit.as_secs_f64()
    );
    o.on = Some(run_suite(&dirs.annotated, &dirs, feats, &on_env, on_limit, "suite-on")?);
    o.store_calls = count_captures(&dirs.store);
    o.store_bytes = dir_bytes(&dirs.store);
    for (f, r) in spec.fns.iter().zip(&mut o.fns) {
        if f.entry().is_none() && r.compiled {
            r.stored_calls = Some(calls_of(&dirs.store, name, f));
        }
    }

    eprintln!("realworld: {name}: replay");
    let labels: Vec<String> = spec.fns.iter().filter_map(|f| f.entry()).map(str::to_owned).collect();
    o.replay = run_replay(&dirs, feats, &labels)?;
    Ok(())
}
