use capture_runtime::capture_args;

#[capture_args(retension = 3, ignore(nope), max_age = "soon", ret, ret)]
fn f(x: u8) -> u8 {
    x
}

fn main() {
    // The function is still emitted: using it adds no further error.
    let _ = f(1);
}
