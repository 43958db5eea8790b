//! Editing the copies: `#[capture_runtime::capture_args(..)]` put on the
//! spec'd functions of the annotated copy (a textual edit: one line before
//! each `fn`, and `#[capture_runtime::capture_args]` before the `impl` of a
//! method), the generated replay target, and the manifests (both copies
//! made standalone; the annotated one gains capture and the replay target).
//! Each inserted line comes with the lines it covers, to blame compile
//! errors on functions.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::lexer::{blocks, code_mask, code_text, collapse, find_word, Block, BlockKind};
use super::spec::{FnSpec, Spec};
use super::workdir::Dirs;
use crate::workspace;

/// Where one spec'd function is: the start of its item line, its body's
/// closing brace and the `impl` block around it (index into `blocks`).
#[derive(Debug)]
struct Located {
    line_start: usize,
    indent: String,
    end: usize,
    impl_block: Option<usize>,
}

/// The one definition of `f` in `src` (outside test modules).
fn locate(src: &str, mask: &[bool], blocks: &[Block], f: &FnSpec) -> Result<Located, String> {
    let code = code_text(src, mask);
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(k) = find_word(&code[from..], "fn") {
        let at = from + k;
        from = at + 2;
        let rest = &code[at + 2..];
        let name_start = rest.len() - rest.trim_start().len();
        let rest2 = &rest[name_start..];
        if !rest2.starts_with(&f.name) {
            continue;
        }
        let after = rest2[f.name.len()..].trim_start();
        if !(after.starts_with('(') || after.starts_with('<')) {
            continue;
        }
        // the body: first `{` (or `;`: a declaration) outside parens
        let sig_start = at + 2 + name_start + f.name.len();
        let (mut depth, mut body) = (0i32, None);
        for (j, ch) in code[sig_start..].char_indices() {
            match ch {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                ';' if depth == 0 => break,
                '{' if depth == 0 => {
                    body = Some(sig_start + j);
                    break;
                }
                _ => {}
            }
        }
        let Some(open) = body else { continue };
        let Some(end) = blocks.iter().find(|b| b.open == open).map(|b| b.close) else {
            continue;
        };
        // innermost impl / trait / mod around it
        let around = blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.kind != BlockKind::Other && b.open < at && at < b.close)
            .max_by_key(|(_, b)| b.open);
        let in_test_mod = blocks.iter().any(|b| {
            b.kind == BlockKind::Mod
                && b.open < at
                && at < b.close
                && (b.raw_header.contains("cfg(test)")
                    || b.header.ends_with("mod tests")
                    || b.header.ends_with("mod test"))
        });
        if in_test_mod {
            continue;
        }
        let ok = match (&f.in_impl, around) {
            (Some(want), Some((_, b))) => b.kind == BlockKind::Impl && b.header.contains(&collapse(want)),
            (Some(_), None) => false,
            (None, Some((_, b))) => b.kind == BlockKind::Mod,
            (None, None) => true,
        };
        if !ok {
            continue;
        }
        let line_start = src[..at].rfind('\n').map_or(0, |n| n + 1);
        let prefix = &src[line_start..at];
        if prefix.contains(['{', '}', ';', '=']) {
            return Err(format!("`fn {}` does not start its line: `{}`", f.name, prefix.trim()));
        }
        let indent: String = prefix.chars().take_while(|c| c.is_whitespace()).collect();
        let impl_block = match around {
            Some((i, b)) if b.kind == BlockKind::Impl => Some(i),
            _ => None,
        };
        found.push(Located {
            line_start,
            indent,
            end,
            impl_block,
        });
    }
    match found.len() {
        1 => Ok(found.pop().unwrap()),
        0 => Err(format!(
            "no `fn {}`{} in {}",
            f.name,
            f.in_impl
                .as_ref()
                .map(|i| format!(" in an `impl` matching `{i}`"))
                .unwrap_or_default(),
            f.file
        )),
        n => Err(format!(
            "{n} definitions of `fn {}` match in {}; narrow it with in=\"..\"",
            f.name, f.file
        )),
    }
}

/// Lines (1-based, in the annotated file) that belong to one function:
/// errors whose spans fall there are blamed on it.
#[derive(Debug, Clone)]
pub(super) struct Blame {
    pub(super) file: String,
    pub(super) from: usize,
    pub(super) to: usize,
    pub(super) fns: Vec<usize>,
}

