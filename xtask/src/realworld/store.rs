//! What a capture-on run left in the store (pending captures in
//! `pending/<crate>/<module>/<fn>/*.seg`, accepted ones in
//! `calls/<crate>/<module>/<fn>/*.call`, docs/format.md): its size, its
//! number of captures, and the captures of one spec'd function (for those
//! no replay entry can count).

use std::path::Path;

use super::spec::FnSpec;

/// Bytes of every file under `dir`.
pub(super) fn dir_bytes(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Captures under `dir`: one per `*.call` file, one per complete entry of
/// each `*.seg` file.
pub(super) fn count_captures(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                count_captures(&p)
            } else {
                captures_in(&p)
            }
        })
        .sum()
}

/// Captures in one file: 1 for a `.call`, the complete entries of a `.seg`
/// (8-byte header, then entries framed by a u32 LE length and a CRC-32),
/// 0 for anything else.
fn captures_in(p: &Path) -> usize {
    match p.extension().and_then(|x| x.to_str()) {
        Some("call") => 1,
        Some("seg") => {
            let Ok(bytes) = std::fs::read(p) else { return 0 };
            let (mut at, mut n) = (8usize, 0usize);
            while let Some(frame) = bytes.get(at..at + 8) {
                let len = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
                if at + 8 + len > bytes.len() {
                    break;
                }
                n += 1;
                at += 8 + len;
            }
            n
        }
        _ => 0,
    }
}

/// Stored calls of `f` of crate `krate`: the call folders whose id ends in
/// `f.name`, after a `<Type as Trait>` segment naming the type and trait of
/// its `in` (or the type of an inherent `impl`), or after a module segment
/// for a free function.
pub(super) fn calls_of(store: &Path, krate: &str, f: &FnSpec) -> usize {
    let mut dirs = Vec::new();
    for kind in ["calls", "pending"] {
        call_dirs(
            &store.join(kind).join(krate.replace('-', "_")),
            &mut Vec::new(),
            &mut dirs,
        );
    }
    dirs.iter()
        .filter(|(segs, _)| matches_fn(segs, f))
        .map(|(_, n)| n)
        .sum()
}

/// Every folder under `dir` holding captures: its unescaped segments
/// (below `dir`) and how many.
fn call_dirs(dir: &Path, segs: &mut Vec<String>, out: &mut Vec<(Vec<String>, usize)>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut calls = 0;
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            segs.push(unescape(&e.file_name().to_string_lossy()));
            call_dirs(&p, segs, out);
            segs.pop();
        } else {
            calls += captures_in(&p);
        }
    }
    if calls > 0 {
        out.push((segs.clone(), calls));
    }
}

fn matches_fn(segs: &[String], f: &FnSpec) -> bool {
    let (Some(last), parent) = (segs.last(), segs.len().checked_sub(2).map(|i| segs[i].as_str())) else {
        return false;
    };
    if *last != f.name {
        return false;
    }
    let parent = parent.unwrap_or("");
    let words: Vec<&str> = parent
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    match f
        .in_impl
        .as_deref()
        .map(|i| i.trim().trim_start_matches("impl ").trim())
    {
        Some(i) => {
            let (tr, ty) = i.split_once(" for ").map_or((None, i), |(a, b)| (Some(a), b));
            parent.starts_with('<') == tr.is_some()
                && words.contains(&base(ty))
                && tr.is_none_or(|tr| words.contains(&base(tr)))
        }
        None => !parent.starts_with('<'),
    }
}

/// `fmt::Display` -> `Display`, `AsSnakeCase<T>` -> `AsSnakeCase`.
fn base(path: &str) -> &str {
    let p = path.trim().trim_start_matches('&').trim();
    let p = p.split('<').next().unwrap_or(p).trim();
    p.rsplit("::").next().unwrap_or(p)
}

/// Reverse of the store's `%XX` escaping of a path segment.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            if let Some(x) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realworld::spec::ReplayEntry;

    fn f(name: &str, in_impl: Option<&str>) -> FnSpec {
        FnSpec {
            file: "src/snake.rs".into(),
            name: name.into(),
            in_impl: in_impl.map(str::to_owned),
            attr: "self, ret".into(),
            replay: ReplayEntry::None("x".into()),
            known: None,
        }
    }

    #[test]
    fn call_folders_match_their_function() {
        let seg = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(unescape("%3Cstr%20as%20ToSnakeCase%3E"), "<str as ToSnakeCase>");
        let str_impl = seg(&["snake", "<str as ToSnakeCase>", "to_snake_case"]);
        assert!(matches_fn(&str_impl, &f("to_snake_case", Some("ToSnakeCase for str"))));
        assert!(!matches_fn(&str_impl, &f("to_snake_case", Some("ToSnekCase for T"))));
        assert!(!matches_fn(&str_impl, &f("to_snake_case", None)));
        let display = seg(&["snake", "<AsSnakeCase as Display>", "fmt"]);
        assert!(matches_fn(&display, &f("fmt", Some("fmt::Display for AsSnakeCase<T>"))));
        assert!(matches_fn(
            &seg(&["date", "Rfc3339Timestamp", "get_ref"]),
            &f("get_ref", Some("impl Rfc3339Timestamp"))
        ));
        assert!(matches_fn(
            &seg(&["duration", "parse_duration"]),
            &f("parse_duration", None)
        ));
    }
}
