//! [`EncodeCtx`]: the state of one encoding (policy, path, size so far, what
//! was redacted), shared by the tree serializer ([`super::ser`]), the direct
//! MessagePack writer ([`super::msgpack`]) and `Reducible` implementations.

use super::path::Path;
use super::ser::EncodeError;
use super::{Marker, Name, Value};
use crate::filter::Policy;

/// How deep a captured value may nest (struct in struct, element in
/// sequence, ...) before capture stops encoding it, unless configured
/// (`CAPTURE_MAX_DEPTH`, [`crate::Config::max_depth`]): 128 levels. Deeper
/// values are recorded as not captured, with the reason, instead of
/// recursing on: a stack overflow cannot be caught and would abort the
/// caller. 128 levels fit a 2 MiB thread stack many times over.
///
/// ```
/// assert_eq!(capture_runtime::value::MAX_DEPTH, 128);
/// ```
pub const MAX_DEPTH: usize = 128;

/// State for one encoding: the policy in force, the current path and what was
/// redacted on the way.
///
/// ```
/// use capture_runtime::value::{to_value, EncodeCtx};
/// let mut ctx = EncodeCtx::plain();
/// to_value(&("a", 1), &mut ctx).unwrap();
/// assert!(ctx.report.redacted.is_empty());
/// ```
pub struct EncodeCtx<'p> {
    pub(super) policy: Option<&'p Policy>,
    pub(crate) path: Path,
    size: u64,
    /// The size limit, `u64::MAX` for none (one compare per [`Self::grow`]).
    limit: u64,
    /// How deep a value may nest ([`MAX_DEPTH`] unless the policy says).
    max_depth: usize,
    /// Where a `Serialize` impl first returned an error, for the message.
    pub(super) error_path: Option<String>,
    /// The caller stores MessagePack: a serde value at the top of this
    /// encoding may be written straight to bytes ([`super::msgpack`]) instead
    /// of building a tree. Taken (reset) by the first dispatch layer that runs.
    pub(crate) want_bytes: bool,
    /// With `want_bytes`: the buffer the bytes are appended to (the call's
    /// buffer on the capture path), instead of a fresh `Vec` per value.
    pub(crate) append_to: Option<Vec<u8>>,
    /// What happened during encoding.
    pub report: EncodeReport,
    /// Per-call state of `Reducible` encoding (shared-pointer memo, explain trace).
    pub(crate) reduce: crate::reduce::EncodeState,
    /// A reducible value's tree is being built and will get one pass of the
    /// policy when it is done ([`Self::begin_policy_pass`]).
    pub(super) policy_pass: bool,
    /// A cache key is being hashed: fields marked `#[reduce(hash = sampled)]`
    /// contribute their sampled id instead of their bytes
    /// ([`crate::__private::derive::sampled_field`]). Never set while
    /// capturing: captured values are always encoded in full.
    pub(crate) sampled_fields: bool,
    /// The value being encoded has a generic parameter's type, as written
    /// (`I`): a placeholder then says the bounds are the cause ([`Self::__generic`]).
    pub(crate) generic: Option<&'static str>,
}

/// What the encoder did besides encoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodeReport {
    /// Paths whose values were replaced by a marker, with the reason:
    /// `name:<field>` and `pii:<kinds>` (redacted), `type:<name>` (type
    /// skipped by policy), `too_large:<what was dropped>` (size limit).
    /// Paths and reasons never contain a redacted value.
    pub redacted: Vec<(String, String)>,
}

thread_local! {
    /// A path buffer handed from one encoding to the next on this thread
    /// (see [`EncodeCtx::recycle`]), so capturing a call allocates no path.
    static PATHS: std::cell::Cell<Option<Path>> = const { std::cell::Cell::new(None) };
}

