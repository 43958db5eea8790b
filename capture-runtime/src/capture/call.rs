//! One call being captured, on the calling thread: arguments encoded at call
//! start into one reused buffer and handed to the writer, and the outcome
//! (return value, `&mut` after-state, panic) handed over when the guard drops.
//!
//! The calling thread does only what needs the borrowed arguments: encoding
//! (with redaction) and a few words of metadata with `'static` names. Owned
//! strings, content ids and records are made by the writer ([`super::writer`]).

use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::depth;
use super::dispatch::Encoded;
use super::outgoing::{take_parts, ArgOut, Described, Known, Parts, Taken};
use super::site::{Resolved, Site, SiteOptions};
use super::writer::{self, InFlightMode, PendingArg};
use crate::config::SampleBy;
use crate::hash::ContentId;
use crate::record::{Outcome, Schema};
use crate::value::{EncodeCtx, Name};

static SEQ: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The box of this thread's last finished captured call, for the next one.
    static SPARE: Cell<Option<Box<InFlight>>> = const { Cell::new(None) };
    static RNG: Cell<u64> = Cell::new(seed());
    static THREAD: (u64, Option<&'static str>) = (thread_id_number(), thread_name());
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

/// This thread's name, interned: every thread of one name shares one leaked
/// copy, so thread pools that come and go cost nothing per thread.
fn thread_name() -> Option<&'static str> {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let current = std::thread::current();
    let name = current.name()?;
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let names = names.get_or_insert_with(HashSet::new);
    if let Some(n) = names.get(name) {
        return Some(n);
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    Some(leaked)
}

/// Collects the arguments of one call (used by generated code).
#[doc(hidden)]
pub struct ArgSink<'r> {
    resolved: &'r Resolved,
    parts: Parts,
    /// One encoding context for every argument of the call: its buffers are
    /// reused, and its shared-pointer memo carries from one argument to the
    /// next, so arguments pointing to one `Rc`/`Arc` store it once (later
    /// ones as a reference).
    ctx: EncodeCtx<'r>,
}

impl ArgSink<'_> {
    /// Record argument `name`: `encode` runs the compile-time dispatch.
    pub fn arg(
        &mut self,
        name: &'static str,
        type_name: &'static str,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        self.arg_with_schema(name, type_name, None, encode);
    }

    /// Record argument `name` with the schema of its type (from a probe that
    /// costs a cached look-up), so replay can tell what changed if the type drifts.
    pub fn arg_with_schema(
        &mut self,
        name: &'static str,
        type_name: &'static str,
        schema: Option<&'static Schema>,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        take_arg(
            self.resolved,
            &mut self.parts,
            &mut self.ctx,
            ArgOut::new(Name::Borrowed(name), Name::Borrowed(type_name), schema, None),
            encode,
        );
    }

    /// Name argument `name` in the record without encoding it (a
    /// `&mut fmt::Formatter`: a borrowed sink, not data). It reads as not
    /// recorded, like an `ignore(..)`d argument.
    pub fn arg_skipped(&mut self, name: &'static str, type_name: &'static str) {
        self.parts
            .args
            .push(ArgOut::new(Name::Borrowed(name), Name::Borrowed(type_name), None, None));
    }

    /// Record argument `name`, a large numeric buffer whose sampled hash is
    /// `sampled` (`hash(name = sampled)`): when a buffer with that sampled id
    /// was stored before in this process, the call records that object and
    /// `encode` does not run (see [`crate::capture::sampled`]).
    pub fn arg_sampled(
        &mut self,
        name: &'static str,
        type_name: &'static str,
        schema: Option<&'static Schema>,
        sampled: ContentId,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        take_arg(
            self.resolved,
            &mut self.parts,
            &mut self.ctx,
            ArgOut::new(
                Name::Borrowed(name),
                Name::Borrowed(type_name),
                schema,
                Some(Box::new(sampled)),
            ),
            encode,
        );
    }
}

/// Encode one value under `name` into `parts.bytes` with `ctx`, applying
/// ignore lists, name redaction and the policy, and add it to `parts.args`;
/// never panics.
fn take_arg(
    resolved: &Resolved,
    parts: &mut Parts,
    ctx: &mut EncodeCtx<'_>,
    arg: ArgOut,
    encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
) {
    let arg = fill_arg(resolved, &mut parts.bytes, ctx, arg, encode);
    parts.args.push(arg);
}

/// Whether the size limit applies to an argument: not the default one to a
/// buffer marked `hash(x = sampled)`.
fn ctx_limit_applied(sampled: Option<ContentId>, resolved: &Resolved) -> bool {
    !(sampled.is_some() && resolved.size_defaulted)
}

