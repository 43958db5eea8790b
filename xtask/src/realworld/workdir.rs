//! The work dirs under `target/realworld/`: one folder per crate (the
//! unpacked package, its `pristine/` and `annotated/` copies, the capture
//! store, logs), and the cargo target dir all builds share.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::process::sh;
use super::spec::Spec;
use crate::target_dir;

/// Where one crate's work happens.
pub(super) struct Dirs {
    /// `target/realworld/<crate>`
    pub(super) root: PathBuf,
    /// The package as published (read-only reference).
    pub(super) source: PathBuf,
    pub(super) pristine: PathBuf,
    pub(super) annotated: PathBuf,
    pub(super) store: PathBuf,
    pub(super) cargo_target: PathBuf,
}

impl Dirs {
    /// The folders of `spec`'s crate (nothing is created).
    pub(super) fn new(spec: &Spec) -> Dirs {
        let root = realworld_root().join(&spec.name);
        Dirs {
            source: root.join(format!("{}-{}", spec.name, spec.version)),
            pristine: root.join("pristine"),
            annotated: root.join("annotated"),
            store: root.join("store"),
            cargo_target: realworld_root().join("cargo-target"),
            root,
        }
    }
}

/// `target/realworld`.
pub(super) fn realworld_root() -> PathBuf {
    target_dir().join("realworld")
}

/// `cp -a from to`, `to` replaced.
pub(super) fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    if to.exists() {
        std::fs::remove_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    sh(Command::new("cp").arg("-a").arg(from).arg(to), "cp -a")?;
    Ok(())
}
