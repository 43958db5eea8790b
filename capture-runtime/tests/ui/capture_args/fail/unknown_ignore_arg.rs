use capture_runtime::capture_args;

#[capture_args(ignore(pasword))]
fn login(user: &str, password: &str) -> bool {
    user == password
}

fn main() {}
