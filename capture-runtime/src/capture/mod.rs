//! The capture hot path: sites, call guards, dispatch and the writer.

pub mod call;
pub(crate) mod depth;
pub mod dispatch;
pub mod outcome;
pub(crate) mod outgoing;
pub mod parts;
pub(crate) mod reentry;
pub mod sampled;
pub mod site;
pub mod writer;
