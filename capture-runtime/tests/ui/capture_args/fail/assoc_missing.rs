use capture_runtime::capture_args;

pub struct Service {
    pub name: String,
}

impl Service {
    // Neither `self` nor `Self`: the attribute cannot know it sits in an
    // `impl`; the error points at the name and says `assoc` is the fix (or
    // #[capture_args] on the `impl` block).
    #[capture_args]
    pub fn named(name: &str) -> Service {
        Service { name: name.into() }
    }

    #[capture_args(assoc)]
    pub fn named_ok(name: &str) -> Service {
        Service { name: name.into() }
    }
}

fn main() {}
