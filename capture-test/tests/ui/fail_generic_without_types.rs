mod stats {
    #[capture_runtime::capture_args(ret)]
    pub fn largest<T: PartialOrd + Copy + serde::Serialize>(xs: &[T]) -> T {
        xs[0]
    }
}

capture_test::replay_main! {
    stats::largest,
}
