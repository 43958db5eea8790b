//! Signatures real crates use, which capture must compile, record and replay
//! as written: `Display::fmt(&self, f: &mut fmt::Formatter)`, a method of an
//! `impl<'a> Lexer<'a>` borrowing for `'a`, a function re-exported from a
//! private module, `Result<T, E>` where only `E` lacks serde, `cmp::Ordering`,
//! generic arguments, `#[deprecated]` functions under `-D warnings`, and
//! hostile sizes and depths that must not slow down or abort the caller.
#![deny(warnings)]

mod common;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use capture_runtime::record::Slot;
use capture_runtime::{capture_args, CaptureLoader};
use capture_test::replay_outcomes;
use common::{all_passed, failed, init};
use serde::{Deserialize, Serialize};

/// Flipped by a test to make the functions below behave differently, so
/// replays that should fail are seen to fail.
static CHANGED: AtomicBool = AtomicBool::new(false);

fn changed() -> bool {
    CHANGED.load(AtomicOrdering::SeqCst)
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Point {
    pub x: i32,
}

#[capture_args]
impl fmt::Display for Point {
    // Written the usual way: `fmt::Formatter` with its lifetime elided.
    #[capture_args(self, ret)]
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "({})", self.x + i32::from(changed()))
    }
}

#[derive(Debug)]
pub struct Lexer<'a> {
    input: &'a str,
    at: usize,
}

impl<'a> Lexer<'a> {
    #[capture_args(ret)]
    pub fn new(input: &'a str) -> Self {
        Lexer {
            input: input.trim(),
            at: usize::from(changed()),
        }
    }

    #[capture_args(ret)]
    pub fn words(input: &'a str, skip: usize) -> Vec<&'a str> {
        input.split_whitespace().skip(skip).collect()
    }

    pub fn rest(&self) -> &'a str {
        &self.input[self.at..]
    }
}

/// Defined in a private module and re-exported, as real crates do.
pub mod units {
    mod duration {
        use capture_runtime::capture_args;

        #[capture_args(ret)]
        pub fn parse_seconds(text: &str) -> Result<u64, std::num::ParseIntError> {
            let n: u64 = text.trim_end_matches('s').parse()?;
            Ok(n + u64::from(super::super::changed()))
        }
    }
    pub use duration::parse_seconds;
}

/// A crate's own error type, without serde.
#[derive(Debug, PartialEq)]
pub struct BadNumber {
    pub text: String,
}

#[capture_args(ret)]
pub fn parse_count(text: &str) -> Result<u32, BadNumber> {
    match text.parse::<u32>() {
        Ok(n) => Ok(n * if changed() { 2 } else { 1 }),
        Err(_) => Err(BadNumber { text: text.into() }),
    }
}

#[capture_args(ret)]
pub fn by_length(a: &str, b: &str) -> std::cmp::Ordering {
    let o = a.len().cmp(&b.len());
    if changed() {
        o.reverse()
    } else {
        o
    }
}

#[capture_args(ret)]
pub fn join<'s, I: IntoIterator<Item = &'s str>>(words: I) -> String {
    words.into_iter().collect::<Vec<_>>().join(" ")
}

#[deprecated(note = "use `parse_count`")]
#[capture_args(ret)]
pub fn old_count(text: &str) -> usize {
    text.len()
}

#[capture_args]
pub fn take_text(text: &str) -> usize {
    text.len()
}

#[derive(Debug, Serialize)]
pub struct Nest {
    inner: Option<Box<Nest>>,
}

/// `Debug` only: recorded as a placeholder from its `Debug` text.
#[derive(Debug)]
pub struct DebugNest {
    pub inner: Option<Box<DebugNest>>,
}

#[capture_args]
pub fn depth_of(nest: &Nest, debug_nest: &DebugNest) -> usize {
    let mut n = 0;
    let mut at = nest.inner.as_deref();
    while let Some(x) = at {
        n += 1;
        at = x.inner.as_deref();
    }
    let _ = debug_nest;
    n
}

/// Extension traits on types this crate cannot give an inherent `impl`
/// (`str`, `String`, a blanket impl): captured, though no entry can replay
/// them (there is nowhere to put their adapters).
pub trait Shout {
    fn shout(&self) -> String;
}

