//! Checking what a replayed call produced: the return value (by `PartialEq`
//! when the type has it, else as stored values), `&mut` after-states, and
//! snapshots of both.

use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::args::allow_drift;
use super::compare::{diff_report, render};
use super::cx::{panic_text, ReplayCx};
use super::options::{Check, SnapshotInfo};
use super::probes::EqResult;
use crate::capture::call::encode_arg;
use crate::capture::dispatch::Encoded;
use crate::codec::Codec;
use crate::record::{ArgRecord, Schema, Slot};
use crate::value::{EncodeCtx, Value};

/// The `PartialEq` probe handed over by the adapter: rebuild the recorded
/// bytes as the output type and compare (`None`: the type has no `PartialEq`).
pub type EqProbe<'a> = &'a mut dyn FnMut(Codec, &[u8]) -> Option<Result<EqResult, String>>;

/// `&mut` arguments after the call, for snapshots: (name, `Debug` if any).
pub type Afters<'a> = &'a [(&'a str, Option<&'a dyn Debug>)];

impl ReplayCx<'_> {
    fn encode_now(
        &mut self,
        name: &str,
        type_name: &str,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) -> Result<Value, String> {
        let resolved = self.resolved.clone().ok_or("no site")?;
        let pending = encode_arg(&resolved, name, type_name, encode);
        match (&pending.record.slot, pending.body) {
            (Slot::Stored { .. }, Some(body)) => resolved.store.codec().decode(&body),
            (slot, _) => Err(slot.missing_reason().unwrap_or_default()),
        }
    }

    fn recorded_bytes(&self, rec: &ArgRecord) -> Result<(Codec, Vec<u8>), String> {
        let call = self.call.ok_or("no call")?;
        match &rec.slot {
            Slot::Stored { id, len } => call.stored_value(id, *len).map_err(|e| e.to_string()),
            other => Err(other.missing_reason().unwrap_or_default()),
        }
    }

    /// Adapter: compare the state of a `&mut` argument (or `self`) after the
    /// call with the recorded after-state, when one was recorded.
    #[doc(hidden)]
    pub fn __after(&mut self, name: &str, type_name: &str, encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded) {
        let Some(call) = self.call else { return };
        if !self.running() || !self.returned || matches!(self.opts.check, Check::Closure | Check::Snapshot) {
            return;
        }
        let Some(rec) = call.metadata().after.iter().find(|a| a.name == name) else {
            self.notes.push(format!(
                "the after-state of `&mut {name}` was not recorded (captured by an older version); re-record to check it"
            ));
            return;
        };
        let recorded = match self.recorded_bytes(rec).and_then(|(c, b)| c.decode::<Value>(&b)) {
            Ok(v) => v,
            Err(e) => {
                self.notes.push(format!("after-state of `{name}` not compared: {e}"));
                return;
            }
        };
        match self.encode_now(name, type_name, encode) {
            Ok(now) => {
                let (d, mut unchecked) = diff_report(name, &recorded, &now, self.opts.tolerance);
                with_redacted(&mut unchecked, rec);
                if !d.is_empty() {
                    self.fail::<()>(format!(
                        "`&mut {name}` after the call differs from the recorded after-state:\n  {}\n",
                        d.join("\n  ")
                    ));
                } else if !unchecked.is_empty() {
                    self.notes.push(format!(
                        "not compared in the after-state of `{name}` (not stored at capture time): {}",
                        unchecked.join(", ")
                    ));
                }
            }
            Err(e) => {
                self.fail::<()>(format!("the after-state of `{name}` cannot be encoded now: {e}"));
            }
        }
    }

    /// Adapter: check the output (recorded return value or snapshot).
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub fn __output(
        &mut self,
        type_name: &str,
        debug: Option<&dyn Debug>,
        schema: Option<&'static Schema>,
        eq: Option<EqProbe<'_>>,
        afters: Afters<'_>,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        let Some(call) = self.call else { return };
        if !self.running() || !self.returned {
            return;
        }
        match self.opts.check {
            Check::Closure => {}
            Check::Snapshot => self.snapshot(type_name, debug, afters),
            Check::Auto | Check::Ret => {
                let Some(rec) = call.metadata().ret.clone() else {
                    if self.unit_output {
                        return;
                    }
                    self.notes.push(
                        "no return value was recorded (add `ret` to #[capture_args(..)]): checked only that the call returns"
                            .into(),
                    );
                    return;
                };
                self.compare_ret(&rec, type_name, debug, schema, eq, encode);
            }
        }
    }

    /// A return value of a type with no capture path was recorded as its
    /// `Debug` text (capped, PII-scrubbed): the new one, encoded the same
    /// way, is compared by that text.
    fn compare_debug_text(
        &mut self,
        recorded: &str,
        type_name: &str,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        let Some(resolved) = self.resolved.clone() else { return };
        let now = encode_arg(&resolved, "return", type_name, encode);
        match &now.record.slot {
            Slot::Placeholder { debug: Some(now), .. } if now == recorded => self.notes.push(format!(
                "`{type_name}` has no serde or Reducible support: the return value was compared by its `Debug` text"
            )),
            Slot::Placeholder { debug: Some(now), .. } => {
                self.fail::<()>(format!(
                    "the return value differs from the recorded one (compared by `Debug` text: `{type_name}` has no serde or Reducible support):\n  recorded: {recorded}\n  now:      {now}"
                ));
            }
            other => {
                let why = other.missing_reason().unwrap_or_else(|| "it is stored now".into());
                self.skip::<()>(format!(
                    "the return value was recorded as `Debug` text only and cannot be compared now: {why}"
                ));
            }
        }
    }

    fn compare_ret(
        &mut self,
        rec: &ArgRecord,
        type_name: &str,
        debug: Option<&dyn Debug>,
        schema: Option<&'static Schema>,
        eq: Option<EqProbe<'_>>,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        if let (Some(r), Some(c)) = (&rec.schema, schema) {
            if r.fingerprint != c.fingerprint {
                let drift = self.drift(rec, type_name, schema, None).message();
                if allow_drift() {
                    self.notes
                        .push(format!("drift tolerated (CAPTURE_ALLOW_DRIFT): {drift}"));
                } else {
                    self.fail::<()>(drift);
                    return;
                }
            }
        }
        if let Slot::Placeholder {
            debug: Some(recorded), ..
        } = &rec.slot
        {
            self.compare_debug_text(recorded, type_name, encode);
            return;
        }
        let (codec, bytes) = match self.recorded_bytes(rec) {
            Ok(x) => x,
            Err(e) => {
                self.skip::<()>(format!("the recorded return value cannot be read: {e}"));
                return;
            }
        };
        let recorded: Value = match codec.decode(&bytes) {
            Ok(v) => v,
            Err(e) => {
                self.skip::<()>(format!("the recorded return value cannot be read: {e}"));
                return;
            }
        };
        let now = match self.encode_now("return", type_name, encode) {
            Ok(v) => v,
            Err(e) => {
                self.fail::<()>(format!("the return value cannot be encoded now: {e}"));
                return;
            }
        };
        let (lines, mut unchecked) = diff_report("return", &recorded, &now, self.opts.tolerance);
        with_redacted(&mut unchecked, rec);
        let shown = |recorded_debug: Option<&str>| {
            let mut s = format!("  recorded: {}\n  now:      {}\n", render(&recorded), render(&now));
            if let Some(r) = recorded_debug {
                s.push_str(&format!("  recorded (Debug): {r}\n"));
            }
            if let Some(n) = debug {
                s.push_str(&format!("  now (Debug):      {n:?}\n"));
            }
            s
        };
        // `PartialEq` decides when the type has it, nothing was redacted (a
        // redacted recorded value is not the value) and no tolerance applies.
        let by_eq = if self.opts.tolerance.float.is_none() && rec.redacted.is_empty() {
            eq.and_then(|probe| probe(codec, &bytes))
        } else {
            None
        };
        match by_eq {
            Some(Ok(EqResult { equal: true, .. })) => return,
            Some(Ok(EqResult { recorded_debug, .. })) => {
                let why = if lines.is_empty() {
                    "  (`PartialEq` says they differ, but their stored forms are equal: a part that is not stored, such as a skipped field, differs; check with a closure if it does not matter)".to_owned()
                } else {
                    format!("  {}", lines.join("\n  "))
                };
                self.fail::<()>(format!(
                    "the return value differs from the recorded one:\n{why}\n{}",
                    shown(recorded_debug.as_deref())
                ));
                return;
            }
            Some(Err(e)) => self.notes.push(format!(
                "the recorded return value could not be rebuilt as `{type_name}` to compare with `PartialEq` ({e}); compared as stored values"
            )),
            None => {}
        }
        if !lines.is_empty() {
            self.fail::<()>(format!(
                "the return value differs from the recorded one:\n  {}\n{}",
                lines.join("\n  "),
                shown(None)
            ));
        } else if !unchecked.is_empty() {
            self.notes.push(format!(
                "not compared in the return value (redacted or not stored at capture time): {}",
                unchecked.join(", ")
            ));
        }
    }

    fn snapshot(&mut self, type_name: &str, debug: Option<&dyn Debug>, afters: Afters<'_>) {
        let Some(value) = debug else {
            self.fail::<()>(format!(
                "snapshot mode needs `Debug` on the output type `{type_name}`; derive it, or check with a closure"
            ));
            return;
        };
        if let Some((name, _)) = afters.iter().find(|(_, d)| d.is_none()) {
            self.fail::<()>(format!(
                "snapshot mode needs `Debug` on the type of `&mut {name}` (its after-state is part of the snapshot); derive it, or check with a closure"
            ));
            return;
        }
        let info = SnapshotInfo {
            name: format!("{}__{}", self.opts.label.replace("::", "__"), self.id)
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '_' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect(),
            description: format!("replay of `{}` capture {}", self.function(), self.id),
        };
        let Some(mut snap) = self.snapshot.take() else {
            self.fail::<()>("snapshot mode without a snapshot callback (use capture_test::replay_main!)".into());
            return;
        };
        let whole = WithAfters { value, afters };
        let shown: &dyn Debug = if afters.is_empty() { value } else { &whole };
        let r = catch_unwind(AssertUnwindSafe(|| snap(&info, shown)));
        self.snapshot = Some(snap);
        if let Err(p) = r {
            self.fail::<()>(format!(
                "snapshot `{}` does not match: {}\n  review with `cargo insta review`, or accept with INSTA_UPDATE=always\n",
                info.name,
                panic_text(&p)
            ));
        }
    }
}

/// Add the parts redacted inside text at capture time (PII): both sides were
/// redacted the same way, so their equality says nothing.
fn with_redacted(unchecked: &mut Vec<String>, rec: &ArgRecord) {
    for (path, why) in &rec.redacted {
        if !unchecked.iter().any(|u| u.starts_with(&format!("{path} ("))) {
            unchecked.push(format!("{path} ({why})"));
        }
    }
}

/// The output and the `&mut` after-states, snapshotted as one value.
struct WithAfters<'a> {
    value: &'a dyn Debug,
    afters: Afters<'a>,
}

impl Debug for WithAfters<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("Replayed");
        s.field("return", &self.value);
        for (name, v) in self.afters {
            if let Some(v) = v {
                s.field(&format!("{name} (after)"), v);
            }
        }
        s.finish()
    }
}
