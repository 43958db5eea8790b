//! Captures resolve from the capturing crate's `CARGO_MANIFEST_DIR`, never
//! the working directory: replays find `examples/captures/` from anywhere.

use capture_examples::checkout;
use capture_test::ReplayOutcome;

#[test]
fn replays_from_any_working_directory() {
    std::env::set_current_dir(std::env::temp_dir()).expect("cd");
    let outcomes = capture_test::replay_outcomes!(checkout::apply_coupon);
    assert_eq!(outcomes.len(), 3, "{outcomes:#?}");
    for (name, outcome) in &outcomes {
        assert!(name.starts_with("checkout::apply_coupon::"), "{name}");
        assert!(matches!(outcome, ReplayOutcome::Passed { .. }), "{name}: {outcome:?}");
    }
    // Without stand-ins, the authorize captures are reported, not passed.
    for (name, outcome) in capture_test::replay_outcomes!(checkout::authorize) {
        match outcome {
            ReplayOutcome::Skipped { reason } => {
                assert!(reason.starts_with("argument `password`: ignored"), "{reason}")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}
