//! The wrapped function never changes behaviour because of capture: a
//! `Serialize` that panics or errors, an unwritable store, invalid
//! configuration.

use capture_runtime::record::Slot;
use capture_runtime::{capture_args, CaptureLoader, Config};
use serde::{Serialize, Serializer};

struct Explosive(u32);
impl Serialize for Explosive {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("user Serialize panicked for {}", self.0)
    }
}

struct Refuses;
impl Serialize for Refuses {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this type refuses to be serialized"))
    }
}

#[capture_args]
fn uses_explosive(e: &Explosive, r: &Refuses, n: u32) -> u32 {
    let _ = r;
    e.0 + n
}

#[test]
fn panicking_or_failing_serialize_never_reaches_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    capture_runtime::configure(Config {
        dir: Some(dir.path().to_owned()),
        enabled: Some(true),
        ..Config::default()
    });
    assert_eq!(uses_explosive(&Explosive(2), &Refuses, 3), 5);
    let call = CaptureLoader::new(dir.path()).latest("uses_explosive").unwrap();
    let args = &call.metadata().args;
    assert!(
        matches!(&args[0].slot, Slot::Failed { error } if error.contains("panicked")),
        "{:?}",
        args[0].slot
    );
    assert!(
        matches!(&args[1].slot, Slot::Failed { error } if error.contains("returned an error") && !error.contains("refuses")),
        "the message is withheld (it may quote the value): {:?}",
        args[1].slot
    );
    assert_eq!(
        call.arg::<u32>("n").unwrap(),
        3,
        "the other arguments are still captured"
    );
    assert!(!call.metadata().not_replayable_reasons().is_empty());

    // A store that cannot be written (its root is a file): calls still work,
    // failures are counted.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    capture_runtime::configure(Config {
        dir: Some(blocker),
        enabled: Some(true),
        ..Config::default()
    });
    let before = capture_runtime::stats().failed;
    assert_eq!(uses_explosive(&Explosive(1), &Refuses, 1), 2);
    capture_runtime::flush(); // the background writer reports what it could not write
    assert!(capture_runtime::stats().failed > before, "write failures are counted");
}
