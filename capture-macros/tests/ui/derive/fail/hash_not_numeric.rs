use capture_runtime::Reducible;

// `hash = sampled` needs a numeric buffer.
#[derive(Reducible)]
struct Order {
    #[reduce(hash = sampled)]
    note: String,
    #[reduce(hash = sampled)]
    lines: Vec<(u32, f64)>,
}

fn main() {}
