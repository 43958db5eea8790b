//! Running commands: cargo with the environment of these builds, errors
//! with the tail of stderr, and children stopped at a time limit.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Run `c`; an error (with the tail of its stderr) unless it succeeds.
pub(super) fn sh(c: &mut Command, what: &str) -> Result<std::process::Output, String> {
    let out = c.output().map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}",
            out.status,
            tail(&String::from_utf8_lossy(&out.stderr), 25)
        ));
    }
    Ok(out)
}

/// The last `n` lines of `s`.
pub(super) fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `cargo` in `dir`, building into `cargo_target`, without the caller's
/// capture and rustflags settings.
pub(super) fn cargo_cmd(dir: &Path, cargo_target: &Path) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(dir);
    c.env("CARGO_TARGET_DIR", cargo_target);
    for v in ["CAPTURE_DIR", "CAPTURE_ENABLED", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"] {
        c.env_remove(v);
    }
    c
}

/// How a child that may be stopped at a time limit ended.
pub(super) enum Ended {
    Exited(bool),
    /// Killed (with its whole process group) at the limit.
    TimedOut,
}

/// Run `c` in a process group of its own, stdout and stderr to files;
/// at `limit`, kill the group (cargo and the test binary it runs).
pub(super) fn run_limited(
    mut c: Command,
    limit: Duration,
    log: &Path,
) -> Result<(Ended, Duration, String, String), String> {
    use std::os::unix::process::CommandExt;
    let out_p = log.with_extension("stdout");
    let err_p = log.with_extension("stderr");
    let out_f = std::fs::File::create(&out_p).map_err(|e| e.to_string())?;
    let err_f = std::fs::File::create(&err_p).map_err(|e| e.to_string())?;
    c.process_group(0).stdout(out_f).stderr(err_f).stdin(Stdio::null());
    let start = Instant::now();
    let mut child = c.spawn().map_err(|e| format!("{c:?}: {e}"))?;
    let ended = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break Ended::Exited(st.success());
        }
        if start.elapsed() >= limit {
            // the whole group: cargo and the test binary it runs
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            break Ended::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = start.elapsed();
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Ok((ended, took, read(&out_p), read(&err_p)))
}
