use capture_runtime::Reducible;

#[derive(Reducible)]
#[reduce(skip, unknown = 1)]
struct Conn {
    #[reduce(skip, with = some_module)]
    a: u8,
    #[reduce(placeholder, with = some_module)]
    b: u8,
    #[reduce(skip, placeholder)]
    c: u8,
    #[reduce(frobnicate)]
    d: u8,
    #[reduce(rename = "e")]
    e2: u8,
    e: u8,
    #[reduce(bound = "T: Clone")]
    f: u8,
    #[reduce(rename = "g", rename = "h")]
    g: u8,
}

fn main() {}
