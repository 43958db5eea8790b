mod shop {
    #[capture_runtime::capture_args(ret, ignore(password))]
    pub fn login(user: &str, password: &str) -> bool {
        !user.is_empty() && !password.is_empty()
    }
}

capture_test::replay_main! {
    shop::login with { password: "pw" },
}
