//! Comparing a replayed value with the recorded one: both are encoded the way
//! capture encodes (same redaction policy, canonical map order) and read back
//! untyped, so any capturable type can be compared and a mismatch is reported
//! path by path. Parts that were redacted or not stored (markers) cannot be
//! compared: [`diff_report`] lists them apart, so a caller can say so rather
//! than count them as equal.

use crate::value::{Marker, Value, VariantBody};

/// Options for comparing values.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tolerance {
    /// Floats `a` and `b` are equal when `|a - b| <= tol * max(1, |a|, |b|)`
    /// (absolute below 1, relative above). `None`: exact.
    pub float: Option<f64>,
}

/// The differences between `recorded` and `replayed`, as `path: recorded X, now Y`
/// lines (at most 20); empty when they are equal.
///
/// ```
/// use capture_runtime::replay::compare::{diff, Tolerance};
/// use capture_runtime::value::Value;
/// let a = Value::Seq(vec![Value::F64(1.0), Value::U64(2)]);
/// let b = Value::Seq(vec![Value::F64(1.0 + 1e-12), Value::U64(3)]);
/// assert_eq!(diff("return", &a, &b, Tolerance { float: Some(1e-9) }), vec!["return[1]: recorded 2, now 3"]);
/// ```
pub fn diff(root: &str, recorded: &Value, replayed: &Value, tol: Tolerance) -> Vec<String> {
    diff_report(root, recorded, replayed, tol).0
}

/// [`diff`], plus the paths that could not be compared because a side holds a
/// marker (a part redacted or not stored at capture time), with what it was.
///
/// ```
/// use capture_runtime::replay::compare::{diff_report, Tolerance};
/// use capture_runtime::value::{Marker, Value};
/// let redacted = Value::Marker(Marker::Redacted { reason: "pii:email".into(), type_name: "String".into() });
/// let a = Value::Seq(vec![redacted.clone(), Value::U64(1)]);
/// let (lines, unchecked) = diff_report("r", &a, &a, Tolerance::default());
/// assert!(lines.is_empty());
/// assert_eq!(unchecked, vec!["r[0] (redacted `String` (pii:email))"]);
/// ```
pub fn diff_report(root: &str, recorded: &Value, replayed: &Value, tol: Tolerance) -> (Vec<String>, Vec<String>) {
    let mut out = Vec::new();
    let mut unchecked = Vec::new();
    walk(&mut root.to_owned(), recorded, replayed, tol, &mut out, &mut unchecked);
    if out.len() > 20 {
        let n = out.len() - 20;
        out.truncate(20);
        out.push(format!("… and {n} more difference(s)"));
    }
    (out, unchecked)
}

fn missing_marker(v: &Value) -> Option<&Marker> {
    match v {
        Value::Marker(m) if !matches!(m, Marker::Ref(_)) => Some(m),
        _ => None,
    }
}

fn float_eq(a: f64, b: f64, tol: Tolerance) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    match tol.float {
        Some(t) => (a - b).abs() <= t * 1f64.max(a.abs()).max(b.abs()),
        None => false,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match *v {
        Value::F32(x) => Some(x as f64),
        Value::F64(x) => Some(x),
        _ => None,
    }
}

fn walk(path: &mut String, a: &Value, b: &Value, tol: Tolerance, out: &mut Vec<String>, unchecked: &mut Vec<String>) {
    let len = path.len();
    if let Some(m) = missing_marker(a).or_else(|| missing_marker(b)) {
        unchecked.push(format!("{path} ({})", m.describe()));
        return;
    }
    match (a, b) {
        _ if as_f64(a).is_some() && as_f64(b).is_some() => {
            if !float_eq(as_f64(a).unwrap_or_default(), as_f64(b).unwrap_or_default(), tol) {
                out.push(format!("{path}: recorded {}, now {}", render(a), render(b)));
            }
        }
        (Value::Seq(x), Value::Seq(y)) => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                path.push_str(&format!("[{i}]"));
                walk(path, p, q, tol, out, unchecked);
                path.truncate(len);
            }
            if x.len() != y.len() {
                out.push(format!("{path}: recorded {} item(s), now {}", x.len(), y.len()));
            }
        }
        (Value::Map(x), Value::Map(y)) => {
            for (k, p) in x {
                let key = k.key_text();
                match y.iter().find(|(l, _)| l == k) {
                    Some((_, q)) => {
                        push_key(path, &key);
                        walk(path, p, q, tol, out, unchecked);
                        path.truncate(len);
                    }
                    None => out.push(format!("{path}: `{key}` was recorded, now missing")),
                }
            }
            for (k, _) in y.iter().filter(|(l, _)| !x.iter().any(|(k, _)| k == l)) {
                out.push(format!("{path}: `{}` is new (not recorded)", k.key_text()));
            }
        }
        (Value::Option(Some(p)), Value::Option(Some(q))) => walk(path, p, q, tol, out, unchecked),
        (Value::Newtype(_, p), Value::Newtype(_, q)) => walk(path, p, q, tol, out, unchecked),
        (Value::Variant(p), Value::Variant(q)) if p.variant == q.variant => match (&p.body, &q.body) {
            (VariantBody::Newtype(x), VariantBody::Newtype(y)) => walk(path, x, y, tol, out, unchecked),
            _ if p == q => {}
            _ => out.push(format!("{path}: recorded {}, now {}", render(a), render(b))),
        },
        _ if a == b => {}
        _ => out.push(format!("{path}: recorded {}, now {}", render(a), render(b))),
    }
}

