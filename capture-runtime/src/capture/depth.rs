//! Call depth: how many captured calls enclose the current one.
//!
//! A synchronous call raises the calling thread's depth for as long as it
//! runs ([`super::call::CallGuard`] lowers it again). An `async fn` cannot do
//! that: its body is suspended at every `.await`, other tasks run on the same
//! thread in between, and it may resume on another thread. So the depth of an
//! async call travels with its future instead: [`WithDepth`] sets the
//! thread's depth while (and only while) the body is being polled, and puts
//! the previous value back afterwards. Calls made from inside the body see
//! the right depth on whatever thread polls it; unrelated tasks interleaved
//! on that thread see theirs.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// The depth a call starting now on this thread has (0: not nested).
#[inline]
pub(crate) fn current() -> u32 {
    DEPTH.with(|d| d.get())
}

/// Set this thread's depth, returning the previous value.
#[inline]
pub(crate) fn replace(depth: u32) -> u32 {
    DEPTH.with(|d| d.replace(depth))
}

/// A synchronous captured call ended: one level less on this thread.
#[inline]
pub(crate) fn leave() {
    DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
}

/// Puts a thread's depth back when dropped (also when a poll panics).
struct Restore(u32);

impl Drop for Restore {
    fn drop(&mut self) {
        replace(self.0);
    }
}

/// The body of a captured `async fn`, polled at the depth of its call
/// (used by generated code).
///
/// `depth` is `None` when the call is not captured: the body then runs at
/// whatever depth the thread has, as an uncaptured synchronous call would.
///
/// ```
/// use capture_runtime::__private::WithDepth;
/// let fut = WithDepth::new(Some(1), async { 40 + 2 });
/// assert_eq!(capture_runtime::__private::block_on(fut), 42);
/// ```
#[doc(hidden)]
#[must_use = "futures do nothing unless polled"]
pub struct WithDepth<F> {
    depth: Option<u32>,
    inner: F,
}

impl<F> WithDepth<F> {
    /// Wrap `inner`, to be polled at `depth`.
    #[inline(always)]
    pub fn new(depth: Option<u32>, inner: F) -> Self {
        WithDepth { depth, inner }
    }
}

impl<F: Future> Future for WithDepth<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let depth = self.depth;
        // SAFETY: `inner` is structurally pinned: it is never moved out of
        // `self`, `WithDepth` has no `Drop` impl, and `Unpin` is only
        // implemented (automatically) when `F: Unpin`.
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.inner) };
        match depth {
            None => inner.poll(cx),
            Some(depth) => {
                let _restore = Restore(replace(depth));
                inner.poll(cx)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    /// A future that records the depth it saw at each poll and is pending once.
    struct Probe<'a> {
        seen: &'a mut Vec<u32>,
    }

    impl Future for Probe<'_> {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            let d = current();
            self.seen.push(d);
            if self.seen.len() < 2 {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        }
    }

    #[test]
    fn depth_is_set_only_while_polling() {
        let mut seen = Vec::new();
        let mut fut = Box::pin(WithDepth::new(Some(3), Probe { seen: &mut seen }));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(current(), 0);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        // Between polls another task on this thread sees its own depth.
        assert_eq!(current(), 0);
        replace(7);
        assert!(fut.as_mut().poll(&mut cx).is_ready());
        assert_eq!(current(), 7, "the previous depth is put back");
        replace(0);
        drop(fut);
        assert_eq!(seen, vec![3, 3]);
    }

    #[test]
    fn none_leaves_the_thread_depth_alone() {
        let mut seen = Vec::new();
        replace(2);
        let mut fut = Box::pin(WithDepth::new(None, Probe { seen: &mut seen }));
        let mut cx = Context::from_waker(Waker::noop());
        let _ = fut.as_mut().poll(&mut cx);
        let _ = fut.as_mut().poll(&mut cx);
        replace(0);
        drop(fut);
        assert_eq!(seen, vec![2, 2]);
    }

    #[test]
    fn a_panicking_poll_restores_the_depth() {
        struct Boom;
        impl Future for Boom {
            type Output = ();
            fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
                panic!("boom")
            }
        }
        let mut fut = Box::pin(WithDepth::new(Some(5), Boom));
        let mut cx = Context::from_waker(Waker::noop());
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)));
        assert!(r.is_err());
        assert_eq!(current(), 0);
    }
}
