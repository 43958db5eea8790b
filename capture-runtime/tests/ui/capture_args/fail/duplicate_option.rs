use capture_runtime::capture_args;

#[capture_args(ret, retention = 2, ret)]
fn f(x: u8) -> u8 {
    x
}

fn main() {}
