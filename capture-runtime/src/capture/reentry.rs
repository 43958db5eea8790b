//! Capture never records itself.
//!
//! While capture runs its own machinery on a thread (resolving a site's
//! settings, encoding arguments and return values through the user's
//! `Serialize`, `Debug`, `Reducible` and registered reducers, tracing a
//! type's schema through its `Deserialize`, writing the call, rebuilding a
//! stored value for the loader), a call of a captured function on that
//! thread runs exactly as written and is not captured. Without this, a
//! type whose `Debug` calls a captured method recorded that method once per
//! argument encoded, and when the method took the type itself as an
//! argument, the encoding recursed until the stack overflowed.
//!
//! The user's own function body never runs inside the guard: nested
//! captured calls made by the body are recorded as before (subject to
//! `nested`).

use std::cell::Cell;

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is running capture's own machinery (a thread being
/// torn down counts as inside: nothing is recorded there).
#[inline]
pub(crate) fn inside() -> bool {
    INSIDE.try_with(Cell::get).unwrap_or(true)
}

/// Marks the thread as inside capture until dropped (panic-safe; nests).
pub(crate) struct Inside(bool);

impl Inside {
    #[inline]
    pub(crate) fn enter() -> Inside {
        Inside(INSIDE.try_with(|c| c.replace(true)).unwrap_or(true))
    }
}

impl Drop for Inside {
    #[inline]
    fn drop(&mut self) {
        let previous = self.0;
        let _ = INSIDE.try_with(|c| c.set(previous));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nests_and_restores_on_unwind() {
        assert!(!inside());
        {
            let _a = Inside::enter();
            assert!(inside());
            {
                let _b = Inside::enter();
                assert!(inside());
            }
            assert!(inside(), "the inner guard puts back what it found");
        }
        assert!(!inside());
        let r = std::panic::catch_unwind(|| {
            let _g = Inside::enter();
            panic!("in an encoder");
        });
        assert!(r.is_err());
        assert!(!inside(), "an unwinding encoder leaves the thread outside");
    }
}
