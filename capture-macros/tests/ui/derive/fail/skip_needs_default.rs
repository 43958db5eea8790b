use capture_runtime::Reducible;

struct NoDefault;

#[derive(Reducible)]
struct Conn {
    name: String,
    #[reduce(skip)]
    handle: NoDefault,
}

fn main() {}
