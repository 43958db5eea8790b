//! Two arguments pointing to one `Rc` are stored once (the second as a
//! reference into the first) and come back as one `Rc` on replay: the
//! adapter rebuilds all arguments of a call with one shared-pointer context.

mod common;

use std::rc::Rc;

use capture_runtime::{capture_args, Reducible};
use capture_test::replay_outcomes;
use common::{all_passed, init};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reducible)]
pub struct Style {
    pub color: String,
}

#[derive(Clone, Debug, PartialEq, Reducible)]
pub struct Shape {
    pub size: u32,
    pub style: Rc<Style>,
}

#[derive(Clone, Debug, PartialEq, Reducible)]
pub struct Scene {
    pub shapes: Vec<Shape>,
}

fn count(scene: &Scene, style: &Rc<Style>) -> usize {
    scene.shapes.iter().filter(|s| Rc::ptr_eq(&s.style, style)).count()
}

/// Shapes drawn with exactly `style` (the same `Rc`, not an equal copy).
#[capture_args(ret)]
pub fn count_with_style(scene: &Scene, style: &Rc<Style>) -> usize {
    count(scene, style)
}

/// The same, taking both by value (the check closure sees rebuilt copies).
#[capture_args(ret)]
pub fn count_owned(scene: Scene, style: Rc<Style>) -> usize {
    count(&scene, &style)
}

fn scene(ink: &Rc<Style>) -> Scene {
    Scene {
        shapes: vec![
            Shape {
                size: 1,
                style: ink.clone(),
            },
            Shape {
                size: 2,
                style: ink.clone(),
            },
            Shape {
                size: 3,
                style: Rc::new((**ink).clone()),
            },
        ],
    }
}

#[test]
fn an_rc_shared_by_two_arguments_replays_shared() {
    init();
    let ink = Rc::new(Style { color: "#000".into() });
    assert_eq!(count_with_style(&scene(&ink), &ink), 2);
    // Without one context for the call, `style` could not be rebuilt (or would
    // be a copy, and the count 0): the recorded 2 must come back.
    assert_eq!(all_passed(&replay_outcomes!(count_with_style)), 1);
    all_passed(&replay_outcomes!(count_with_style => |scene, style, out| {
        assert!(Rc::ptr_eq(&scene.shapes[0].style, style));
        assert_eq!(*out, 2);
    }));
}

#[test]
fn owned_arguments_and_their_copies_for_checks_keep_sharing() {
    init();
    let ink = Rc::new(Style { color: "#fff".into() });
    assert_eq!(count_owned(scene(&ink), ink.clone()), 2);
    all_passed(&replay_outcomes!(count_owned));
    all_passed(&replay_outcomes!(count_owned => |scene, style, out| {
        // The copies shown to the closure are rebuilt with their own
        // context: sharing holds among them too.
        assert!(Rc::ptr_eq(&scene.shapes[1].style, style));
        assert!(!Rc::ptr_eq(&scene.shapes[2].style, style));
        assert_eq!(*out, 2);
    }));
}
