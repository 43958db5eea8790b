//! Reporting capture's own failures: once per kind, with a count.
//!
//! A failure that repeats (a full disk fails every write, each with its own
//! temp path in the message) must not flood the log, and a flood of one kind
//! must not hide a later, different failure. So each report names a *kind*
//! (a stable label: what failed and the error's class, without paths or
//! values); the first report of a kind is logged in full, later ones are
//! counted and logged again only when the count reaches 10, 100, 1,000, ...,
//! with the latest message. At most [`MAX_KINDS`] kinds are told apart; past
//! that, reports are counted under one catch-all kind.
//!
//! Every message is built by capture itself from names, paths and type
//! names: never from a captured value (serializer errors are withheld,
//! `Debug` text is not logged).

use std::sync::Mutex;

/// Kinds told apart, at most.
pub const MAX_KINDS: usize = 256;

struct Seen {
    kind: String,
    count: u64,
}

static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
static LOGGED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Report `message`, of kind `kind` (see the module docs): logged through
/// `tracing` and on stderr the first time a kind is seen and when its count
/// reaches a power of ten.
pub(crate) fn report(kind: &str, message: &str) {
    let count = {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        let kind = if seen.len() >= MAX_KINDS && !seen.iter().any(|s| s.kind == kind) {
            "other failures (too many kinds to tell apart)"
        } else {
            kind
        };
        match seen.iter_mut().find(|s| s.kind == kind) {
            Some(s) => {
                s.count += 1;
                s.count
            }
            None => {
                seen.push(Seen {
                    kind: kind.to_owned(),
                    count: 1,
                });
                1
            }
        }
    };
    let line = if count == 1 {
        message.to_owned()
    } else if is_power_of_ten(count) {
        format!("{message} ({count} times so far)")
    } else {
        return;
    };
    tracing::error!(target: "capture", "{line}");
    eprintln!("capture: {line}");
    LOGGED.lock().unwrap_or_else(|e| e.into_inner()).push(line);
}

/// Report a message that is its own kind (a fixed text, or one that names
/// only what does not vary between repeats).
pub(crate) fn report_once(message: &str) {
    report(message, message);
}

fn is_power_of_ten(mut n: u64) -> bool {
    while n >= 10 && n.is_multiple_of(10) {
        n /= 10;
    }
    n == 1
}

/// Every line logged so far in this process (each went to `tracing` and,
/// prefixed with `capture: `, to stderr). For tests that check what capture
/// logs.
///
/// ```
/// assert!(capture_runtime::config::reported_messages().len() < 100_000);
/// ```
#[doc(hidden)]
pub fn reported_messages() -> Vec<String> {
    LOGGED.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// How often each kind of failure was reported in this process.
///
/// ```
/// for (kind, n) in capture_runtime::config::reported_counts() {
///     assert!(n >= 1, "{kind}");
/// }
/// ```
#[doc(hidden)]
pub fn reported_counts() -> Vec<(String, u64)> {
    SEEN.lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|s| (s.kind.clone(), s.count))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeating_failure_logs_once_per_power_of_ten_and_others_still_show() {
        let kind = "test kind: disk full";
        for i in 0..1000 {
            report(
                kind,
                &format!("could not write /store/tmp/{i}.tmp: No space left on device"),
            );
        }
        report("test kind: another", "a different failure after the flood");
        let logged = reported_messages();
        let ours: Vec<&String> = logged.iter().filter(|m| m.contains("No space left")).collect();
        assert_eq!(ours.len(), 4, "1st, 10th, 100th, 1000th: {ours:?}");
        assert!(ours[3].contains("1000 times so far"), "{}", ours[3]);
        assert!(logged.iter().any(|m| m == "a different failure after the flood"));
        let counts = reported_counts();
        assert!(counts.contains(&(kind.to_owned(), 1000)), "{counts:?}");
    }

    #[test]
    fn powers_of_ten() {
        let p: Vec<u64> = (1..=1000).filter(|&n| is_power_of_ten(n)).collect();
        assert_eq!(p, [1, 10, 100, 1000]);
    }
}
