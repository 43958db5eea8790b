use capture_runtime::capture_args;

// `sampled` identifies numeric buffers only.
#[capture_args(hash(name = sampled))]
fn greet(name: &str) -> String {
    format!("hello {name}")
}

#[capture_args(hash(frame = fuzzy))]
fn mean(frame: &[f64]) -> f64 {
    frame.iter().sum()
}

#[capture_args(hash(frames = sampled))]
fn total(frame: &[f64]) -> f64 {
    frame.iter().sum()
}

fn main() {}
