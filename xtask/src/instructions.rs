//! Instruction counts from callgrind, beside the timing rows.
//!
//! Timings on a shared machine move by up to 2x between minutes; the number
//! of instructions a call runs does not (the same binary, inputs and
//! environment give the same count whatever else the machine is doing). So
//! the two per-call targets that sit at the edge of the noise (disabled
//! `<= baseline + 1 ns`, caller `<= 1 µs`) also get an exact reading: the
//! instructions per call of `bench/examples/hot_loop` under
//! `valgrind --tool=callgrind`. Each figure is a slope, the count at `2n`
//! calls minus the count at `n` calls divided by `n`, so what happens once
//! (the first call's set-up, the process's start and end) cancels out.
//!
//! The rows are skipped, with a note, on a machine without valgrind.

use std::path::Path;
use std::process::Command;

use crate::{cargo, run, target_dir, Row};

/// Push the instruction rows onto `rows`.
pub fn rows(rows: &mut Vec<Row>) -> Result<(), String> {
    let version = Command::new("valgrind").arg("--version").output();
    if !version.is_ok_and(|o| o.status.success()) {
        rows.push(Row {
            name: "instructions per call (callgrind)",
            value: "-".into(),
            target: "report",
            met: None,
            note: "skipped: valgrind is not installed".into(),
        });
        return Ok(());
    }
    let mut c = cargo();
    c.args(["build", "--release", "-p", "capture-bench", "--example", "hot_loop"]);
    run(c, "hot_loop for callgrind (cargo build --release --example hot_loop)")?;
    let bin = target_dir().join("release/examples/hot_loop");

    // The loop around the call is counted too, in both: it cancels in the
    // difference.
    let plain = per_call(&bin, "plain", "hot_loop::main", 100_000)?;
    let off = per_call(&bin, "off", "hot_loop::main", 100_000)?;
    rows.push(Row {
        name: "capture disabled, instructions over baseline",
        value: format!("{:+.1} instr", off - plain),
        target: "report (exact)",
        met: None,
        note: format!(
            "callgrind, per call of `hot_loop` (ROW=off vs ROW=plain): {off:.1} vs {plain:.1}, loop included"
        ),
    });
    let caller = per_call(&bin, "", "capture_bench::captured::price", 10_000)?;
    rows.push(Row {
        name: "enabled, background writer, caller's instructions",
        value: format!("{caller:.0} instr"),
        target: "report (exact)",
        met: None,
        note: "callgrind, inside `captured::price` per call: encoding, redaction, the hand-off to the writer".into(),
    });
    Ok(())
}

/// Instructions per call of `hot_loop` with `ROW=row`, counted inside
/// `toggle`: the slope between `n` and `2 * n` calls.
fn per_call(bin: &Path, row: &str, toggle: &str, n: u64) -> Result<f64, String> {
    let once = count(bin, row, toggle, n)?;
    let twice = count(bin, row, toggle, 2 * n)?;
    Ok((twice as f64 - once as f64) / n as f64)
}

/// Instructions callgrind counted inside `toggle` over `n` calls.
fn count(bin: &Path, row: &str, toggle: &str, n: u64) -> Result<u64, String> {
    let out = tempfile_path(&format!("callgrind-{}-{n}", if row.is_empty() { "on" } else { row }));
    let mut c = Command::new("valgrind");
    c.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(format!("--toggle-collect={toggle}"))
        .arg(bin)
        .arg(n.to_string())
        .env("ROW", row);
    run(
        c,
        &format!("callgrind: hot_loop {n} (ROW={row:?}, counted in {toggle})"),
    )?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let _ = std::fs::remove_file(&out);
    totals(&text).ok_or_else(|| format!("{}: no `totals:` line in callgrind's output", out.display()))
}

/// The instruction total of a callgrind output file (`totals: N` or, in
/// older versions, `summary: N`).
fn totals(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn tempfile_path(name: &str) -> std::path::PathBuf {
    target_dir().join(format!("xtask-{name}-{}.out", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::totals;

    #[test]
    fn reads_the_total_of_a_callgrind_file() {
        let text = "version: 1\ncmd: hot_loop\nevents: Ir\nfn=main\n3 10\nsummary: 1234\ntotals: 1234\n";
        assert_eq!(totals(text), Some(1234));
        assert_eq!(totals("events: Ir\n"), None);
    }
}
