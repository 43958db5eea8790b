//! `cargo xtask hostile [--quick]`: the store's hostile-input suites at full
//! size, one after another, with what each printed.
//!
//! - the loader mutation suite (`capture-runtime/tests/store_hostile.rs`),
//!   100,000 damaged stores (`--quick`: 4,000, as `cargo test` runs it);
//! - kill -9 during writes (`examples/tests/store_kill.rs`), 1,000 kills
//!   (`--quick`: 250, as `cargo test` runs it);
//! - writers, a reader and gc across processes
//!   (`examples/tests/store_hostile_concurrency.rs`), three times.
//!
//! `cargo test` runs the same tests at the smaller sizes; this runs them
//! at the sizes `docs/format.md` quotes.

use std::process::{ExitCode, Stdio};

struct Suite {
    what: &'static str,
    package: &'static str,
    test: &'static str,
    /// The variable that sets the suite's size, its full and its quick value.
    size: Option<(&'static str, &'static str, &'static str)>,
    /// Runs at full size.
    runs: usize,
}

const SUITES: &[Suite] = &[
    Suite {
        what: "loader mutation suite",
        package: "capture-runtime",
        test: "store_hostile",
        size: Some(("CAPTURE_TEST_MUTATIONS", "100000", "4000")),
        runs: 1,
    },
    Suite {
        what: "kill -9 during writes",
        package: "capture-examples",
        test: "store_kill",
        size: Some(("CAPTURE_TEST_KILLS", "1000", "250")),
        runs: 1,
    },
    Suite {
        what: "writers, a reader and gc across processes",
        package: "capture-examples",
        test: "store_hostile_concurrency",
        size: None,
        runs: 3,
    },
];

pub(crate) fn run(quick: bool) -> ExitCode {
    let mut failed = Vec::new();
    for s in SUITES {
        let runs = if quick { 1 } else { s.runs };
        for run in 1..=runs {
            let mut c = super::cargo();
            c.args([
                "test",
                "-p",
                s.package,
                "--all-features",
                "--test",
                s.test,
                "--",
                "--nocapture",
            ]);
            let size = match s.size {
                Some((key, full, small)) => {
                    let value = if quick { small } else { full };
                    c.env(key, value);
                    format!("{key}={value}, ")
                }
                None => String::new(),
            };
            eprintln!("== {} ({size}run {run} of {runs})", s.what);
            let started = std::time::Instant::now();
            let status = c.stdout(Stdio::inherit()).stderr(Stdio::inherit()).status();
            let ok = status.is_ok_and(|s| s.success());
            eprintln!(
                "== {}: {} in {:.0?}",
                s.what,
                if ok { "passed" } else { "FAILED" },
                started.elapsed()
            );
            if !ok {
                failed.push(s.what);
            }
        }
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("xtask hostile: failed: {}", failed.join(", "));
        ExitCode::FAILURE
    }
}
