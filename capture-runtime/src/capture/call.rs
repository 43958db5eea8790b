//! One call being captured: arguments encoded at call start, the record
//! written, and the outcome (return value, `&mut` after-state, panic) recorded
//! when the guard drops.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::dispatch::Encoded;
use super::site::{Resolved, Site};
use super::writer::{self, PendingArg, PendingCall};
use crate::codec::FORMAT_VERSION;
use crate::record::{ArgRecord, CallRecord, Outcome, Slot};
use crate::value::EncodeCtx;

static SEQ: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    static RNG: Cell<u64> = Cell::new(seed());
    static THREAD_ID: u64 = thread_id_number();
}

fn seed() -> u64 {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let addr = &t as *const u64 as u64;
    (t ^ addr.rotate_left(32)) | 1
}

/// A uniform number in [0, 1) from a per-thread xorshift generator.
pub(crate) fn random_unit() -> f64 {
    RNG.with(|r| {
        let mut x = r.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

fn thread_id_number() -> u64 {
    let text = format!("{:?}", std::thread::current().id());
    text.chars()
        .filter(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

/// Collects the arguments of one call (used by generated code).
#[doc(hidden)]
pub struct ArgSink<'r> {
    resolved: &'r Resolved,
    args: Vec<PendingArg>,
}

impl ArgSink<'_> {
    /// Record argument `name`: `encode` runs the compile-time dispatch.
    pub fn arg(
        &mut self,
        name: &'static str,
        type_name: &'static str,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        let arg = encode_arg(self.resolved, name, type_name, encode);
        self.args.push(arg);
    }
}

/// Encode one value under `name`, applying ignore lists, name redaction and
/// the policy; never panics.
pub(crate) fn encode_arg(
    resolved: &Resolved,
    name: &str,
    type_name: &str,
    encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
) -> PendingArg {
    let mut record = ArgRecord {
        name: name.to_owned(),
        type_name: type_name.to_owned(),
        slot: Slot::Ignored,
        schema: None,
        redacted: Vec::new(),
    };
    if resolved.ignore.iter().any(|i| i == name) {
        return PendingArg { record, body: None };
    }
    if name != "return" && resolved.policy.is_sensitive_name(name) {
        record.slot = Slot::Redacted {
            reason: format!("name:{name}"),
        };
        return PendingArg { record, body: None };
    }
    let mut ctx = EncodeCtx::with_policy(&resolved.policy);
    ctx.begin(name);
    let encoded = catch_unwind(AssertUnwindSafe(|| encode(&mut ctx)))
        .unwrap_or_else(|_| Encoded::Failed(format!("encoding `{type_name}` panicked")));
    record.redacted = std::mem::take(&mut ctx.report.redacted);
    let mut body = None;
    record.slot = match encoded {
        Encoded::Value(v) => match resolved.store.codec().encode(&v) {
            Ok(bytes) => match resolved.policy.size_limit() {
                Some(limit) if bytes.len() as u64 > limit => Slot::TooLarge { limit },
                _ => {
                    let len = bytes.len() as u64;
                    body = Some(bytes);
                    Slot::Stored {
                        id: crate::ContentId([0; 32]),
                        len,
                    }
                }
            },
            Err(error) => Slot::Failed { error },
        },
        Encoded::Placeholder { debug, reason } => Slot::Placeholder { debug, reason },
        Encoded::TooLarge(limit) => Slot::TooLarge { limit },
        Encoded::Failed(error) => Slot::Failed { error },
    };
    if let Slot::Failed { error } | Slot::Placeholder { reason: error, .. } = &record.slot {
        crate::config::report_once(&format!(
            "`{}` argument `{name}` ({type_name}) not captured: {error}",
            resolved.fn_id
        ));
    }
    PendingArg { record, body }
}

/// Lives for the duration of a captured call (used by generated code).
#[doc(hidden)]
#[must_use]
pub struct CallGuard {
    inner: Option<Box<InFlight>>,
}

struct InFlight {
    resolved: Arc<Resolved>,
    call: PendingCall,
}

impl CallGuard {
    /// A guard for a call that is not captured.
    #[inline(always)]
    pub fn none() -> CallGuard {
        CallGuard { inner: None }
    }

    /// Whether this call is being captured.
    #[inline(always)]
    pub fn active(&self) -> bool {
        self.inner.is_some()
    }

    /// Record the return value (only called when `ret` is on).
    pub fn ret(&mut self, type_name: &'static str, encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded) {
        if let Some(f) = self.inner.as_mut() {
            f.call.ret = Some(encode_arg(&f.resolved, "return", type_name, encode));
        }
    }

    /// Record the state of a `&mut` argument after the call.
    pub fn after(
        &mut self,
        name: &'static str,
        type_name: &'static str,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        if let Some(f) = self.inner.as_mut() {
            let a = encode_arg(&f.resolved, name, type_name, encode);
            f.call.after.push(a);
        }
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if let Some(mut f) = self.inner.take() {
            DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
            f.call.record.outcome = if std::thread::panicking() {
                Outcome::Panicked
            } else {
                Outcome::Returned
            };
            let _ = catch_unwind(AssertUnwindSafe(|| writer::submit(&f.resolved, f.call)));
        }
    }
}

impl Site {
    /// Start capturing a call: resolve settings, apply sampling and nesting
    /// rules, encode the arguments and write the start record.
    #[doc(hidden)]
    pub fn begin(&'static self, self_type: Option<&'static str>, args: impl FnOnce(&mut ArgSink<'_>)) -> CallGuard {
        match catch_unwind(AssertUnwindSafe(|| self.begin_inner(self_type, args))) {
            Ok(g) => g,
            Err(_) => {
                crate::config::report_once("capture failed with a panic; the call itself is unaffected");
                CallGuard::none()
            }
        }
    }

    fn begin_inner(&'static self, self_type: Option<&'static str>, args: impl FnOnce(&mut ArgSink<'_>)) -> CallGuard {
        let resolved = self.resolved(self_type);
        let depth = DEPTH.with(|d| d.get());
        if depth > 0 && !resolved.nested {
            return CallGuard::none();
        }
        if resolved.sample < 1.0 && random_unit() >= resolved.sample {
            return CallGuard::none();
        }
        let mut sink = ArgSink {
            resolved: &resolved,
            args: Vec::with_capacity(4),
        };
        args(&mut sink);
        let thread = std::thread::current();
        let record = CallRecord {
            function: resolved.fn_id.clone(),
            crate_name: self.opts.crate_name.to_owned(),
            crate_version: self.opts.crate_version.to_owned(),
            format_version: FORMAT_VERSION,
            unix_nanos: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0),
            pid: std::process::id(),
            seq: SEQ.fetch_add(1, Ordering::Relaxed),
            thread_name: thread.name().map(str::to_owned),
            thread_id: THREAD_ID.with(|t| *t),
            depth,
            args: Vec::new(),
            ret: None,
            after: Vec::new(),
            outcome: Outcome::Started,
        };
        let mut call = PendingCall {
            record,
            args: sink.args,
            ret: None,
            after: Vec::new(),
            retention: resolved.retention,
            queued: false,
        };
        writer::submit_start(&resolved, &mut call);
        DEPTH.with(|d| d.set(depth + 1));
        CallGuard {
            inner: Some(Box::new(InFlight { resolved, call })),
        }
    }
}
