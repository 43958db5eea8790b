//! [`Fail`]: the direct writer's error, one pointer wide.

use std::fmt;

use serde::ser;

use crate::value::ser::EncodeError;

/// An [`EncodeError`] behind one pointer. Every field, element and scalar of
/// a captured value returns a `Result<(), Fail>`: at 8 bytes it comes back in
/// a register, where a `Result<(), EncodeError>` (32 bytes) goes through
/// memory and is tested there at every level. Errors are rare, so the box
/// costs nothing in practice.
#[derive(Debug)]
pub(in crate::value) struct Fail(Box<EncodeError>);

impl Fail {
    /// The error inside.
    pub(in crate::value) fn into_inner(self) -> EncodeError {
        *self.0
    }

    /// The limit, when this is [`EncodeError::TooLarge`].
    #[inline]
    pub(in crate::value) fn too_large(&self) -> Option<u64> {
        match *self.0 {
            EncodeError::TooLarge { limit } => Some(limit),
            EncodeError::Custom(_) => None,
        }
    }

    /// Whether a `Serialize` impl reported this.
    pub(in crate::value) fn is_custom(&self) -> bool {
        matches!(*self.0, EncodeError::Custom(_))
    }
}

impl From<EncodeError> for Fail {
    #[cold]
    fn from(e: EncodeError) -> Self {
        Fail(Box::new(e))
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Fail {}

impl ser::Error for Fail {
    /// The same withholding as [`EncodeError`]'s (the text may quote the value).
    #[cold]
    fn custom<T: fmt::Display>(msg: T) -> Self {
        <EncodeError as ser::Error>::custom(msg).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_in_a_register_and_keeps_the_error() {
        assert_eq!(std::mem::size_of::<Result<(), Fail>>(), 8);
        let f = Fail::from(EncodeError::TooLarge { limit: 9 });
        assert_eq!(f.too_large(), Some(9));
        assert!(!f.is_custom());
        let c = <Fail as ser::Error>::custom("bad token s3cr3t");
        assert!(c.is_custom());
        assert!(!c.to_string().contains("s3cr3t"), "{c}");
        assert_eq!(f.into_inner(), EncodeError::TooLarge { limit: 9 });
    }
}
