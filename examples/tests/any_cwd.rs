//! The committed fixtures replay as `tests/replay.rs` lists them, from any
//! working directory: captures resolve from the capturing crate's
//! `CARGO_MANIFEST_DIR`, never the working directory.

use capture_examples::checkout;
use capture_test::ReplayOutcome;

fn passed(outcomes: &[(String, ReplayOutcome)], prefix: &str) -> usize {
    for (name, outcome) in outcomes {
        assert!(name.starts_with(prefix), "{name}");
        assert!(matches!(outcome, ReplayOutcome::Passed { .. }), "{name}: {outcome:?}");
    }
    outcomes.len()
}

fn skip_reasons(outcomes: Vec<(String, ReplayOutcome)>) -> Vec<String> {
    outcomes
        .into_iter()
        .map(|(name, outcome)| match outcome {
            ReplayOutcome::Skipped { reason } => reason,
            other => panic!("{name}: {other:?}"),
        })
        .collect()
}

#[test]
fn every_entry_of_the_replay_test_replays_from_any_working_directory() {
    std::env::set_current_dir(std::env::temp_dir()).expect("cd");
    let price = capture_test::replay_outcomes!(checkout::price with { order.customer_email = "customer@example.com" });
    assert_eq!(passed(&price, "checkout::price::"), 3);
    let authorize = capture_test::replay_outcomes!(
        checkout::authorize with { password = "test-password", card_number = "4111 1111 1111 1111" }
    );
    assert_eq!(passed(&authorize, "checkout::authorize::"), 3);
    let coupon = capture_test::replay_outcomes!(checkout::apply_coupon);
    assert_eq!(passed(&coupon, "checkout::apply_coupon::"), 3);
    let checked = capture_test::replay_outcomes!(checkout::price redacted_as_recorded => |order, _discount, receipt| {
        assert_eq!(receipt.order_id, order.id);
    });
    assert_eq!(passed(&checked, "checkout::price::"), 3);
}

#[test]
fn without_stand_ins_the_captures_are_reported_not_passed() {
    for reason in skip_reasons(capture_test::replay_outcomes!(checkout::authorize)) {
        assert!(reason.starts_with("argument `password`: ignored"), "{reason}");
    }
    for reason in skip_reasons(capture_test::replay_outcomes!(checkout::price)) {
        assert!(
            reason.starts_with("argument `order` has text redacted at capture time: order.customer_email (pii:email)"),
            "{reason}"
        );
    }
}
