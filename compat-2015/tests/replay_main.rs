//! `replay_main!` in an edition-2015 crate, with no `extern crate`: it must
//! compile (and run: with no captures committed for this crate, each entry
//! is an ignored `no_captures` test, in CI too, as each says `allow_empty`).
#![deny(warnings)]

capture_test::replay_main! {
    capture_compat_2015::double allow_empty,
    capture_compat_2015::Acc::add allow_empty => snapshot,
    <capture_compat_2015::Acc as ::std::fmt::Display>::fmt allow_empty => |text, _result| assert!(text.starts_with("acc ")),
}
