//! `cargo xtask realworld [--quick] [crate...]`: capture on real crates from
//! crates.io (issue 15, "Prove it on real code"; docs/realworld.md).
//!
//! For each spec in `realworld/<crate>.spec`: fetch the pinned crate
//! through cargo, copy it twice under `target/realworld/<crate>/`
//! (`pristine/`, `annotated/`), put `#[capture_runtime::capture_args(..)]`
//! on the spec's functions in the annotated copy (a textual edit: one line
//! before each `fn`, and `#[capture_runtime::capture_args]` before the
//! `impl` of a method, as the docs tell users), add the dependencies and a
//! `harness = false` replay target listing every function that has a replay
//! entry, then:
//!
//! 1. build the annotated copy; a function whose annotation does not compile
//!    (or whose replay entry does not) is reported with the compiler's error
//!    and left out of the next build, until the rest compiles;
//! 2. run the crate's own test suite (`cargo test`: unit, integration and
//!    doc tests) pristine, annotated with capturing off and with it on, and
//!    compare the summed libtest counts;
//! 3. time the suite's test binaries (doc tests excluded: rustdoc compiles
//!    them while they run) pristine / off / on, median of 3 (`--quick`: 1);
//! 4. replay every stored call (`cargo test --test capture_replay`) and
//!    count passed / failed / skipped with the skip reasons; a function
//!    marked `replay=none` (no entry can name it) is listed with its reason
//!    and the number of its calls in the store.
//!
//! It prints one block per crate and a summary table, and exits non-zero
//! when a target is missed (a function or replay entry that does not
//! compile, suite counts that differ, a replay failure, capture on more than
//! 1.5x slower than off); the whole report is printed either way. Cargo
//! runs with `--offline` after the one `cargo fetch` per copy; builds share
//! `target/realworld/cargo-target`.

//!
//! Modules, each using only those listed before it: [`spec`] (the spec
//! files), [`lexer`] (finding items in Rust sources), [`process`] (running
//! commands), [`workdir`] (the folders), [`annotate`] (editing the copies'
//! sources and manifests), [`fetch`](mod@fetch) (getting the crates), [`build`]
//! (compiling, blaming errors), [`suite`] (running and timing the crate's
//! tests), [`replay`], [`store`] (what capture stored), [`pipeline`] (one
//! crate start to end), [`report`].

mod annotate;
mod build;
mod fetch;
mod lexer;
mod pipeline;
mod process;
mod replay;
mod report;
mod spec;
mod store;
mod suite;
mod workdir;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::workspace;
use fetch::fetch;
use pipeline::{run_crate, Outcome};
use report::summary;
use spec::parse_spec;
use workdir::realworld_root;

/// `cargo xtask realworld [--quick] [crate...]`.
pub fn run(args: &[String]) -> ExitCode {
    let quick = args.iter().any(|a| a == "--quick");
    let filter: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let spec_dir = workspace().join("realworld");
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&spec_dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "spec"))
            .collect(),
        Err(e) => {
            eprintln!("xtask realworld: {}: {e}", spec_dir.display());
            return ExitCode::FAILURE;
        }
    };
    paths.sort();
    let mut specs = Vec::new();
    for p in paths {
        match parse_spec(&p) {
            Ok(s) if filter.is_empty() || filter.contains(&s.name.as_str()) => specs.push(s),
            Ok(_) => {}
            Err(e) => {
                eprintln!("xtask realworld: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if specs.is_empty() {
        eprintln!("xtask realworld: no spec matches {filter:?} in {}", spec_dir.display());
        return ExitCode::FAILURE;
    }
    let started = Instant::now();
    if let Err(e) = fetch(&specs) {
        eprintln!("xtask realworld: {e}");
        return ExitCode::FAILURE;
    }
    let outcomes: Vec<Outcome> = specs.into_iter().map(|s| run_crate(s, quick)).collect();

    let (out, all_met) = summary(&outcomes, quick, started.elapsed());
    print!("{out}");
    std::fs::write(realworld_root().join("report.txt"), &out).ok();
    if all_met {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
