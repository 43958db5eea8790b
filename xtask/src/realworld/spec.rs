//! The spec files, `realworld/<crate>.spec`: which crate and version, and
//! which of its functions to annotate, with what attribute, and how a user
//! of the crate names each one in `replay_main!` (format: docs/realworld.md).

use std::collections::BTreeMap;
use std::path::Path;

/// One `realworld/<crate>.spec`.
#[derive(Debug, Clone)]
pub(super) struct Spec {
    pub(super) name: String,
    pub(super) version: String,
    pub(super) kind: String,
    pub(super) features: Vec<String>,
    pub(super) fns: Vec<FnSpec>,
}

/// One `fn` line: a function to annotate.
#[derive(Debug, Clone)]
pub(super) struct FnSpec {
    /// Source file, relative to the crate root.
    pub(super) file: String,
    pub(super) name: String,
    /// A piece of the enclosing `impl` header (`fmt::Display for Error`).
    pub(super) in_impl: Option<String>,
    /// The attribute's arguments (`ret` unless the spec says).
    pub(super) attr: String,
    /// The `replay_main!` entry, or why there can be none.
    pub(super) replay: ReplayEntry,
    /// A known capture bug this function hits (informational).
    pub(super) known: Option<String>,
}

/// How a function is replayed.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ReplayEntry {
    /// `replay=<entry>`: listed in `replay_main!` as written.
    Entry(String),
    /// `replay=none reason=".."`: annotated, built and captured like the
    /// others, but no `replay_main!` entry can name it (a trait method of a
    /// type without an `impl` of its own, docs/replay.md); the reason is
    /// reported.
    None(String),
}

impl FnSpec {
    /// The `replay_main!` entry, if the function has one.
    pub(super) fn entry(&self) -> Option<&str> {
        match &self.replay {
            ReplayEntry::Entry(e) => Some(e),
            ReplayEntry::None(_) => None,
        }
    }

    /// How the report names the function: its replay entry, else
    /// `<Type as Trait>::name` from its `in`, else `name (file)`.
    pub(super) fn label(&self) -> String {
        if let Some(e) = self.entry() {
            return e.to_owned();
        }
        match self
            .in_impl
            .as_deref()
            .map(|i| i.trim().trim_start_matches("impl ").trim())
        {
            Some(i) => match i.split_once(" for ") {
                Some((tr, ty)) => format!("<{} as {}>::{}", ty.trim(), tr.trim(), self.name),
                None => format!("{i}::{}", self.name),
            },
            None => format!("{} ({})", self.name, self.file),
        }
    }
}

/// Split a spec line into words; `"..."` groups words (quotes dropped).
fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    if any {
        out.push(cur);
    }
    Ok(out)
}

/// Parse one spec file; errors name the file and line.
pub(super) fn parse_spec(path: &Path) -> Result<Spec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut spec = Spec {
        name: String::new(),
        version: String::new(),
        kind: String::new(),
        features: Vec::new(),
        fns: Vec::new(),
    };
    for (i, raw) in text.lines().enumerate() {
        let at = |m: &str| format!("{}:{}: {m}", path.display(), i + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let w = words(line).map_err(|e| at(&e))?;
        match w[0].as_str() {
            "crate" if w.len() == 3 => {
                spec.name = w[1].clone();
                spec.version = w[2].clone();
            }
            "kind" if w.len() == 2 => spec.kind = w[1].clone(),
            "features" => spec.features = w[1..].iter().flat_map(|f| f.split(',')).map(str::to_owned).collect(),
            "fn" => {
                let mut kv = BTreeMap::new();
                for pair in &w[1..] {
                    let (k, v) = pair
                        .split_once('=')
                        .ok_or_else(|| at(&format!("expected key=value, got `{pair}`")))?;
                    if kv.insert(k.to_owned(), v.to_owned()).is_some() {
                        return Err(at(&format!("`{k}` given twice")));
                    }
                }
                let mut take = |k: &str| kv.remove(k);
                let replay = match (take("replay"), take("reason")) {
                    (Some(r), Some(why)) if r == "none" => ReplayEntry::None(why),
                    (Some(r), None) if r == "none" => return Err(at("replay=none needs reason=\"..\"")),
                    (Some(_), Some(_)) => return Err(at("reason= goes with replay=none only")),
                    (Some(r), None) => ReplayEntry::Entry(r),
                    (None, _) => return Err(at("missing replay=")),
                };
                let f = FnSpec {
                    file: take("file").ok_or_else(|| at("missing file="))?,
                    name: take("name").ok_or_else(|| at("missing name="))?,
                    in_impl: take("in"),
                    attr: take("attr").unwrap_or_else(|| "ret".into()),
                    replay,
                    known: take("known"),
                };
                if let Some(k) = kv.keys().next() {
                    return Err(at(&format!("unknown key `{k}`")));
                }
                spec.fns.push(f);
            }
            other => return Err(at(&format!("unknown or ill-formed line `{other} ..`"))),
        }
    }
    if spec.name.is_empty() {
        return Err(format!("{}: no `crate <name> <version>` line", path.display()));
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fn_spec(line: &str) -> Result<FnSpec, String> {
        let dir = std::env::temp_dir().join(format!("xtask-realworld-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.spec");
        std::fs::write(&p, format!("crate x 1.0.0\n{line}\n")).unwrap();
        let r = parse_spec(&p).map(|mut s| s.fns.remove(0));
        std::fs::remove_dir_all(&dir).ok();
        r
    }

    #[test]
    fn spec_lines_parse() {
        assert_eq!(
            words(r#"fn file=src/a.rs in="fmt::Display for X" replay=a::b"#).unwrap(),
            vec!["fn", "file=src/a.rs", "in=fmt::Display for X", "replay=a::b"]
        );
    }

    #[test]
    fn replay_none_needs_a_reason_and_labels_by_impl() {
        let f = fn_spec(r#"fn file=src/a.rs name=to_x in="ToX for str" replay=none reason="no impl str""#).unwrap();
        assert_eq!(f.replay, ReplayEntry::None("no impl str".into()));
        assert_eq!(f.entry(), None);
        assert_eq!(f.label(), "<str as ToX>::to_x");
        assert!(fn_spec("fn file=src/a.rs name=to_x replay=none").is_err());
        assert!(fn_spec(r#"fn file=src/a.rs name=to_x replay=a::to_x reason="x""#).is_err());
        let g = fn_spec("fn file=src/a.rs name=to_x replay=a::to_x").unwrap();
        assert_eq!((g.entry(), g.label()), (Some("a::to_x"), "a::to_x".to_owned()));
    }
}