fn push_key(path: &mut String, key: &str) {
    if key.chars().all(|c| c.is_alphanumeric() || c == '_') && !key.is_empty() {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str(&format!("[{key:?}]"));
    }
}

/// A compact, Rust-like rendering of an untyped value (maps read back from
/// structs print as `{field: value}`), capped at 200 characters.
///
/// ```
/// use capture_runtime::{replay::compare::render, value::Value};
/// assert_eq!(render(&Value::Seq(vec![Value::Str("a".into()), Value::Bool(true)])), r#"["a", true]"#);
/// ```
pub fn render(v: &Value) -> String {
    let mut s = String::new();
    write(&mut s, v);
    if s.len() > 200 {
        let mut cut = 200;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

fn write(s: &mut String, v: &Value) {
    match v {
        Value::Unit => s.push_str("()"),
        Value::Bool(b) => s.push_str(&b.to_string()),
        Value::I64(n) => s.push_str(&n.to_string()),
        Value::U64(n) => s.push_str(&n.to_string()),
        Value::I128(n) => s.push_str(&n.to_string()),
        Value::U128(n) => s.push_str(&n.to_string()),
        Value::F32(n) => s.push_str(&format!("{n:?}")),
        Value::F64(n) => s.push_str(&format!("{n:?}")),
        Value::Char(c) => s.push_str(&format!("{c:?}")),
        Value::Str(t) => s.push_str(&format!("{t:?}")),
        Value::Bytes(b) => s.push_str(&format!("bytes({})", b.len())),
        Value::Option(None) => s.push_str("None"),
        Value::Option(Some(x)) | Value::Newtype(_, x) => write(s, x),
        Value::Seq(items) => {
            s.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write(s, x);
            }
            s.push(']');
        }
        Value::Map(entries) => {
            s.push('{');
            for (i, (k, x)) in entries.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(&k.key_text());
                s.push_str(": ");
                write(s, x);
            }
            s.push('}');
        }
        Value::Struct(name, fields) => {
            s.push_str(name);
            s.push_str(" {");
            for (i, (k, x)) in fields.iter().enumerate() {
                s.push_str(if i > 0 { ", " } else { " " });
                s.push_str(k);
                s.push_str(": ");
                write(s, x);
            }
            s.push_str(" }");
        }
        Value::Variant(var) => {
            s.push_str(&var.variant);
            match &var.body {
                VariantBody::Unit => {}
                VariantBody::Newtype(x) => {
                    s.push('(');
                    write(s, x);
                    s.push(')');
                }
                VariantBody::Tuple(xs) => write(s, &Value::Seq(xs.clone())),
                VariantBody::Struct(fs) => write(s, &Value::Struct("".into(), fs.clone())),
            }
        }
        Value::Marker(m) => s.push_str(&format!("<{}>", m.describe())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(k, v)| (Value::Str((*k).into()), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn nested_differences_name_their_path() {
        let a = map(&[
            ("total", Value::U64(10)),
            ("lines", Value::Seq(vec![map(&[("qty", Value::U64(1))])])),
        ]);
        let b = map(&[
            ("total", Value::U64(10)),
            ("lines", Value::Seq(vec![map(&[("qty", Value::U64(2))])])),
        ]);
        assert_eq!(
            diff("return", &a, &b, Tolerance::default()),
            vec!["return.lines[0].qty: recorded 1, now 2"]
        );
        assert!(diff("return", &a, &a, Tolerance::default()).is_empty());
    }

    #[test]
    fn floats_honour_the_tolerance_and_nan_equals_nan() {
        let t = Tolerance { float: Some(1e-6) };
        assert!(diff("r", &Value::F64(1000.0), &Value::F64(1000.0001), t).is_empty());
        assert_eq!(diff("r", &Value::F64(1.0), &Value::F64(1.1), t).len(), 1);
        assert_eq!(
            diff("r", &Value::F64(1.0), &Value::F64(1.0 + 1e-12), Tolerance::default()).len(),
            1
        );
        assert!(diff("r", &Value::F64(f64::NAN), &Value::F64(f64::NAN), Tolerance::default()).is_empty());
    }

    #[test]
    fn missing_and_new_keys_and_lengths() {
        let a = map(&[("a", Value::U64(1))]);
        let b = map(&[("b", Value::U64(1))]);
        assert_eq!(
            diff("x", &a, &b, Tolerance::default()),
            vec!["x: `a` was recorded, now missing", "x: `b` is new (not recorded)"]
        );
        let d = diff(
            "x",
            &Value::Seq(vec![]),
            &Value::Seq(vec![Value::Unit]),
            Tolerance::default(),
        );
        assert_eq!(d, vec!["x: recorded 0 item(s), now 1"]);
    }
}
