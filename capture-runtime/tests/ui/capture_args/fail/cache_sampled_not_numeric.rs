use capture_runtime::capture_args;

// `sampled` hashes numeric buffers only.
#[capture_args(cache, cache_hash(name = sampled))]
fn greet(name: &str) -> String {
    format!("hello {name}")
}

#[capture_args(cache, cache_hash(name = fuzzy))]
fn greet2(name: &str) -> String {
    format!("hello {name}")
}

fn main() {}
