pub trait Pricing {
    fn total(&self) -> u64;
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Cart(pub u64);

impl Pricing for Cart {
    // Without #[capture_args] on the `impl` block, the replay adapter would
    // be an extra item of a trait impl: the error names the fix.
    #[capture_runtime::capture_args(self, ret)]
    fn total(&self) -> u64 {
        self.0
    }
}

fn main() {}
