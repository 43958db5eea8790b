use capture_runtime::capture_args;

#[capture_args]
struct Order {
    id: u64,
}

fn main() {}
