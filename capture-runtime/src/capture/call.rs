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
use crate::config::SampleBy;
use crate::record::{ArgRecord, CallRecord, Outcome, Slot};
use crate::value::{EncodeCtx, Name};

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
    /// Shared-pointer memo carried from one argument to the next, so arguments
    /// pointing to one `Rc`/`Arc` store it once (later ones as a reference).
    memo: crate::reduce::EncodeState,
}

impl ArgSink<'_> {
    /// Record argument `name`: `encode` runs the compile-time dispatch.
    pub fn arg(
        &mut self,
        name: &'static str,
        type_name: &'static str,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        let arg = encode_arg_shared(
            self.resolved,
            Name::Borrowed(name),
            type_name,
            Some(&mut self.memo),
            encode,
        );
        self.args.push(arg);
    }

    /// Record argument `name` with the schema of its type (from a probe that
    /// costs a cached look-up), so replay can tell what changed if the type drifts.
    pub fn arg_with_schema(
        &mut self,
        name: &'static str,
        type_name: &'static str,
        schema: Option<&'static crate::record::Schema>,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        // The same shared-pointer memo as `arg`: generated code records every
        // argument through here, so two arguments pointing to one `Rc` store it once.
        let mut arg = encode_arg_shared(
            self.resolved,
            Name::Borrowed(name),
            type_name,
            Some(&mut self.memo),
            encode,
        );
        if matches!(arg.record.slot, Slot::Stored { .. }) {
            arg.record.schema = schema.cloned();
        }
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
    encode_arg_shared(resolved, Name::Owned(name.to_owned()), type_name, None, encode)
}

/// [`encode_arg`] continuing the shared-pointer memo of earlier arguments of the call.
fn encode_arg_shared(
    resolved: &Resolved,
    root: Name,
    type_name: &str,
    memo: Option<&mut crate::reduce::EncodeState>,
    encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
) -> PendingArg {
    let name: &str = &root;
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
    let sensitive = match &root {
        Name::Borrowed(s) => resolved.policy.is_sensitive_static(s),
        Name::Owned(s) => resolved.policy.is_sensitive_name(s),
    };
    if name != "return" && sensitive {
        record.slot = Slot::Redacted {
            reason: format!("name:{name}"),
        };
        return PendingArg { record, body: None };
    }
    let mut ctx = EncodeCtx::with_policy(&resolved.policy);
    ctx.begin_name(root.clone());
    // MessagePack stores take serde values straight as bytes (no tree).
    ctx.want_bytes = resolved.store.codec() == crate::Codec::MsgPack;
    let mut memo = memo;
    if let Some(m) = memo.as_deref_mut() {
        ctx.reduce.put_memo(std::mem::take(m));
    }
    let encoded = catch_unwind(AssertUnwindSafe(|| encode(&mut ctx)))
        .unwrap_or_else(|_| Encoded::Failed(format!("encoding `{type_name}` panicked")));
    if let Some(m) = memo {
        *m = ctx.reduce.take_memo();
    }
    record.redacted = std::mem::take(&mut ctx.report.redacted);
    ctx.recycle();
    let mut body = None;
    let policy = &resolved.policy;
    // A tree (JSON stores, reducible values) is written by the codec here;
    // serde values for MessagePack stores arrive as bytes already.
    let bytes = match encoded {
        Encoded::Value(v) => resolved.store.codec().encode(&v).map_err(|error| Slot::Failed {
            error: safe_text(policy, error),
        }),
        Encoded::Bytes(b) => Ok(b),
        // `Debug` text was PII-scanned by the dispatcher; field names and map
        // keys that are sensitive are redacted here, before it is stored.
        Encoded::Placeholder { debug, reason } => Err(Slot::Placeholder {
            debug: debug.map(|d| safe_text(policy, d)),
            reason,
        }),
        Encoded::TooLarge(limit) => Err(Slot::TooLarge { limit }),
        // Serializer messages are withheld at their source (`value::ser`);
        // this catches anything else that quotes a value.
        Encoded::Failed(error) => Err(Slot::Failed {
            error: safe_text(policy, error),
        }),
    };
    record.slot = match bytes {
        // The encoder truncates at the limit (estimated in the serde data
        // model); this is a hard stop for codecs that expand far beyond it.
        Ok(bytes) => match policy.size_limit() {
            Some(limit) if bytes.len() as u64 > limit.saturating_mul(2).saturating_add(4096) => {
                Slot::TooLarge { limit }
            }
            _ => {
                let len = bytes.len() as u64;
                body = Some(bytes);
                Slot::Stored {
                    id: crate::ContentId([0; 32]),
                    len,
                }
            }
        },
        Err(slot) => slot,
    };
    // Placeholders are expected (the type cannot be stored) and are logged
    // once per type, at warn level, where they are made (`capture::reduce`);
    // only failures are errors.
    if let Slot::Failed { error } = &record.slot {
        crate::config::report_once(&format!(
            "`{}` argument `{name}` ({type_name}) not captured: {error}",
            resolved.fn_id
        ));
    }
    PendingArg { record, body }
}

