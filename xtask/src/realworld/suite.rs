//! The crate's own test suite: run whole (`cargo test`, unit, integration
//! and doc tests) with libtest's counts summed, and its test binaries
//! timed (doc tests excluded: rustdoc compiles them while they run).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::process::{cargo_cmd, run_limited, tail, Ended};
use super::workdir::Dirs;

/// libtest's `test result:` lines, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Counts {
    pub(super) passed: u64,
    pub(super) failed: u64,
    pub(super) ignored: u64,
    /// `test result:` lines (test binaries and doc-test runs).
    pub(super) runs: u64,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.passed, self.failed, self.ignored)
    }
}

fn parse_counts(out: &str) -> Counts {
    let mut c = Counts::default();
    for line in out.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        c.runs += 1;
        for part in rest.split(';') {
            let mut w = part.split_whitespace().rev();
            let (Some(what), Some(n)) = (w.next(), w.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u64>() else { continue };
            match what {
                "passed" => c.passed += n,
                "failed" => c.failed += n,
                "ignored" => c.ignored += n,
                _ => {}
            }
        }
    }
    c
}

/// One run of the crate's whole suite (`cargo test`).
pub(super) struct Suite {
    pub(super) counts: Counts,
    pub(super) ok: bool,
    pub(super) note: String,
    pub(super) took: Duration,
}

/// `cargo test --no-fail-fast` in `dir` with `env`, stopped at `limit`;
/// output in `<root>/<log>.stdout` / `.stderr`.
pub(super) fn run_suite(
    dir: &Path,
    dirs: &Dirs,
    features: &[String],
    env: &[(&str, &str)],
    limit: Duration,
    log: &str,
) -> Result<Suite, String> {
    let mut c = cargo_cmd(dir, &dirs.cargo_target);
    c.args(["test", "--offline"]);
    if !features.is_empty() {
        c.arg("--features").arg(features.join(","));
    }
    c.arg("--no-fail-fast");
    c.envs(env.iter().copied());
    let (ended, took, stdout, stderr) = run_limited(c, limit, &dirs.root.join(log))?;
    let counts = parse_counts(&stdout);
    let ok = matches!(ended, Ended::Exited(true));
    let note = match ended {
        Ended::Exited(true) => String::new(),
        Ended::TimedOut => format!(
            "stopped at the time limit ({:.0}s); counts are of the test runs that finished",
            limit.as_secs_f64()
        ),
        Ended::Exited(false) => {
            let failing: Vec<String> = stdout
                .lines()
                .filter(|l| l.starts_with("test ") && l.ends_with("FAILED"))
                .map(|l| l.trim_start_matches("test ").trim_end_matches(" ... FAILED").to_owned())
                .take(8)
                .collect();
            if failing.is_empty() {
                tail(&stderr, 6)
            } else {
                format!("failing: {}", failing.join(", "))
            }
        }
    };
    Ok(Suite { counts, ok, note, took })
}

/// How a timed run of the test binaries ended.
pub(super) enum Timed {
    Took(Duration),
    Failed,
    /// Stopped at the limit: at least this long.
    Stopped(Duration),
}

/// Wall time of running every test binary once (from the crate's folder,
/// as cargo runs them), within `limit`.
pub(super) fn time_binaries(dirs: &Dirs, dir: &Path, exes: &[PathBuf], env: &[(&str, &str)], limit: Duration) -> Timed {
    let mut total = Duration::ZERO;
    for exe in exes {
        let mut c = Command::new(exe);
        c.current_dir(dir)
            .env_remove("CAPTURE_DIR")
            .env_remove("CAPTURE_ENABLED")
            .envs(env.iter().copied());
        match run_limited(c, limit.saturating_sub(total), &dirs.root.join("timing.log")) {
            Ok((Ended::Exited(true), took, ..)) => total += took,
            Ok((Ended::TimedOut, ..)) => return Timed::Stopped(limit),
            _ => return Timed::Failed,
        }
    }
    Timed::Took(total)
}

/// The median (upper of the middle two), `None` for no runs.
pub(super) fn median(mut v: Vec<Duration>) -> Option<Duration> {
    if v.is_empty() {
        return None;
    }
    v.sort();
    Some(v[v.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse() {
        let c = parse_counts("test result: ok. 3 passed; 1 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.01s\n   Doc-tests x\ntest result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n");
        assert_eq!(
            c,
            Counts {
                passed: 7,
                failed: 1,
                ignored: 2,
                runs: 2
            }
        );
    }
}
