//! Developer automation: `cargo xtask bench [--quick]`, `cargo xtask ci`,
//! `cargo xtask hostile [--quick]` (the store's hostile-input suites at full
//! size, see the `hostile` module), `cargo xtask realworld [--quick] [crate...]`
//! (capture on real crates from crates.io, see the `realworld` module).
//!
//! `bench` runs every benchmark of the `capture-bench` crate (criterion for
//! the per-call rows, one process for the whole-system rows), times the
//! compile cost of the macro on a generated crate, counts the per-call
//! instructions under callgrind, and prints ONE table with
//! every row from this run, its target and whether it was met.

mod ci;
mod hostile;
mod instructions;
mod realworld;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("realworld") => realworld::run(&args[1..]),
        Some("hostile") => hostile::run(args.iter().any(|a| a == "--quick")),
        Some("bench") => match bench(args.iter().any(|a| a == "--quick")) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("xtask bench: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: cargo xtask bench [--quick] | ci | hostile [--quick] | realworld [--quick] [crate...]");
            ExitCode::FAILURE
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_owned()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(workspace());
    c
}

fn run(mut c: Command, what: &str) -> Result<String, String> {
    eprintln!("xtask: {what}");
    let out = c.output().map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

struct Row {
    name: &'static str,
    value: String,
    target: &'static str,
    met: Option<bool>,
    note: String,
}

fn bench(quick: bool) -> Result<(), String> {
    let started = Instant::now();
    let mut rows = Vec::new();

    // Per-call rows: criterion, on-CPU time of the calling thread.
    let timing: &[&str] = if quick {
        &["--warm-up-time", "1", "--measurement-time", "2"]
    } else {
        &["--warm-up-time", "2", "--measurement-time", "6"]
    };
    let mut c = cargo();
    c.args(["bench", "-p", "capture-bench", "--bench", "micro", "--", "--noplot"]);
    c.args(timing);
    run(c, "criterion rows (cargo bench --bench micro)")?;
    let median = |row: &str| -> Result<f64, String> {
        let p = target_dir().join(format!("criterion/price/{row}/new/estimates.json"));
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
        v["median"]["point_estimate"]
            .as_f64()
            .ok_or_else(|| format!("{}: no median", p.display()))
    };
    let base = median("baseline")?;
    let ns = |v: f64| {
        if v >= 10_000.0 {
            format!("{:.1} µs", v / 1000.0)
        } else {
            format!("{v:.1} ns")
        }
    };
    rows.push(Row {
        name: "baseline call, no macro",
        value: ns(base),
        target: "reference",
        met: None,
        note: "criterion median, caller-thread CPU time".into(),
    });
    let disabled = median("disabled")?;
    rows.push(Row {
        name: "capture disabled (runtime off)",
        value: ns(disabled),
        target: "<= baseline + 1 ns",
        met: Some(disabled <= base + 1.0),
        note: format!("{:+.1} ns, {:.2}x baseline", disabled - base, disabled / base),
    });
    let default = median("default")?;
    let seed = seed_reference()?;
    rows.push(Row {
        name: "enabled, default configuration, caller's thread",
        value: ns(default),
        target: "<= 2 µs",
        met: Some(default <= 2000.0),
        note: format!(
            "no options: background writer, pending segments; {:.0}x baseline; Python seed design (a pickle file per call, same workload, same run): {:.1} µs = {:.0}x this",
            default / base,
            seed.0,
            seed.0 * 1000.0 / default
        ),
    });
    rows.push(Row {
        name: "Python seed design, caller's thread",
        value: format!("{:.1} µs", seed.0),
        target: "reference",
        met: None,
        note: seed.1,
    });
    let bg = median("background")?;
    rows.push(Row {
        name: "enabled, background writer, caller's thread",
        value: ns(bg),
        target: "<= 1 µs",
        met: Some(bg <= 1000.0),
        note: format!("{:.0}x baseline", bg / base),
    });
    let sync = median("sync")?;
    rows.push(Row {
        name: "enabled, synchronous local store",
        value: ns(sync),
        target: "report",
        met: None,
        note: format!(
            "{:.0}x baseline; two appends to the pending segment per call",
            sync / base
        ),
    });
    let tr = median("tracing")?;
    rows.push(Row {
        name: "tracing::instrument (Debug args, no-op writer)",
        value: ns(tr),
        target: "report; background not slower",
        met: Some(bg <= tr),
        note: format!("{:.0}x baseline; background / tracing = {:.2}", tr / base, bg / tr),
    });

    // The same two per-call costs in instructions (exact, where timings
    // are noisy).
    instructions::rows(&mut rows)?;

    // Whole-system rows.
    let mut c = cargo();
    c.args(["bench", "-p", "capture-bench", "--bench", "macro", "--"]);
    if quick {
        c.arg("--quick");
    }
    let out = run(c, "whole-system rows (cargo bench --bench macro)")?;
    let get = |name: &str| -> Result<(f64, String), String> {
        out.lines()
            .filter_map(|l| l.strip_prefix("ROW|"))
            .map(|l| l.splitn(4, '|').collect::<Vec<_>>())
            .find(|p| p[0] == name)
            .map(|p| (p[1].parse().unwrap_or(f64::NAN), p[3].to_owned()))
            .ok_or_else(|| format!("the macro bench printed no `{name}` row"))
    };
    let (v, note) = get("disabled_paired")?;
    rows.push(Row {
        name: "capture disabled - baseline, paired batches",
        value: format!("{v:+.2} ns"),
        target: "<= 1 ns",
        met: Some(v <= 1.0),
        note,
    });
    let (v, note) = get("sustained")?;
    rows.push(Row {
        name: "sustained captures/s into local store",
        value: format!("{v:.0}/s"),
        target: ">= 200,000/s",
        met: Some(v >= 200_000.0),
        note,
    });
    let (v, note) = get("distinct")?;
    rows.push(Row {
        name: "captures/s written, distinct arguments, nothing dropped",
        value: format!("{v:.0}/s"),
        target: ">= 200,000/s",
        met: Some(v >= 200_000.0),
        note,
    });
    let (v, note) = get("disk_ratio")?;
    rows.push(Row {
        name: "bytes on disk / payload, 5,000 pending small captures",
        value: format!("{v:.2}x"),
        target: "<= 1.3x",
        met: Some(v <= 1.3),
        note,
    });
    let (v, note) = get("sha256_exact")?;
    let ratio = note
        .split("ratio ")
        .nth(1)
        .and_then(|r| r.trim_end_matches('%').parse::<f64>().ok());
    rows.push(Row {
        name: "SHA-256 exact, 800 MB `Vec<f64>`",
        value: format!("{v:.0} MB/s"),
        target: ">= 90% of openssl speed",
        met: ratio.map(|r| r >= 90.0),
        note,
    });
    let (v, note) = get("sha256_sampled")?;
    rows.push(Row {
        name: "sampled hash, same 800 MB buffer",
        value: format!("{v:.1} µs"),
        target: "<= 50 µs",
        met: Some(v <= 50.0),
        note,
    });
    let (v, note) = get("per_write_ratio")?;
    rows.push(Row {
        name: "per-write cost, 100 vs many stored calls (retention 3)",
        value: format!("{v:.2}x"),
        target: "ratio <= 1.5",
        met: Some(v <= 1.5),
        note,
    });
    let (v, note) = get("replay")?;
    let n: f64 = note
        .split_whitespace()
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or(10_000.0);
    rows.push(Row {
        name: "replay: discover + replay stored calls",
        value: format!("{v:.2} s"),
        target: "<= 2 s for 10,000",
        met: Some(v * 10_000.0 / n <= 2.0),
        note,
    });

    cache_rows(timing, &mut rows)?;

    let (annotated, plain, fns) = compile_time(quick)?;
    let added = annotated - plain;
    rows.push(Row {
        name: "compile time, annotated vs plain (debug)",
        value: format!("+{added:.1} s"),
        target: "<= 5 s added",
        met: Some(added <= 5.0),
        note: format!("{fns} functions: {annotated:.1} s vs {plain:.1} s (crate only, deps prebuilt)"),
    });

    println!("{}", table(&rows, quick, started.elapsed().as_secs_f64()));
    Ok(())
}

/// The Python seed design's capture path on the same workload
/// (`bench/python/seed_reference.py`: a pickle file per call): the median
/// per call in µs, and the script's note.
fn seed_reference() -> Result<(f64, String), String> {
    let dir = target_dir().join("xtask-seed-reference");
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new("python3")
        .arg(workspace().join("bench/python/seed_reference.py"))
        .arg(&dir)
        .arg("5000")
        .output()
        .map_err(|e| format!("python3 (the seed reference row): {e}"))?;
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find_map(|l| l.strip_prefix("MEDIAN_US ")).ok_or_else(|| {
        format!(
            "seed_reference.py printed no MEDIAN_US: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let (value, note) = line.split_once(' ').unwrap_or((line, ""));
    let value: f64 = value.parse().map_err(|e| format!("seed reference `{value}`: {e}"))?;
    Ok((value, note.trim_matches(|c| c == '(' || c == ')').to_owned()))
}

/// Issue 7's rows: a cache hit vs running the 1 ms function it memoizes,
/// and a 1 KiB object put + get on the local store vs an S3-compatible store
/// (the loopback server of `scripts/s3-server.sh`, started here when it is not
/// running and stopped again afterwards).
fn cache_rows(timing: &[&str], rows: &mut Vec<Row>) -> Result<(), String> {
    let script = workspace().join("scripts/s3-server.sh");
    let was_up = Command::new(&script)
        .arg("status")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    let s3_env = match Command::new(&script).arg("start").output() {
        Ok(o) if o.status.success() => Ok(parse_exports(&String::from_utf8_lossy(&o.stdout))),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr)
            .lines()
            .last()
            .unwrap_or("")
            .to_owned()),
        Err(e) => Err(e.to_string()),
    };
    let mut c = cargo();
    c.args([
        "bench",
        "-p",
        "capture-runtime",
        "--bench",
        "cache",
        "--features",
        "object-store",
        "--",
        "--noplot",
    ]);
    c.args(timing);
    if let Ok(vars) = &s3_env {
        c.envs(vars.iter().map(|(k, v)| (k, v)));
    }
    let result = run(c, "cache and store rows (cargo bench -p capture-runtime --bench cache)");
    if s3_env.is_ok() && !was_up {
        let _ = Command::new(&script).arg("stop").output();
    }
    result?;
    let est = |path: &str| -> Option<f64> {
        let p = target_dir().join(format!("criterion/{path}/new/estimates.json"));
        let text = std::fs::read_to_string(p).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["median"]["point_estimate"].as_f64()
    };
    let time = |ns: f64| {
        if ns >= 1e6 {
            format!("{:.2} ms", ns / 1e6)
        } else {
            format!("{:.1} µs", ns / 1e3)
        }
    };
    let (hit, run_1ms) = (est("cache/hit"), est("cache/run_1ms"));
    rows.push(Row {
        name: "cache hit vs running the 1 ms function",
        value: hit.map(time).unwrap_or_else(|| "n/a".into()),
        target: "report",
        met: None,
        note: match (hit, run_1ms) {
            (Some(h), Some(r)) => format!(
                "criterion median (wall); the function itself: {}; hit = {:.1}% of a run",
                time(r),
                100.0 * h / r
            ),
            _ => "criterion printed no cache/hit or cache/run_1ms estimate".into(),
        },
    });
    let (local, object) = (est("store_put_get/local"), est("store_put_get/object"));
    rows.push(Row {
        name: "object put + get, local vs object store",
        value: local.map(time).unwrap_or_else(|| "n/a".into()),
        target: "report",
        met: None,
        note: match (local, object, &s3_env) {
            (Some(l), Some(o), _) => format!(
                "1 KiB object, criterion median (wall); S3-compatible loopback server (moto): {} ({:.0}x local)",
                time(o),
                o / l
            ),
            (Some(_), None, Err(e)) => format!("object-store row skipped: scripts/s3-server.sh start failed: {e}"),
            _ => "criterion printed no store_put_get estimate".into(),
        },
    });
    Ok(())
}

/// `export NAME=value` lines (as printed by `scripts/s3-server.sh start`).
fn parse_exports(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            (k.trim().to_owned(), v.to_owned())
        })
        .collect()
}

