use capture_runtime::capture_args;

#[capture_args(cache, cache_exclude(nope), cache_hash(x = exact), cache_ttl = "soon")]
fn a(x: u64, y: u64) -> u64 {
    x + y
}

#[capture_args(cache, cache_exclude(x), cache_hash(x = exact))]
fn b(x: u64) -> u64 {
    x
}

#[capture_args(cache)]
fn c(x: u64) {
    let _ = x;
}

#[capture_args(cache_ttl = "1h")]
fn d(x: u64) -> u64 {
    x
}

fn main() {}
