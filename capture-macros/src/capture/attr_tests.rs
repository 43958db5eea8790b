//! The attribute's duration and size options against the grammar shared with
//! the environment (`humane.rs`, whose table both crates test).

use super::humane::{DURATION_CASES, SIZE_CASES};
use super::{parse, Options};
use proc_macro2::TokenStream;
use quote::quote;

fn options(attr: TokenStream) -> Result<Options, Vec<String>> {
    let mut errors = Vec::new();
    let opts = parse(attr, &mut errors);
    if errors.is_empty() {
        Ok(opts)
    } else {
        Err(errors.iter().map(|e| e.to_string()).collect())
    }
}

fn max_age(text: &str) -> Result<u64, Vec<String>> {
    options(quote!(max_age = #text)).map(|o| o.max_age_secs.expect("max_age set").value)
}

#[test]
fn max_age_takes_humane_durations() {
    assert_eq!(max_age("7d"), Ok(604_800));
    assert_eq!(max_age("1h30m"), Ok(5_400));
    assert_eq!(max_age("2 weeks"), Ok(1_209_600));
    assert_eq!(max_age("1s"), Ok(1));
}

#[test]
fn max_age_accepts_exactly_the_environment_grammar() {
    // Everything `CAPTURE_MAX_AGE` accepts the attribute accepts with the
    // same value, unless it is 0 or not whole seconds (both explained).
    for &(text, want_ms) in DURATION_CASES {
        match (want_ms, max_age(text)) {
            (Some(ms), Ok(secs)) => assert_eq!(secs * 1_000, ms, "{text:?}"),
            (Some(0), Err(e)) => assert!(e[0].contains("must be longer than 0s"), "{text:?}: {e:?}"),
            (Some(ms), Err(e)) if ms % 1_000 != 0 => {
                assert!(e[0].contains("counts whole seconds"), "{text:?}: {e:?}")
            }
            (None, Err(_)) => {}
            (want, got) => panic!("{text:?}: environment says {want:?}, attribute says {got:?}"),
        }
    }
}

#[test]
fn zero_and_fractional_ages_are_rejected_with_what_to_do() {
    let e = max_age("0s").unwrap_err();
    assert_eq!(e.len(), 1);
    assert!(
        e[0].contains("`max_age` must be longer than 0s") && e[0].contains("leave `max_age` out"),
        "{e:?}"
    );
    let e = max_age("1500ms").unwrap_err();
    assert!(e[0].contains("whole seconds") && e[0].contains("\"2s\""), "{e:?}");
    let e = max_age("soon").unwrap_err();
    assert!(e[0].contains("`soon` is not a duration"), "{e:?}");
}

#[test]
fn cache_ttl_uses_the_same_grammar() {
    let o = options(quote!(cache, cache_ttl = "1h30m")).unwrap();
    assert_eq!(o.cache_ttl_secs.unwrap().value, 5_400);
    let e = options(quote!(cache, cache_ttl = "0m")).err().unwrap();
    assert!(e[0].contains("`cache_ttl` must be longer than 0s"), "{e:?}");
}

#[test]
fn sizes_accept_exactly_the_environment_grammar() {
    for &(text, want) in SIZE_CASES {
        let got = options(quote!(max_size = #text)).map(|o| o.max_size.unwrap().value);
        match want {
            Some(n) => assert_eq!(got, Ok(n), "{text:?}"),
            None => assert!(got.is_err(), "{text:?}"),
        }
        let got = options(quote!(cache, cache_max_bytes = #text)).map(|o| o.cache_max_bytes.unwrap().value);
        assert_eq!(got.is_ok(), want.is_some(), "cache_max_bytes = {text:?}");
    }
}
