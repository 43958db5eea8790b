//! The capture user guide. Each chapter is a Markdown file in this folder;
//! including them here makes `cargo test -p capture-docs` compile and run
//! their examples.
#![doc = include_str!("README.md")]

#[doc = include_str!("getting-started.md")]
pub mod getting_started {}
#[doc = include_str!("capturing.md")]
pub mod capturing {}
#[doc = include_str!("configuration.md")]
pub mod configuration {}
#[doc = include_str!("lifecycle.md")]
pub mod lifecycle {}
#[doc = include_str!("loading.md")]
pub mod loading {}
#[doc = include_str!("format.md")]
pub mod format {}
/// Making types capturable: `#[derive(Reducible)]`, the registry, sharing, `explain!`.
#[doc = include_str!("reducible.md")]
pub mod reducible {}
#[doc = include_str!("security.md")]
pub mod security {}
#[doc = include_str!("replay.md")]
pub mod replay {}
#[doc = include_str!("performance.md")]
pub mod performance {}
#[doc = include_str!("caching.md")]
pub mod caching {}
#[doc = include_str!("object-storage.md")]
pub mod object_storage {}
