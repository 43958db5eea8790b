//! Pricing and payment for an online shop.

use capture_runtime::capture_args;
use serde::{Deserialize, Serialize};

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    /// Stock-keeping unit.
    pub sku: String,
    /// Units ordered.
    pub quantity: u32,
    /// Price of one unit, in cents.
    pub unit_cents: u64,
}

/// An order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Order number.
    pub id: u64,
    /// Customer e-mail (PII: redacted in captures).
    pub customer_email: String,
    /// The lines.
    pub items: Vec<LineItem>,
}

/// What the customer pays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// Order number.
    pub order_id: u64,
    /// Sum of the lines, in cents.
    pub subtotal_cents: u64,
    /// Discount applied, in cents.
    pub discount_cents: u64,
    /// Amount due, in cents.
    pub total_cents: u64,
}

/// Price an order with a fractional discount (0.1 = 10%).
#[capture_args(ret)]
pub fn price(order: &Order, discount: f64) -> Receipt {
    let subtotal: u64 = order.items.iter().map(|i| i.unit_cents * i.quantity as u64).sum();
    let discount_cents = (subtotal as f64 * discount).round() as u64;
    Receipt {
        order_id: order.id,
        subtotal_cents: subtotal,
        discount_cents,
        total_cents: subtotal - discount_cents,
    }
}

/// Authorize a payment; the card number and the password never reach disk.
#[capture_args(ret, ignore(password))]
pub fn authorize(user: &str, password: &str, card_number: &str, amount_cents: u64) -> Result<String, String> {
    if password.is_empty() {
        return Err(format!("user {user}: empty password"));
    }
    let last4: String = card_number
        .chars()
        .filter(|c| c.is_ascii_digit())
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Ok(format!("auth-{user}-{last4}-{amount_cents}"))
}

/// Apply a coupon code to a running total (a `&mut` argument).
#[capture_args(ret)]
pub fn apply_coupon(total_cents: &mut u64, code: &str) -> bool {
    match code {
        "HALF" => {
            *total_cents /= 2;
            true
        }
        "TENOFF" if *total_cents >= 1000 => {
            *total_cents -= 1000;
            true
        }
        _ => false,
    }
}
