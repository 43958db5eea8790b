//! Rebuilding the arguments of a stored call: stand-ins, skips (what was not
//! stored, or stored at another type), redacted parts, drift.

use super::cx::ReplayCx;
use super::drift::Drift;
use super::probes::ArgSpec;
use super::stand_in::markers;
use crate::codec::Codec;
use crate::record::{ArgRecord, Schema, Slot};
use crate::reduce::RebuildCtx;
use crate::value::{Marker, Value};

/// What an argument's bytes are rebuilt with: the compile-time dispatch of
/// the adapter, continuing the call's shared-pointer context.
pub(super) type Decode<'d, T> = dyn FnOnce(Codec, &[u8], &mut RebuildCtx) -> Result<T, String> + 'd;

impl ReplayCx<'_> {
    /// Adapter: rebuild argument `spec.name` (or `self`) as a `T`, sharing one
    /// rebuild context with the other arguments of the call.
    #[doc(hidden)]
    pub fn __arg<T>(
        &mut self,
        spec: ArgSpec,
        decode: impl FnOnce(Codec, &[u8], &mut RebuildCtx) -> Result<T, String>,
    ) -> Option<T> {
        self.call?;
        if !self.running() {
            return None;
        }
        let mut cx = std::mem::take(&mut self.rebuild);
        let out = self.rebuild_arg(&spec, &mut cx, Box::new(decode));
        self.rebuild = cx;
        out
    }

    /// Adapter: rebuild argument `spec.name` again, as a copy handed to a
    /// check closure after the call consumed the original. Every argument is
    /// passed through here in order (`keep = false` for those not needed), so
    /// shared pointers resolve as in the call.
    #[doc(hidden)]
    pub fn __view_arg<T>(
        &mut self,
        spec: ArgSpec,
        keep: bool,
        decode: impl FnOnce(Codec, &[u8], &mut RebuildCtx) -> Result<T, String>,
    ) -> Option<Option<T>> {
        self.call?;
        if !self.running() {
            return None;
        }
        let mut cx = std::mem::take(&mut self.view_rebuild);
        let out = self.rebuild_arg(&spec, &mut cx, Box::new(decode));
        self.view_rebuild = cx;
        out.map(|v| keep.then_some(v))
    }

    fn rebuild_arg<T>(&mut self, spec: &ArgSpec, cx: &mut RebuildCtx, decode: Box<Decode<'_, T>>) -> Option<T> {
        let call = self.call?;
        let name = spec.name;
        let Some(rec) = call.metadata().args.iter().find(|a| a.name == name) else {
            if name == "self" {
                return self.skip("receiver not recorded: add `self` to #[capture_args(..)] and re-record".into());
            }
            let known: Vec<&str> = call.arg_names();
            return self.fail(format!(
                "the capture has no argument `{name}` (recorded: {}): the function's parameters changed since recording; re-record",
                known.join(", ")
            ));
        };
        if let Some(reason) = self.other_type(spec, rec) {
            return self.skip(reason);
        }
        if let Some(v) = self.opts.stand_ins.whole(name) {
            return self.decode_value(name, v.clone(), cx, decode);
        }
        if let Some(reason) = rec.slot.missing_reason() {
            return self.skip(format!(
                "argument `{name}`: {reason}; supply a stand-in value (`with {{ {name} = .. }}`) to replay it"
            ));
        }
        if !spec.rebuildable {
            return self.skip(format!(
                "argument `{name}`: `{}` cannot be rebuilt: derive Reducible or serde::Deserialize for it, or register a rebuild function with capture_runtime::reduce::registry",
                spec.type_name
            ));
        }
        let Slot::Stored { id, len } = &rec.slot else {
            return None;
        };
        let (codec, bytes) = match call.stored_value(id, *len) {
            Ok(x) => x,
            Err(e) => {
                let key = crate::store::layout::object_key(id);
                if matches!(call.store().backend().get(&key), Ok(None)) {
                    return self.skip(format!(
                        "argument `{name}`: stored value is missing (object `{key}` was deleted by gc or never written); re-record the call"
                    ));
                }
                return self.fail(format!("argument `{name}`: {e}"));
            }
        };
        if let Some(reason) = self.uncovered_redactions(rec) {
            return self.skip(reason);
        }
        let result = if self.opts.stand_ins.has_parts(name) {
            let mut tree: Value = match codec.decode(&bytes) {
                Ok(v) => v,
                Err(e) => return self.fail(format!("argument `{name}`: stored value unreadable: {e}")),
            };
            let unknown = self.opts.stand_ins.patch(name, &mut tree);
            if !unknown.is_empty() {
                return self.fail(format!(
                    "stand-in path(s) {} do not exist in the recorded argument `{name}`",
                    unknown.join(", ")
                ));
            }
            if let Some(reason) = not_stored_parts(name, &tree) {
                return self.skip(reason);
            }
            codec.encode(&tree).and_then(|b| decode(codec, &b, cx))
        } else {
            decode(codec, &bytes, cx)
        };
        match result {
            Ok(v) => {
                if let (Some(r), Some(c)) = (&rec.schema, spec.schema) {
                    if r.fingerprint != c.fingerprint {
                        let drift = self.drift(rec, spec.type_name, spec.schema, None).message();
                        if allow_drift() {
                            self.notes
                                .push(format!("drift tolerated (CAPTURE_ALLOW_DRIFT): {drift}"));
                        } else {
                            return self.fail(drift);
                        }
                    }
                }
                Some(v)
            }
            Err(e) => {
                // Parts that were never stored (cut at the size limit, say)
                // are a reason to skip, not drift.
                if let Ok(tree) = codec.decode::<Value>(&bytes) {
                    if let Some(reason) = not_stored_parts(name, &tree) {
                        return self.skip(reason);
                    }
                }
                let drift = self.drift(rec, spec.type_name, spec.schema, Some(e)).message();
                self.fail(drift)
            }
        }
    }

    /// Skip reason when the argument was recorded at another instantiation of
    /// a generic type than the one this entry names.
    fn other_type(&self, spec: &ArgSpec, rec: &ArgRecord) -> Option<String> {
        if rec.type_name == spec.type_name {
            return None;
        }
        let base = |t: &str| t.split('<').next().unwrap_or(t).to_owned();
        // `self` of a generic `impl`: the same type with other parameters.
        let same_base =
            spec.name == "self" && base(&rec.type_name) == base(spec.type_name) && rec.type_name.contains('<');
        (spec.generic || same_base).then(|| {
            format!(
                "argument `{}` was recorded as `{}`, but this entry replays it as `{}`: list `{}` with the type parameters it was recorded at",
                spec.name, rec.type_name, spec.type_name, self.opts.label
            )
        })
    }

    /// Skip reason when parts of the argument were redacted at capture time
    /// and no stand-in covers them. PII-redacted text may be replayed as
    /// recorded when the entry opts in; parts redacted by name were not
    /// stored at all.
    fn uncovered_redactions(&mut self, rec: &ArgRecord) -> Option<String> {
        type Parts<'r> = Vec<&'r (String, String)>;
        let (pii, gone): (Parts<'_>, Parts<'_>) = rec
            .redacted
            .iter()
            .filter(|(path, _)| !self.opts.stand_ins.covers(path))
            .partition(|(_, why)| why.starts_with("pii:"));
        let list = |v: &[&(String, String)]| {
            v.iter()
                .map(|(p, why)| format!("{p} ({why})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let name = &rec.name;
        if !gone.is_empty() {
            return Some(format!(
                "argument `{name}` has parts that were not stored (redacted at capture time): {}; supply stand-ins (`with {{ {} = .. }}`)",
                list(&gone),
                gone[0].0
            ));
        }
        if pii.is_empty() {
            return None;
        }
        if self.opts.redacted_as_recorded {
            self.notes.push(format!(
                "PII redacted at capture time, replayed as recorded: {}",
                list(&pii)
            ));
            return None;
        }
        Some(format!(
            "argument `{name}` has text redacted at capture time: {}; supply stand-ins (`with {{ {} = .. }}`), or add `redacted_as_recorded` to the entry to replay the redaction text as recorded",
            list(&pii),
            pii[0].0
        ))
    }

    fn decode_value<T>(&mut self, name: &str, v: Value, cx: &mut RebuildCtx, decode: Box<Decode<'_, T>>) -> Option<T> {
        let codec = Codec::MsgPack;
        let result = codec.encode(&v).and_then(|b| decode(codec, &b, cx));
        match result {
            Ok(t) => Some(t),
            Err(e) => self.fail(format!(
                "the stand-in for `{name}` does not fit `{}`: {e}",
                std::any::type_name::<T>()
            )),
        }
    }

    pub(super) fn drift(
        &self,
        rec: &ArgRecord,
        current_type: &str,
        current: Option<&Schema>,
        error: Option<String>,
    ) -> Drift {
        let call = self.call.expect("running");
        Drift {
            function: self.function(),
            capture: self.id.clone(),
            arg: rec.name.clone(),
            recorded_type: rec.type_name.clone(),
            recorded: rec.schema.clone(),
            current_type: current_type.to_owned(),
            current: current.cloned(),
            decode_error: error,
            record_key: call.key().to_owned(),
        }
    }
}

/// Skip reason for markers left in an argument's tree (parts redacted,
/// placeholders, values cut at the size limit); shared-pointer references
/// are not markers of anything missing.
fn not_stored_parts(name: &str, tree: &Value) -> Option<String> {
    let left: Vec<(String, Marker)> = markers(name, tree)
        .into_iter()
        .filter(|(_, m)| !matches!(m, Marker::Ref(_)))
        .collect();
    if left.is_empty() {
        return None;
    }
    let parts: Vec<String> = left.iter().map(|(p, m)| format!("{p} ({})", m.describe())).collect();
    Some(format!(
        "argument `{name}` has parts that were not stored: {}; supply stand-ins (`with {{ {} = .. }}`)",
        parts.join(", "),
        left[0].0
    ))
}

pub(super) fn allow_drift() -> bool {
    std::env::var("CAPTURE_ALLOW_DRIFT").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}
