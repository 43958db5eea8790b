use capture_runtime::reduce::{RebuildCtx, RebuildError};
use capture_runtime::value::{EncodeCtx, EncodeError, Value};
use capture_runtime::Reducible;

pub struct Foreign(u8);

mod foreign_reducer {
    use super::*;
    pub fn reduce(f: &Foreign, _: &mut EncodeCtx<'_>) -> Result<Value, EncodeError> {
        Ok(Value::U64(f.0 as u64))
    }
    pub fn rebuild(_: &Value, _: &mut RebuildCtx) -> Result<Foreign, RebuildError> {
        Ok(Foreign(0))
    }
}

fn seven() -> u32 {
    7
}

#[derive(Reducible)]
#[reduce(crate = "capture_runtime")]
struct Named<'a, T: Clone> {
    #[reduce(rename = "id")]
    key: u64,
    #[reduce(skip)]
    cache: Vec<T>,
    #[reduce(skip, default = seven)]
    counter: u32,
    #[reduce(with = foreign_reducer)]
    foreign: Foreign,
    #[reduce(placeholder, default)]
    socket: Option<std::net::TcpStream>,
    #[reduce(default = "seven")]
    added_later: u32,
    borrowed: &'a str,
    items: Vec<T>,
}

#[derive(Reducible)]
struct Tuple(u8, #[reduce(skip)] String, #[reduce(with = foreign_reducer)] Foreign);

#[derive(Reducible)]
struct Unit;

#[derive(Reducible)]
struct Empty {}

#[derive(Reducible)]
enum Never {}

#[derive(Reducible)]
enum Kind<T> {
    A,
    B(T),
    C(T, #[reduce(skip)] u8),
    #[reduce(rename = "d")]
    D { x: T, #[reduce(default)] y: u8 },
}

#[derive(Reducible)]
#[reduce(constructor = "Point::new")]
struct Point {
    x: i32,
    y: i32,
}
impl Point {
    fn new(x: i32, y: i32) -> Self {
        Point { x, y }
    }
}

#[derive(Reducible, Clone)]
#[reduce(into = "String", from = "String")]
struct Label(String);
impl From<Label> for String {
    fn from(l: Label) -> String {
        l.0
    }
}
impl From<String> for Label {
    fn from(s: String) -> Label {
        Label(s)
    }
}

#[derive(Reducible)]
#[reduce(bound = "T: serde::Serialize + serde::de::DeserializeOwned")]
struct ViaSerde<T> {
    inner: Vec<T>,
}

fn main() {
    fn is_reducible<T: Reducible>() {}
    is_reducible::<Named<'static, u8>>();
    is_reducible::<Tuple>();
    is_reducible::<Unit>();
    is_reducible::<Empty>();
    is_reducible::<Never>();
    is_reducible::<Kind<String>>();
    is_reducible::<Point>();
    is_reducible::<Label>();
    is_reducible::<ViaSerde<std::path::PathBuf>>();
    let v = Point::new(1, 2).reduce(&mut EncodeCtx::plain()).unwrap();
    let p = capture_runtime::reduce::rebuild::<Point>(&v).unwrap();
    assert_eq!((p.x, p.y), (1, 2));
}
