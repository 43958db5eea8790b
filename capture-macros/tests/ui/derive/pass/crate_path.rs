//! `#[reduce(crate = "...")]` really routes the generated code through the
//! given path: this re-export counts the structs built through it.

use std::sync::atomic::{AtomicUsize, Ordering};

static BUILT: AtomicUsize = AtomicUsize::new(0);

mod reexport {
    /// Stands for `capture_runtime` re-exported by another crate.
    pub mod capture_runtime {
        pub mod __private {
            pub use ::capture_runtime::__private::*;
            /// Shadows the glob-imported `derive` module.
            pub mod derive {
                pub use ::capture_runtime::__private::derive::*;
                pub fn struct_value(name: &'static str, fields: Vec<(Name, Value)>) -> Value {
                    crate::BUILT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    ::capture_runtime::__private::derive::struct_value(name, fields)
                }
                use ::capture_runtime::value::Value;
            }
        }
    }
}

#[derive(capture_runtime::Reducible, Debug, PartialEq)]
#[reduce(crate = "crate::reexport::capture_runtime")]
struct Point {
    x: i32,
    y: i32,
}

#[derive(capture_runtime::Reducible, Debug, PartialEq)]
#[reduce(crate = crate::reexport::capture_runtime)]
struct Line {
    from: Point,
    to: Point,
}

fn main() {
    use capture_runtime::Reducible;
    let line = Line { from: Point { x: 1, y: 2 }, to: Point { x: 3, y: 4 } };
    let v = line.reduce(&mut capture_runtime::value::EncodeCtx::plain()).unwrap();
    assert_eq!(BUILT.load(Ordering::SeqCst), 3, "every struct was built through the re-export");
    assert_eq!(capture_runtime::reduce::rebuild::<Line>(&v).unwrap(), line);
}