impl<'p> EncodeCtx<'p> {
    /// A context without any policy: nothing is redacted, no size limit.
    pub fn plain() -> EncodeCtx<'static> {
        EncodeCtx {
            policy: None,
            path: Path::default(),
            size: 0,
            limit: u64::MAX,
            max_depth: MAX_DEPTH,
            error_path: None,
            want_bytes: false,
            append_to: None,
            report: EncodeReport::default(),
            reduce: Default::default(),
            policy_pass: false,
            sampled_fields: false,
            generic: None,
        }
    }

    /// A context applying `policy` (redaction, PII detection, size limit).
    pub fn with_policy(policy: &'p Policy) -> Self {
        EncodeCtx {
            policy: Some(policy),
            path: PATHS.with(|p| p.take()).unwrap_or_default(),
            size: 0,
            limit: policy.size_limit().unwrap_or(u64::MAX),
            max_depth: policy.depth_limit(),
            error_path: None,
            want_bytes: false,
            append_to: None,
            report: EncodeReport::default(),
            reduce: Default::default(),
            policy_pass: false,
            sampled_fields: false,
            generic: None,
        }
    }

    /// Give this context's path buffer to the next encoding on this thread.
    pub(crate) fn recycle(&mut self) {
        let mut path = std::mem::take(&mut self.path);
        if path.reusable() {
            path.clear();
            PATHS.with(|p| p.set(Some(path)));
        }
    }

    /// The policy in force, if any.
    pub fn policy(&self) -> Option<&'p Policy> {
        self.policy
    }

    /// Start a new top-level value named `root` (an argument name).
    pub fn begin(&mut self, root: &str) {
        self.begin_name(Name::Owned(root.to_owned()));
    }

    /// Generated code: encode a value whose type is the generic parameter
    /// `ty` (as written). Inside a generic function capture sees only the
    /// bounds, so a placeholder blames them, not the type at the call.
    #[doc(hidden)]
    pub fn __generic<R>(&mut self, ty: &'static str, encode: impl FnOnce(&mut Self) -> R) -> R {
        let outer = self.generic.replace(ty);
        let out = encode(self);
        self.generic = outer;
        out
    }

    /// [`Self::begin`] with a name that may be borrowed for ever (no copy).
    pub(crate) fn begin_name(&mut self, root: Name) {
        self.path.reset(&root);
        self.size = 0;
        self.error_path = None;
        self.policy_pass = false;
    }

    /// The current path, as `order.items[2].card`.
    pub fn path_text(&self) -> String {
        self.path.text()
    }

    /// Record that the value at the current path was redacted.
    pub fn note_redacted(&mut self, reason: impl Into<String>) {
        let path = self.path_text();
        self.report.redacted.push((path, reason.into()));
    }

    pub(super) fn name_sensitive(&self, name: &str) -> bool {
        self.policy.is_some_and(|p| p.is_sensitive_name(name))
    }

    /// [`Self::name_sensitive`] for names that live forever (serde's field and
    /// variant names): cached by address, no hashing of the text.
    #[inline]
    pub(super) fn static_name_sensitive(&self, name: &'static str) -> bool {
        self.policy.is_some_and(|p| p.is_sensitive_static(name))
    }

    /// The marker for a value under a sensitive name: records the reason and
    /// the type, never the value.
    pub(super) fn redacted_marker<T: ?Sized>(&mut self, name: &str) -> Value {
        self.redacted_marker_of(name, std::any::type_name::<T>())
    }

    pub(super) fn redacted_marker_of(&mut self, name: &str, type_name: &str) -> Value {
        let reason = format!("name:{name}");
        self.note_redacted(reason.clone());
        Value::Marker(Marker::Redacted {
            reason,
            type_name: type_name.to_owned(),
        })
    }

    /// The marker replacing the payload of an enum variant whose name is
    /// sensitive (`Credential::Password(..)`).
    pub(super) fn variant_marker(&mut self, variant: &'static str, type_name: &str) -> Value {
        self.path.field(variant);
        let reason = format!("name:{variant}");
        self.note_redacted(reason.clone());
        self.path.pop();
        Value::Marker(Marker::Redacted {
            reason,
            type_name: type_name.to_owned(),
        })
    }

    /// The marker for a type skipped by the policy, if `name` is one.
    #[inline]
    pub(super) fn skipped(&mut self, name: &str) -> Option<Value> {
        match self.policy {
            Some(p) if p.skips_types() => self.skipped_slow(p, name),
            _ => None,
        }
    }

    #[cold]
    fn skipped_slow(&mut self, policy: &Policy, name: &str) -> Option<Value> {
        let m = policy.skip_type_marker(name)?;
        self.note_redacted(format!("type:{name}"));
        Some(Value::Marker(m))
    }

    /// Record what the size limit dropped here and return its marker.
    pub(super) fn dropped(&mut self, limit: u64, what: String) -> Value {
        self.note_redacted(format!("too_large:{what} (limit {limit} bytes)"));
        Value::Marker(Marker::TooLarge { limit, what })
    }

    #[inline]
    pub(super) fn grow(&mut self, n: usize) -> Result<(), EncodeError> {
        self.size += n as u64;
        if self.size > self.limit {
            return Err(self.too_large());
        }
        Ok(())
    }

    /// The size limit in force (`u64::MAX` for none).
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Replace the size limit (for one argument exempt from the default).
    pub(crate) fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// `Err` past the depth limit ([`MAX_DEPTH`] by default) of nesting: the encoder recurses once
    /// per level, and a stack overflow aborts the process (it cannot be
    /// caught), so it stops here and the argument is recorded as not captured.
    #[inline(always)]
    pub(crate) fn check_depth(&self) -> Result<(), EncodeError> {
        if self.path.depth() > self.max_depth {
            return Err(self.too_deep());
        }
        Ok(())
    }

    #[cold]
    fn too_deep(&self) -> EncodeError {
        EncodeError::Custom(format!(
            "nested more than {} levels deep (at {}); capture stops there so that encoding cannot overflow the stack (the limit: CAPTURE_MAX_DEPTH or Config::max_depth)",
            self.max_depth,
            self.path_text()
        ))
    }

    #[cold]
    fn too_large(&self) -> EncodeError {
        EncodeError::TooLarge { limit: self.limit }
    }
}