/// Annotate the active functions of one source file: the new text and the
/// blame ranges.
pub(super) fn annotate_file(file: &str, src: &str, fns: &[(usize, &FnSpec)]) -> Result<(String, Vec<Blame>), String> {
    let mask = code_mask(src);
    let blocks = blocks(src, &mask);
    // (offset, line to insert, fns blamed for it, end offset of what it covers)
    let mut ins: Vec<(usize, String, Vec<usize>, usize)> = Vec::new();
    let mut impl_attr: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &(idx, f) in fns {
        let loc = locate(src, &mask, &blocks, f).map_err(|e| format!("{}: {e}", f.label()))?;
        let attr = if f.attr.trim().is_empty() {
            "#[capture_runtime::capture_args]".to_owned()
        } else {
            format!("#[capture_runtime::capture_args({})]", f.attr)
        };
        ins.push((loc.line_start, format!("{}{attr}\n", loc.indent), vec![idx], loc.end));
        if let Some(b) = loc.impl_block {
            impl_attr.entry(b).or_default().push(idx);
        }
    }
    for (b, idxs) in impl_attr {
        let blk = &blocks[b];
        let line_start = src[..blk.keyword].rfind('\n').map_or(0, |n| n + 1);
        let indent: String = src[line_start..]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        ins.push((
            line_start,
            format!("{indent}#[capture_runtime::capture_args]\n"),
            idxs,
            line_start,
        ));
    }
    ins.sort_by_key(|i| i.0);
    let line_of = |off: usize| src[..off].matches('\n').count() + 1;
    let mut out = String::with_capacity(src.len() + ins.len() * 48);
    let mut blame = Vec::new();
    let mut last = 0;
    for (k, (off, text, idxs, end)) in ins.iter().enumerate() {
        out.push_str(&src[last..*off]);
        last = *off;
        let at_line = out.matches('\n').count() + 1;
        out.push_str(text);
        // the covered item ends `end`; insertions before it shift it down
        let shift = ins.iter().filter(|i| i.0 <= *end).count();
        let to = if end > off { line_of(*end) + shift } else { at_line };
        let _ = k;
        blame.push(Blame {
            file: file.to_owned(),
            from: at_line,
            to,
            fns: idxs.clone(),
        });
    }
    out.push_str(&src[last..]);
    Ok((out, blame))
}

/// Write the annotated sources and the replay target for the active
/// functions; the blame ranges for compile errors.
pub(super) fn write_annotated(
    spec: &Spec,
    dirs: &Dirs,
    active: &[bool],
    replay_ok: &[bool],
) -> Result<Vec<Blame>, String> {
    let mut by_file: BTreeMap<&str, Vec<(usize, &FnSpec)>> = BTreeMap::new();
    for (i, f) in spec.fns.iter().enumerate() {
        by_file.entry(f.file.as_str()).or_default();
        if active[i] {
            by_file.get_mut(f.file.as_str()).unwrap().push((i, f));
        }
    }
    let mut blame = Vec::new();
    for (file, fns) in by_file {
        let src = std::fs::read_to_string(dirs.source.join(file)).map_err(|e| format!("{file}: {e}"))?;
        let (text, b) = annotate_file(file, &src, &fns)?;
        std::fs::write(dirs.annotated.join(file), text).map_err(|e| e.to_string())?;
        blame.extend(b);
    }
    let mut test = format!(
        "// Generated by `cargo xtask realworld` from realworld/{}.spec: every\n// stored call of the annotated functions is a test.\ncapture_test::replay_main! {{\n",
        spec.name
    );
    for (i, f) in spec.fns.iter().enumerate() {
        let Some(entry) = f.entry() else { continue };
        if active[i] && replay_ok[i] {
            let line = test.matches('\n').count() + 1;
            let _ = writeln!(test, "    {entry},");
            blame.push(Blame {
                file: "tests/capture_replay.rs".into(),
                from: line,
                to: line,
                fns: vec![i],
            });
        }
    }
    test.push_str("}\n");
    std::fs::create_dir_all(dirs.annotated.join("tests")).map_err(|e| e.to_string())?;
    std::fs::write(dirs.annotated.join("tests/capture_replay.rs"), test).map_err(|e| e.to_string())?;
    Ok(blame)
}

/// Let the copy build on its own: a `[workspace]` table (it sits inside
/// this workspace's folder), and this workspace's lock file as the seed, so
/// capture's dependencies resolve to the versions already built and cached.
pub(super) fn standalone(dir: &Path) -> Result<String, String> {
    let manifest = dir.join("Cargo.toml");
    let mut toml = std::fs::read_to_string(&manifest).map_err(|e| e.to_string())?;
    if !toml.lines().any(|l| l.trim() == "[workspace]") {
        toml.push_str("\n[workspace]\n");
    }
    std::fs::write(&manifest, &toml).map_err(|e| e.to_string())?;
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).map_err(|e| e.to_string())?;
    Ok(toml)
}

