//! Every file capture writes is 0600 and every folder it creates 0700,
//! whatever the writer's umask (000 lets everything through, 077 and 022
//! are the common ones).

mod common;

use std::os::unix::fs::PermissionsExt;

use common::hammered::hammer_after;

fn modes_under(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, bool, u32)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let m = e.metadata().unwrap();
        out.push((e.path(), m.is_dir(), m.permissions().mode() & 0o777));
        if m.is_dir() {
            modes_under(&e.path(), out);
        }
    }
}

#[test]
fn files_are_0600_and_folders_0700_under_any_umask() {
    for umask in ["000", "022", "077"] {
        let dir = tempfile::tempdir().unwrap();
        // A store folder capture creates itself.
        let store = dir.path().join("store");
        let out = hammer_after(
            &store,
            &[],
            &format!("umask {umask}"),
            &["calls", "sync", "1", "2", "3"],
        )
        .output()
        .unwrap();
        assert!(out.status.success(), "{out:?}");
        let mut all = vec![(
            store.clone(),
            true,
            std::fs::metadata(&store).unwrap().permissions().mode() & 0o777,
        )];
        modes_under(&store, &mut all);
        let wrote = |ext: &str| all.iter().any(|(p, d, _)| !d && p.to_string_lossy().ends_with(ext));
        assert!(wrote(".seg") && wrote(".gitignore"), "the writer wrote: {all:?}");
        for (path, is_dir, mode) in all {
            let want = if is_dir { 0o700 } else { 0o600 };
            assert_eq!(mode, want, "umask {umask}: {} is {mode:o}", path.display());
        }
    }
}
