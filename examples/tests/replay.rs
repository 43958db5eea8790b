//! Every stored call of the checkout service becomes its own test
//! (`cargo test -p capture-examples --test replay`): the captures that
//! `cargo run -p capture-examples` leaves in `examples/captures/` (committed
//! as fixtures) are found when this binary starts. `tests/any_cwd.rs` checks
//! what each entry below gives.

use capture_examples::checkout;

capture_test::replay_main! {
    // Compare with the recorded receipt. The customer's e-mail was redacted
    // at capture time (PII): a stand-in gives the function an address again.
    checkout::price with { order.customer_email = "customer@example.com" },
    // The password was never stored and the card number was redacted: stand-ins.
    checkout::authorize with { password = "test-password", card_number = "4111 1111 1111 1111" },
    // `&mut` argument: the recorded after-state is compared too.
    checkout::apply_coupon,
    // The same price captures, checked by a closure over the typed inputs and
    // output; pricing does not read the e-mail, so its redaction text is
    // replayed as recorded.
    checkout::price redacted_as_recorded => |order, discount, receipt| {
        assert_eq!(receipt.order_id, order.id);
        assert!(*discount >= 0.0 && receipt.total_cents <= receipt.subtotal_cents);
    },
}
