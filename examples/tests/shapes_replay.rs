//! The replay machinery itself (`replay_outcomes!`, as `replay_main!` runs
//! it) on arguments that need `Reducible`: a scene whose shapes share one
//! `Rc<Style>`, with a skipped cache and a described-only log file. Each
//! recorded call is rebuilt, called again and compared with its recorded
//! result.

use std::rc::Rc;

use capture_examples::shapes::{self, Scene, Shape, Style};
use capture_test::ReplayOutcome;

#[test]
fn recorded_scenes_replay_through_the_replay_machinery() {
    let dir = tempfile::tempdir().unwrap();
    capture_runtime::configure(capture_runtime::Config {
        enabled: Some(true),
        dir: Some(dir.path().to_path_buf()),
        retention: Some(10),
        // Replay what this test just recorded (pending, not yet reviewed).
        replay: Some(capture_runtime::record::Kinds::All),
        ..Default::default()
    });

    let ink = Rc::new(Style {
        color: "#102030".into(),
        width: 2.0,
    });
    let log = tempfile::tempfile().unwrap();
    let mut scene = Scene::new(
        "poster",
        vec![
            Shape::Circle {
                r: 1.5,
                style: ink.clone(),
            },
            Shape::Rect {
                w: 2.0,
                h: 8.0,
                style: ink,
            },
        ],
    );
    scene.log = Some(log);
    let area = shapes::total_area(&scene);
    let empty = Scene::new("empty", vec![]);
    assert_eq!(shapes::total_area(&empty), 0.0);
    capture_runtime::flush();

    let outcomes = capture_test::replay_outcomes!(shapes::total_area);
    assert_eq!(outcomes.len(), 2, "{outcomes:#?}");
    for (name, outcome) in &outcomes {
        assert!(matches!(outcome, ReplayOutcome::Passed { .. }), "{name}: {outcome:#?}");
    }
    let call = capture_runtime::CaptureLoader::new(dir.path())
        .latest("total_area")
        .unwrap();
    assert!(call.metadata().not_replayable_reasons().is_empty());
    assert!(area > 0.0);
}
