use capture_runtime::capture_args;

#[capture_args]
const fn f(x: u8) -> u8 {
    x
}

fn main() {}
