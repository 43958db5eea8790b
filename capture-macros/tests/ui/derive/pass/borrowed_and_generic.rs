//! Field types that must not select the registry layers (they need
//! `'static`, which trait selection does not check): borrowed `Debug`-only
//! fields, and generic fields under a `bound` without `'static`.

use capture_runtime::reduce::explain::Route;
use capture_runtime::Reducible;

#[derive(Reducible)]
struct Borrowing<'a> {
    name: String,
    file: &'a std::fs::File,
    #[reduce(placeholder)]
    described: &'a std::fs::File,
}

#[derive(Reducible)]
#[reduce(bound = "T: std::fmt::Debug")]
struct DebugOnly<T> {
    value: T,
}

#[derive(Reducible)]
struct Phantom<'a, T> {
    id: u32,
    marker: std::marker::PhantomData<&'a T>,
}

fn main() {
    let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
    let b = Borrowing { name: "n".into(), file: &file, described: &file };
    let e = capture_runtime::explain(&b);
    assert_eq!(e.at("file").unwrap().route, Route::Placeholder);

    let d = DebugOnly { value: &file };
    let e = capture_runtime::explain(&d);
    assert_eq!(e.at("value").unwrap().route, Route::Placeholder);
    assert!(e.at("value").unwrap().type_name.contains("File"));

    fn is_reducible<T: Reducible>() {}
    is_reducible::<Phantom<'static, std::fs::File>>();
}
