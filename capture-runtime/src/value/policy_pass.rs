//! One pass of the policy over a value tree that was built by hand.
//!
//! Serde values get the policy while they are encoded ([`super::to_value`]).
//! A `Reducible` impl builds its own [`Value`], though: a hand-written impl
//! may return `Value::Str(secret)` or a struct with a `password` field, and a
//! `#[reduce(with = module)]` module inside a derived impl may do the same.
//! Such a tree gets this pass once, when its outermost reducible value is
//! done (see `capture::dispatch::ViaReducible`):
//!
//! * every string, and every string inside a map key, is scanned for PII
//!   and cleaned;
//! * a struct field, map key (string, char, newtype or unit variant) or
//!   non-unit enum variant with a sensitive name has its value replaced by
//!   a [`Marker::Redacted`], whose type is the value's kind (`string`,
//!   `struct Token`) since its Rust type is not known here;
//! * structs, newtypes and enums of a skipped type become placeholders;
//! * the `Debug` text of placeholder markers is scrubbed.
//!
//! Parts that already had the policy (serde parts, markers) pass through
//! unchanged, and nothing is reported twice: a report entry is added only
//! when this pass changes something.

use std::borrow::Cow;

use super::ctx::EncodeCtx;
use super::ser::EncodeError;
use super::{Marker, Name, Value, VariantBody};
use crate::filter::Policy;

impl EncodeCtx<'_> {
    /// Start building a reducible value's tree. True when the caller owns
    /// the policy pass and must finish it with [`Self::end_policy_pass`]:
    /// a policy is in force and no enclosing tree is already waiting for
    /// one (that pass will cover this tree too).
    pub(crate) fn begin_policy_pass(&mut self) -> bool {
        if self.policy().is_none() || self.policy_pass {
            return false;
        }
        self.policy_pass = true;
        true
    }

    /// Finish what [`Self::begin_policy_pass`] started: pass the built tree
    /// through the policy once.
    pub(crate) fn end_policy_pass(&mut self, built: Result<Value, EncodeError>) -> Result<Value, EncodeError> {
        self.policy_pass = false;
        let mut value = built?;
        if let Some(policy) = self.policy() {
            self.pass(policy, &mut value);
        }
        Ok(value)
    }

    fn pass(&mut self, policy: &Policy, v: &mut Value) {
        let skipped = match &*v {
            Value::Struct(name, _) | Value::Newtype(name, _) => self.skipped(name),
            Value::Variant(var) => self.skipped(&var.enum_name),
            _ => None,
        };
        if let Some(marker) = skipped {
            *v = marker;
            return;
        }
        match v {
            Value::Str(s) => self.scan(policy, s),
            Value::Option(Some(inner)) | Value::Newtype(_, inner) => self.pass(policy, inner),
            Value::Seq(items) => self.pass_items(policy, items),
            Value::Map(entries) => self.pass_map(policy, entries),
            Value::Struct(_, fields) => self.pass_fields(policy, fields),
            Value::Variant(var) => {
                let sensitive = !matches!(var.body, VariantBody::Unit) && sensitive(policy, &var.variant);
                if sensitive {
                    // `Credential::Password(..)` is `{"Password": ..}` on the wire.
                    if !matches!(var.body, VariantBody::Newtype(Value::Marker(Marker::Redacted { .. }))) {
                        self.path.name(&var.variant);
                        let what = format!("{}::{}", var.enum_name, var.variant);
                        let marker = self.redacted_marker_of(&var.variant, &what);
                        self.path.pop();
                        var.body = VariantBody::Newtype(marker);
                    }
                    return;
                }
                match &mut var.body {
                    VariantBody::Unit => {}
                    VariantBody::Newtype(inner) => {
                        self.path.name(&var.variant);
                        self.pass(policy, inner);
                        self.path.pop();
                    }
                    VariantBody::Tuple(items) => self.pass_items(policy, items),
                    VariantBody::Struct(fields) => self.pass_fields(policy, fields),
                }
            }
            Value::Marker(Marker::Placeholder { debug: Some(text), .. }) => {
                if let Some(clean) = policy.scrub_debug(text) {
                    *text = clean;
                }
            }
            _ => {}
        }
    }

    fn scan(&mut self, policy: &Policy, s: &mut String) {
        if let Some((clean, kinds)) = policy.scan_str(s) {
            // Text a detector already cleaned comes back unchanged: not news.
            if clean != *s {
                self.note_redacted(format!("pii:{}", kinds.join(",")));
                *s = clean;
            }
        }
    }

    fn pass_items(&mut self, policy: &Policy, items: &mut [Value]) {
        for (i, item) in items.iter_mut().enumerate() {
            self.path.index(i);
            self.pass(policy, item);
            self.path.pop();
        }
    }

    fn pass_fields(&mut self, policy: &Policy, fields: &mut [(Name, Value)]) {
        for (name, value) in fields.iter_mut() {
            self.path.name(name);
            if sensitive(policy, name) {
                self.redact_in_place(name, value);
            } else {
                self.pass(policy, value);
            }
            self.path.pop();
        }
    }

    fn pass_map(&mut self, policy: &Policy, entries: &mut [(Value, Value)]) {
        let before = self.report.redacted.len();
        for (key, _) in entries.iter_mut() {
            // Keys are scanned like any value (a PII key is cleaned, and stays a key).
            self.pass(policy, key);
        }
        let keys_changed = self.report.redacted.len() != before;
        for (key, value) in entries.iter_mut() {
            let name = key.key_name();
            let is_sensitive = name.as_deref().is_some_and(|n| policy.is_sensitive_name(n));
            let text = name.map(Cow::into_owned).unwrap_or_else(|| key.key_text());
            self.path.key(text);
            if is_sensitive {
                let text = key.key_text();
                self.redact_in_place(&text, value);
            } else {
                self.pass(policy, value);
            }
            self.path.pop();
        }
        if keys_changed {
            entries.sort_by(|a, b| a.0.canonical_cmp(&b.0));
        }
    }

    /// Replace `value` (under the sensitive `name`) by a redaction marker,
    /// unless it already is one.
    fn redact_in_place(&mut self, name: &str, value: &mut Value) {
        if matches!(value, Value::Marker(Marker::Redacted { .. })) {
            return;
        }
        let kind = value.kind_name();
        *value = self.redacted_marker_of(name, &kind);
    }
}

fn sensitive(policy: &Policy, name: &Name) -> bool {
    match name {
        Cow::Borrowed(s) => policy.is_sensitive_static(s),
        Cow::Owned(s) => policy.is_sensitive_name(s),
    }
}
