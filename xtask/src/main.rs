fn main() {
    eprintln!("usage: cargo xtask <ci|bench>");
}
