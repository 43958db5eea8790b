//! Retention by count and age, applied after each write of a function's
//! calls, at a cost that does not grow with the calls kept.
//!
//! Listing a function's folder after every write would make recording
//! quadratic in the retention (10,000 kept calls means 10,000 names read per
//! write). A [`Trims`] memo remembers, per folder, how many calls this
//! process last saw and the oldest one's time, and lists again only when
//! the new count would pass `max_count`, when the oldest call may have aged
//! out, when another writer added calls since, or when the memo is older
//! than [`RELIST_AFTER`].
//!
//! Other writers are seen through the folder's write count
//! ([`Backend::count_writes`], kept in the local backend's lock file and
//! bumped under the lock by every write): when the count before this write
//! is not the one this process left, someone else wrote, and the folder is
//! listed. So count retention stays exact with several processes writing
//! one function. Backends without a count fall back on [`RELIST_AFTER`].
//! Deletions by others (gc, quota, `clear`) only make the memo overcount,
//! which lists sooner.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::backend::Backend;
use super::layout::CALL_EXT;
use super::{call_nanos, Retention};
use crate::error::Result;

/// A memo older than this is never trusted: the folder is listed again (the
/// bound on how long calls from a writer that keeps no count go unseen).
pub(crate) const RELIST_AFTER: Duration = Duration::from_secs(1);

/// What this process knows of one function folder after its last listing.
#[derive(Clone, Copy, Debug)]
struct Seen {
    /// Calls in the folder, counting the ones written since.
    count: usize,
    /// Record time (ns since the epoch) of the oldest call kept, if any.
    oldest_nanos: Option<u64>,
    /// When the folder was listed.
    listed: Instant,
    /// The folder's write count after this process's last write, when the
    /// backend keeps one.
    writes: Option<u64>,
}

/// Per-folder memo of the last retention pass; shared by clones of a store.
#[derive(Debug, Default)]
pub(crate) struct Trims {
    seen: Mutex<HashMap<String, Seen>>,
}

impl Trims {
    /// Apply `retention` to `dir` after `added` calls were written to it;
    /// `writes_before` is the folder's write count before them
    /// ([`Backend::count_writes`]). The caller holds the folder's lock.
    pub(crate) fn after_write(
        &self,
        backend: &dyn Backend,
        dir: &str,
        added: usize,
        writes_before: Option<u64>,
        retention: Retention,
    ) -> Result<()> {
        let writes_after = writes_before.map(|w| w.wrapping_add(added as u64));
        let now_ns = unix_nanos(SystemTime::now());
        let cutoff_ns = retention
            .max_age
            .map(|age| now_ns.saturating_sub(age.as_nanos() as u64));
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(s) = seen.get_mut(dir) {
                let count = s.count + added;
                let within_count = retention.max_count.is_none_or(|m| count <= m);
                let none_expired = match (cutoff_ns, s.oldest_nanos) {
                    (Some(cut), Some(oldest)) => oldest >= cut,
                    _ => true,
                };
                // Without a count (`None`), only the time bound below re-lists.
                let others_wrote = writes_before.is_some_and(|w| s.writes != Some(w));
                if within_count && none_expired && !others_wrote && s.listed.elapsed() < RELIST_AFTER {
                    s.count = count;
                    s.writes = writes_after;
                    return Ok(());
                }
            }
        }
        let kept = trim(backend, dir, retention, cutoff_ns)?;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.insert(
            dir.to_string(),
            Seen {
                count: kept.len(),
                oldest_nanos: kept.first().and_then(|n| call_nanos(n)),
                listed: Instant::now(),
                writes: writes_after,
            },
        );
        Ok(())
    }
}

