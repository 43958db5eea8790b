//! `Reducible` fields inside serde types, through `serde_adapter`, captured
//! by real `#[capture_args]` calls (the direct MessagePack path) and by
//! `explain!` (the value-tree path): a fully storable one round-trips; one
//! with a placeholder inside is listed as not replayable up front, with the
//! reason.

use std::rc::Rc;
use std::sync::OnceLock;

use capture_runtime::{capture_args, explain, CaptureLoader, Reducible};
use serde::{Deserialize, Serialize};

fn store() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        capture_runtime::configure(capture_runtime::Config {
            enabled: Some(true),
            dir: Some(d.path().to_path_buf()),
            ..Default::default()
        });
        d
    })
    .path()
}

#[derive(Reducible, Debug, PartialEq)]
pub struct Tree {
    label: String,
    kids: Vec<Rc<Tree>>,
}

#[derive(Reducible)]
pub struct Handle {
    id: u32,
    #[reduce(placeholder)]
    file: Option<std::fs::File>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Storable {
    name: String,
    #[serde(with = "capture_runtime::reduce::serde_adapter")]
    tree: Tree,
}

#[derive(Serialize, Deserialize)]
pub struct WithPlaceholder {
    name: String,
    #[serde(with = "capture_runtime::reduce::serde_adapter")]
    handle: Handle,
}

#[capture_args]
fn plant(job: &Storable) -> usize {
    job.tree.kids.len()
}

#[capture_args]
fn open(job: &WithPlaceholder) -> u32 {
    job.handle.id
}

fn storable() -> Storable {
    let leaf = Rc::new(Tree {
        label: "leaf".into(),
        kids: vec![],
    });
    Storable {
        name: "s".into(),
        tree: Tree {
            label: "root".into(),
            kids: vec![leaf.clone(), leaf],
        },
    }
}

fn with_placeholder() -> WithPlaceholder {
    WithPlaceholder {
        name: "w".into(),
        handle: Handle {
            id: 3,
            file: Some(tempfile::tempfile().unwrap()),
        },
    }
}

#[test]
fn a_storable_reducible_field_round_trips_through_a_capture() {
    let dir = store();
    let job = storable();
    assert_eq!(plant(&job), 2);
    capture_runtime::flush();
    let call = CaptureLoader::new(dir).latest("plant").unwrap();
    assert!(call.metadata().not_replayable_reasons().is_empty());
    let back: Storable = call.arg("job").unwrap();
    assert_eq!(back, job);
    assert!(
        Rc::ptr_eq(&back.tree.kids[0], &back.tree.kids[1]),
        "sharing is kept inside the field"
    );
    assert!(explain!(job).is_replayable());
}

#[test]
fn a_placeholder_inside_an_adapter_field_makes_the_capture_not_replayable() {
    let dir = store();
    let job = with_placeholder();
    assert_eq!(open(&job), 3);
    capture_runtime::flush();
    let call = CaptureLoader::new(dir).latest("open").unwrap();
    let reasons = call.metadata().not_replayable_reasons().join("; ");
    assert!(
        reasons.contains("placeholder:core::option::Option<std::fs::File>") && reasons.contains("serde_adapter"),
        "{reasons}"
    );

    let e = explain!(job);
    assert!(!e.is_replayable(), "{e}");
    assert!(e.to_string().contains("serde_adapter"), "{e}");
}
