//! The depth of an `async fn` call travels with its future, not its thread:
//! nested awaited calls are depth 1 wherever the body resumes, unrelated
//! tasks interleaved on one thread stay at depth 0, and a future dropped
//! before it finished is recorded as cancelled.
//!
//! The futures are polled by hand (a no-op waker), so each test decides
//! exactly where bodies suspend and which thread resumes them.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use capture_runtime::capture_args;
use capture_runtime::record::Outcome;
use common::{loader, store};

/// Pending once, then ready: a suspension point inside a body.
#[derive(Default)]
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

fn run_to_end<F: Future + ?Sized>(mut f: Pin<&mut F>) -> F::Output {
    loop {
        if let Poll::Ready(v) = poll_once(f.as_mut()) {
            return v;
        }
    }
}

/// (depth, outcome) of every stored call of `function`, oldest first.
fn depths(function: &str) -> Vec<(u32, Outcome)> {
    loader()
        .load_all(function)
        .unwrap()
        .iter()
        .map(|c| (c.metadata().depth, c.metadata().outcome))
        .collect()
}

#[capture_args]
async fn outer_task(n: u32) -> u32 {
    YieldOnce::default().await;
    inner_task(n).await + 1
}

#[capture_args]
async fn inner_task(n: u32) -> u32 {
    YieldOnce::default().await;
    n * 2
}

#[capture_args]
fn sync_leaf(n: u32) -> u32 {
    n + 1
}

#[capture_args]
async fn lone_task(n: u32) -> u32 {
    YieldOnce::default().await;
    sync_leaf(n)
}

#[test]
fn a_nested_await_is_depth_one_even_when_resumed_on_another_thread() {
    store();
    let mut fut = Box::pin(outer_task(20));
    assert!(poll_once(fut.as_mut()).is_pending(), "suspended before the nested call");
    // Resume on another thread: the nested call starts there.
    let result = std::thread::spawn(move || run_to_end(fut.as_mut())).join().unwrap();
    assert_eq!(result, 41);
    // This thread is back at depth 0: a synchronous call here is not nested.
    assert_eq!(sync_leaf(100), 101);

    assert_eq!(depths("async_depth::outer_task"), vec![(0, Outcome::Returned)]);
    assert_eq!(depths("async_depth::inner_task"), vec![(1, Outcome::Returned)]);
    let leaf = loader().select("async_depth::sync_leaf", |_| true).unwrap();
    let here: Vec<u32> = leaf
        .iter()
        .filter(|c| c.arg::<u32>("n").unwrap() == 100)
        .map(|c| c.metadata().depth)
        .collect();
    assert_eq!(here, vec![0]);
}

#[test]
fn tasks_interleaved_on_one_thread_keep_their_own_depth() {
    store();
    // Two unrelated calls, each suspended in the middle of its body while
    // the other runs on the same thread.
    let mut a = Box::pin(lone_task(1));
    let mut b = Box::pin(lone_task(2));
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    assert_eq!(run_to_end(b.as_mut()), 3);
    assert_eq!(run_to_end(a.as_mut()), 2);

    let calls = loader().load_all("async_depth::lone_task").unwrap();
    assert_eq!(calls.len(), 2);
    for c in &calls {
        assert_eq!(c.metadata().depth, 0, "unrelated tasks are not nested in each other");
    }
    // The synchronous calls made from inside each body are nested in it.
    let leaf_depths: Vec<u32> = loader()
        .load_all("async_depth::sync_leaf")
        .unwrap()
        .iter()
        .filter(|c| [1u32, 2].contains(&c.arg::<u32>("n").unwrap()))
        .map(|c| c.metadata().depth)
        .collect();
    assert_eq!(leaf_depths, vec![1, 1]);
}

#[capture_args]
async fn abandoned_task(n: u32) -> u32 {
    YieldOnce::default().await;
    n
}

#[test]
fn a_future_dropped_before_it_finished_is_recorded_cancelled() {
    store();
    let mut fut = Box::pin(abandoned_task(5));
    assert!(poll_once(fut.as_mut()).is_pending());
    drop(fut);
    // A finished one next to it, for contrast.
    let mut done = Box::pin(abandoned_task(6));
    assert_eq!(run_to_end(done.as_mut()), 6);

    let mut seen: Vec<(u32, Outcome)> = loader()
        .load_all("async_depth::abandoned_task")
        .unwrap()
        .iter()
        .map(|c| (c.arg::<u32>("n").unwrap(), c.metadata().outcome))
        .collect();
    seen.sort_by_key(|(n, _)| *n);
    assert_eq!(seen, vec![(5, Outcome::Cancelled), (6, Outcome::Returned)]);
}
