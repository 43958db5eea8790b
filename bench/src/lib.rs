//! The benchmark workload: `price(order: &Order /* 8 line items */, discount: f64, password: &str)`
//! written three times — plain, with `#[capture_args]`, and with `#[tracing::instrument]` —
//! so every row of `cargo xtask bench` runs the same function body.

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
    /// Customer reference (not PII, so the detectors scan but keep it).
    pub customer: String,
    /// The lines.
    pub items: Vec<LineItem>,
}

/// What the customer pays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// Order number.
    pub order_id: u64,
    /// Amount due, in cents.
    pub total_cents: u64,
}

/// An order with 8 line items; `n` makes it distinct.
///
/// ```
/// assert_eq!(capture_bench::order(3).items.len(), 8);
/// ```
pub fn order(n: u64) -> Order {
    Order {
        id: n,
        customer: format!("cust-{:06}", n % 1_000_000),
        items: (0..8)
            .map(|i| LineItem {
                sku: format!("SKU-{:04}-{i}", n % 10_000),
                quantity: 1 + (i as u32 % 3),
                unit_cents: 199 + 100 * i + n % 7,
            })
            .collect(),
    }
}

#[inline(always)]
fn body(order: &Order, discount: f64, password: &str) -> Receipt {
    let subtotal: u64 = order.items.iter().map(|i| i.unit_cents * i.quantity as u64).sum();
    let off = (subtotal as f64 * discount).round() as u64;
    Receipt {
        order_id: order.id ^ password.len() as u64,
        total_cents: subtotal - off,
    }
}

/// The baseline: no macro.
pub mod plain {
    use super::*;
    /// Price an order.
    #[inline(never)]
    pub fn price(order: &Order, discount: f64, password: &str) -> Receipt {
        body(order, discount, password)
    }
}

/// The same function under `#[capture_args]` (`password` is redacted by name).
pub mod captured {
    use super::*;
    /// Price an order.
    #[inline(never)]
    #[capture_runtime::capture_args]
    pub fn price(order: &Order, discount: f64, password: &str) -> Receipt {
        body(order, discount, password)
    }

    /// A small call: a number and a short tag (the bytes-on-disk row).
    #[capture_runtime::capture_args(ret)]
    pub fn small(i: u64, tag: &str) -> u64 {
        i + tag.len() as u64
    }
}

/// The function the replay row replays: the same body, its return value
/// recorded (`ret`) so replay compares it, and room for 10,000 stored calls.
pub mod replayed {
    use super::*;
    /// Price an order.
    #[capture_runtime::capture_args(ret, retention = 20000)]
    pub fn price(order: &Order, discount: f64) -> Receipt {
        body(order, discount, "")
    }
}

/// The same function under `#[tracing::instrument]` (arguments recorded with `Debug`).
pub mod traced {
    use super::*;
    /// Price an order.
    #[inline(never)]
    #[tracing::instrument(level = "info")]
    pub fn price(order: &Order, discount: f64, password: &str) -> Receipt {
        body(order, discount, password)
    }
}
