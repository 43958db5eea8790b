use capture_runtime::capture_args;
use std::fmt;

// A cache hit returns the stored result without running the body: a
// function writing to a formatter would write nothing. The error points at
// the formatter parameter.
#[capture_args(ret, cache)]
fn render(n: u32, f: &mut fmt::Formatter) -> fmt::Result {
    write!(f, "{n}")
}

fn main() {}
