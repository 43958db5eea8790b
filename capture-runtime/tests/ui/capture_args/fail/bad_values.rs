use capture_runtime::capture_args;

#[capture_args(max_age = "7 parsecs")]
fn a(x: u8) -> u8 {
    x
}

#[capture_args(name = "../etc/passwd")]
fn b(x: u8) -> u8 {
    x
}

#[capture_args(sample = 2.0)]
fn c(x: u8) -> u8 {
    x
}

#[capture_args(retention = 0)]
fn d(x: u8) -> u8 {
    x
}

#[capture_args(max_size = "lots")]
fn e(x: u8) -> u8 {
    x
}

#[capture_args(ret = true)]
fn g(x: u8) -> u8 {
    x
}

#[capture_args(max_age = "0s")]
fn h(x: u8) -> u8 {
    x
}

#[capture_args(max_age = "1500ms")]
fn i(x: u8) -> u8 {
    x
}

fn main() {}
