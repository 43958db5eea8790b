//! Methods of trait impls are captured and replayed when the `impl` block
//! carries #[capture_args] too: generic impls, associated types, methods
//! without a receiver.

use capture_runtime::capture_args;

pub trait Store<K> {
    type Item;
    fn get(&self, key: K) -> Option<Self::Item>;
    fn empty() -> Self;
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Shelf<T> {
    pub items: Vec<T>,
}

#[capture_args]
impl<T: Clone + serde::Serialize + serde::de::DeserializeOwned> Store<usize> for Shelf<T> {
    type Item = T;

    #[capture_args(self, ret)]
    fn get(&self, key: usize) -> Option<Self::Item> {
        self.items.get(key).cloned()
    }

    #[capture_args]
    fn empty() -> Self {
        Shelf { items: Vec::new() }
    }
}

#[derive(Default)]
pub struct Plain;

#[capture_args]
impl Plain {
    #[capture_args(ret)]
    pub fn make(n: u32) -> u32 {
        n
    }
}

impl std::fmt::Display for Plain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("plain")
    }
}

fn main() {
    let _ = capture_test::replay_outcomes!(<Shelf<u8> as Store<usize>>::get => ret);
    let _ = capture_test::replay_outcomes!(<Shelf<u8> as Store<usize>>::get => |key, out| assert!(*key < 10 || out.is_none()));
    let _ = capture_test::replay_outcomes!(Plain::make);
    let _ = capture_test::calls_of!(Plain::make);
}
