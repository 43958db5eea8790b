//! Test-side support for capture: load captures in hand-written tests.

pub use capture_runtime::{CaptureLoader, CapturedCall};
