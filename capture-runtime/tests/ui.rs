//! Compile-time behaviour of `#[capture_args]`: what must compile, and the
//! errors (pointing at the user's tokens, naming the fix) for what must not.

#[test]
fn capture_args_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/capture_args/pass/*.rs");
    t.compile_fail("tests/ui/capture_args/fail/*.rs");
}
