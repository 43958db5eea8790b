//! kill -9 in the middle of writes, a thousand times (`CAPTURE_TEST_KILLS`
//! to change the count): synchronous and background writers, small and
//! 1 MiB arguments. After every kill, every listed record reads back whole
//! or gives a typed error, no value is torn, the store stays writable and
//! no lock stays held; temp files of killed writers do not pile up.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use capture_runtime::store::DEAD_WRITER_GRACE;
use common::hammered::{files_under, hammer, large_agrees, look, no_lock_held, small_agrees, Seen};

fn kills() -> usize {
    std::env::var("CAPTURE_TEST_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250)
}

/// A small deterministic generator (xorshift), so a failing run can be repeated.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn a_thousand_kill_9s_leave_a_store_that_reads_back_whole() {
    let store = tempfile::tempdir().unwrap();
    let root = store.path();
    let combos = [
        ("sync", "small"),
        ("background", "small"),
        ("sync", "large"),
        ("background", "large"),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut small, mut large) = (Seen::default(), Seen::default());
    let mut most_temp = 0;
    let started = Instant::now();
    let n = kills();
    for k in 0..n {
        let (mode, size) = combos[k % combos.len()];
        let mut child = hammer(root, &["loop", mode, size])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn store_hammer");
        // Wait until it runs, then let it write for a random while: the kill
        // lands anywhere in encoding, temp writes, renames and retention.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        let window = if size == "large" { 60 } else { 30 };
        std::thread::sleep(Duration::from_millis(rng.below(window)));
        child.kill().unwrap();
        child.wait().unwrap();

        // Only the function this writer wrote changed since the last look.
        let (s, l) = if size == "small" {
            (look(root, "store_hammer::hammer_small", small_agrees), Seen::default())
        } else {
            (Seen::default(), look(root, "store_hammer::hammer_large", large_agrees))
        };
        assert_eq!(
            (s.wrong, s.misplaced, l.wrong, l.misplaced),
            (0, 0, 0, 0),
            "kill {k} ({mode}, {size}): torn or misattributed values"
        );
        assert_eq!(
            (s.unreadable + s.lost, l.unreadable + l.lost),
            (0, 0),
            "kill {k} ({mode}, {size}): records or values that do not read back"
        );
        // The kernel releases a dead process's locks: the next writer of
        // every folder can take them.
        no_lock_held(root);
        small += s;
        large += l;
        most_temp = most_temp.max(files_under(&root.join("tmp")).len());
    }
    eprintln!(
        "{n} kills in {:.1?}: the looks after them saw {} small and {} large calls whole; at most {most_temp} temp files",
        started.elapsed(),
        small.whole,
        large.whole
    );
    assert!(small.whole > 0 && large.whole > 0, "the writers got calls written");
    // Killed writers' temp files are swept by the next writer once they
    // are older than the grace, without anyone calling gc.
    assert!(most_temp <= 200, "temp files piled up: {most_temp}");
    std::thread::sleep(DEAD_WRITER_GRACE + Duration::from_millis(200));
    let out = hammer(root, &["calls", "sync", "1", "1", "1"]).output().unwrap();
    assert!(out.status.success(), "the store is writable after the kills: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("failed=0"), "{text}");
    let left = files_under(&root.join("tmp"));
    assert!(left.is_empty(), "temp files left after a sweep: {left:?}");
    let after = look(root, "store_hammer::conc_all", common::hammered::conc_agrees);
    assert_eq!(after.whole, 1);
}