/// [`take_arg`] up to the push. The argument is filled while it is a local
/// and pushed once, finished: reading fields back from the copy in
/// `parts.args` right after pushing it stalled on the copy (`perf`: 3% of
/// the caller's time on one load).
#[inline(always)]
fn fill_arg(
    resolved: &Resolved,
    bytes: &mut Vec<u8>,
    ctx: &mut EncodeCtx<'_>,
    mut arg: ArgOut,
    encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
) -> ArgOut {
    let sampled = arg.sampled.as_deref().copied();
    if !resolved.ignore.is_empty() && resolved.ignore.iter().any(|i| *i == arg.name) {
        return arg;
    }
    let sensitive = match &arg.name {
        Name::Borrowed(s) => resolved.policy.is_sensitive_static(s),
        Name::Owned(s) => resolved.policy.is_sensitive_name(s),
    };
    if arg.name != "return" && sensitive {
        arg.taken = Taken::Redacted;
        return arg;
    }
    if let Some((id, len)) = sampled.and_then(|s| super::sampled::lookup(&resolved.store, s)) {
        arg.taken = Taken::Known(Box::new(Known { id, len }));
        return arg;
    }
    let policy = &resolved.policy;
    ctx.begin_name(arg.name.clone());
    let mark = ctx.reduce.argument_mark();
    // MessagePack stores take serde values straight as bytes (no tree),
    // appended to the call's buffer.
    if resolved.store.codec() == crate::Codec::MsgPack {
        ctx.want_bytes = true;
        ctx.append_to = Some(std::mem::take(bytes));
    }
    let type_name: &str = &arg.type_name;
    // A buffer marked `hash(x = sampled)` is large on purpose: only a limit
    // someone set applies to it, not the default one.
    let limit = ctx.limit();
    if !ctx_limit_applied(sampled, resolved) {
        ctx.set_limit(u64::MAX);
    }
    let encoded = catch_unwind(AssertUnwindSafe(|| encode(ctx)))
        .unwrap_or_else(|_| Encoded::Failed(format!("encoding `{type_name}` panicked")));
    ctx.set_limit(limit);
    ctx.want_bytes = false;
    if let Some(taken) = ctx.append_to.take() {
        *bytes = taken;
    }
    arg.redacted = std::mem::take(&mut ctx.report.redacted);
    let start = bytes.len();
    // A tree (JSON stores, reducible values) is written by the codec here;
    // serde values for MessagePack stores arrive as bytes already.
    arg.taken = match encoded {
        Encoded::Appended(range) => Taken::Stored(range),
        Encoded::Bytes(b) => {
            bytes.extend_from_slice(&b);
            Taken::Stored(start..bytes.len())
        }
        Encoded::Value(v) => match resolved.store.codec().encode_into(&v, bytes) {
            Ok(()) => Taken::Stored(start..bytes.len()),
            Err(error) => {
                bytes.truncate(start);
                Taken::Failed(safe_text(policy, error))
            }
        },
        // `Debug` text was PII-scanned by the dispatcher; field names and map
        // keys that are sensitive are redacted here, before it is stored.
        Encoded::Placeholder { debug, reason } => Taken::Placeholder(Box::new(Described {
            debug: debug.map(|d| safe_text(policy, d)),
            reason,
        })),
        Encoded::TooLarge(limit) => Taken::TooLarge(limit),
        // Serializer messages are withheld at their source (`value::ser`);
        // this catches anything else that quotes a value.
        Encoded::Failed(error) => Taken::Failed(safe_text(policy, error)),
    };
    // The encoder truncates at the limit (estimated in the serde data model);
    // this is a hard stop for codecs that expand far beyond it.
    if let (Taken::Stored(range), true) = (&arg.taken, limit != u64::MAX) {
        if range.len() as u64 > limit.saturating_mul(2).saturating_add(4096) && ctx_limit_applied(sampled, resolved) {
            bytes.truncate(range.start);
            arg.taken = Taken::TooLarge(limit);
        }
    }
    // Pointers recorded by an argument that is not stored must not be
    // referred to by later ones.
    ctx.reduce.end_argument(mark, matches!(arg.taken, Taken::Stored(_)));
    // Placeholders are expected (the type cannot be stored) and are logged
    // once per type, at warn level, where they are made (`capture::reduce`);
    // only failures are errors.
    if let Taken::Failed(error) = &arg.taken {
        crate::config::report_once(&format!(
            "`{}` argument `{}` ({}) not captured: {error}",
            resolved.fn_id, arg.name, arg.type_name
        ));
    }
    arg
}

