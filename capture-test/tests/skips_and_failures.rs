//! Captures that cannot be replayed are skipped with their reason (never
//! passed); replays that no longer match fail with a message that says what
//! differs and on which inputs.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use capture_runtime::capture_args;
use capture_test::{replay_outcomes, ReplayOutcome};
use common::{all_passed, failed, init, skipped};
use serde::Serialize;

#[derive(Debug)]
pub struct Opaque(pub u8);

#[capture_args(ret)]
pub fn opaque_len(o: &Opaque) -> u8 {
    o.0
}

#[capture_args(ret, ignore(password))]
pub fn login(user: &str, password: &str) -> bool {
    !user.is_empty() && password == "open sesame"
}

#[derive(Serialize)]
pub struct WriteOnly {
    pub n: u32,
}

#[capture_args(ret)]
pub fn write_only(w: &WriteOnly) -> u32 {
    w.n
}

#[capture_args(ret)]
pub fn blob_len(blob: &Vec<u8>) -> usize {
    blob.len()
}

#[capture_args]
pub fn no_ret(x: u32) -> u32 {
    x + 1
}

static TAX: AtomicU64 = AtomicU64::new(120);

#[capture_args(ret)]
pub fn with_tax(cents: u64) -> u64 {
    cents * TAX.load(Ordering::SeqCst) / 100
}

static STEP: AtomicU64 = AtomicU64::new(1);

#[capture_args(ret)]
pub fn bump_all(v: &mut Vec<u64>) -> usize {
    for x in v.iter_mut() {
        *x += STEP.load(Ordering::SeqCst);
    }
    v.len()
}

#[capture_args(ret)]
pub fn checked_div(a: u32, b: u32) -> u32 {
    a / b
}

#[capture_args(ret)]
pub fn never_called(x: u32) -> u32 {
    x
}

#[test]
fn placeholder_arguments_are_skipped_with_the_reason() {
    init();
    assert_eq!(opaque_len(&Opaque(3)), 3);
    let reason = skipped(&replay_outcomes!(opaque_len));
    assert!(reason.starts_with("argument `o`: placeholder:"), "{reason}");
    assert!(
        reason.contains("implements neither Reducible nor serde::Serialize"),
        "{reason}"
    );
}

#[test]
fn ignored_arguments_need_a_stand_in() {
    init();
    assert!(login("ada", "open sesame"));
    let reason = skipped(&replay_outcomes!(login));
    assert_eq!(
        reason,
        "argument `password`: ignored at capture time (`ignore(..)`); supply a stand-in value (`with { password = .. }`) to replay it"
    );
    all_passed(&replay_outcomes!(login with { password = "open sesame" }));
    let message = failed(&replay_outcomes!(login with { password = "wrong" }));
    assert!(message.contains("return: recorded true, now false"), "{message}");
}

#[test]
fn types_without_a_rebuild_path_are_skipped() {
    init();
    assert_eq!(write_only(&WriteOnly { n: 4 }), 4);
    let reason = skipped(&replay_outcomes!(write_only));
    assert!(
        reason.contains("cannot be rebuilt: derive Reducible or serde::Deserialize"),
        "{reason}"
    );
}

#[test]
fn missing_objects_are_skipped() {
    let root = init();
    assert_eq!(blob_len(&vec![1, 2, 3, 4, 5, 6, 7, 8, 9]), 9);
    let loader = capture_runtime::CaptureLoader::new(root);
    // Accepted: its objects are files of their own (a pending capture keeps
    // small ones inline), and one of them goes missing.
    assert_eq!(loader.accept_pending("blob_len", |_| true, false).unwrap().len(), 1);
    let call = loader.latest("blob_len").expect("captured");
    assert!(call.is_accepted());
    let capture_runtime::record::Slot::Stored { id, .. } = call.arg_record("blob").unwrap().slot else {
        panic!("stored")
    };
    std::fs::remove_file(root.join(capture_runtime::store::layout::object_key(&id))).expect("object file");
    let reason = skipped(&replay_outcomes!(blob_len));
    assert!(
        reason.starts_with("argument `blob`: stored value is missing"),
        "{reason}"
    );
}

#[test]
fn ret_mode_without_a_recorded_return_value_is_skipped() {
    init();
    assert_eq!(no_ret(1), 2);
    let reason = skipped(&replay_outcomes!(no_ret => ret));
    assert!(
        reason.starts_with("no return value was recorded: add `ret`"),
        "{reason}"
    );
    // Without `=> ret`, the replay still checks the call returns.
    all_passed(&replay_outcomes!(no_ret));
}

#[test]
fn functions_without_captures_are_reported_not_passed() {
    init();
    let outcomes = replay_outcomes!(never_called);
    assert_eq!(outcomes[0].0, "never_called::no_captures");
    if capture_runtime::config::env_config().ci {
        // In CI an entry with nothing to replay fails, unless it says it may.
        assert!(failed(&outcomes).contains("allow_empty"));
    } else {
        assert!(skipped(&outcomes).starts_with("no stored calls of `skips_and_failures::never_called`"));
    }
    let lenient = replay_outcomes!(never_called allow_empty);
    assert!(skipped(&lenient).starts_with("no stored calls of `skips_and_failures::never_called`"));
}

#[test]
fn a_changed_return_value_fails_with_the_difference_and_inputs() {
    init();
    assert_eq!(with_tax(100), 120);
    all_passed(&replay_outcomes!(with_tax));
    TAX.store(125, Ordering::SeqCst);
    let outcomes = replay_outcomes!(with_tax);
    let message = failed(&outcomes);
    let id = outcomes[0].0.rsplit("::").next().unwrap();
    assert!(
        message.starts_with(&format!(
            "replay of `skips_and_failures::with_tax` capture {id} failed:\n"
        )),
        "{message}"
    );
    assert!(
        message.contains("the return value differs from the recorded one:\n  return: recorded 120, now 125"),
        "{message}"
    );
    assert!(message.contains("  inputs:\n    cents: u64 = 100\n"), "{message}");
}

#[test]
fn a_changed_after_state_fails() {
    init();
    let mut v = vec![1, 2];
    bump_all(&mut v);
    STEP.store(2, Ordering::SeqCst);
    let message = failed(&replay_outcomes!(bump_all));
    assert!(
        message.contains("`&mut v` after the call differs from the recorded after-state:\n  v[0]: recorded 2, now 3\n  v[1]: recorded 3, now 4"),
        "{message}"
    );
}

#[test]
fn recorded_panics_replay_as_panics() {
    init();
    assert!(std::panic::catch_unwind(|| checked_div(1, 0)).is_err());
    let outcomes = replay_outcomes!(checked_div);
    match &outcomes[0].1 {
        ReplayOutcome::Passed { notes } => assert_eq!(notes, &["panicked, as the recorded call did"]),
        other => panic!("{other:?}"),
    }
}
