use capture_runtime::capture_args;

// `ret` runs the body in a closure: the caller's location would be lost.
#[capture_args(ret)]
#[track_caller]
fn location() -> u32 {
    std::panic::Location::caller().line()
}

// Without `ret`, #[track_caller] works as written.
#[capture_args]
#[track_caller]
fn fine() -> u32 {
    std::panic::Location::caller().line()
}

fn main() {
    let _ = (location(), fine());
}
