//! `#[derive(Reducible)]`: what compiles, and the errors for what does not
//! (each pointing at the user's tokens and naming the fix).

#[test]
fn derive_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/derive/pass/*.rs");
    t.compile_fail("tests/ui/derive/fail/*.rs");
}
