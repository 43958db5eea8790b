//! A tiny drawing service whose arguments serde cannot handle: shapes share
//! one style through `Rc` (sharing must survive replay), a scene holds a
//! render cache that must not be recorded, and an open log file that can only
//! be described. `#[derive(Reducible)]` makes them capturable; only the
//! fields serde cannot handle carry an attribute.

use std::cell::RefCell;
use std::rc::Rc;

use capture_runtime::{capture_args, Reducible};
use serde::{Deserialize, Serialize};

/// A colour and stroke width, shared by many shapes. It is a serde type; it
/// also derives `Reducible` so that `Rc<Style>` keeps its sharing (an `Rc` of
/// a serde-only type is captured by serde, which writes a copy per pointer).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reducible)]
pub struct Style {
    /// `#rrggbb`.
    pub color: String,
    /// Stroke width in pixels.
    pub width: f32,
}

/// A shape on the canvas.
#[derive(Clone, Debug, PartialEq, Reducible)]
pub enum Shape {
    /// A circle around the origin.
    Circle {
        /// Radius.
        r: f64,
        /// Shared style.
        style: Rc<Style>,
    },
    /// An axis-aligned rectangle.
    Rect {
        /// Width.
        w: f64,
        /// Height.
        h: f64,
        /// Shared style.
        style: Rc<Style>,
    },
}

/// A scene: shapes plus state that is not part of its meaning.
#[derive(Debug, Reducible)]
pub struct Scene {
    /// Scene title.
    pub title: String,
    /// The shapes, in drawing order.
    pub shapes: Vec<Shape>,
    /// Areas computed so far: a cache, rebuilt empty on replay.
    #[reduce(skip)]
    pub cache: RefCell<Vec<f64>>,
    /// Where the renderer logs: recorded as a description only, reopened as `None`.
    #[reduce(placeholder, default)]
    pub log: Option<std::fs::File>,
}

impl Scene {
    /// A scene without cache or log.
    pub fn new(title: &str, shapes: Vec<Shape>) -> Self {
        Scene {
            title: title.to_owned(),
            shapes,
            cache: RefCell::new(Vec::new()),
            log: None,
        }
    }
}

fn shape_area(s: &Shape) -> f64 {
    match s {
        Shape::Circle { r, .. } => std::f64::consts::PI * r * r,
        Shape::Rect { w, h, .. } => w * h,
    }
}

/// Total area of a scene (fills the scene's cache as a side effect).
#[capture_args(ret)]
pub fn total_area(scene: &Scene) -> f64 {
    let areas: Vec<f64> = scene.shapes.iter().map(shape_area).collect();
    let total = areas.iter().sum();
    *scene.cache.borrow_mut() = areas;
    total
}

/// How many shapes of `scene` are drawn with exactly `style` (the same `Rc`,
/// not an equal copy): needs the sharing between the two arguments to survive replay.
#[capture_args(ret)]
pub fn count_with_style(scene: &Scene, style: &Rc<Style>) -> usize {
    scene
        .shapes
        .iter()
        .filter(|s| match s {
            Shape::Circle { style: st, .. } | Shape::Rect { style: st, .. } => Rc::ptr_eq(st, style),
        })
        .count()
}
