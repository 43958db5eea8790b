//! In-process single flight: concurrent misses of one key compute once.
//!
//! The first caller to miss takes the key's lock and computes; the others
//! wait (blocking in sync code, parked on a waker in async code), then look
//! the entry up again and find what the first one stored. When the holder's
//! result is not cacheable (an `Err`, a panic) the next waiter computes.
//! A lock exists only while someone holds or waits for it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, LazyLock, Mutex};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Flight {
    state: Mutex<State>,
    cv: Condvar,
}

#[derive(Default)]
struct State {
    held: bool,
    wakers: Vec<Waker>,
}

type Key = [u8; 32];

static FLIGHTS: LazyLock<Mutex<HashMap<Key, Arc<Flight>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn flight(key: &Key) -> Arc<Flight> {
    let mut map = FLIGHTS.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(*key).or_default().clone()
}

/// Holding this means the caller computes the key's value; dropping it lets
/// the next waiter in.
pub(crate) struct FlightGuard {
    key: Key,
    flight: Arc<Flight>,
}

impl std::fmt::Debug for FlightGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlightGuard")
    }
}

/// Take the key's lock, blocking the thread while another caller holds it.
pub(crate) fn acquire(key: &Key) -> FlightGuard {
    let flight = flight(key);
    {
        let mut st = flight.state.lock().unwrap_or_else(|e| e.into_inner());
        while st.held {
            st = flight.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.held = true;
    }
    FlightGuard { key: *key, flight }
}

/// Take the key's lock without blocking the executor.
pub(crate) fn acquire_async(key: &Key) -> Acquire {
    Acquire {
        key: *key,
        flight: Some(flight(key)),
    }
}

/// Future of [`acquire_async`].
pub(crate) struct Acquire {
    key: Key,
    flight: Option<Arc<Flight>>,
}

impl Future for Acquire {
    type Output = FlightGuard;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<FlightGuard> {
        let this = &mut *self;
        {
            let flight = this.flight.as_ref().expect("polled after completion");
            let mut st = flight.state.lock().unwrap_or_else(|e| e.into_inner());
            if st.held {
                if !st.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    st.wakers.push(cx.waker().clone());
                }
                return Poll::Pending;
            }
            st.held = true;
        }
        let flight = this.flight.take().expect("checked above");
        Poll::Ready(FlightGuard { key: this.key, flight })
    }
}

impl Drop for Acquire {
    fn drop(&mut self) {
        if let Some(flight) = self.flight.take() {
            release_ref(&self.key, &flight);
        }
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        let wakers = {
            let mut st = self.flight.state.lock().unwrap_or_else(|e| e.into_inner());
            st.held = false;
            std::mem::take(&mut st.wakers)
        };
        self.flight.cv.notify_all();
        for w in wakers {
            w.wake();
        }
        release_ref(&self.key, &self.flight);
    }
}

/// Forget the key's lock when nobody else holds a reference to it.
fn release_ref(key: &Key, flight: &Arc<Flight>) {
    let mut map = FLIGHTS.lock().unwrap_or_else(|e| e.into_inner());
    // References are only cloned under the map lock, so this count is exact:
    // the map's and the caller's own (guard or future) mean nobody waits.
    if Arc::strong_count(flight) == 2 {
        if let Some(existing) = map.get(key) {
            if Arc::ptr_eq(existing, flight) && !flight.state.lock().unwrap_or_else(|e| e.into_inner()).held {
                map.remove(key);
            }
        }
    }
}

/// Number of keys with a live lock (tests check that locks do not leak).
#[cfg(test)]
pub(crate) fn live() -> usize {
    FLIGHTS.lock().unwrap_or_else(|e| e.into_inner()).len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn one_holder_at_a_time_and_no_leak() {
        let key = [7u8; 32];
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (inside, max) = (inside.clone(), max.clone());
                std::thread::spawn(move || {
                    let _g = acquire(&key);
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(max.load(Ordering::SeqCst), 1);
        assert!(!FLIGHTS.lock().unwrap().contains_key(&key));
        let _ = live();
    }
}
