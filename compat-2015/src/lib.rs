//! An edition-2015 crate using capture with no `extern crate` at all:
//! attributes and macros named by path (`#[capture_runtime::capture_args]`),
//! which 2015 resolves through the extern prelude. Generated code must not
//! need more (its `use` items would read `::capture_runtime` from this
//! crate's root). `#![deny(warnings)]`: the expansion must be warning-free.
#![deny(warnings)]

use std::fmt;

#[capture_runtime::capture_args(ret)]
pub fn double(x: u32) -> u32 {
    x * 2
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Acc {
    pub n: u32,
}

impl Acc {
    #[capture_runtime::capture_args(self, ret)]
    pub fn add(&mut self, by: u32) -> u32 {
        self.n += by;
        self.n
    }
}

#[capture_runtime::capture_args]
impl fmt::Display for Acc {
    #[capture_runtime::capture_args(self, ret)]
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "acc {}", self.n)
    }
}

#[capture_runtime::capture_args(ret, cache)]
pub fn cached(x: u32) -> Result<u32, ::std::num::ParseIntError> {
    Ok(x + 3)
}

#[deprecated(note = "use `double`")]
#[capture_runtime::capture_args(ret)]
pub fn old_double(x: u32) -> u32 {
    x + x
}
