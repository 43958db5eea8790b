//! Redacted arguments and parts: skipped with the reason and the stand-in to
//! supply (never a false "schema drift"); PII-redacted text is replayed as
//! recorded only when the entry opts in. Redacted parts of return values are
//! reported as not compared, never counted as equal.

mod common;

use capture_runtime::capture_args;
use capture_test::{replay_outcomes, ReplayOutcome};
use common::{all_passed, init, skipped};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Login {
    pub user: String,
    pub password: String,
}

#[capture_args(ret)]
pub fn can_log_in(login: &Login) -> bool {
    login.password.len() >= 4
}

/// The whole argument is redacted by its name.
#[capture_args(ret)]
pub fn token_len(token: &str) -> usize {
    token.len()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: u32,
    pub email: String,
}

#[capture_args(ret)]
pub fn domain(c: &Customer) -> String {
    c.email.rsplit('@').next().unwrap_or_default().to_owned()
}

#[capture_args(ret)]
pub fn customer_id(c: &Customer) -> u32 {
    c.id
}

/// Returns PII: the recorded return value holds redaction text.
#[capture_args(ret)]
pub fn contact(id: u32) -> Customer {
    Customer {
        id,
        email: format!("user{id}@example.com"),
    }
}

#[test]
fn an_argument_redacted_by_name_is_skipped() {
    init();
    assert_eq!(token_len("abc123"), 6);
    assert_eq!(
        skipped(&replay_outcomes!(token_len)),
        "argument `token`: redacted at capture time (name:token); supply a stand-in value (`with { token = .. }`) to replay it"
    );
    all_passed(&replay_outcomes!(token_len with { token = "abc123" }));
}

#[test]
fn a_struct_with_a_password_field_is_skipped_not_drift() {
    init();
    let login = Login {
        user: "ada".into(),
        password: "hunter22".into(),
    };
    assert!(can_log_in(&login));
    let reason = skipped(&replay_outcomes!(can_log_in));
    assert_eq!(
        reason,
        "argument `login` has parts that were not stored (redacted at capture time): login.password (name:password); supply stand-ins (`with { login.password = .. }`)"
    );
    assert!(!reason.contains("drift"), "{reason}");
    // With a stand-in, the call replays (and the check is real).
    all_passed(&replay_outcomes!(can_log_in with { login.password = "secret-pw" }));
    let outcomes = replay_outcomes!(can_log_in with { login.password = "pw" });
    assert!(
        matches!(&outcomes[0].1, ReplayOutcome::Failed { message } if message.contains("return: recorded true, now false")),
        "{outcomes:#?}"
    );
}

#[test]
fn pii_redacted_text_is_skipped_unless_supplied_or_replayed_as_recorded() {
    init();
    let c = Customer {
        id: 7,
        email: "grace@example.org".into(),
    };
    assert_eq!(domain(&c), "example.org");
    assert_eq!(customer_id(&c), 7);
    let reason = skipped(&replay_outcomes!(domain));
    assert!(
        reason.starts_with("argument `c` has text redacted at capture time: c.email (pii:email); supply stand-ins (`with { c.email = .. }`), or add `redacted_as_recorded`"),
        "{reason}"
    );
    // A stand-in gives the function a real e-mail again.
    all_passed(&replay_outcomes!(domain with { c.email = "someone@example.org" }));
    // Replayed as recorded, a function that does not read the text passes,
    // with a note saying what was redacted.
    let outcomes = replay_outcomes!(customer_id redacted_as_recorded);
    match &outcomes[..] {
        [(_, ReplayOutcome::Passed { notes })] => assert!(
            notes
                .iter()
                .any(|n| n.contains("PII redacted at capture time, replayed as recorded: c.email (pii:email)")),
            "{notes:?}"
        ),
        other => panic!("{other:#?}"),
    }
}

#[test]
fn redacted_parts_of_a_return_value_are_reported_not_counted_equal() {
    init();
    assert_eq!(contact(3).id, 3);
    let outcomes = replay_outcomes!(contact);
    match &outcomes[..] {
        [(_, ReplayOutcome::Passed { notes })] => assert!(
            notes
                .iter()
                .any(|n| n.starts_with("not compared in the return value") && n.contains("return.email (pii:email)")),
            "{notes:?}"
        ),
        other => panic!("{other:#?}"),
    }
}