#[capture_args]
impl Shout for str {
    #[capture_args(self, ret)]
    fn shout(&self) -> String {
        self.to_uppercase()
    }
}

#[capture_args]
impl Shout for String {
    #[capture_args(self, ret)]
    fn shout(&self) -> String {
        self.as_str().shout()
    }
}

pub trait Whisper {
    fn whisper(&self) -> String;
}

#[capture_args]
impl<T: ?Sized + Shout> Whisper for T {
    #[capture_args(ret)]
    fn whisper(&self) -> String {
        self.shout().to_lowercase()
    }
}

fn latest(function: &str) -> capture_runtime::CapturedCall {
    CaptureLoader::new(init()).latest(function).expect("a capture")
}

/// One lock for the tests that flip [`CHANGED`] (tests run in parallel).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn with_changed<T>(f: impl FnOnce() -> T) -> T {
    CHANGED.store(true, AtomicOrdering::SeqCst);
    let out = f();
    CHANGED.store(false, AtomicOrdering::SeqCst);
    out
}

#[test]
fn display_fmt_with_an_elided_formatter_compiles_and_replays() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    assert_eq!(Point { x: 4 }.to_string(), "(4)");
    let call = latest("<Point as Display>::fmt");
    let f = call
        .metadata()
        .args
        .iter()
        .find(|a| a.name == "f")
        .expect("the formatter is named");
    assert_eq!(f.slot, Slot::Ignored, "a formatter is never encoded");
    all_passed(&replay_outcomes!(<Point as fmt::Display>::fmt));
    // Checks see what the replayed call wrote.
    all_passed(&replay_outcomes!(<Point as fmt::Display>::fmt => |text, result| {
        assert_eq!(text, "(4)");
        assert!(result.is_ok());
    }));
    let outcomes =
        with_changed(|| replay_outcomes!(<Point as fmt::Display>::fmt => |text, _result| assert_eq!(text, "(4)")));
    assert!(failed(&outcomes).contains("(5)"), "{outcomes:#?}");
}

#[test]
fn methods_borrowing_for_the_impl_lifetime_compile_and_replay() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    let lexer = Lexer::new("  let x ");
    assert_eq!(lexer.rest(), "let x");
    assert_eq!(Lexer::words("a b c", 1), ["b", "c"]);
    // `Lexer` has no serde: its return value is compared by `Debug` text.
    let outcomes = replay_outcomes!(Lexer::new);
    all_passed(&outcomes);
    all_passed(&replay_outcomes!(Lexer::words));
    let message = with_changed(|| failed(&replay_outcomes!(Lexer::new)));
    assert!(message.contains("compared by `Debug` text"), "{message}");
    assert!(message.contains("at: 1"), "{message}");
}

#[test]
fn entries_name_functions_through_their_re_exports() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    assert_eq!(units::parse_seconds("30s"), Ok(30));
    assert!(units::parse_seconds("soon").is_err());
    // `units::duration` is private: only the re-export reaches the function.
    assert_eq!(all_passed(&replay_outcomes!(units::parse_seconds)), 2);
    let outcomes = with_changed(|| replay_outcomes!(units::parse_seconds));
    assert!(
        outcomes
            .iter()
            .any(|(_, o)| matches!(o, capture_test::ReplayOutcome::Failed { .. })),
        "{outcomes:#?}"
    );
}

#[test]
fn a_result_whose_error_lacks_serde_keeps_its_ok_values() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    assert_eq!(parse_count("21"), Ok(21));
    let ok = latest("parse_count");
    let ret = ok.metadata().ret.as_ref().expect("ret recorded");
    assert!(
        matches!(ret.slot, Slot::Stored { .. }),
        "the Ok value is stored: {:?}",
        ret.slot
    );
    assert!(parse_count("many").is_err());
    let err = latest("parse_count");
    // `Err(..)` stored, with a placeholder for the error only, naming its type.
    let ret = err.metadata().ret.as_ref().expect("ret recorded");
    let value = err
        .decode_record(
            ret,
            |codec, bytes| codec.decode::<capture_runtime::value::Value>(bytes),
            "Value",
        )
        .expect("the Err value is stored");
    let text = format!("{value:?}");
    assert!(text.contains("\"Err\""), "{text}");
    assert!(
        text.contains("real_signatures::BadNumber"),
        "the placeholder names the part: {text}"
    );
    assert!(
        text.contains("BadNumber { text: \\\"many\\\" }"),
        "with its Debug text: {text}"
    );
    assert!(!text.contains("core::result::Result"), "not Result: {text}");
    let outcomes = replay_outcomes!(parse_count);
    assert_eq!(all_passed(&outcomes), 2);
    let outcomes = with_changed(|| replay_outcomes!(parse_count));
    let failures: Vec<_> = outcomes
        .iter()
        .filter_map(|(_, o)| match o {
            capture_test::ReplayOutcome::Failed { message } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        failures.len(),
        1,
        "the Ok capture fails, the Err one passes: {outcomes:#?}"
    );
    assert!(failures[0].contains("42"), "{}", failures[0]);
}

