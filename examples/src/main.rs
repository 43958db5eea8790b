//! The main job: run the checkout service on a few real orders, leaving
//! captures in the default local store, and say where and how many.

use capture_examples::checkout::{apply_coupon, authorize, price, LineItem, Order};
use capture_runtime::CaptureLoader;

fn order(id: u64, email: &str, items: &[(&str, u32, u64)]) -> Order {
    Order {
        id,
        customer_email: email.to_string(),
        items: items
            .iter()
            .map(|&(sku, quantity, unit_cents)| LineItem {
                sku: sku.into(),
                quantity,
                unit_cents,
            })
            .collect(),
    }
}

fn main() {
    let orders = [
        order(1001, "ada@example.com", &[("BOOK-1", 2, 1299), ("PEN-3", 10, 149)]),
        order(1002, "grace@example.org", &[("LAMP-7", 1, 4599)]),
        order(
            1003,
            "linus@example.net",
            &[("MUG-2", 4, 899), ("TEA-9", 3, 650), ("BOOK-1", 1, 1299)],
        ),
    ];
    for (o, discount) in orders.iter().zip([0.0, 0.1, 0.25]) {
        let receipt = price(o, discount);
        let mut total = receipt.total_cents;
        apply_coupon(&mut total, if o.id % 2 == 0 { "HALF" } else { "TENOFF" });
        let auth = authorize("ada", "hunter2", "4111 1111 1111 1111", total);
        println!("order {}: total {} cents, {:?}", o.id, total, auth);
    }
    capture_runtime::flush();

    let store = concat!(env!("CARGO_MANIFEST_DIR"), "/captures");
    let loader = CaptureLoader::new(store);
    let functions = loader.functions().expect("read the store");
    println!("\ncaptures in {store}:");
    for f in &functions {
        let n = loader.load_all(f).map(|c| c.len()).unwrap_or(0);
        println!("  {f}: {n} call(s)");
    }
    if functions.is_empty() {
        println!("  (none: capturing is off; it is on by default in debug builds unless CAPTURE_ENABLED=0)");
    }
}
