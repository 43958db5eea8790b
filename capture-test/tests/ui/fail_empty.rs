capture_test::replay_main! {}
