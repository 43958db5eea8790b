use capture_runtime::Reducible;

#[derive(Reducible)]
#[reduce(constructor = "Conn::new(host, nope, host, cache)")]
struct Conn {
    host: String,
    port: u16,
    #[reduce(skip)]
    cache: Vec<u8>,
}

#[derive(Reducible)]
#[reduce(constructor = "Pair::new(a)")]
struct Pair(u8, u8);

#[derive(Reducible)]
#[reduce(constructor = "make")]
enum E {
    A,
}

#[derive(Reducible)]
#[reduce(constructor = "1 + 2")]
struct Weird {}

fn main() {}
