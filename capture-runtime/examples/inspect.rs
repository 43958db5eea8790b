//! Print every stored call of a store: `cargo run -p capture-runtime --example inspect -- <store>`.
fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "captures".into());
    let loader = capture_runtime::CaptureLoader::new(&dir);
    for f in loader.functions().expect("store") {
        for call in loader.load_all(&f).expect("calls") {
            let m = call.metadata();
            println!(
                "{f} [{}] outcome={:?} depth={} thread={:?}",
                call.capture_id(),
                m.outcome,
                m.depth,
                m.thread_name
            );
            for a in &m.args {
                let v = call
                    .value(&a.name)
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_else(|e| e.to_string());
                println!("  {}: {} = {}", a.name, a.type_name, v);
            }
            if m.ret.is_some() {
                println!("  -> {:?}", call.metadata().ret.as_ref().map(|r| &r.slot));
            }
        }
    }
}
