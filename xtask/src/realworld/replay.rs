//! Replay: `cargo test --test capture_replay` (the generated
//! `replay_main!` target) against the store the capture-on suite filled,
//! and its output parsed into passed / failed / skipped per function, with
//! skip reasons and failure messages.

use std::collections::BTreeMap;

use super::process::{cargo_cmd, tail};
use super::workdir::Dirs;

/// Outcome of the replay run.
#[derive(Default)]
pub(super) struct Replay {
    pub(super) ran: bool,
    /// per function label: (passed, failed, skipped)
    pub(super) per_fn: BTreeMap<String, (u64, u64, u64)>,
    pub(super) no_captures: Vec<String>,
    /// (function label, reason) -> count
    pub(super) skip_reasons: BTreeMap<(String, String), u64>,
    pub(super) failures: Vec<(String, String)>,
    pub(super) note: String,
}

impl Replay {
    pub(super) fn totals(&self) -> (u64, u64, u64) {
        self.per_fn
            .values()
            .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2))
    }
}

/// The listed function a test belongs to (test names are `<entry>::<call>`).
fn label_of(test: &str, labels: &[String]) -> String {
    // test names write the path without spaces (`f::<A,B>`)
    labels
        .iter()
        .map(|l| l.split_whitespace().collect::<String>())
        .filter(|l| test.starts_with(l.as_str()) && test[l.len()..].starts_with("::"))
        .max_by_key(|l| l.len())
        .unwrap_or_else(|| test.rsplit_once("::").map_or(test, |(a, _)| a).to_owned())
}

/// `cargo test --test capture_replay` against the store; the output in
/// `<root>/replay.log`. `labels`: the listed entries.
pub(super) fn run_replay(dirs: &Dirs, features: &[String], labels: &[String]) -> Result<Replay, String> {
    let mut c = cargo_cmd(&dirs.annotated, &dirs.cargo_target);
    c.args(["test", "--offline", "--test", "capture_replay"]);
    if !features.is_empty() {
        c.arg("--features").arg(features.join(","));
    }
    c.env("CAPTURE_DIR", &dirs.store);
    // What the suite recorded is pending: replay it all, unreviewed.
    c.env("CAPTURE_REPLAY", "all");
    c.env_remove("CI");
    let out = c
        .output()
        .map_err(|e| format!("cargo test --test capture_replay: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    std::fs::write(
        dirs.root.join("replay.log"),
        format!("{stdout}\n--- stderr ---\n{stderr}"),
    )
    .ok();
    Ok(parse_replay(&stdout, &stderr, labels))
}

/// The counts, skip reasons and failure messages of a replay run's output.
fn parse_replay(stdout: &str, stderr: &str, labels: &[String]) -> Replay {
    let mut r = Replay {
        ran: true,
        ..Replay::default()
    };
    let mut reasons: BTreeMap<String, String> = BTreeMap::new();
    for line in stderr.lines() {
        if let Some(rest) = line.strip_prefix("  ") {
            if let Some((name, reason)) = rest.split_once(": ") {
                if !name.contains(' ') || name.starts_with('<') {
                    reasons.insert(name.to_owned(), reason.to_owned());
                }
            }
        }
    }
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        let Some((name, result)) = rest.split_once(" ... ") else {
            continue;
        };
        let name = name.trim_end();
        let label = label_of(name, labels);
        let e = r.per_fn.entry(label.clone()).or_default();
        if name.ends_with("::no_captures") {
            *e = (e.0, e.1, e.2);
            r.no_captures.push(label);
            continue;
        }
        if result.starts_with("ok") {
            e.0 += 1;
        } else if result.starts_with("FAILED") {
            e.1 += 1;
            r.failures.push((name.to_owned(), String::new()));
        } else if result.starts_with("ignored") {
            e.2 += 1;
            let reason = reasons
                .get(name)
                .cloned()
                .or_else(|| {
                    let r = result.strip_prefix("ignored")?.trim_start_matches(',').trim();
                    let r = r.strip_prefix('(').and_then(|r| r.strip_suffix(')')).unwrap_or(r);
                    (!r.is_empty()).then(|| r.to_owned())
                })
                .unwrap_or_else(|| "(no reason printed)".into());
            *r.skip_reasons.entry((label, reason)).or_default() += 1;
        }
    }
    // failure messages: libtest-mimic's `---- name ----` sections
    let mut cur: Option<(String, Vec<String>)> = None;
    let mut msgs = BTreeMap::new();
    for line in stdout.lines() {
        if let Some(n) = line.strip_prefix("---- ").and_then(|l| l.strip_suffix(" ----")) {
            if let Some((name, body)) = cur.take() {
                msgs.insert(name, body);
            }
            cur = Some((n.to_owned(), Vec::new()));
        } else if line == "failures:" || line.starts_with("test result:") {
            if let Some((name, body)) = cur.take() {
                msgs.insert(name, body);
            }
        } else if let Some((_, body)) = cur.as_mut() {
            body.push(line.to_owned());
        }
    }
    for (name, msg) in &mut r.failures {
        if let Some(body) = msgs.get(name) {
            *msg = body
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .take(6)
                .collect::<Vec<_>>()
                .join(" | ");
        }
    }
    if r.per_fn.is_empty() {
        r.note = format!("no tests listed; stderr:\n{}", tail(stderr, 10));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_output_parses_per_function() {
        let labels = vec!["a::f".to_owned(), "a::g::<Vec<i32>, i32>".to_owned(), "a::h".to_owned()];
        let stdout = "\
test a::f::1 ... ok
test a::f::2 ... FAILED
test a::g::<Vec<i32>,i32>::1 ... ignored, recorded as &str
test a::h::no_captures ... ok

failures:

---- a::f::2 ----
left: 1
right: 2

failures:
    a::f::2

test result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out
";
        let r = parse_replay(stdout, "", &labels);
        assert_eq!(r.per_fn["a::f"], (1, 1, 0));
        assert_eq!(r.per_fn["a::g::<Vec<i32>,i32>"], (0, 0, 1));
        assert_eq!(r.no_captures, vec!["a::h".to_owned()]);
        assert_eq!(r.totals(), (1, 1, 1));
        assert_eq!(
            r.failures,
            vec![("a::f::2".to_owned(), "left: 1 | right: 2".to_owned())]
        );
        let reason = ("a::g::<Vec<i32>,i32>".to_owned(), "recorded as &str".to_owned());
        assert_eq!(r.skip_reasons[&reason], 1);
    }
}
