//! # capture
//!
//! Record the real arguments of real function calls into a content-addressed
//! store, and replay them later as regression tests.
//!
//! ```
//! use capture_runtime::capture_args;
//!
//! #[capture_args(ret)]
//! fn add(a: i32, b: i32) -> i32 { a + b }
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # capture_runtime::configure(capture_runtime::Config { dir: Some(dir.path().into()), ..Default::default() });
//! assert_eq!(add(2, 3), 5); // behaves exactly as written; the call is recorded
//! ```
//!
//! See the guide in `docs/` for every option, the on-disk format and replay.
#![warn(missing_docs)]

pub mod cache;
pub mod capture;
pub mod checkpoint;
pub mod codec;
pub mod config;
mod error;
pub mod filter;
pub mod hash;
pub mod hooks;
mod load;
pub mod record;
pub mod reduce;
pub mod replay;
mod report;
pub mod store;
pub mod value;

pub use capture::writer::{flush, init, stats, Stats, WorkerGuard};
/// Record the arguments of every call of a function into the capture store.
///
/// The function's signature, docs, attributes and behaviour are unchanged.
/// Every option is optional; unknown, duplicated or ill-formed ones are
/// compile errors at the offending token, all reported at once.
///
/// | option | meaning |
/// |---|---|
/// | `path = "dir"` | store folder, relative to the capturing crate's folder (`CARGO_MANIFEST_DIR`), never the working directory; beats `CAPTURE_DIR` |
/// | `retention = N` | keep the N newest calls of this function (N >= 1; default 10) |
/// | `max_age = "7d"` | drop calls older than this: whole seconds, more than 0, in the grammar of `CAPTURE_MAX_AGE` (`ms`, `s`, `m`, `h`, `d`, `w`, combined as `1h30m`; see [`config::parse_duration`]) |
/// | `ignore(arg, ..)` | never record these arguments, not even encoded |
/// | `redact(arg, ..)` | treat these names as sensitive: recorded as a redaction marker |
/// | `allow(arg, ..)` | never treat these names as sensitive |
/// | `ret` | record the return value (`Result`: `Ok` and `Err`) and `&mut` arguments after the call; not with `#[track_caller]` on a sync fn |
/// | `self` | record the receiver of a method |
/// | `assoc` | an associated function naming neither `self` nor `Self`: replay calls it as `Self::f` |
/// | `name = "id"` | the function's id in the store (default `crate::module::fn`) |
/// | `enabled = bool` | `false` compiles the shim out for this function |
/// | `sample = 0.1` | record this fraction of calls |
/// | `sample_by = "call"` / `"args"` | sample at random per call, or by a hash of the arguments (the same input always in or out) |
/// | `max_size = "64KiB"` | drop, with a marker, an argument whose encoding is larger (the grammar of `CAPTURE_MAX_SIZE`, see [`config::parse_size`]) |
/// | `hash(arg = exact \| sampled)` | how an argument is identified: `sampled` for a large numeric buffer records a buffer seen before without encoding it again (see [`capture::sampled`]); also the cache key's strategy |
/// | `crate = "path"` | where `capture_runtime` is, if renamed |
/// | `cache` | memoize the function (see the "Caching" chapter); not with `#[track_caller]` on a sync fn |
/// | `cache_ttl = "1h"` | with `cache`: how long an entry stays valid |
/// | `cache_max_entries = N` | with `cache`: entries kept for this function |
/// | `cache_max_bytes = "64MiB"` | with `cache`: bytes kept for this function |
/// | `cache_errors` | with `cache`: also cache `Err` results |
/// | `cache_exclude(arg, ..)` | with `cache`: arguments left out of the key |
/// | `cache_hash(arg = exact \| sampled)` | with `cache`: how an argument is hashed into the key |
///
/// With the `enabled` cargo feature off (`default-features = false`), the
/// function is emitted exactly as written and nothing is ever recorded. See
/// the user guide's "Capturing calls" and "Configuration" chapters.
///
/// ```
/// use capture_runtime::capture_args;
///
/// #[capture_args(retention = 3, max_age = "7d", ignore(password), ret, name = "auth")]
/// fn authenticate(user: &str, password: &str) -> Result<String, String> {
///     if password.is_empty() { Err("empty password".into()) } else { Ok(format!("session-{user}")) }
/// }
///
/// # let dir = tempfile::tempdir().unwrap();
/// # capture_runtime::configure(capture_runtime::Config { dir: Some(dir.path().into()), ..Default::default() });
/// assert_eq!(authenticate("ada", "pw"), Ok("session-ada".to_string()));
/// ```
pub use capture_macros::capture_args;
pub use capture_macros::Reducible;
pub use checkpoint::{checkpoint, delete_checkpoint, gc_roots, list_checkpoints, load_checkpoint};
pub use codec::Codec;
pub use config::{check_config, configure, set_enabled, Config};
pub use error::{CaptureError, Refusal, Result};
pub use hash::{BadContentId, ContentId};
pub use hooks::on_capture;
pub use load::{load_latest, BadRecord, CaptureLoader, CapturedCall, Loaded};
/// The [`object_store`](https://docs.rs/object_store) crate this runtime
/// builds on (with the `object-store` feature), so `ObjectBackend::new` takes
/// an `Arc<dyn capture_runtime::object_store::ObjectStore>` without a second,
/// version-matched dependency.
#[cfg(feature = "object-store")]
pub use object_store;
pub use record::CallRecord;
pub use reduce::canonical;
pub use reduce::explain::{explain, Explanation};
pub use reduce::{RebuildCtx, RebuildError, Reducible};
pub use store::Store;

/// Items used by generated code. Not public API: names may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::cache::{
        cached_result_must_implement_serde_serialize_and_deserialize, is_active as cache_active, CacheCall,
        CacheOptions, CacheSite, ErrProbe, KeySink, ProbeOther, ProbeResult,
    };
    pub use crate::capture::call::{ArgSink, CallGuard};
    pub use crate::capture::depth::WithDepth;
    pub use crate::capture::dispatch;
    pub use crate::capture::outcome;
    pub use crate::capture::parts;
    pub use crate::capture::site::{function_id, Site, SiteOptions};
    pub use crate::config::enabled;
    pub use crate::hash::{sampled_hash, ContentId};
    pub use crate::load::CapturedCall;
    pub use crate::reduce::derive_support as derive;
    pub use crate::reduce::{RebuildCtx, RebuildError, Reducible};
    pub use crate::replay::__adapter as replay;
    pub use crate::replay::{block_on, ReplayCx};
    pub use crate::value::{EncodeCtx, EncodeError, Value};
    pub use serde;

    /// `std::any::type_name` of a value's type (works for `impl Trait` arguments).
    #[inline(always)]
    pub fn type_name_of<T: ?Sized>(_: &T) -> &'static str {
        core::any::type_name::<T>()
    }
}
