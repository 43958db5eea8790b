//! Failure-biased sampling compiles on every way of writing a `Result`
//! return type, and on a type that only shares the name, with warnings denied.
#![deny(warnings)]

use capture_runtime::capture_args;

mod own {
    /// Not `core::result::Result`: never an `Err` to the sampler.
    #[derive(Debug)]
    pub struct Result(pub u8);
}

type Outcome<T> = std::result::Result<T, String>;

#[capture_args(sample = 0.5)]
fn plain(x: u8) -> Result<u8, String> {
    if x > 3 {
        return Err("big".into());
    }
    Ok(x)
}

#[capture_args(ret, sample(ok = 0.01, err = 0.5))]
fn io(x: u8) -> std::io::Result<u8> {
    Ok(x)
}

#[capture_args(sample(ok = 0.0, err = 1.0))]
fn alias(x: u8) -> Outcome<u8> {
    let y = x.checked_add(1).ok_or("overflow")?;
    Ok(y)
}

#[capture_args(sample = 0.5)]
fn named_alike(x: u8) -> own::Result {
    own::Result(x)
}

#[capture_args(sample(ok = 0.1, err = 1.0))]
fn not_a_result(x: u8) -> u8 {
    x
}

#[capture_args(sample = 0.1)]
async fn later(x: u8) -> Result<u8, String> {
    Ok(x)
}

fn main() {
    let _ = (plain(1), io(2), alias(3), named_alike(4), not_a_result(5));
    let _ = later(6);
}
