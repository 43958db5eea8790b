//! Round trip of types that need `Reducible`, through the public loader API:
//! record real calls of `total_area` and `count_with_style`, rebuild their
//! arguments from the store with `CapturedCall::rebuild_arg`, call again and
//! compare with the recorded result. One `RebuildCtx` per call keeps the
//! sharing between its arguments.

use std::rc::Rc;

use capture_examples::shapes::{count_with_style, total_area, Scene, Shape, Style};
use capture_runtime::{CaptureLoader, RebuildCtx};

#[test]
fn reducible_arguments_replay_with_sharing_and_the_same_result() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("shapes-roundtrip");
    let _ = std::fs::remove_dir_all(&dir);
    capture_runtime::configure(capture_runtime::Config {
        enabled: Some(true),
        dir: Some(dir.clone()),
        ..Default::default()
    });

    let ink = Rc::new(Style {
        color: "#000000".into(),
        width: 1.5,
    });
    let scene = Scene::new(
        "logo",
        vec![
            Shape::Circle {
                r: 2.0,
                style: ink.clone(),
            },
            Shape::Rect {
                w: 3.0,
                h: 4.0,
                style: ink.clone(),
            },
            Shape::Rect {
                w: 1.0,
                h: 1.0,
                style: Rc::new((*ink).clone()),
            },
        ],
    );
    let area = total_area(&scene);
    assert_eq!(count_with_style(&scene, &ink), 2);
    capture_runtime::flush();

    let loader = CaptureLoader::new(&dir);

    let call = loader.latest("total_area").unwrap();
    let replayed: Scene = call.rebuild_arg("scene", &mut RebuildCtx::new()).unwrap();
    assert!(replayed.cache.borrow().is_empty(), "the skipped cache comes back empty");
    assert_eq!(replayed.shapes, scene.shapes);
    assert_eq!(total_area(&replayed), call.ret::<f64>().unwrap());
    assert_eq!(call.ret::<f64>().unwrap(), area);

    let call = loader.latest("count_with_style").unwrap();
    let mut cx = RebuildCtx::new();
    let scene_back: Scene = call.rebuild_arg("scene", &mut cx).unwrap();
    let style_back: Rc<Style> = call.rebuild_arg("style", &mut cx).unwrap();
    assert_eq!(
        count_with_style(&scene_back, &style_back),
        call.ret::<usize>().unwrap(),
        "the style argument points into the scene again"
    );
}
