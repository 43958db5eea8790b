//! A small checkout service whose functions are annotated with
//! `#[capture_args]`. `cargo run -p capture-examples` calls them with real
//! data and leaves captures in `examples/captures/`; `tests/replay.rs`
//! replays them.

pub mod checkout;
pub mod shapes;
