use capture_runtime::Reducible;

#[derive(Reducible)]
union Bits {
    a: u32,
    b: f32,
}

fn main() {}
