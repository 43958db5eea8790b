//! The main job: run the checkout service on a few real orders, leaving
//! pending captures in the default local store (`examples/captures/`
//! unless `CAPTURE_DIR` says otherwise), and say where, how many this run
//! captured, how many are accepted and pending, and what to do next.

use capture_examples::checkout::{apply_coupon, authorize, price, LineItem, Order};
use std::process::ExitCode;
use std::time::SystemTime;

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

fn main() -> ExitCode {
    let started = SystemTime::now();
    let before = capture_runtime::stats();
    // New recordings are pending: the accepted captures in
    // `examples/captures/calls/` (the fixtures the replay tests read) are
    // never touched by a run, however many runs there are.
    let _capture = capture_runtime::init();

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
    let after = capture_runtime::stats();

    // The store the capture sites above wrote to, found the same way they
    // found it (CAPTURE_DIR, else `captures/` in this crate's folder).
    let loader = match CaptureLoader::for_crate(env!("CARGO_MANIFEST_DIR")) {
        Ok(loader) => loader,
        Err(e) => {
            eprintln!("cannot open the capture store: {e}");
            return ExitCode::FAILURE;
        }
    };
    let functions = match loader.functions() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot read the capture store {}: {e}", loader.store().describe());
            return ExitCode::FAILURE;
        }
    };
    let (mut pending, mut this_run) = (0, 0);
    println!("\ncapture store: {}", loader.store().describe());
    for f in &functions {
        let calls = loader.load_all(f).unwrap_or_default();
        let mine = calls
            .iter()
            .filter(|c| c.metadata().pid == std::process::id() && c.timestamp() >= started)
            .count();
        let accepted = calls.iter().filter(|c| c.is_accepted()).count();
        println!(
            "  {f}: {accepted} accepted, {} pending, {mine} from this run",
            calls.len() - accepted
        );
        pending += calls.len() - accepted;
        this_run += mine;
    }
    println!(
        "this run captured {this_run} call(s) ({} written, {} failed, {} dropped)",
        after.written - before.written,
        after.failed - before.failed,
        after.dropped - before.dropped,
    );
    if after.written == before.written {
        println!("(capturing is off: it is on by default in debug builds outside CI; check CAPTURE_ENABLED and CI, or build without --release)");
    } else if pending > 0 {
        println!(
            "\nnext: {pending} pending capture(s) await review.\n  \
             CAPTURE_REPLAY=all cargo test -p capture-examples --test replay   # replay them against the code as it is\n  \
             CAPTURE_ACCEPT=new cargo run -p capture-examples                  # record again, accepting inputs not yet accepted\n  \
             then commit examples/captures (its .gitignore keeps pending captures out) and run cargo test"
        );
    }
    ExitCode::SUCCESS
}
