//! The replay harness seen from outside, the way `cargo test` and
//! `cargo nextest` drive a test binary: this binary is a replay harness, and
//! its own test runs it again with `--list`, `--ignored`, name filters and
//! `--exact`. Captures that cannot be replayed must be listed as ignored
//! (nextest learns that from `--list --ignored`) and never pass.

use std::process::{Command, Output};

use capture_runtime::capture_args;

#[capture_args(ret)]
pub fn double(x: u32) -> u32 {
    x * 2
}

#[capture_args(ret, ignore(secret_word))]
pub fn guarded(x: u32, secret_word: &str) -> u32 {
    x + secret_word.len() as u32
}

#[capture_args(ret)]
pub fn never_called(x: u32) -> u32 {
    x
}

const CHILD: &str = "CAPTURE_HARNESS_CLI_CHILD";

fn main() {
    let child = std::env::var_os(CHILD).is_some();
    if !child {
        // Every run records the same two calls (same inputs, same test
        // names); the store lives under the target folder.
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("harness-cli-captures");
        std::env::set_var("CAPTURE_DIR", &dir);
        std::env::set_var("CAPTURE_ENABLED", "1"); // recorded even where `CI` is set
                                                   // Accepted as they are recorded: the fixtures the runs below replay.
        std::env::set_var("CAPTURE_ACCEPT", "new");
        assert_eq!(double(21), 42);
        assert_eq!(guarded(1, "open"), 5);
        capture_runtime::flush();
    }
    // `allow_empty`: the entry without captures is an ignored test in CI too.
    let mut harness = capture_test::replay_harness! { double, guarded, never_called allow_empty };
    if !child {
        harness.add_test("harness_cli::lists_filters_and_skips", check_cli);
    }
    harness.run()
}

fn run(args: &[&str]) -> Output {
    let exe = std::env::current_exe().expect("this test binary");
    Command::new(exe)
        .args(args)
        .env(CHILD, "1")
        .output()
        .expect("run the harness")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ensure(ok: bool, what: &str, out: &Output) -> Result<(), String> {
    if ok {
        return Ok(());
    }
    let (stdout, stderr) = text(out);
    Err(format!("{what}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"))
}

fn check_cli() -> Result<(), String> {
    // Every trial is listed, as `name: test`.
    let list = run(&["--list", "--format", "terse"]);
    let (stdout, _) = text(&list);
    let names: Vec<&str> = stdout.lines().filter_map(|l| l.strip_suffix(": test")).collect();
    let double = names.iter().find(|n| n.starts_with("double::")).copied();
    let guarded = names.iter().find(|n| n.starts_with("guarded::")).copied();
    ensure(
        double.is_some() && guarded.is_some() && names.contains(&"never_called::no_captures") && names.len() == 3,
        "--list names one test per distinct stored call and one for the function without captures",
        &list,
    )?;
    let (double, guarded) = (double.unwrap_or_default(), guarded.unwrap_or_default());

    // What nextest asks to learn which tests are ignored: the skipped capture
    // and the function without captures, nothing else.
    let ignored = run(&["--list", "--format", "terse", "--ignored"]);
    let (stdout, _) = text(&ignored);
    let mut listed: Vec<&str> = stdout.lines().filter_map(|l| l.strip_suffix(": test")).collect();
    listed.sort_unstable();
    ensure(
        listed == [guarded, "never_called::no_captures"],
        "--list --ignored names exactly the captures that cannot be replayed",
        &ignored,
    )?;

    // A name filter runs only what matches.
    let filtered = run(&["double"]);
    let (stdout, _) = text(&filtered);
    ensure(
        filtered.status.success()
            && stdout.contains(&format!("test {double} ... ok"))
            && stdout.contains("1 passed; 0 failed; 0 ignored; 0 measured; 2 filtered out"),
        "a name filter runs the matching replay only",
        &filtered,
    )?;

    // A plain run: one pass, two ignored, and the reasons printed.
    let all = run(&[]);
    let (stdout, stderr) = text(&all);
    ensure(
        all.status.success()
            && stdout.contains("1 passed; 0 failed; 2 ignored")
            && stderr.contains("replay: 2 stored call(s) cannot be replayed; they are listed as ignored:")
            && stderr.contains(&format!(
                "  {guarded}: argument `secret_word`: ignored at capture time (`ignore(..)`); supply a stand-in value (`with {{ secret_word = .. }}`) to replay it"
            )),
        "a run counts skipped captures as ignored and prints why",
        &all,
    )?;

    // nextest runs each test alone: `--exact <name>`. A skipped capture is
    // not run unless asked for; asked for (nextest --run-ignored), it fails
    // with its reason rather than passing.
    let exact = run(&["--exact", guarded, "--nocapture"]);
    let (stdout, _) = text(&exact);
    ensure(
        exact.status.success() && stdout.contains("0 passed; 0 failed; 1 ignored"),
        "--exact on a skipped capture reports it ignored",
        &exact,
    )?;
    let forced = run(&["--exact", guarded, "--ignored", "--nocapture"]);
    let (stdout, _) = text(&forced);
    ensure(
        !forced.status.success()
            && stdout.contains("cannot be replayed: argument `secret_word`")
            && stdout.contains("0 passed; 1 failed"),
        "a skipped capture run with --ignored fails with its reason",
        &forced,
    )?;
    Ok(())
}
