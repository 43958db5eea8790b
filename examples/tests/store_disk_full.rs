//! A full disk: the store sits on a 256 KiB tmpfs (mounted in a private
//! mount namespace with `unshare`, so no root is needed where user
//! namespaces are allowed), and a writer captures far more than fits.
//! Every call still returns its own result, failures are counted and
//! logged once per kind (not once per file), and every record that made it
//! to disk reads back whole.

mod common;

use common::hammered::hammer_after;

fn field(text: &str, name: &str) -> u64 {
    text.split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in {text}"))
}

fn fill(mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let out = hammer_after(
        &store,
        &["unshare", "--user", "--map-root-user", "--mount"],
        r#"mount -t tmpfs -o size=256k tmpfs "$CAPTURE_DIR""#,
        &["fill", mode],
    )
    .output()
    .expect("unshare (util-linux) runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{mode}: the writer failed on a full disk:\n{stdout}\n{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("capture:")).collect();
    eprintln!("{mode}: {stdout}{} log line(s): {lines:#?}", lines.len());
    assert!(field(&stdout, "failed") > 0, "the disk did fill: {stdout}");
    if mode == "sync" {
        // Each call's objects and record are written as it happens, so the
        // first calls fit. (The background writer stores a whole batch's
        // objects before its records: a batch that does not fit is lost
        // whole, and what is on disk is then only objects.)
        assert!(field(&stdout, "written") > 0, "some captures fit: {stdout}");
        assert!(field(&stdout, "whole") > 0, "{stdout}");
    }
    assert_eq!(
        (
            field(&stdout, "wrong"),
            field(&stdout, "unreadable"),
            field(&stdout, "lost")
        ),
        (0, 0, 0),
        "{mode}: what is on disk reads back whole: {stdout}"
    );
    // Hundreds of failed writes, each with its own temp path: a handful of
    // lines (once per kind, then at 10, 100, ... of each).
    assert!(lines.len() <= 8, "{mode}: the log was flooded: {lines:#?}");
}

#[test]
fn a_full_disk_fails_captures_not_calls_sync() {
    fill("sync");
}

#[test]
fn a_full_disk_fails_captures_not_calls_background() {
    fill("background");
}