/// Encode one value under `name` on its own (the return value, an
/// after-state, a replayed output): its record (with its content id) and body.
pub(crate) fn encode_arg(
    resolved: &Resolved,
    name: &str,
    type_name: &str,
    encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
) -> PendingArg {
    let mut parts = Parts::default();
    let mut ctx = EncodeCtx::with_policy(&resolved.policy);
    take_arg(
        resolved,
        &mut parts,
        &mut ctx,
        ArgOut::new(
            Name::Owned(name.to_owned()),
            Name::Owned(type_name.to_owned()),
            None,
            None,
        ),
        encode,
    );
    ctx.recycle();
    let arg = parts.args.pop().expect("take_arg pushes the argument");
    let body = parts.body(&arg).map(<[u8]>::to_vec);
    let codec = resolved.store.codec();
    let record = arg.record(body.as_deref().map(|b| crate::codec::object_id(codec, b)));
    PendingArg { record, body }
}

/// `text` with sensitive `name: value` pairs and PII redacted.
fn safe_text(policy: &crate::filter::Policy, text: String) -> String {
    policy.scrub_debug(&text).unwrap_or(text)
}

/// Whether a call whose (redacted) arguments are `parts` is in a
/// deterministic sample of rate `rate`: a stable hash of the argument names,
/// how each was recorded and its encoded bytes, mapped to [0, 1). The hash
/// never leaves this function and only sees redacted encodings, so the
/// decision cannot depend on a secret.
pub(crate) fn sampled_by_args(parts: &Parts, rate: f64) -> bool {
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
    for a in &parts.args {
        feed(a.name.as_bytes());
        match &a.taken {
            Taken::Stored(r) => feed(&parts.bytes[r.clone()]),
            Taken::Known(k) => feed(&k.id.0),
            Taken::Placeholder(p) => feed(p.debug.as_deref().unwrap_or("").as_bytes()),
            other => feed(taken_tag(other).as_bytes()),
        }
    }
    // splitmix64 finaliser: spreads FNV's weak high bits.
    let mut z = h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    ((z >> 11) as f64 / (1u64 << 53) as f64) < rate
}

fn taken_tag(taken: &Taken) -> &'static str {
    match taken {
        Taken::Stored(_) | Taken::Known(_) => "stored",
        Taken::Ignored => "ignored",
        Taken::Redacted => "redacted",
        Taken::Placeholder(_) => "placeholder",
        Taken::TooLarge(_) => "too_large",
        Taken::Failed(_) => "failed",
    }
}

/// The start of a captured call, as handed to the writer.
pub(crate) struct Start {
    pub resolved: &'static Resolved,
    pub site: &'static SiteOptions,
    pub unix_nanos: u64,
    pub seq: u64,
    pub thread_id: u64,
    pub thread_name: Option<&'static str>,
    pub depth: u32,
    pub parts: Parts,
}

/// The end of a captured call, as handed to the writer.
pub(crate) struct End {
    pub seq: u64,
    pub outcome: Outcome,
    /// The return value (`ret`) and after-states, in that order.
    pub parts: Option<Parts>,
    /// Whether `parts` starts with the return value.
    pub has_ret: bool,
}

/// Lives for the duration of a captured call (used by generated code).
#[doc(hidden)]
#[must_use]
pub struct CallGuard {
    /// `ManuallyDrop` so that dropping a guard that captured nothing is one
    /// test of the pointer, not a call to drop glue (the disabled path must
    /// stay a load and a branch); [`Drop`] below takes the value out and ends
    /// the call. Boxed so the guard is one register: a guard as large as the
    /// call's state lived on the stack, and the disabled path stored it and
    /// read it back around the body.
    inner: ManuallyDrop<Option<Box<InFlight>>>,
}

struct InFlight {
    resolved: &'static Resolved,
    seq: u64,
    mode: InFlightMode,
    end: Option<Parts>,
    has_ret: bool,
    /// The call's depth (0: not nested).
    depth: u32,
    /// An `async` call: the depth travels with its future
    /// ([`depth::WithDepth`]), not with the thread, and a drop before
    /// [`CallGuard::finish`] means the future was cancelled.
    is_async: bool,
    finished: bool,
    /// The call returned `Err` (told by the shim of a `Result` function).
    err: bool,
}

impl InFlight {
    /// Held (sampled out) and returned `Ok`: it will be discarded, so its
    /// outcome need not be encoded.
    fn discarding(&self) -> bool {
        self.mode.held() && !self.err
    }