/// The annotated copy's manifest: [`standalone`], `autotests`, capture's
/// dependencies and the `harness = false` replay target.
pub(super) fn annotated_manifest(dir: &Path) -> Result<(), String> {
    let mut toml = standalone(dir)?;
    // An explicit [[test]] turns off test-target inference in edition 2015
    // manifests (strsim's tests/lib.rs would silently vanish) unless
    // `autotests` says otherwise; a manifest that sets it already lists its
    // targets.
    if !toml.lines().any(|l| l.trim_start().starts_with("autotests")) {
        toml = toml.replacen("[package]\n", "[package]\nautotests = true\n", 1);
    }
    let ws = workspace();
    let _ = write!(
        toml,
        "\n# added by cargo xtask realworld\n[dependencies.capture-runtime]\npath = {:?}\n\n[dev-dependencies.capture-test]\npath = {:?}\n\n[[test]]\nname = \"capture_replay\"\npath = \"tests/capture_replay.rs\"\nharness = false\n# not part of the crate's own suite; run with --test capture_replay\ntest = false\n",
        ws.join("capture-runtime").display().to_string(),
        ws.join("capture-test").display().to_string(),
    );
    // As the guide recommends (docs/getting-started.md, like insta's own
    // advice): capture's runtime built optimized in debug builds, where a
    // crate's test suite runs; the crate itself stays as it is.
    if !toml.contains("[profile.dev.package") {
        toml.push_str(OPTIMIZED_RUNTIME);
    }
    std::fs::write(dir.join("Cargo.toml"), toml).map_err(|e| e.to_string())?;
    Ok(())
}

/// The profile tables the guide recommends for `cargo test` with capture on.
pub(super) const OPTIMIZED_RUNTIME: &str = "\n[profile.dev.package.capture-runtime]\nopt-level = 3\n[profile.dev.package.sha2]\nopt-level = 3\n[profile.dev.package.rmp-serde]\nopt-level = 3\n[profile.dev.package.rmp]\nopt-level = 3\n";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realworld::spec::ReplayEntry;

    fn f(name: &str, in_impl: Option<&str>) -> FnSpec {
        FnSpec {
            file: "src/lib.rs".into(),
            name: name.into(),
            in_impl: in_impl.map(str::to_owned),
            attr: "ret".into(),
            replay: ReplayEntry::Entry(format!("x::{name}")),
            known: None,
        }
    }

    const SRC: &str = r##"//! doc { with braces } and ünïcödé
/* nested /* comment */ fn parse() {} */
use std::fmt;
/// fn parse( in a doc comment
pub fn parse(s: &str) -> u32 { let _ = "fn parse() {"; let c = '{'; s.len() as u32 }

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { write!(f, "}}") }
}

impl<'a> Wrapper<'a> {
    /// doc
    #[inline]
    pub(crate) const fn fmt(&'a self) -> &'a str { r#"}"# }
}

#[cfg(test)]
mod tests {
    fn parse() {}
}
"##;

    #[test]
    fn annotates_free_fns_and_methods_with_their_impl() {
        let fa = f("parse", None);
        let fb = f("fmt", Some("fmt::Display for Error"));
        let fc = f("fmt", Some("Wrapper<'a>"));
        let (out, blame) = annotate_file("src/lib.rs", SRC, &[(0, &fa), (1, &fb), (2, &fc)]).unwrap();
        assert!(
            out.contains("/// fn parse( in a doc comment\n#[capture_runtime::capture_args(ret)]\npub fn parse"),
            "{out}"
        );
        assert!(out.contains("#[capture_runtime::capture_args]\nimpl fmt::Display for Error {\n    #[capture_runtime::capture_args(ret)]\n    fn fmt"), "{out}");
        assert!(out.contains("#[capture_runtime::capture_args]\nimpl<'a> Wrapper<'a> {\n    /// doc\n    #[inline]\n    #[capture_runtime::capture_args(ret)]\n    pub(crate) const fn fmt"), "{out}");
        assert!(out.contains("mod tests {\n    fn parse() {}"), "{out}");
        // blame lines point into the annotated text
        let lines: Vec<&str> = out.lines().collect();
        for b in &blame {
            assert!(lines[b.from - 1].contains("capture_args"), "{b:?}");
            assert!(b.to >= b.from);
        }
        let parse = blame.iter().find(|b| b.fns == vec![0]).unwrap();
        assert!(lines[parse.to - 1].contains("pub fn parse"), "{parse:?}");
        let m = blame.iter().find(|b| b.fns == vec![2] && b.to > b.from).unwrap();
        assert!(lines[m.to - 1].contains("r#\"}\"#"), "{m:?}");
    }

    #[test]
    fn ambiguity_and_absence_are_errors() {
        let mask = code_mask(SRC);
        let b = blocks(SRC, &mask);
        assert!(locate(SRC, &mask, &b, &f("fmt", None)).is_err());
        assert!(locate(SRC, &mask, &b, &f("nope", None)).is_err());
        assert!(locate(SRC, &mask, &b, &f("fmt", Some("for Nope"))).is_err());
    }
}
