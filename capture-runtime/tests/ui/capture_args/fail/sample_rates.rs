use capture_runtime::capture_args;

#[capture_args(sample(ok = 0.01, err = 1.5))]
fn a(x: u8) -> Result<u8, String> {
    Ok(x)
}

#[capture_args(sample(err = 1.0))]
fn b(x: u8) -> Result<u8, String> {
    Ok(x)
}

#[capture_args(sample(ok = 0.1, fail = 1.0))]
fn c(x: u8) -> Result<u8, String> {
    Ok(x)
}

#[capture_args(sample(ok = 0.1, ok = 0.2))]
fn d(x: u8) -> Result<u8, String> {
    Ok(x)
}

fn main() {}
