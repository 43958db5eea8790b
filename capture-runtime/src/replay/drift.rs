//! Schema drift: what changed between the type a value was recorded as and
//! the type it is replayed into, told in words (field added or removed, field
//! type changed, variant renamed) from the two schema descriptions.

use std::collections::BTreeMap;

use crate::record::Schema;

/// One named type of a schema description.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Def {
    /// `struct N { a: T, .. }`, `struct N(T, ..)` (fields named `0`, `1`, ..), `struct N`.
    Struct(Vec<(String, String)>),
    /// `enum N { A, B(T), C { x: T } }`: (variant, payload text).
    Enum(Vec<(String, String)>),
}

/// A parsed schema description: the root type and every named type.
struct Parsed {
    root: String,
    defs: BTreeMap<String, Def>,
}

fn parse(description: &str) -> Parsed {
    let mut lines = description.lines();
    let root = lines.next().unwrap_or_default().to_owned();
    let mut defs = BTreeMap::new();
    for line in lines {
        let (is_enum, rest) = if let Some(r) = line.strip_prefix("enum ") {
            (true, r)
        } else if let Some(r) = line.strip_prefix("struct ") {
            (false, r)
        } else {
            continue;
        };
        let name_end = rest.find([' ', '(']).unwrap_or(rest.len());
        let name = rest[..name_end].to_owned();
        let body = rest[name_end..].trim();
        let def = if is_enum {
            let inner = body.trim_start_matches('{').trim_end_matches('}').trim();
            Def::Enum(
                split_top(inner)
                    .into_iter()
                    .map(|v| {
                        let cut = v.find([' ', '(']).unwrap_or(v.len());
                        (v[..cut].to_owned(), v[cut..].trim().to_owned())
                    })
                    .collect(),
            )
        } else if let Some(inner) = body.strip_prefix('{') {
            let inner = inner.trim_end_matches('}').trim();
            Def::Struct(
                split_top(inner)
                    .into_iter()
                    .map(|f| match f.split_once(": ") {
                        Some((n, t)) => (n.to_owned(), t.to_owned()),
                        None => (f.clone(), String::new()),
                    })
                    .collect(),
            )
        } else if let Some(inner) = body.strip_prefix('(') {
            let inner = inner.strip_suffix(')').unwrap_or(inner);
            Def::Struct(
                split_top(inner)
                    .into_iter()
                    .enumerate()
                    .map(|(i, t)| (i.to_string(), t))
                    .collect(),
            )
        } else {
            Def::Struct(Vec::new())
        };
        defs.insert(name, def);
    }
    Parsed { root, defs }
}

