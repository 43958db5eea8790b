use capture_runtime::Reducible;

// An unknown strategy, a value that is not one, a skipped sampled field and
// `hash` on the container.
#[derive(Reducible)]
#[reduce(hash = sampled)]
struct Options {
    #[reduce(hash = fast)]
    a: Vec<f64>,
    #[reduce(hash = 1 + 2)]
    b: Vec<f64>,
    #[reduce(skip, hash = sampled)]
    c: Vec<f64>,
}

fn main() {}
