//! Stand-in values for what was not stored: an argument ignored or redacted at
//! capture time (`password`), or a redacted part of one (`order.customer_email`).

use serde::Serialize;

use crate::value::{to_value, EncodeCtx, Marker, Value};

/// Values supplied by a test for arguments (or parts of arguments) that were
/// not recorded.
///
/// A path is an argument name followed by `.field`, `[index]` or `["key"]`
/// steps, exactly as redaction reports name them.
///
/// ```
/// use capture_runtime::replay::StandIns;
/// let s = StandIns::new()
///     .with("password", "test-password")
///     .with("order.customer_email", "someone@example.com");
/// assert_eq!(s.paths().collect::<Vec<_>>(), ["password", "order.customer_email"]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct StandIns {
    entries: Vec<(String, Value)>,
}

/// One step of a stand-in path.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
}

impl StandIns {
    /// No stand-ins.
    pub fn new() -> Self {
        StandIns::default()
    }

    /// Use `value` for `path` (an argument name, or a path into one).
    ///
    /// # Panics
    /// If `value` cannot be serialized (a bug in the test, reported at once).
    pub fn with<T: Serialize + ?Sized>(mut self, path: &str, value: &T) -> Self {
        let v = to_value(value, &mut EncodeCtx::plain())
            .unwrap_or_else(|e| panic!("stand-in for `{path}` cannot be serialized: {e:?}"));
        self.entries.push((path.to_owned(), v));
        self
    }

    /// The paths given, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(p, _)| p.as_str())
    }

    /// The stand-in for the whole argument `arg`, if one was given.
    pub(crate) fn whole(&self, arg: &str) -> Option<&Value> {
        self.entries.iter().rev().find(|(p, _)| p == arg).map(|(_, v)| v)
    }

    /// Whether a stand-in replaces `path` (itself or an enclosing value).
    pub(crate) fn covers(&self, path: &str) -> bool {
        self.entries.iter().any(|(p, _)| p == path || part_of(path, p))
    }

    /// Whether any stand-in targets a part of `arg`.
    pub(crate) fn has_parts(&self, arg: &str) -> bool {
        self.entries.iter().any(|(p, _)| part_of(p, arg))
    }

    /// Put the stand-ins for parts of `arg` into `tree` (an argument read back
    /// untyped). Returns the paths that could not be found.
    pub(crate) fn patch(&self, arg: &str, tree: &mut Value) -> Vec<String> {
        let mut missing = Vec::new();
        for (path, v) in self.entries.iter().filter(|(p, _)| part_of(p, arg)) {
            let steps = parse_steps(&path[arg.len()..]);
            match steps.and_then(|s| locate(tree, &s)) {
                Some(slot) => *slot = v.clone(),
                None => missing.push(path.clone()),
            }
        }
        missing
    }
}

fn part_of(path: &str, arg: &str) -> bool {
    path.len() > arg.len() && path.starts_with(arg) && matches!(path.as_bytes()[arg.len()], b'.' | b'[')
}

fn parse_steps(mut rest: &str) -> Option<Vec<Step>> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            out.push(Step::Field(r[..end].to_owned()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            out.push(match inner.parse::<usize>() {
                Ok(i) => Step::Index(i),
                Err(_) => Step::Field(inner.trim_matches('"').to_owned()),
            });
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(out)
}

fn locate<'v>(mut v: &'v mut Value, steps: &[Step]) -> Option<&'v mut Value> {
    for step in steps {
        v = match (v, step) {
            (Value::Map(entries), Step::Field(name)) => &mut entries.iter_mut().find(|(k, _)| k.key_text() == *name)?.1,
            (Value::Struct(_, fields), Step::Field(name)) => &mut fields.iter_mut().find(|(k, _)| k == name)?.1,
            (Value::Seq(items), Step::Index(i)) => items.get_mut(*i)?,
            (Value::Option(Some(inner)), step) => locate(inner, std::slice::from_ref(step))?,
            (Value::Newtype(_, inner), step) => locate(inner, std::slice::from_ref(step))?,
            _ => return None,
        };
    }
    Some(v)
}

/// Markers left in an untyped tree, with their paths (`order.customer_email`).
pub(crate) fn markers(root: &str, v: &Value) -> Vec<(String, Marker)> {
    let mut out = Vec::new();
    walk(&mut root.to_owned(), v, &mut out);
    out
}

fn walk(path: &mut String, v: &Value, out: &mut Vec<(String, Marker)>) {
    let len = path.len();
    match v {
        Value::Marker(m) => out.push((path.clone(), m.clone())),
        Value::Option(Some(x)) | Value::Newtype(_, x) => walk(path, x, out),
        Value::Seq(items) => {
            for (i, x) in items.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                walk(path, x, out);
                path.truncate(len);
            }
        }
        Value::Map(entries) => {
            for (k, x) in entries {
                let key = k.key_text();
                if !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    path.push('.');
                    path.push_str(&key);
                } else {
                    path.push_str(&format!("[{key:?}]"));
                }
                walk(path, x, out);
                path.truncate(len);
            }
        }
        Value::Struct(_, fields) => {
            for (k, x) in fields {
                path.push('.');
                path.push_str(k);
                walk(path, x, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Value {
        Value::Map(vec![
            (
                Value::Str("email".into()),
                Value::Marker(Marker::Redacted {
                    reason: "pii:email".into(),
                    type_name: "String".into(),
                }),
            ),
            (
                Value::Str("items".into()),
                Value::Seq(vec![Value::Map(vec![(
                    Value::Str("sku".into()),
                    Value::Str("A".into()),
                )])]),
            ),
        ])
    }

    #[test]
    fn patches_fields_and_indexes_and_reports_what_it_cannot_find() {
        let mut t = tree();
        assert_eq!(markers("order", &t)[0].0, "order.email");
        let s = StandIns::new()
            .with("order.email", "x@example.com")
            .with("order.items[0].sku", "B")
            .with("order.nope", &1)
            .with("other", &2);
        assert_eq!(s.patch("order", &mut t), vec!["order.nope"]);
        assert!(markers("order", &t).is_empty());
        assert_eq!(
            t,
            Value::Map(vec![
                (Value::Str("email".into()), Value::Str("x@example.com".into())),
                (
                    Value::Str("items".into()),
                    Value::Seq(vec![Value::Map(vec![(
                        Value::Str("sku".into()),
                        Value::Str("B".into())
                    )])])
                ),
            ])
        );
        assert_eq!(s.whole("other"), Some(&Value::U64(2)));
        assert!(s.has_parts("order") && !s.has_parts("other") && !s.has_parts("ord"));
    }
}
