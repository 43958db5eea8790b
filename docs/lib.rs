//! The capture user guide. Each chapter is a Markdown file in this folder;
//! including them here makes `cargo test` compile and run their examples.
#![doc = include_str!("README.md")]

#[doc = include_str!("performance.md")]
pub mod performance {}
