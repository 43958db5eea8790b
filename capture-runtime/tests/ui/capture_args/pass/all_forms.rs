use capture_runtime::capture_args;
use serde::Serialize;

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Order {
    id: u64,
}

#[capture_args(path = "captures", retention = 3, max_age = "7d", ignore(password), redact(card), allow(token_count),
               sample = 0.5, ret, max_size = "64KiB", name = "auth", enabled = true)]
pub async fn authenticate(user: &str, password: &str, card: &str, token_count: u32) -> Result<String, String> {
    Ok(format!("{user}{password}{card}{token_count}"))
}

#[capture_args(ret)]
pub fn price(order: &Order, discount: f64) -> f64 {
    order.id as f64 * discount
}

#[capture_args]
pub fn generic<T: Serialize, U>(a: T, b: &[U]) -> usize
where
    U: Clone,
{
    let _ = a;
    b.to_vec().len()
}

#[capture_args(ret)]
pub fn borrowed<'a>(items: &'a [String], which: usize) -> Option<&'a String> {
    items.get(which)
}

#[capture_args]
pub fn with_impl(f: impl Fn() -> u8, s: impl AsRef<str>) -> u8 {
    f() + s.as_ref().len() as u8
}

#[capture_args(ret)]
pub fn mutate(v: &mut Vec<u8>, (a, b): (u8, u8)) -> usize {
    v.push(a + b);
    v.len()
}

#[capture_args]
pub unsafe fn raw(p: *const u8) -> u8 {
    *p
}

pub struct Svc<T> {
    inner: T,
}

impl<T: Clone + Serialize> Svc<T> {
    #[capture_args(self, ret)]
    pub fn get(&self, key: T) -> T {
        let _ = key;
        self.inner.clone()
    }

    #[capture_args]
    pub fn set(&mut self, value: T) {
        self.inner = value;
    }

    #[capture_args(self)]
    pub fn into_inner(self) -> T {
        self.inner
    }

    #[capture_args(ret)]
    pub fn make(inner: T) -> Self {
        Svc { inner }
    }
}

#[capture_args(crate = "::capture_runtime")]
pub fn with_crate_path(x: u8) -> u8 {
    x
}

fn main() {
    let _ = price(&Order { id: 1 }, 0.5);
    let _ = generic(1u8, &[2u8]);
    let _ = borrowed(&["a".to_string()], 0);
    let _ = with_impl(|| 1, "x");
    let _ = mutate(&mut vec![], (1, 2));
    let _ = unsafe { raw(&7) };
    let mut s = Svc::make(1u32);
    s.set(2);
    let _ = s.get(3);
    let _ = s.into_inner();
    let _ = with_crate_path(1);
    let _ = authenticate("u", "p", "c", 1);
}
