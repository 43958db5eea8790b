//! The capture user guide. Each chapter is a Markdown file in this folder;
//! including them here makes `cargo test` compile and run their examples.
#![doc = include_str!("README.md")]

/// Making types capturable: `#[derive(Reducible)]`, the registry, sharing, `explain!`.
#[doc = include_str!("reducible.md")]
pub mod reducible {}