#[test]
fn std_ordering_is_captured_and_compared() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    init();
    assert_eq!(by_length("a", "bb"), std::cmp::Ordering::Less);
    let ret = latest("by_length").metadata().ret.clone().expect("ret recorded");
    assert!(matches!(ret.slot, Slot::Stored { .. }), "{:?}", ret.slot);
    all_passed(&replay_outcomes!(by_length));
    let message = with_changed(|| failed(&replay_outcomes!(by_length)));
    assert!(message.contains("Greater"), "{message}");
}

#[test]
fn a_generic_argument_placeholder_blames_the_bounds() {
    init();
    assert_eq!(join(vec!["a", "b"]), "a b");
    let call = latest("join");
    let text = format!("{:?}", call.metadata().args);
    assert!(text.contains("generic parameter `I`"), "{text}");
    assert!(text.contains("serde::Serialize"), "{text}");
    assert!(!text.contains("implements neither"), "{text}");
}

#[test]
#[allow(deprecated)]
fn deprecated_functions_replay_without_warnings() {
    init();
    assert_eq!(old_count("abc"), 3);
    // This file denies warnings: the entry compiling is the check.
    all_passed(&replay_outcomes!(old_count));
}

#[test]
fn one_giant_argument_is_dropped_with_a_marker_by_default() {
    init();
    let giant = "x".repeat(5 << 20);
    assert_eq!(take_text(&giant), 5 << 20);
    let call = latest("take_text");
    let slot = &call.metadata().args[0].slot;
    assert!(
        matches!(slot, Slot::TooLarge { limit } if *limit == capture_runtime::config::DEFAULT_MAX_SIZE),
        "{slot:?}"
    );
}

#[test]
fn deep_values_do_not_overflow_a_small_stack() {
    init();
    const LEVELS: usize = 10_000;
    let mut nest = Nest { inner: None };
    let mut debug_nest = DebugNest { inner: None };
    for _ in 0..LEVELS {
        nest = Nest {
            inner: Some(Box::new(nest)),
        };
        debug_nest = DebugNest {
            inner: Some(Box::new(debug_nest)),
        };
    }
    // A 2 MiB thread, as many runtimes give their workers; before the depth
    // limit this aborted the whole test process with a stack overflow.
    let depth = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn_scoped(s, || depth_of(&nest, &debug_nest))
            .expect("thread")
            .join()
            .expect("no panic")
    });
    assert_eq!(depth, LEVELS);
    let call = latest("depth_of");
    let text = format!("{:?}", call.metadata().args);
    assert!(text.contains("nested more than 128 levels"), "{text}");
    // Dropping 10,000 nested boxes recurses too: leak them instead.
    std::mem::forget(nest);
    std::mem::forget(debug_nest);
}

#[test]
fn extension_traits_on_foreign_and_primitive_types_are_captured() {
    init();
    assert_eq!("hi".shout(), "HI");
    assert_eq!(String::from("yo").shout(), "YO");
    assert_eq!("Ab".whisper(), "ab");
    for function in [
        "<str as Shout>::shout",
        "<String as Shout>::shout",
        "<str as Whisper>::whisper",
    ] {
        let call = latest(function);
        assert!(call.has_ret(), "{function}");
    }
    let receiver = latest("<str as Shout>::shout");
    assert!(
        matches!(receiver.metadata().args[0].slot, Slot::Stored { .. }),
        "an unsized `self` is recorded: {:?}",
        receiver.metadata().args[0].slot
    );
}
