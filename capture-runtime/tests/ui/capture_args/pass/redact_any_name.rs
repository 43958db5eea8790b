use std::collections::BTreeMap;

use capture_runtime::capture_args;
use serde::Serialize;

#[derive(Serialize)]
pub struct Person {
    name: String,
    ssn: String,
    r#type: String,
    headers: BTreeMap<String, String>,
}

// `redact(..)` and `allow(..)` name fields and map keys at any depth, not only
// arguments: identifiers (raw ones too) and string literals for names that
// are not identifiers.
#[capture_args(redact(ssn, r#type, "X-Customer-Ref"), allow("X-Key-Id", sort_key))]
pub fn register(person: &Person) -> usize {
    person.name.len()
}

fn main() {
    let p = Person {
        name: "ann".into(),
        ssn: String::new(),
        r#type: String::new(),
        headers: BTreeMap::new(),
    };
    assert_eq!(register(&p), 3);
}
