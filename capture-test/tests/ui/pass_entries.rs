mod shop {
    use capture_runtime::capture_args;
    #[capture_args(ret, ignore(password))]
    pub fn login(user: &str, password: &str) -> bool {
        !user.is_empty() && !password.is_empty()
    }
    #[capture_args(ret)]
    pub fn total(xs: &[f64]) -> f64 {
        xs.iter().sum()
    }
}

fn main() {
    let _ = capture_test::replay_outcomes!(shop::login with { password = "pw" } => ret);
    let _ = capture_test::replay_outcomes!(shop::total => ret(tolerance = 1e-9));
    let _ = capture_test::replay_outcomes!(shop::total => |xs, out| assert!(xs.len() < 100 && *out >= 0.0));
    let _ = capture_test::replay_outcomes!(shop::login => snapshot);
}
