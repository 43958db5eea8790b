//! Memoized `async fn`s on real executors' terms: their futures are `Send`
//! (checked at compile time) and can move to another thread; several tasks
//! on one thread wait for one computation without blocking the thread; and a
//! task cancelled while it computes lets the next waiter compute.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

use capture_runtime::{capture_args, Config};

fn store_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        capture_runtime::configure(Config {
            dir: Some(dir.clone()),
            enabled: Some(true),
            ..Config::default()
        });
        dir
    })
}

/// Records that a task was woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A task of the one-thread executor below.
struct Task<T> {
    fut: Option<Pin<Box<dyn Future<Output = T>>>>,
    woken: Arc<Flag>,
}

impl<T> Task<T> {
    fn new(fut: impl Future<Output = T> + 'static) -> Task<T> {
        Task {
            fut: Some(Box::pin(fut)),
            woken: Arc::new(Flag(AtomicBool::new(false))),
        }
    }

    /// Poll once on this thread.
    fn poll(&mut self) -> Poll<T> {
        self.woken.0.store(false, Ordering::SeqCst);
        let waker = Waker::from(self.woken.clone());
        let fut = self.fut.as_mut().expect("not finished");
        let r = fut.as_mut().poll(&mut Context::from_waker(&waker));
        if r.is_ready() {
            self.fut = None;
        }
        r
    }

    fn woken(&self) -> bool {
        self.woken.0.load(Ordering::SeqCst)
    }

    /// Drop the future: the task is cancelled.
    fn cancel(&mut self) {
        self.fut = None;
    }
}

/// Pending until opened; wakes whoever waits when opened.
struct Gate {
    open: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl Gate {
    const fn new() -> Gate {
        Gate {
            open: AtomicBool::new(false),
            wakers: Mutex::new(Vec::new()),
        }
    }

    fn wait(&'static self) -> impl Future<Output = ()> + Send {
        std::future::poll_fn(move |cx| {
            if self.open.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            self.wakers.lock().unwrap().push(cx.waker().clone());
            if self.open.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        for w in self.wakers.lock().unwrap().drain(..) {
            w.wake();
        }
    }
}

static GATE: Gate = Gate::new();
static GATED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
async fn gated(x: u32) -> u32 {
    GATED_RUNS.fetch_add(1, Ordering::SeqCst);
    GATE.wait().await;
    x * 10
}

#[test]
fn tasks_on_one_thread_share_one_computation_and_survive_a_cancelled_one() {
    store_dir();
    let runs = || GATED_RUNS.load(Ordering::SeqCst);
    let mut first = Task::new(gated(1));
    let mut second = Task::new(gated(1));
    let mut third = Task::new(gated(1));
    assert!(first.poll().is_pending(), "computing, parked on the gate");
    assert_eq!(runs(), 1);
    // The others wait for the first one's result without blocking this thread.
    assert!(second.poll().is_pending());
    assert!(third.poll().is_pending());
    assert_eq!(runs(), 1, "one computation for three misses");

    // Cancelled while it holds the key's lock: the waiters are woken...
    first.cancel();
    assert!(second.woken() && third.woken(), "waiters woken by the cancellation");
    // ...and one of them computes instead.
    assert!(second.poll().is_pending(), "second computes, parked on the gate");
    assert_eq!(runs(), 2);
    assert!(third.poll().is_pending(), "third waits for second");

    GATE.open();
    assert!(second.woken());
    assert_eq!(second.poll(), Poll::Ready(10));
    assert!(third.woken(), "the result's store wakes the last waiter");
    assert_eq!(third.poll(), Poll::Ready(10), "a hit");
    assert_eq!(runs(), 2);

    let mut again = Task::new(gated(1));
    assert_eq!(again.poll(), Poll::Ready(10), "stored: ready at once");
    assert_eq!(runs(), 2);
}

static FETCH_RUNS: AtomicUsize = AtomicUsize::new(0);

#[capture_args(cache)]
async fn fetch_profile(user: String, fields: &[String]) -> Result<Vec<String>, std::io::Error> {
    FETCH_RUNS.fetch_add(1, Ordering::SeqCst);
    std::future::ready(()).await;
    Ok(fields.iter().map(|f| format!("{user}.{f}")).collect())
}

/// Compile-time check: the argument is `Send`.
fn assert_send<T: Send>(value: T) -> T {
    value
}

#[test]
fn memoized_futures_are_send_and_move_across_threads() {
    store_dir();
    static FIELDS: OnceLock<Vec<String>> = OnceLock::new();
    let fields = FIELDS.get_or_init(|| vec!["name".into(), "mail".into()]);
    let want = vec!["ada.name".to_string(), "ada.mail".to_string()];
    for _ in 0..2 {
        // Created here, run on another thread (as a work-stealing executor would).
        let fut = assert_send(fetch_profile("ada".into(), fields));
        let got = std::thread::spawn(move || {
            let mut task = Task::new(fut);
            loop {
                if let Poll::Ready(v) = task.poll() {
                    break v;
                }
            }
        })
        .join()
        .unwrap();
        assert_eq!(got.unwrap(), want);
    }
    assert_eq!(FETCH_RUNS.load(Ordering::SeqCst), 1, "the second call was a hit");
}
