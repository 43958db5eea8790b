//! Editing a memoized function invalidates its entries: two (three) builds of
//! a fixture crate, generated here and built with cargo, share one store.
//! A whitespace/comment edit keeps the tokens and so the entries; a body edit
//! is a miss; restoring the old body finds the old entry again.

use std::path::{Path, PathBuf};
use std::process::Command;

const MAIN: &str = r#"
use capture_runtime::capture_args;

#[capture_args(cache)]
fn compute(x: u64) -> u64 {
    eprintln!("BODY RAN");
    __BODY__
}

fn main() {
    let x: u64 = std::env::args().nth(1).expect("an argument").parse().expect("a number");
    println!("{}", compute(x));
}
"#;

struct Fixture {
    dir: PathBuf,
    store: PathBuf,
    target: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap().keep();
        let dir = tmp.join("cache-fixture");
        std::fs::create_dir_all(dir.join("src")).unwrap();
        let runtime = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"cache-fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
                 [workspace]\n\n[dependencies]\ncapture-runtime = {{ path = {:?} }}\n\n\
                 [profile.dev.package.\"*\"]\nopt-level = 1\n",
                runtime.display().to_string()
            ),
        )
        .unwrap();
        // Pin the workspace's dependency versions (no resolution, no network).
        let lock = runtime.parent().unwrap().join("Cargo.lock");
        if lock.exists() {
            std::fs::copy(lock, dir.join("Cargo.lock")).unwrap();
        }
        Fixture {
            store: tmp.join("store"),
            target: Path::new(env!("CARGO_TARGET_TMPDIR")).join("cache-fixture-target"),
            dir,
        }
    }

    /// Write the function with `body` and build it.
    fn build(&self, body: &str, extra: &str) {
        let src = MAIN
            .replace("__BODY__", body)
            .replace("fn main()", &format!("{extra}fn main()"));
        std::fs::write(self.dir.join("src/main.rs"), src).unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "--quiet", "--manifest-path"])
            .arg(self.dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &self.target)
            .output()
            .expect("run cargo");
        assert!(
            out.status.success(),
            "fixture build failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Run the built fixture: (printed result, whether the body ran).
    fn run(&self, x: u64) -> (u64, bool) {
        let out = Command::new(self.target.join("debug/cache-fixture"))
            .arg(x.to_string())
            .env("CAPTURE_DIR", &self.store)
            .env("CAPTURE_ENABLED", "1")
            .env_remove("CAPTURE_CACHE")
            .output()
            .expect("run the fixture");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let value = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        (value, String::from_utf8_lossy(&out.stderr).contains("BODY RAN"))
    }
}

#[test]
fn editing_the_body_invalidates_and_formatting_does_not() {
    let f = Fixture::new();
    f.build("x + 1", "");
    assert_eq!(f.run(5), (6, true), "first run: a miss");
    assert_eq!(f.run(5), (6, false), "second process: a hit from the store");

    // Same tokens, other layout and comments: still the same key.
    f.build("x   +   1 // the same tokens", "// a comment elsewhere\n");
    assert_eq!(f.run(5), (6, false), "formatting is not an edit");

    // Another body: another key.
    f.build("x + 2", "");
    assert_eq!(f.run(5), (7, true), "edited body: a miss, the new result");
    assert_eq!(f.run(5), (7, false));

    // Back to the first body: its entry is still there.
    f.build("x + 1", "");
    assert_eq!(f.run(5), (6, false));
}
