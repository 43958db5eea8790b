//! Compile-time behaviour of `explain!` and `explain()`: every form a user
//! writes (values, references, references held in variables, generic code)
//! compiles and explains the value behind the references.

#[test]
fn explain_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/explain/pass/*.rs");
}
