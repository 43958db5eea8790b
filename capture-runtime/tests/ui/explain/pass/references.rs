use capture_runtime::reduce::explain::Route;
use capture_runtime::reduce::registry::{self, Reducer};
use capture_runtime::value::Value;
use capture_runtime::{explain, Explanation, Reducible};

/// Registered at run time.
struct Registered(u8);

/// A placeholder type without `Debug`.
struct Opaque;

#[derive(Reducible)]
struct Job {
    name: String,
    log: std::fs::File,
}

fn in_generic_code<T: Reducible>(t: &T) -> Explanation {
    capture_runtime::explain(t)
}

fn borrowed<'a>(file: &'a std::fs::File) -> Explanation {
    explain!(file)
}

fn main() {
    registry::register(Reducer::new(|r: &Registered| Value::U64(r.0 as u64)));

    let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
    let e = explain!(&file);
    assert_eq!(e.notes[0].route, Route::Placeholder);
    assert_eq!(e.notes[0].type_name, "std::fs::File");
    assert_eq!(borrowed(&file), e);

    let r = Registered(3);
    let by_ref = &r;
    assert_eq!(explain!(&r).notes[0].route, Route::Registry);
    assert_eq!(explain!(by_ref).notes[0].route, Route::Registry);
    assert_eq!(explain!(&by_ref).notes[0].route, Route::Registry);

    assert_eq!(explain!(&Opaque).notes[0].route, Route::Placeholder);

    let job = Job { name: "j".into(), log: file };
    let e = capture_runtime::explain(&job);
    assert_eq!(e.at("log").unwrap().route, Route::Placeholder);
    assert_eq!(in_generic_code(&job), e);
    assert_eq!(explain!(&job), e);
    let job_ref = &job;
    assert_eq!(explain!(job_ref), e);
}
