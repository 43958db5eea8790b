//! Whether a call's return value is an `Err`, for failure-biased sampling
//! (generated code only).
//!
//! The macro cannot tell from tokens alone whether a return type written
//! `Result<..>` is `core::result::Result` (a crate may have its own type of
//! that name), so it asks through autoref specialization: the inherent-like
//! [`ResultErr`] applies to `ErrProbe<Result<T, E>>` at the first lookup
//! step, and [`NotErr`] to any `&ErrProbe<T>` one autoref later.
//!
//! ```
//! use capture_runtime::__private::outcome::{ErrProbe, NotErr as _, ResultErr as _};
//! let failed: std::result::Result<u8, String> = Err("no".into());
//! assert!((&ErrProbe(&failed)).__capture_is_err());
//! assert!(!(&ErrProbe(&std::result::Result::<u8, ()>::Ok(1))).__capture_is_err());
//! struct Result(u8); // a type that only shares the name
//! assert!(!(&ErrProbe(&Result(1))).__capture_is_err());
//! ```

/// The value probed.
pub struct ErrProbe<'a, T: ?Sized>(pub &'a T);

/// `Result<T, E>`: whether it is `Err`.
pub trait ResultErr {
    /// Whether the probed value is an `Err`.
    fn __capture_is_err(&self) -> bool;
}

impl<T, E> ResultErr for ErrProbe<'_, Result<T, E>> {
    #[inline]
    fn __capture_is_err(&self) -> bool {
        self.0.is_err()
    }
}

/// Any other type: never an `Err`.
pub trait NotErr {
    /// Always `false`.
    fn __capture_is_err(&self) -> bool;
}

impl<T: ?Sized> NotErr for &ErrProbe<'_, T> {
    #[inline]
    fn __capture_is_err(&self) -> bool {
        false
    }
}
