use capture_runtime::Reducible;

// A malformed `bound` and a non-type `into`/`from`.
#[derive(Reducible)]
#[reduce(bound = "T: +", into = 1 + 2, from = [u8; 3])]
struct Proxy<T> {
    x: T,
}

// `with` and `default` need paths; `rename` needs a name.
#[derive(Reducible)]
struct Fields {
    #[reduce(with = 3)]
    a: u8,
    #[reduce(default = 1 + 1)]
    b: u8,
    #[reduce(rename = "")]
    c: u8,
}

// `rename` on a tuple field.
#[derive(Reducible)]
struct Tuple(#[reduce(rename = "first")] u8);

// Two variants stored under one name; an unknown variant option.
#[derive(Reducible)]
enum Clash {
    #[reduce(rename = "B")]
    A,
    B,
    #[reduce(skip)]
    C,
}

fn main() {}
