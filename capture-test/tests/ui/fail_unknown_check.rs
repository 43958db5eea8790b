mod shop {
    #[capture_runtime::capture_args(ret)]
    pub fn total(xs: &[u32]) -> u32 {
        xs.iter().sum()
    }
}

capture_test::replay_main! {
    shop::total => snapshoot,
}