/// Hooks for `Reducible` implementations (derived or by hand): encode a part
/// under its name, index or key so the policy (sensitive names) and the path
/// (in redaction reports and `explain!`) apply to it as they do to serde types.
impl EncodeCtx<'_> {
    /// Encode the field `name` with `f`; a sensitive name gives a redaction marker instead.
    ///
    /// ```
    /// use capture_runtime::value::{EncodeCtx, Value};
    /// let mut ctx = EncodeCtx::plain();
    /// let v = ctx.field_with("qty", "u64", |_| Ok(Value::U64(3))).unwrap();
    /// assert_eq!(v, Value::U64(3));
    /// ```
    pub fn field_with(
        &mut self,
        name: &'static str,
        type_name: &str,
        f: impl FnOnce(&mut Self) -> Result<Value, EncodeError>,
    ) -> Result<Value, EncodeError> {
        if self.name_sensitive(name) {
            self.path.field(name);
            let m = self.redacted_marker_of(name, type_name);
            self.path.pop();
            return Ok(m);
        }
        self.path.field(name);
        let v = self.check_depth().and_then(|()| f(self));
        self.path.pop();
        v
    }

    /// Encode the element at `index` with `f`.
    pub fn index_with(
        &mut self,
        index: usize,
        f: impl FnOnce(&mut Self) -> Result<Value, EncodeError>,
    ) -> Result<Value, EncodeError> {
        self.path.index(index);
        let v = self.check_depth().and_then(|()| f(self));
        self.path.pop();
        v
    }

    /// Encode the map value under `key` with `f`; a sensitive key name gives a redaction marker instead.
    pub fn entry_with(
        &mut self,
        key: &Value,
        type_name: &str,
        f: impl FnOnce(&mut Self) -> Result<Value, EncodeError>,
    ) -> Result<Value, EncodeError> {
        let text = key.key_text();
        self.path.key(text.clone());
        let v = if key.key_name().is_some_and(|n| self.name_sensitive(&n)) {
            Ok(self.redacted_marker_of(&text, type_name))
        } else {
            self.check_depth().and_then(|()| f(self))
        };
        self.path.pop();
        v
    }
}
