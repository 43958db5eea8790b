//! An argument mixing borrowed and owned data is replayed from owned storage
//! the adapter rebuilds; its owned parts are copied out of that storage, so
//! they must be `Clone`: the error says so and names the alternatives.

use capture_runtime::capture_args;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Ticket {
    pub id: u64,
}

#[capture_args]
pub fn route(entries: Vec<(&str, Ticket)>) -> usize {
    entries.len()
}

fn main() {}
