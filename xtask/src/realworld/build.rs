//! Building a copy: `cargo test --no-run --message-format=json`, its test
//! executables, and each compiler error blamed (through its spans, macro
//! expansions included) on the spec'd functions or replay entries whose
//! lines it points into.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::annotate::Blame;
use super::process::{cargo_cmd, tail};
use super::workdir::Dirs;

/// One compiler error, as the report shows it.
#[derive(Debug, Clone)]
pub(super) struct CompileError {
    pub(super) code: String,
    pub(super) message: String,
    pub(super) at: String,
    pub(super) rendered: String,
}

impl CompileError {
    pub(super) fn short(&self) -> String {
        let code = if self.code.is_empty() {
            String::new()
        } else {
            format!("[{}]", self.code)
        };
        format!("error{code}: {} ({})", self.message, self.at)
    }
}

/// `(file, line)` of every span of a diagnostic, macro expansions included.
fn span_lines(v: &serde_json::Value, out: &mut Vec<(String, usize)>) {
    for s in v["spans"].as_array().into_iter().flatten() {
        let mut cur = Some(s);
        while let Some(sp) = cur {
            if let (Some(f), Some(l)) = (sp["file_name"].as_str(), sp["line_start"].as_u64()) {
                out.push((f.to_owned(), l as usize));
            }
            cur = sp
                .get("expansion")
                .and_then(|e| e.get("span"))
                .filter(|e| e.is_object());
        }
    }
}

/// A `cargo test --no-run`.
pub(super) struct BuildResult {
    pub(super) ok: bool,
    pub(super) errors: Vec<CompileError>,
    /// The error's blamed functions (empty: blamed on no function).
    pub(super) blamed: Vec<(CompileError, Vec<(usize, bool)>)>,
    pub(super) executables: Vec<PathBuf>,
    pub(super) stderr_tail: String,
}

/// `cargo test --no-run` (args added), JSON messages parsed. Blame: which
/// function (and whether on its replay entry) each error points at.
pub(super) fn build(
    dir: &Path,
    dirs: &Dirs,
    features: &[String],
    extra: &[&str],
    blame: &[Blame],
) -> Result<BuildResult, String> {
    let mut c = cargo_cmd(dir, &dirs.cargo_target);
    c.args(["test", "--offline", "--no-run", "--message-format=json"]);
    c.args(extra);
    if !features.is_empty() {
        c.arg("--features").arg(features.join(","));
    }
    let out = c.output().map_err(|e| format!("cargo test --no-run: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut res = BuildResult {
        ok: out.status.success(),
        errors: Vec::new(),
        blamed: Vec::new(),
        executables: Vec::new(),
        stderr_tail: tail(&String::from_utf8_lossy(&out.stderr), 15),
    };
    let dir_s = dir.display().to_string();
    for line in stdout.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        match v["reason"].as_str() {
            Some("compiler-artifact") if v["profile"]["test"].as_bool() == Some(true) => {
                if let Some(e) = v["executable"].as_str() {
                    res.executables.push(PathBuf::from(e));
                }
            }
            Some("compiler-message") => {
                let m = &v["message"];
                if m["level"].as_str() != Some("error") {
                    continue;
                }
                let msg = m["message"].as_str().unwrap_or("").to_owned();
                if msg.starts_with("aborting due to") || msg.starts_with("could not compile") {
                    continue;
                }
                let mut lines = Vec::new();
                span_lines(m, &mut lines);
                let primary = m["spans"]
                    .as_array()
                    .and_then(|s| s.iter().find(|s| s["is_primary"].as_bool() == Some(true)).or(s.first()))
                    .map(|s| format!("{}:{}", s["file_name"].as_str().unwrap_or("?"), s["line_start"]))
                    .unwrap_or_default();
                let err = CompileError {
                    code: m["code"]["code"].as_str().unwrap_or("").to_owned(),
                    message: msg,
                    at: primary,
                    rendered: m["rendered"].as_str().unwrap_or("").to_owned(),
                };
                let mut who = BTreeSet::new();
                for (f, l) in &lines {
                    let rel = f.strip_prefix(&dir_s).map(|r| r.trim_start_matches('/')).unwrap_or(f);
                    for b in blame {
                        if b.file == rel && (b.from..=b.to).contains(l) {
                            for &i in &b.fns {
                                who.insert((i, rel.starts_with("tests/capture_replay")));
                            }
                        }
                    }
                }
                // the narrowest blame wins when ranges nest (an impl's
                // attribute line lies outside its methods' ranges anyway)
                res.errors.push(err.clone());
                res.blamed.push((err, who.into_iter().collect()));
            }
            _ => {}
        }
    }
    Ok(res)
}
