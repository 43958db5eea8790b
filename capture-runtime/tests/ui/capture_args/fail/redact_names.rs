use capture_runtime::capture_args;

#[capture_args(redact(ssn, 42))]
fn a(x: u8) -> u8 {
    x
}

#[capture_args(allow(""))]
fn b(x: u8) -> u8 {
    x
}

#[capture_args(redact = "ssn")]
fn c(x: u8) -> u8 {
    x
}

fn main() {
    let _ = (a(1), b(1), c(1));
}