fn table(rows: &[Row], quick: bool, secs: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| row | value | target | met | notes |\n|---|---|---|---|---|");
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        let _ = writeln!(s, "| {} | {} | {} | {met} | {} |", r.name, r.value, r.target, r.note);
    }
    let _ = write!(
        s,
        "\n{} run, {secs:.0} s in all (builds included).",
        if quick { "--quick" } else { "full" }
    );
    s
}

/// Build a generated crate of `n` functions with and without `#[capture_args]`
/// (dependencies prebuilt, so only the crate itself is timed).
fn compile_time(quick: bool) -> Result<(f64, f64, usize), String> {
    let n = 200;
    let root = target_dir().join("xtask-compile-bench");
    let tdir = root.join("target");
    let runtime = workspace().join("capture-runtime");
    for variant in ["plain", "annotated"] {
        let dir = root.join(variant);
        std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
        let manifest = format!(
            "[package]\nname = \"cb-{variant}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\ncapture-runtime = {{ path = {:?} }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\n\n[workspace]\n",
            runtime.display().to_string()
        );
        std::fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
        let mut src = String::from("#![allow(dead_code)]\nuse serde::{Deserialize, Serialize};\n");
        for i in 0..n {
            let attr = if variant == "annotated" {
                "#[capture_runtime::capture_args(ret)]\n"
            } else {
                ""
            };
            let _ = write!(
                src,
                "#[derive(Clone, Debug, Serialize, Deserialize)]\npub struct In{i} {{ pub a: u64, pub b: String, pub c: Vec<u32> }}\n\
                 {attr}pub fn f{i}(x: &In{i}, y: u32, s: &str) -> u64 {{ x.a + y as u64 + s.len() as u64 + x.c.len() as u64 }}\n"
            );
        }
        std::fs::write(dir.join("src/lib.rs"), src).map_err(|e| e.to_string())?;
    }
    let build = |variant: &str| -> Result<f64, String> {
        let mut c = cargo();
        c.current_dir(root.join(variant))
            .env("CARGO_TARGET_DIR", &tdir)
            // A user's crate builds with cargo's default dev profile (full
            // debug info), not the line tables of our .cargo/config.toml,
            // which this generated crate would pick up from its directory.
            .env("CARGO_PROFILE_DEV_DEBUG", "true")
            .args(["build", "--quiet"]);
        let t = Instant::now();
        run(c, &format!("compile-time crate `{variant}`"))?;
        Ok(t.elapsed().as_secs_f64())
    };
    let touch = |variant: &str| -> Result<(), String> {
        let p = root.join(variant).join("src/lib.rs");
        let text = std::fs::read_to_string(&p).map_err(|e| e.to_string())?;
        std::fs::write(&p, text).map_err(|e| e.to_string())
    };
    // Warm: dependencies of both variants.
    build("plain")?;
    build("annotated")?;
    // The fastest of alternating builds of each: a build is wall time on a
    // shared machine, and the slow ones are the machine, not the crate.
    let reps = if quick { 1 } else { 3 };
    let (mut a, mut p) = (f64::MAX, f64::MAX);
    for _ in 0..reps {
        touch("plain")?;
        p = p.min(build("plain")?);
        touch("annotated")?;
        a = a.min(build("annotated")?);
    }
    Ok((a, p, n))
}
