//! Helpers shared by the redaction tests: a fresh store per test (taken in
//! turns) and the calls captured into it, generators of valid PII, and a
//! tracing subscriber that keeps every event as a text line.

#![allow(dead_code)]

pub mod leaks;

use std::fmt::{Debug, Write as _};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use capture_runtime::{configure, CaptureLoader, CapturedCall, Config};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// A temporary folder, in memory (`/dev/shm`) when the system has one:
/// these tests create and read thousands of small files.
pub fn tempdir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Take the lock and point captures at a fresh store configured by `cfg`.
pub fn setup(cfg: Config) -> (MutexGuard<'static, ()>, tempfile::TempDir) {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempdir();
    configure(Config {
        dir: Some(dir.path().to_path_buf()),
        // On even where `CI` is set: these tests record on purpose.
        enabled: cfg.enabled.or(Some(true)),
        ..cfg
    });
    (guard, dir)
}

/// Every call of `function` captured under `dir`.
pub fn calls(dir: &Path, function: &str) -> Vec<CapturedCall> {
    CaptureLoader::new(dir).load_all(function).unwrap()
}

/// The last call of `function` captured under `dir`.
pub fn last(dir: &Path, function: &str) -> CapturedCall {
    calls(dir, function).pop().expect("one call captured")
}

/// `n` in base 62 (digits, upper, lower).
pub fn b62(mut n: u128) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    while n > 0 {
        out.push(A[(n % 62) as usize]);
        n /= 62;
    }
    if out.is_empty() {
        out.push(b'0');
    }
    String::from_utf8(out).unwrap()
}

/// The Luhn check digit for `body` (digits only).
pub fn luhn_digit(body: &str) -> u32 {
    let mut sum = 0;
    for (i, c) in body.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    (10 - sum % 10) % 10
}

/// A Luhn-valid 16-digit card number starting with 4: plain (`style` 0),
/// grouped by spaces (1) or by dashes (2).
pub fn card_number(seed: u64, style: u8) -> String {
    let body = format!("4{:014}", seed % 100_000_000_000_000);
    let digits = format!("{body}{}", luhn_digit(&body));
    let groups: Vec<&str> = (0..4).map(|i| &digits[i * 4..i * 4 + 4]).collect();
    match style {
        1 => groups.join(" "),
        2 => groups.join("-"),
        _ => digits,
    }
}

/// A valid German IBAN (`DEkk` + 18 digits), unbroken or grouped by four.
pub fn iban(seed: u64, grouped: bool) -> String {
    let bban = format!("{:018}", seed % 1_000_000_000_000_000_000);
    // Move "DE00" to the end, letters as numbers (D=13, E=14), mod 97.
    let rearranged = format!("{bban}131400");
    let rem = rearranged
        .bytes()
        .fold(0u32, |r, c| (r * 10 + u32::from(c - b'0')) % 97);
    let text = format!("DE{:02}{bban}", 98 - rem);
    if grouped {
        text.as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        text
    }
}

/// Keeps every tracing event (all targets, all levels) as one line of text.
#[derive(Clone, Default)]
pub struct LogRecorder {
    lines: Arc<Mutex<Vec<String>>>,
}

impl LogRecorder {
    /// The process-wide recorder, installed as the global default subscriber
    /// on first use.
    pub fn install() -> LogRecorder {
        static ONE: OnceLock<LogRecorder> = OnceLock::new();
        ONE.get_or_init(|| {
            let r = LogRecorder::default();
            tracing::subscriber::set_global_default(r.clone()).expect("no other subscriber in this test binary");
            r
        })
        .clone()
    }

    /// Every line so far, joined by newlines.
    pub fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={value} ", field.name());
    }
}

impl Subscriber for LogRecorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut line = Line(format!("span {} ", span.metadata().name()));
        span.record(&mut line);
        self.lines.lock().unwrap().push(line.0);
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut line = Line(String::from("record "));
        values.record(&mut line);
        self.lines.lock().unwrap().push(line.0);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = Line(format!("{} {} ", event.metadata().level(), event.metadata().target()));
        event.record(&mut line);
        self.lines.lock().unwrap().push(line.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}
