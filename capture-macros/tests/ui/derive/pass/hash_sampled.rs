use capture_runtime::Reducible;

// `hash = sampled` on every kind of numeric buffer and field position;
// `hash = exact` is the default, spelled out.
#[derive(Reducible)]
struct Dataset {
    name: String,
    #[reduce(hash = sampled)]
    values: Vec<f64>,
    #[reduce(hash = "sampled")]
    bytes: [u8; 16],
    #[reduce(hash = exact)]
    weights: Vec<f32>,
}

#[derive(Reducible)]
struct Borrowed<'a> {
    #[reduce(hash = sampled)]
    frame: &'a [f32],
}

#[derive(Reducible)]
struct Generic<T: Copy> {
    #[reduce(hash = sampled)]
    data: Vec<T>,
}

#[derive(Reducible)]
struct Tuple(#[reduce(hash = sampled)] Vec<i64>, u8);

#[derive(Reducible)]
enum Input {
    Raw(#[reduce(hash = sampled)] Vec<u16>),
    Named {
        #[reduce(hash = sampled, rename = "samples")]
        data: Vec<i32>,
    },
    Empty,
}

fn main() {
    fn is_reducible<T: capture_runtime::Reducible>() {}
    is_reducible::<Dataset>();
    is_reducible::<Borrowed<'static>>();
    is_reducible::<Generic<f64>>();
    is_reducible::<Tuple>();
    is_reducible::<Input>();
}
