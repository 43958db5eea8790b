//! `async fn`s are replayed without imposing a runtime: a std-only
//! `block_on` drives futures that are really pending (woken from another
//! thread); futures that need a runtime's reactor get the entry's executor,
//! and without one the failure says so.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use capture_runtime::capture_args;
use capture_test::replay_outcomes;
use common::{all_passed, failed, init};

/// Pending on first poll; woken from another thread.
struct WokenLater(Arc<AtomicBool>);

impl Future for WokenLater {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        let (flag, waker) = (self.0.clone(), cx.waker().clone());
        std::thread::spawn(move || {
            flag.store(true, Ordering::SeqCst);
            waker.wake();
        });
        Poll::Pending
    }
}

static POLLED_PENDING: AtomicUsize = AtomicUsize::new(0);

#[capture_args(ret)]
pub async fn slow_double(x: u32) -> u32 {
    WokenLater(Arc::new(AtomicBool::new(false))).await;
    POLLED_PENDING.fetch_add(1, Ordering::SeqCst);
    x * 2
}

/// Needs tokio's timer: panics outside a tokio runtime.
#[capture_args(ret)]
pub async fn after_a_tick(x: u32) -> u32 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    x + 1
}

static EXECUTOR_RUNS: AtomicUsize = AtomicUsize::new(0);

fn tokio_block_on<F: Future>(future: F) -> F::Output {
    EXECUTOR_RUNS.fetch_add(1, Ordering::SeqCst);
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
        .block_on(future)
}

#[test]
fn pending_futures_complete_with_the_std_block_on() {
    init();
    assert_eq!(capture_runtime::replay::block_on(slow_double(4)), 8);
    let before = POLLED_PENDING.load(Ordering::SeqCst);
    all_passed(&replay_outcomes!(slow_double => ret));
    assert_eq!(
        POLLED_PENDING.load(Ordering::SeqCst),
        before + 1,
        "the replay ran past the pending point"
    );
}

#[test]
fn futures_that_need_a_runtime_use_the_entry_executor() {
    init();
    assert_eq!(tokio_block_on(after_a_tick(1)), 2);
    let message = failed(&replay_outcomes!(after_a_tick => ret));
    assert!(
        message.contains("this `async fn` needs an async runtime: give the entry an executor"),
        "{message}"
    );
    let runs = EXECUTOR_RUNS.load(Ordering::SeqCst);
    all_passed(&replay_outcomes!(after_a_tick executor(tokio_block_on) => ret));
    assert_eq!(EXECUTOR_RUNS.load(Ordering::SeqCst), runs + 1);
    // A closure works too (it could only pass by driving the timer).
    all_passed(&replay_outcomes!(after_a_tick executor(|f| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build();
        rt.expect("runtime").block_on(f)
    })));
}
