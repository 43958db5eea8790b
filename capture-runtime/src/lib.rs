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
mod hash;
pub mod hooks;
mod load;
pub mod record;
pub mod reduce;
pub mod store;
pub mod value;

pub use capture::writer::{flush, stats, Stats};
pub use capture_macros::capture_args;
pub use checkpoint::{checkpoint, gc_roots, load_checkpoint};
pub use codec::Codec;
pub use config::{check_config, configure, set_enabled, Config};
pub use error::{CaptureError, Result};
pub use hash::{BadContentId, ContentId};
pub use hooks::on_capture;
pub use load::{load_latest, CaptureLoader, CapturedCall};
pub use record::CallRecord;
pub use reduce::Reducible;
pub use store::Store;

/// Items used by generated code. Not public API: names may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::cache::{
        cached_result_must_implement_serde_serialize_and_deserialize, CacheCall, CacheOptions, CacheSite, ErrProbe,
        KeySink, ProbeOther, ProbeResult,
    };
    pub use crate::capture::call::{ArgSink, CallGuard};
    pub use crate::capture::dispatch;
    pub use crate::capture::site::{Site, SiteOptions};
    pub use crate::config::enabled;
    pub use crate::value::EncodeCtx;

    /// `std::any::type_name` of a value's type (works for `impl Trait` arguments).
    #[inline(always)]
    pub fn type_name_of<T: ?Sized>(_: &T) -> &'static str {
        core::any::type_name::<T>()
    }
}
