//! Whether capturing is on: the process-wide mode, and each capture site's
//! own copy of it.
//!
//! The check every annotated function makes on entry must cost next to
//! nothing with capture off. Reading the process-wide byte from the user's
//! crate goes through the GOT (the static lives in this crate): two
//! dependent loads before the compare. Each site therefore keeps a copy of
//! the mode in its own `static` (the macro emits one per function, in the
//! user's crate), which the check loads from an address fixed at link
//! time. A site registers on its first check; every change of the mode
//! updates the registered copies under the same lock that registration
//! takes, so a copy never disagrees with the process-wide mode once the
//! change has returned.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

const MODE_UNINIT: u8 = 0;
const MODE_OFF: u8 = 1;
const MODE_ON: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(MODE_UNINIT);
/// Every site that has checked the mode once, and so holds a copy of it.
static SITES: Mutex<Vec<&'static SiteMode>> = Mutex::new(Vec::new());

/// Whether capturing is globally on: one relaxed atomic load and a branch
/// (initialisation happens once, on the first call).
#[inline(always)]
pub(super) fn enabled() -> bool {
    match MODE.load(Ordering::Relaxed) {
        MODE_ON => true,
        MODE_OFF => false,
        _ => init(),
    }
}

#[cold]
#[inline(never)]
fn init() -> bool {
    let on = super::resolve_enabled();
    store(on);
    on
}

/// Set the mode, and every registered site's copy, to `on`.
pub(super) fn store(on: bool) {
    let m = if on { MODE_ON } else { MODE_OFF };
    let sites = SITES.lock().unwrap_or_else(|e| e.into_inner());
    MODE.store(m, Ordering::Relaxed);
    for s in sites.iter() {
        s.0.store(m, Ordering::Relaxed);
    }
}

/// A capture site's copy of the process-wide mode (see the module's
/// documentation): a field of the `static` the macro emits per function.
///
/// ```
/// use capture_runtime::config::SiteMode;
/// static MODE: SiteMode = SiteMode::new();
/// capture_runtime::set_enabled(false);
/// assert!(!MODE.enabled());
/// capture_runtime::set_enabled(true);
/// assert!(MODE.enabled());
/// ```
#[doc(hidden)]
#[derive(Debug)]
pub struct SiteMode(AtomicU8);

impl SiteMode {
    /// Not registered yet: the first check registers it.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> SiteMode {
        SiteMode(AtomicU8::new(MODE_UNINIT))
    }

    /// Whether capturing is on, as [`crate::config::enabled`] answers, for
    /// this site. With capture off, one load of a byte at a fixed address,
    /// a compare and a branch.
    #[inline(always)]
    pub fn enabled(&'static self) -> bool {
        match self.0.load(Ordering::Relaxed) {
            MODE_ON => true,
            MODE_OFF => false,
            _ => self.register(),
        }
    }

    /// First check of this site: copy the mode (initialising it if need be)
    /// and join the sites that mode changes update.
    #[cold]
    #[inline(never)]
    fn register(&'static self) -> bool {
        enabled();
        let mut sites = SITES.lock().unwrap_or_else(|e| e.into_inner());
        if self.0.load(Ordering::Relaxed) == MODE_UNINIT {
            sites.push(self);
        }
        // Read under the lock that `store` holds: no change is missed.
        let m = MODE.load(Ordering::Relaxed);
        self.0.store(m, Ordering::Relaxed);
        m == MODE_ON
    }
}
