//! Drive a future to completion on the current thread, with no async runtime:
//! replaying an `async fn` must not force one runtime on its users.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Run `future` to completion, parking the thread while it is pending.
///
/// Futures that need a specific runtime's reactor (tokio timers or sockets)
/// panic here ("no reactor running"): give their replay entry an executor
/// that is that runtime's `block_on` ([`super::Executor`], the `executor(..)`
/// entry option). Calling this from inside a current-thread runtime would
/// park the only thread that drives its timers, so it is no substitute.
/// Everything else, including futures woken from other threads, completes here.
///
/// ```
/// let n = capture_runtime::replay::block_on(async { 40 + 2 });
/// assert_eq!(n, 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Pending once, woken from another thread.
    struct WokenLater(Arc<AtomicBool>);
    impl Future for WokenLater {
        type Output = &'static str;
        fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
            if self.0.load(Ordering::SeqCst) {
                return Poll::Ready("done");
            }
            let (flag, waker) = (self.0.clone(), cx.waker().clone());
            std::thread::spawn(move || {
                flag.store(true, Ordering::SeqCst);
                waker.wake();
            });
            Poll::Pending
        }
    }

    #[test]
    fn completes_futures_woken_from_other_threads() {
        assert_eq!(block_on(WokenLater(Arc::new(AtomicBool::new(false)))), "done");
    }
}