/// List `dir`, delete what `retention` no longer keeps, return the names
/// kept, oldest first.
fn trim(backend: &dyn Backend, dir: &str, retention: Retention, cutoff_ns: Option<u64>) -> Result<Vec<String>> {
    let mut calls: Vec<String> = backend
        .list_names(dir)?
        .into_iter()
        .filter(|n| n.ends_with(CALL_EXT))
        .collect();
    calls.sort();
    let mut drop_n = retention.max_count.map_or(0, |m| calls.len().saturating_sub(m));
    if let Some(cut) = cutoff_ns {
        let old = calls
            .iter()
            .take_while(|n| call_nanos(n).is_some_and(|t| t < cut))
            .count();
        drop_n = drop_n.max(old);
    }
    for name in calls.iter().take(drop_n) {
        backend.delete(&format!("{dir}/{name}"))?;
    }
    Ok(calls.split_off(drop_n))
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::backend::LocalBackend;

    fn put_calls(b: &LocalBackend, dir: &str, from: u64, n: u64) {
        for t in from..from + n {
            b.put(&format!("{dir}/{t:020}-1-0{CALL_EXT}"), b"x").unwrap();
        }
    }

    fn count(b: &LocalBackend, dir: &str) -> usize {
        b.list_names(dir)
            .unwrap()
            .iter()
            .filter(|n| n.ends_with(CALL_EXT))
            .count()
    }

    #[test]
    fn count_retention_holds_while_the_memo_skips_listings() {
        let tmp = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(tmp.path());
        let trims = Trims::default();
        let keep = Retention {
            max_count: Some(3),
            max_age: None,
        };
        let now = unix_nanos(SystemTime::now());
        for i in 0..10 {
            put_calls(&b, "calls/f", now + i, 1);
            trims.after_write(&b, "calls/f", 1, None, keep).unwrap();
            assert!(count(&b, "calls/f") <= 3, "after write {i}");
        }
        assert_eq!(count(&b, "calls/f"), 3);
    }

    #[test]
    fn calls_written_by_others_are_trimmed_once_the_memo_is_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(tmp.path());
        let trims = Trims::default();
        let keep = Retention {
            max_count: Some(5),
            max_age: None,
        };
        let now = unix_nanos(SystemTime::now());
        put_calls(&b, "calls/f", now, 1);
        trims.after_write(&b, "calls/f", 1, None, keep).unwrap();
        put_calls(&b, "calls/f", now + 1, 10); // another process
        {
            let mut seen = trims.seen.lock().unwrap();
            seen.get_mut("calls/f").unwrap().listed -= RELIST_AFTER;
        }
        put_calls(&b, "calls/f", now + 100, 1);
        trims.after_write(&b, "calls/f", 1, None, keep).unwrap();
        assert_eq!(count(&b, "calls/f"), 5);
    }

    /// One write as `Store::write_calls` makes it: lock, count, put, trim.
    fn write(b: &LocalBackend, trims: &Trims, t: u64, keep: Retention) {
        let mut lock = b.lock("calls/f/.lock").unwrap();
        let before = b.count_writes(lock.as_mut(), 1).unwrap();
        assert!(before.is_some(), "the local backend keeps a write count");
        put_calls(b, "calls/f", t, 1);
        trims.after_write(b, "calls/f", 1, before, keep).unwrap();
    }

    #[test]
    fn another_writer_is_seen_through_the_write_count() {
        let tmp = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(tmp.path());
        // Two processes: each has its own memo, both fresh (well within
        // RELIST_AFTER), neither sees more than max_count calls of its own.
        let (one, two) = (Trims::default(), Trims::default());
        let keep = Retention {
            max_count: Some(5),
            max_age: None,
        };
        let now = unix_nanos(SystemTime::now());
        for i in 0..3 {
            write(&b, &one, now + 2 * i, keep);
            write(&b, &two, now + 2 * i + 1, keep);
            assert!(count(&b, "calls/f") <= 5, "after round {i}");
        }
        assert_eq!(count(&b, "calls/f"), 5, "exact, not 6");
        // Alone again, a writer whose memo matches the count skips listing.
        write(&b, &two, now + 10, keep);
        write(&b, &two, now + 11, keep);
        assert_eq!(count(&b, "calls/f"), 5);
    }

    #[test]
    fn the_write_count_survives_a_short_or_foreign_lock_file() {
        let tmp = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(tmp.path());
        b.put("calls/f/.lock", b"xyz").unwrap(); // an older version's empty-ish lock file
        let mut lock = b.lock("calls/f/.lock").unwrap();
        assert_eq!(b.count_writes(lock.as_mut(), 2).unwrap(), Some(0));
        assert_eq!(b.count_writes(lock.as_mut(), 1).unwrap(), Some(2));
        drop(lock);
        let mut lock = b.lock("calls/f/.lock").unwrap();
        assert_eq!(b.count_writes(lock.as_mut(), 0).unwrap(), Some(3));
    }

    #[test]
    fn age_retention_lists_again_when_the_oldest_call_expires() {
        let tmp = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(tmp.path());
        let trims = Trims::default();
        let keep = Retention {
            max_count: None,
            max_age: Some(Duration::from_secs(60)),
        };
        let now = unix_nanos(SystemTime::now());
        put_calls(&b, "calls/f", now, 1);
        trims.after_write(&b, "calls/f", 1, None, keep).unwrap();
        // The memo now says the oldest call is fresh; make it an hour old, as
        // if an hour had passed since the listing (without waiting for it).
        let hour_ago = now - 3_600_000_000_000;
        put_calls(&b, "calls/f", hour_ago, 2);
        trims.seen.lock().unwrap().get_mut("calls/f").unwrap().oldest_nanos = Some(hour_ago);
        put_calls(&b, "calls/f", now + 1, 1);
        trims.after_write(&b, "calls/f", 1, None, keep).unwrap();
        assert_eq!(count(&b, "calls/f"), 2, "the two hour-old calls go, the fresh two stay");
    }
}
