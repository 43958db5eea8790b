//! Helpers for hand-written tests: `calls_of!` finds a function's captures
//! through its adapter (honouring `path = ..`), `load_args!` rebuilds them as
//! the function's types, `assert_ret_eq!` compares like a replay and names
//! the call by its replay id, `assert_replays!` fails when nothing replayed.

mod common;

use std::rc::Rc;

use capture_runtime::{capture_args, Reducible};
use capture_test::{assert_ret_eq, calls_of, load_args, LoadError};
use common::init;
use serde::{Deserialize, Serialize};

/// Captured into a folder of its own, not the store `configure()` names.
#[capture_args(ret, path = "../target/capture-test-helpers")]
pub fn share(total_cents: u64, people: u32) -> u64 {
    total_cents / people as u64
}

#[capture_args(ret)]
pub fn halve(total_cents: u64) -> u64 {
    total_cents / 2
}

#[derive(Clone, Debug, PartialEq, Reducible)]
pub struct Team {
    pub lead: Rc<String>,
    pub members: Vec<Rc<String>>,
}

#[capture_args(ret)]
pub fn lead_is_member(team: &Team, name: &str) -> bool {
    team.members.iter().any(|m| Rc::ptr_eq(m, &team.lead)) && team.lead.as_str() == name
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: u32,
    pub secret: String,
}

#[capture_args(ret)]
pub fn account_id(account: &Account) -> u32 {
    account.id
}

#[test]
fn calls_of_locates_the_store_through_the_adapter() {
    init();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/capture-test-helpers");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(share(1000, 4), 250);
    assert_eq!(share(999, 3), 333);
    let calls = calls_of!(share).unwrap();
    assert_eq!(calls.len(), 2);
    assert!(calls[0].key().contains("share"));
    // Typed, rebuilt as the function takes them.
    let args: Vec<(u64, u32)> = calls.iter().map(|c| load_args!(share, c).unwrap()).collect();
    assert_eq!(args, [(1000, 4), (999, 3)]);
    for (call, (cents, people)) in calls.iter().zip(args) {
        assert_ret_eq!(share, call, share(cents, people));
    }
}

#[test]
fn load_args_rebuilds_reducible_values_with_sharing() {
    init();
    let ada = Rc::new("ada".to_string());
    let team = Team {
        lead: ada.clone(),
        members: vec![Rc::new("bob".into()), ada],
    };
    assert!(lead_is_member(&team, "ada"));
    let call = calls_of!(lead_is_member).unwrap().pop().unwrap();
    let (team_back, name): (Team, String) = load_args!(lead_is_member, &call).unwrap();
    assert!(Rc::ptr_eq(&team_back.lead, &team_back.members[1]));
    assert_eq!(name, "ada");
    assert_ret_eq!(lead_is_member, &call, lead_is_member(&team_back, &name));
}

#[test]
fn load_args_reports_what_cannot_be_rebuilt_and_takes_stand_ins() {
    init();
    account_id(&Account {
        id: 5,
        secret: "s3cr3t".into(),
    });
    let call = calls_of!(account_id).unwrap().pop().unwrap();
    match load_args!(account_id, &call) {
        Err(LoadError::NotReplayable(reason)) => assert!(reason.contains("account.secret (name:secret)"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let (account,) = load_args!(account_id with { account.secret = "test" }, &call).unwrap();
    assert_eq!(
        account,
        Account {
            id: 5,
            secret: "test".into()
        }
    );
}

#[test]
fn assert_ret_eq_fails_with_the_replay_id_and_the_difference() {
    init();
    assert_eq!(halve(10), 5);
    let call = calls_of!(halve).unwrap().pop().unwrap();
    assert_ret_eq!(halve, &call, 5u64);
    let id = capture_runtime::replay::replay_id(&call);
    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| assert_ret_eq!(halve, &call, 6u64))).unwrap_err();
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        text.starts_with(&format!("replay of `helpers::halve` capture {id} failed:\nthe return value differs from the recorded one:\n  return: recorded 5, now 6")),
        "{text}"
    );
}

#[test]
fn assert_replays_fails_when_nothing_was_replayed() {
    init();
    account_id(&Account {
        id: 6,
        secret: "x".into(),
    });
    let panic = std::panic::catch_unwind(|| capture_test::assert_replays!(account_id)).unwrap_err();
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.starts_with("no stored call was replayed ("), "{text}");
    capture_test::assert_replays!(account_id with { account.secret = "y" });
}
