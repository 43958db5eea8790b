//! `cargo xtask ci`: the checks CI runs (`.ci/run`), from Rust, for machines
//! without bash: formatting, clippy with `-D warnings` (default and all
//! features), the README's test command, and the tests with capturing
//! compiled out. A unit test keeps this list and `.ci/run` identical.

use std::process::{ExitCode, Stdio};

/// Each step: what it checks, and the arguments of `cargo`.
pub(crate) const STEPS: &[(&str, &[&str])] = &[
    ("cargo fmt --check", &["fmt", "--all", "--", "--check"]),
    (
        "cargo clippy",
        &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
    ),
    (
        "cargo clippy, all features",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
    ),
    (
        "tests (the README's test command)",
        &["test", "--workspace", "--all-features"],
    ),
    (
        "tests with the `enabled` feature off",
        &[
            "test",
            "-p",
            "capture-runtime",
            "--no-default-features",
            "--features",
            "json",
            "--test",
            "feature_off",
        ],
    ),
];

/// Run every step in order, stopping at the first that fails. As in
/// `.ci/run`, without incremental caches: one clean build would only fill
/// disk with them.
pub(crate) fn run() -> ExitCode {
    let _ = crate::cargo().arg("--version").status();
    for (what, args) in STEPS {
        eprintln!("== {what}: cargo {}", args.join(" "));
        let status = crate::cargo()
            .args(*args)
            .env("CARGO_INCREMENTAL", "0")
            .stdin(Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!("xtask ci: `cargo {}` failed ({s})", args.join(" "));
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("xtask ci: could not run cargo: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!("xtask ci: every check passed");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::STEPS;

    #[test]
    fn the_steps_are_the_commands_of_ci_run() {
        let script = std::fs::read_to_string(crate::workspace().join(".ci/run")).unwrap();
        let in_script: Vec<String> = script
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("cargo ") && *l != "cargo --version")
            .map(str::to_owned)
            .collect();
        let here: Vec<String> = STEPS
            .iter()
            .map(|(_, args)| format!("cargo {}", args.join(" ")))
            .collect();
        assert_eq!(here, in_script, "keep xtask/src/ci.rs and .ci/run in step");
    }
}