/// `text` with sensitive `name: value` pairs and PII redacted.
fn safe_text(policy: &crate::filter::Policy, text: String) -> String {
    policy.scrub_debug(&text).unwrap_or(text)
}

/// Whether a call whose (redacted) arguments are `args` is in a
/// deterministic sample of rate `rate`: a stable hash of the argument names,
/// how each was recorded and its encoded bytes, mapped to [0, 1). The hash
/// never leaves this function and only sees redacted encodings, so the
/// decision cannot depend on a secret.
pub(crate) fn sampled_by_args(args: &[PendingArg], rate: f64) -> bool {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = FNV_OFFSET;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
        // Field separator, so ("ab", "c") and ("a", "bc") differ.
        h = (h ^ 0xff).wrapping_mul(FNV_PRIME);
    };
    for a in args {
        feed(a.record.name.as_bytes());
        match (&a.body, &a.record.slot) {
            (Some(body), _) => feed(body),
            (None, Slot::Placeholder { debug, .. }) => feed(debug.as_deref().unwrap_or("").as_bytes()),
            (None, slot) => feed(slot_tag(slot).as_bytes()),
        }
    }
    // splitmix64 finaliser: spreads FNV's weak high bits.
    let mut z = h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    ((z >> 11) as f64 / (1u64 << 53) as f64) < rate
}

fn slot_tag(slot: &Slot) -> &'static str {
    match slot {
        Slot::Stored { .. } => "stored",
        Slot::Ignored => "ignored",
        Slot::Redacted { .. } => "redacted",
        Slot::Placeholder { .. } => "placeholder",
        Slot::TooLarge { .. } => "too_large",
        Slot::Failed { .. } => "failed",
    }
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

    /// [`Self::ret`] with the schema of the return type (a cached look-up),
    /// so replay can tell what changed if the return type drifts.
    pub fn ret_with_schema(
        &mut self,
        type_name: &'static str,
        schema: Option<&'static crate::record::Schema>,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        if let Some(f) = self.inner.as_mut() {
            let mut ret = encode_arg(&f.resolved, "return", type_name, encode);
            if matches!(ret.record.slot, Slot::Stored { .. }) {
                ret.record.schema = schema.cloned();
            }
            f.call.ret = Some(ret);
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
    ///
    /// `#[cold]`: the generated prelude calls it only when capturing is on,
    /// so the compiler lays the function out for the disabled path (the
    /// capture branch out of line, no spills for it on the fall-through).
    #[doc(hidden)]
    #[cold]
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
        if crate::replay::replaying() {
            return CallGuard::none();
        }
        let resolved = self.resolved(self_type);
        let depth = DEPTH.with(|d| d.get());
        if depth > 0 && !resolved.nested {
            return CallGuard::none();
        }
        let by_args = resolved.sample < 1.0 && resolved.sample_by == SampleBy::Args;
        if resolved.sample <= 0.0 || (resolved.sample < 1.0 && !by_args && random_unit() >= resolved.sample) {
            return CallGuard::none();
        }
        let mut sink = ArgSink {
            resolved: &resolved,
            args: Vec::with_capacity(4),
            memo: Default::default(),
        };
        args(&mut sink);
        if by_args && !sampled_by_args(&sink.args, resolved.sample) {
            return CallGuard::none();
        }
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
