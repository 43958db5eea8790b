use capture_runtime::capture_args;

#[capture_args(ret)]
fn f(x: u8) {
    let _ = x;
}

fn main() {}