    fn take_end(
        &mut self,
        name: &'static str,
        type_name: &'static str,
        schema: Option<&'static Schema>,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        let _inside = super::reentry::Inside::enter();
        let parts = self.end.get_or_insert_with(take_parts);
        let mut ctx = EncodeCtx::with_policy(&self.resolved.policy);
        take_arg(
            self.resolved,
            parts,
            &mut ctx,
            ArgOut::new(Name::Borrowed(name), Name::Borrowed(type_name), schema, None),
            encode,
        );
        ctx.recycle();
    }
}

impl CallGuard {
    /// A guard for a call that is not captured.
    #[inline(always)]
    pub fn none() -> CallGuard {
        CallGuard {
            inner: ManuallyDrop::new(None),
        }
    }

    /// Whether this call is being captured.
    #[inline(always)]
    pub fn active(&self) -> bool {
        self.inner.is_some()
    }

    /// The depth calls made inside this one run at: one more than this
    /// call's when it is captured, `None` (the thread's depth as it is) when
    /// not. Generated code polls an `async` body at this depth.
    #[inline(always)]
    pub fn nested_depth(&self) -> Option<u32> {
        self.inner.as_ref().map(|f| f.depth + 1)
    }

    /// The body of an `async` call ran to its end (a guard of an async call
    /// dropped without it records the call as cancelled).
    #[inline(always)]
    pub fn finish(&mut self) {
        if let Some(f) = self.inner.as_mut() {
            f.finished = true;
        }
    }

    /// The call returned `Err` (`true`) or `Ok` (generated for functions
    /// whose return type is written `Result<..>`), before its return value
    /// is recorded.
    #[inline]
    pub fn failed(&mut self, is_err: bool) {
        if let Some(f) = self.inner.as_mut() {
            f.err = is_err;
        }
    }

    /// Record the return value (only called when `ret` is on).
    pub fn ret(&mut self, type_name: &'static str, encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded) {
        self.ret_with_schema(type_name, None, encode);
    }

    /// [`Self::ret`] with the schema of the return type (a cached look-up),
    /// so replay can tell what changed if the return type drifts.
    pub fn ret_with_schema(
        &mut self,
        type_name: &'static str,
        schema: Option<&'static Schema>,
        encode: impl FnOnce(&mut EncodeCtx<'_>) -> Encoded,
    ) {
        if let Some(f) = self.inner.as_mut() {
            if f.mode.dropped() || f.has_ret || f.discarding() {
                return;
            }
            f.take_end("return", type_name, schema, encode);
            // The return value goes first in the outcome's parts.
            if let Some(parts) = f.end.as_mut().filter(|p| p.args.len() > 1) {
                let ret = parts.args.pop().expect("at least two");
                parts.args.insert(0, ret);
            }
            f.has_ret = true;
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
            if !f.mode.dropped() && !f.discarding() {
                f.take_end(name, type_name, None, encode);
            }
        }
    }
}

impl Drop for CallGuard {
    // Inlined so that a call that is not captured pays one test of `inner`
    // here, not an out-of-line call; the work of a captured call's end is
    // out of line and cold.
    #[inline(always)]
    fn drop(&mut self) {
        if self.inner.is_some() {
            // SAFETY: this is the guard's drop, so `inner` is never used
            // again, and `ManuallyDrop` means nothing else drops it.
            InFlight::end_of(unsafe { ManuallyDrop::take(&mut self.inner) });
        }
    }
}

/// `f` in this thread's spare box, or a new one.
#[inline(always)]
fn boxed(f: InFlight) -> Box<InFlight> {
    match SPARE.try_with(Cell::take).ok().flatten() {
        Some(mut b) => {
            *b = f;
            b
        }
        None => Box::new(f),
    }
}

impl InFlight {
    /// Out of line, so that the guard's inlined drop stays a branch.
    #[cold]
    #[inline(never)]
    fn end_of(call: Option<Box<InFlight>>) {
        if let Some(mut f) = call {
            f.end();
            // The box is kept for this thread's next captured call (malloc
            // and free of it were 2% of a captured call's instructions).
            let _ = SPARE.try_with(|s| s.set(Some(f)));
        }
    }