/// Split on commas that are not nested in brackets.
fn split_top(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in text.chars() {
        match c {
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_owned());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

/// What changed from the `recorded` schema to the `current` one, one line per
/// change; empty when the descriptions are equal.
///
/// ```
/// use capture_runtime::replay::{drift::changes, schema::from_description};
/// let old = from_description("Order\nstruct Order { id: u64 }".into());
/// let new = from_description("Order\nstruct Order { id: u64, note: str }".into());
/// assert_eq!(changes(&old, &new), vec!["struct `Order`: field `note: str` added"]);
/// ```
pub fn changes(recorded: &Schema, current: &Schema) -> Vec<String> {
    if recorded.description == current.description {
        return Vec::new();
    }
    let old = parse(&recorded.description);
    let new = parse(&current.description);
    let mut out = Vec::new();
    if old.root != new.root && !(old.defs.contains_key(&old.root) && new.defs.contains_key(&new.root)) {
        out.push(format!("the type changed from `{}` to `{}`", old.root, new.root));
    }
    for (name, before) in &old.defs {
        match new.defs.get(name) {
            None => out.push(format!("type `{name}` no longer exists (renamed or removed)")),
            Some(after) => diff_def(name, before, after, &mut out),
        }
    }
    for name in new.defs.keys().filter(|n| !old.defs.contains_key(*n)) {
        out.push(format!("type `{name}` is new"));
    }
    if out.is_empty() {
        out.push("the structure differs (see the two descriptions)".into());
    }
    out
}

fn diff_def(name: &str, before: &Def, after: &Def, out: &mut Vec<String>) {
    match (before, after) {
        (Def::Struct(a), Def::Struct(b)) => {
            for (f, t) in a {
                match b.iter().find(|(g, _)| g == f) {
                    None => out.push(format!("struct `{name}`: field `{f}: {t}` removed")),
                    Some((_, u)) if u != t => {
                        out.push(format!("struct `{name}`: field `{f}` changed type from `{t}` to `{u}`"))
                    }
                    Some(_) => {}
                }
            }
            for (f, t) in b.iter().filter(|(f, _)| !a.iter().any(|(g, _)| g == f)) {
                out.push(format!("struct `{name}`: field `{f}: {t}` added"));
            }
        }
        (Def::Enum(a), Def::Enum(b)) => {
            let removed: Vec<(usize, &(String, String))> = a
                .iter()
                .enumerate()
                .filter(|(_, (v, _))| !b.iter().any(|(w, _)| w == v))
                .collect();
            let mut added: Vec<(usize, &(String, String))> = b
                .iter()
                .enumerate()
                .filter(|(_, (v, _))| !a.iter().any(|(w, _)| w == v))
                .collect();
            for (i, (v, payload)) in removed {
                // Same position and payload under a new name: a rename.
                if let Some(k) = added.iter().position(|(j, (_, p))| *j == i && p == payload) {
                    let (_, (w, _)) = added.remove(k);
                    out.push(format!("enum `{name}`: variant `{v}` renamed to `{w}`"));
                } else {
                    out.push(format!("enum `{name}`: variant `{v}{}` removed", sp(payload)));
                }
            }
            for (_, (w, p)) in added {
                out.push(format!("enum `{name}`: variant `{w}{}` added", sp(p)));
            }
            for (v, p) in a {
                if let Some((_, q)) = b.iter().find(|(w, _)| w == v) {
                    if p != q {
                        out.push(format!(
                            "enum `{name}`: variant `{v}` payload changed from `{}` to `{}`",
                            p.trim(),
                            q.trim()
                        ));
                    }
                }
            }
        }
        (Def::Struct(_), Def::Enum(_)) => out.push(format!("`{name}` was a struct and is now an enum")),
        (Def::Enum(_), Def::Struct(_)) => out.push(format!("`{name}` was an enum and is now a struct")),
    }
}

fn sp(payload: &str) -> String {
    if payload.starts_with('{') {
        format!(" {payload}")
    } else {
        payload.to_owned()
    }
}

/// Everything known about one argument that no longer fits its type.
#[derive(Clone, Debug)]
pub struct Drift {
    /// Function id.
    pub function: String,
    /// Replay id of the capture.
    pub capture: String,
    /// Argument name (`self`, `return`, or a parameter).
    pub arg: String,
    /// Type name recorded at capture time.
    pub recorded_type: String,
    /// Schema recorded at capture time, if any.
    pub recorded: Option<Schema>,
    /// Type name replayed into.
    pub current_type: String,
    /// Schema of the current type, if it can be traced.
    pub current: Option<Schema>,
    /// What the decoder said, if decoding failed.
    pub decode_error: Option<String>,
    /// Where the record lives, for the fix hint.
    pub record_key: String,
}

impl Drift {
    /// The test-failure message.
    ///
    /// ```
    /// use capture_runtime::replay::{drift::Drift, schema::from_description};
    /// let d = Drift {
    ///     function: "shop::price".into(), capture: "0123456789ab".into(), arg: "order".into(),
    ///     recorded_type: "shop::Order".into(), current_type: "shop::Order".into(),
    ///     recorded: Some(from_description("Order\nstruct Order { id: u64 }".into())),
    ///     current: Some(from_description("Order\nstruct Order { id: str }".into())),
    ///     decode_error: Some("invalid type".into()), record_key: "calls/shop/price/1.call".into(),
    /// };
    /// assert!(d.message().contains("field `id` changed type from `u64` to `str`"));
    /// ```
    pub fn message(&self) -> String {
        let fp = |s: &Option<Schema>| {
            s.as_ref()
                .map(|s| s.fingerprint.clone())
                .unwrap_or_else(|| "none recorded".into())
        };
        let mut m = format!(
            "schema drift: `{}` capture {} argument `{}` no longer fits its type\n  recorded: `{}` (schema {})\n  current:  `{}` (schema {})\n",
            self.function,
            self.capture,
            self.arg,
            self.recorded_type,
            fp(&self.recorded),
            self.current_type,
            fp(&self.current),
        );
        match (&self.recorded, &self.current) {
            (Some(r), Some(c)) => {
                m.push_str("  what changed:\n");
                for line in changes(r, c) {
                    m.push_str(&format!("    - {line}\n"));
                }
            }
            (Some(r), None) => m.push_str(&format!(
                "  recorded structure:\n{}\n  (the current type's structure cannot be traced)\n",
                indent(&r.description)
            )),
            (None, Some(c)) => m.push_str(&format!(
                "  current structure:\n{}\n  (no structure was recorded with this capture)\n",
                indent(&c.description)
            )),
            (None, None) => {}
        }
        if let Some(e) = &self.decode_error {
            m.push_str(&format!("  decoder: {e}\n"));
        }
        m.push_str(&format!(
            "  fix: re-record by running the program that captures with CAPTURE_ACCEPT=always (it replaces the accepted capture of the same inputs), or delete the stale capture `{}`; if the change is intended and compatible, set CAPTURE_ALLOW_DRIFT=1",
            self.record_key
        ));
        m
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("      {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::schema::from_description as s;

    #[test]
    fn field_added_removed_and_retyped() {
        let old = s("A\nstruct A { x: u32, y: str }".into());
        let new = s("A\nstruct A { x: str, z: Option<bool> }".into());
        assert_eq!(
            changes(&old, &new),
            vec![
                "struct `A`: field `x` changed type from `u32` to `str`",
                "struct `A`: field `y: str` removed",
                "struct `A`: field `z: Option<bool>` added",
            ]
        );
    }

    #[test]
    fn variant_renamed_is_told_apart_from_removed_and_added() {
        let old = s("E\nenum E { Pending, Paid(u64), Gone { at: u64 } }".into());
        let new = s("E\nenum E { Waiting, Paid(str), Lost }".into());
        assert_eq!(
            changes(&old, &new),
            vec![
                "enum `E`: variant `Pending` renamed to `Waiting`",
                "enum `E`: variant `Gone { at: u64 }` removed",
                "enum `E`: variant `Lost` added",
                "enum `E`: variant `Paid` payload changed from `(u64)` to `(str)`",
            ]
        );
    }

    #[test]
    fn nested_types_and_root_changes() {
        let old = s("[A]\nstruct A(u8, [B; 2])\nstruct B".into());
        let new = s("u64".into());
        let c = changes(&old, &new);
        assert_eq!(c[0], "the type changed from `[A]` to `u64`");
        assert!(c.contains(&"type `A` no longer exists (renamed or removed)".to_string()));
        assert_eq!(
            split_top("a: (u8, [B; 2]), b: {str: u8}"),
            vec!["a: (u8, [B; 2])", "b: {str: u8}"]
        );
    }
}
