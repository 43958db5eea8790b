//! Getting the crates: the pinned version from crates.io through cargo
//! (unless cargo's cache has it), unpacked from its `.crate` and copied
//! twice, each copy's dependencies fetched (the only network use; every
//! build after it is `--offline`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use super::annotate::{annotated_manifest, standalone};
use super::process::{cargo_cmd, sh};
use super::spec::Spec;
use super::workdir::{copy_dir, realworld_root, Dirs};

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"))
}

/// The `.crate` of `name` `version` in cargo's registry cache.
fn find_crate_file(name: &str, version: &str) -> Option<PathBuf> {
    let cache = cargo_home().join("registry/cache");
    for reg in std::fs::read_dir(cache).ok()?.flatten() {
        let p = reg.path().join(format!("{name}-{version}.crate"));
        if p.is_file() {
            return Some(p);
        }
    }
    None
}

/// Download the pinned packages through cargo (a throwaway project that
/// depends on them), unless cargo's cache has them already.
pub(super) fn fetch(specs: &[Spec]) -> Result<(), String> {
    let missing: Vec<&Spec> = specs
        .iter()
        .filter(|s| find_crate_file(&s.name, &s.version).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let dir = realworld_root().join("fetch");
    std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
    let mut toml = String::from(
        "[package]\nname = \"realworld-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n[dependencies]\n",
    );
    for s in &missing {
        let _ = writeln!(toml, "{} = \"={}\"", s.name, s.version);
    }
    std::fs::write(dir.join("Cargo.toml"), toml).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("src/lib.rs"), "").map_err(|e| e.to_string())?;
    eprintln!(
        "realworld: cargo fetch {}",
        missing
            .iter()
            .map(|s| format!("{} {}", s.name, s.version))
            .collect::<Vec<_>>()
            .join(", ")
    );
    sh(
        cargo_cmd(&dir, &realworld_root().join("cargo-target")).arg("fetch"),
        "cargo fetch",
    )?;
    for s in missing {
        if find_crate_file(&s.name, &s.version).is_none() {
            return Err(format!(
                "{} {} is not in cargo's cache after `cargo fetch`",
                s.name, s.version
            ));
        }
    }
    Ok(())
}

/// The crate's work dirs: the package unpacked from its `.crate`, copied
/// to `pristine/` and `annotated/` (manifests edited, sources not yet),
/// and each copy's dependencies fetched.
pub(super) fn prepare(spec: &Spec) -> Result<Dirs, String> {
    let dirs = Dirs::new(spec);
    std::fs::create_dir_all(&dirs.root).map_err(|e| e.to_string())?;
    if !dirs.source.join("Cargo.toml").is_file() {
        let file = find_crate_file(&spec.name, &spec.version).ok_or("package not fetched")?;
        sh(
            Command::new("tar").arg("xzf").arg(&file).arg("-C").arg(&dirs.root),
            "unpack the .crate",
        )?;
    }
    copy_dir(&dirs.source, &dirs.pristine)?;
    standalone(&dirs.pristine)?;
    copy_dir(&dirs.source, &dirs.annotated)?;
    annotated_manifest(&dirs.annotated)?;
    for d in [&dirs.pristine, &dirs.annotated] {
        // network (a package registry) only here; everything after is --offline
        let mut c = cargo_cmd(d, &dirs.cargo_target);
        c.arg("fetch");
        if let Err(e) = sh(&mut c, "cargo fetch") {
            eprintln!("realworld: {e}\nrealworld: trying offline with what is cached");
        }
    }
    Ok(dirs)
}
