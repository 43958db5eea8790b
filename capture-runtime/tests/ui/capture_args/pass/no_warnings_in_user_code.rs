//! The shim adds nothing that warns about the user's own tokens: a body that
//! is a single expression in braces (its block becomes the shim's tail) must
//! not trip `unused_braces`, for sync and async functions, with `ret` and
//! after-states; copies of scalar arguments trip no naming or `mut` lint.
#![deny(warnings)]

use capture_runtime::capture_args;

#[capture_args(ret)]
pub fn sum(a: u64, b: u32) -> u64 { a + b as u64 }

#[capture_args(ret)]
pub async fn sum_later(a: u64, b: u32) -> u64 { a + b as u64 }

#[capture_args(ret)]
pub fn bump(counter: &mut u64) -> u64 { { *counter += 1; *counter } }

#[capture_args]
pub fn plain(a: u64) -> u64 { a * 2 }

#[capture_args(cache)]
pub fn cached(a: u64) -> u64 { a * 3 }

#[capture_args(ret, cache, cache_ttl = "1h")]
pub async fn cached_later(a: u64) -> u64 { a * 4 }

// Scalars by value are copied inside the capture branch: no lint on the
// copies for `mut`, raw and placeholder parameters.
#[capture_args]
pub fn scalars(mut m: u32, r#type: u8, _: f64) -> u32 { m += r#type as u32; m }

fn main() {
    assert_eq!(scalars(1, 2, 0.5), 3);
    let mut c = 0;
    assert_eq!(sum(1, 2) + bump(&mut c) + plain(3) + cached(1), 13);
    let _later = (sum_later(1, 2), cached_later(1));
}
