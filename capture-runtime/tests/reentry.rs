//! Capture never records itself: captured functions called by the encoders
//! capture runs (`Debug` of a placeholder, `Serialize`, a registered
//! reducer), by the schema tracer (`Deserialize` with `ret`) or by the
//! loader's rebuilding run as written and record nothing. Before the
//! guard, the `Debug` case recursed until the stack overflowed and the
//! process aborted.

use std::fmt;

use capture_runtime::reduce::registry::{self, Reducer};
use capture_runtime::value::Value;
use capture_runtime::{capture_args, CaptureLoader, Config};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// No serde: captured as a placeholder from its `Debug` text, and its
/// `Debug` goes through `Display`, which calls a captured method that takes
/// the chip itself.
pub struct Chip(pub u32);

impl Chip {
    #[capture_args(self)]
    pub fn describe(&self) -> String {
        format!("chip #{}", self.0)
    }
}

impl fmt::Display for Chip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl fmt::Debug for Chip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Chip({self})")
    }
}

#[capture_args]
pub fn spend(chip: &Chip, amount: u32) -> u32 {
    chip.0 + amount
}

#[capture_args(ret)]
pub fn checksum(text: &str) -> u32 {
    text.bytes().map(u32::from).sum()
}

/// Its `Serialize` calls a captured function.
pub struct Signed(pub String);

impl Serialize for Signed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.0.as_str(), checksum(&self.0)).serialize(s)
    }
}

#[capture_args]
pub fn send(message: &Signed) -> usize {
    message.0.len()
}

/// Its `Deserialize` calls the captured constructor that returns it (as a
/// parser's types do): with `ret`, tracing its schema ran the constructor,
/// which traced the schema again.
#[derive(Debug, PartialEq, Serialize)]
pub struct Code(pub String);

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Code, D::Error> {
        let text = String::deserialize(d)?;
        Ok(parse_code(&text))
    }
}

#[capture_args(ret)]
pub fn parse_code(text: &str) -> Code {
    Code(text.trim().to_uppercase())
}

/// A foreign type captured through a registered reducer that calls a
/// captured function.
pub struct Meters(pub f64);

#[capture_args(ret)]
pub fn round_meters(x: f64) -> f64 {
    x.round()
}

#[capture_args]
pub fn walk(distance: &Meters) -> bool {
    distance.0 > 0.0
}

fn calls(loader: &CaptureLoader, function: &str) -> usize {
    loader.load_all(function).map(|c| c.len()).unwrap_or(0)
}

#[test]
fn captured_functions_called_by_capture_itself_are_not_captured() {
    let dir = tempfile::tempdir().unwrap();
    capture_runtime::configure(Config {
        dir: Some(dir.path().to_owned()),
        enabled: Some(true),
        ..Config::default()
    });
    registry::register(Reducer::new(|m: &Meters| Value::F64(round_meters(m.0))));
    let loader = CaptureLoader::new(dir.path());

    // Debug -> Display -> a captured method of the argument itself.
    assert_eq!(spend(&Chip(7), 3), 10);
    capture_runtime::flush();
    assert_eq!(calls(&loader, "spend"), 1);
    assert_eq!(
        calls(&loader, "describe"),
        0,
        "describe ran inside the placeholder's Debug"
    );
    let placeholder = loader.latest("spend").unwrap();
    let slot = format!("{:?}", placeholder.arg_record("chip").unwrap().slot);
    assert!(slot.contains("chip #7"), "the Debug text is still kept: {slot}");
    // Called by the program itself, it is captured as usual.
    assert_eq!(Chip(1).describe(), "chip #1");
    capture_runtime::flush();
    assert_eq!(calls(&loader, "describe"), 1);

    // Serialize -> a captured function.
    assert_eq!(send(&Signed("hi".into())), 2);
    capture_runtime::flush();
    assert_eq!(calls(&loader, "send"), 1);
    assert_eq!(calls(&loader, "checksum"), 0, "checksum ran inside send's encoder");
    let sent: (String, u32) = loader.latest("send").unwrap().arg("message").unwrap();
    assert_eq!(sent, ("hi".to_string(), 209));

    // Deserialize (schema tracing with `ret`) -> the captured constructor.
    assert_eq!(parse_code(" ab "), Code("AB".into()));
    capture_runtime::flush();
    assert_eq!(calls(&loader, "parse_code"), 1, "one call, not one per schema probe");

    // The loader rebuilding a `Code` runs parse_code, which records nothing.
    let call = loader.latest("parse_code").unwrap();
    assert_eq!(call.ret::<Code>().unwrap(), Code("AB".into()));
    capture_runtime::flush();
    assert_eq!(calls(&loader, "parse_code"), 1);

    // A registered reducer -> a captured function.
    assert!(walk(&Meters(2.4)));
    capture_runtime::flush();
    assert_eq!(calls(&loader, "walk"), 1);
    assert_eq!(calls(&loader, "round_meters"), 0, "round_meters ran inside the reducer");
    assert_eq!(
        loader.latest("walk").unwrap().value("distance").unwrap(),
        Value::F64(2.0)
    );
}
