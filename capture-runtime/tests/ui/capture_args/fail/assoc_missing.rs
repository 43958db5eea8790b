use capture_runtime::capture_args;

pub struct Service {
    pub name: String,
}

impl Service {
    // Neither `self`, `Self` nor an `impl` lifetime: the attribute cannot
    // know it sits in an `impl`, and the module-level items a free function
    // gets (so that re-exports carry its replay adapter) are refused here.
    // The fix is `assoc` (or #[capture_args] on the `impl` block); rustc's
    // message does not name it (a known gap, see docs/capturing.md).
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