    /// The call is over (returned, panicked or, for `async`, cancelled):
    /// hand its end to the writer.
    fn end(&mut self) {
        if !self.is_async {
            depth::leave();
        }
        let end = End {
            seq: self.seq,
            outcome: if std::thread::panicking() {
                Outcome::Panicked
            } else if self.is_async && !self.finished {
                Outcome::Cancelled
            } else {
                Outcome::Returned
            },
            parts: self.end.take(),
            has_ret: self.has_ret,
        };
        let (resolved, mode) = (self.resolved, std::mem::replace(&mut self.mode, InFlightMode::Dropped));
        let failed = self.err || end.outcome == Outcome::Panicked;
        let _inside = super::reentry::Inside::enter();
        let _ = catch_unwind(AssertUnwindSafe(move || match mode {
            // Sampled out at its start: kept only as a failure, at the failure rate.
            InFlightMode::Held(start)
                if failed && (resolved.err_sample >= 1.0 || random_unit() < resolved.err_sample) =>
            {
                let mode = writer::submit_start(*start);
                writer::submit_end(resolved, mode, end);
            }
            mode => writer::submit_end(resolved, mode, end),
        }));
    }
}

impl Site {
    /// Start capturing a call: resolve settings, apply sampling and nesting
    /// rules, encode the arguments and hand the start to the writer.
    ///
    /// `#[cold]`: the generated prelude calls it only when capturing is on,
    /// so the compiler lays the function out for the disabled path (the
    /// capture branch out of line, no spills for it on the fall-through).
    #[doc(hidden)]
    #[cold]
    pub fn begin(&'static self, self_type: Option<&'static str>, args: impl FnOnce(&mut ArgSink<'_>)) -> CallGuard {
        self.begin_any(self_type, false, args)
    }

    /// [`Self::begin`] for an `async fn`: the thread's depth is left as it
    /// is (the generated code polls the body in a [`depth::WithDepth`] at
    /// [`CallGuard::nested_depth`]), and a guard dropped before
    /// [`CallGuard::finish`] records the call as cancelled.
    #[doc(hidden)]
    #[cold]
    pub fn begin_async(
        &'static self,
        self_type: Option<&'static str>,
        args: impl FnOnce(&mut ArgSink<'_>),
    ) -> CallGuard {
        self.begin_any(self_type, true, args)
    }

    #[inline(always)]
    fn begin_any(
        &'static self,
        self_type: Option<&'static str>,
        is_async: bool,
        args: impl FnOnce(&mut ArgSink<'_>),
    ) -> CallGuard {
        match catch_unwind(AssertUnwindSafe(|| self.begin_inner(self_type, is_async, args))) {
            Ok(g) => g,
            Err(_) => {
                crate::config::report_once("capture failed with a panic; the call itself is unaffected");
                CallGuard::none()
            }
        }
    }

    fn begin_inner(
        &'static self,
        self_type: Option<&'static str>,
        is_async: bool,
        args: impl FnOnce(&mut ArgSink<'_>),
    ) -> CallGuard {
        if crate::replay::replaying() || super::reentry::inside() {
            return CallGuard::none();
        }
        // Captured calls made by what runs from here on (resolving, the
        // arguments' encoders, the writer) are not recorded; the guard is
        // gone before the function's own body runs.
        let _inside = super::reentry::Inside::enter();
        let resolved = self.resolved_static(self_type);
        let depth = depth::current();
        if depth > 0 && !resolved.nested {
            return CallGuard::none();
        }
        let by_args = resolved.sample < 1.0 && resolved.sample_by == SampleBy::Args;
        let sampled_out =
            resolved.sample <= 0.0 || (resolved.sample < 1.0 && !by_args && random_unit() >= resolved.sample);
        // Failure-biased sampling: a call sampled out is still encoded and
        // held until it ends, when it can fail and failures are kept.
        let hold = sampled_out && !by_args && resolved.err_sample > 0.0;
        if sampled_out && !hold {
            return CallGuard::none();
        }
        let mut sink = ArgSink {
            resolved,
            parts: take_parts(),
            ctx: EncodeCtx::with_policy(&resolved.policy),
        };
        args(&mut sink);
        // Taken out in place: moving the whole sink (its context is a few
        // hundred bytes) showed up as a `memcpy` on the profile.
        sink.ctx.recycle();
        let parts = std::mem::take(&mut sink.parts);
        if by_args && !sampled_by_args(&parts, resolved.sample) {
            super::outgoing::give_back([parts]);
            return CallGuard::none();
        }
        let (thread_id, thread_name) = THREAD.with(|t| *t);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let start = Start {
            resolved,
            site: self.opts,
            unix_nanos: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0),
            seq,
            thread_id,
            thread_name,
            depth,
            parts,
        };
        let mode = if hold {
            InFlightMode::Held(Box::new(start))
        } else {
            writer::submit_start(start)
        };
        if !is_async {
            depth::replace(depth + 1);
        }
        CallGuard {
            inner: ManuallyDrop::new(Some(boxed(InFlight {
                resolved,
                seq,
                mode,
                end: None,
                has_ret: false,
                depth,
                is_async,
                finished: false,
                err: false,
            }))),
        }
    }
}
