//! `replay_main!` in an edition-2015 crate, with no `extern crate`: it must
//! compile (and run: with no captures committed for this crate, each entry
//! is an ignored `no_captures` test).
#![deny(warnings)]

capture_test::replay_main! {
    capture_compat_2015::double,
    capture_compat_2015::Acc::add => snapshot,
    <capture_compat_2015::Acc as ::std::fmt::Display>::fmt => |text, _result| assert!(text.starts_with("acc ")),
}
