//! The store's secret cache salt: 32 random bytes at `cache/.salt` (a 0600
//! file on local stores), mixed into every cache key.
//!
//! Cache keys hash the arguments' unredacted encodings. Unsalted, an entry's
//! file name could be checked against guessed arguments (a dictionary
//! attack on a password argument). Salted with a secret that stays in the
//! store, entry names copied or logged elsewhere reveal nothing. (Whoever
//! can read the whole store can still test guesses, and can read the cached
//! results, which are stored as returned: see `docs/caching.md`.)
//!
//! The first process to need it creates it with put-if-absent; every other
//! process reads the winner's. It is read once per store and process.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use crate::error::{CaptureError, Result};
use crate::store::Store;

/// Store key of the salt.
pub const SALT_KEY: &str = "cache/.salt";
const LEN: usize = 32;

static SALTS: LazyLock<Mutex<HashMap<String, [u8; LEN]>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The salt of `store`, created on first use.
pub(crate) fn salt_of(store: &Store) -> Result<[u8; LEN]> {
    let id = store.describe();
    if let Some(s) = SALTS.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
        return Ok(*s);
    }
    let salt = read_or_create(store)?;
    Ok(*SALTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(id)
        .or_insert(salt))
}

fn read_or_create(store: &Store) -> Result<[u8; LEN]> {
    let backend = store.backend();
    if let Some(s) = backend.get(SALT_KEY)?.and_then(|b| <[u8; LEN]>::try_from(b).ok()) {
        return Ok(s);
    }
    let mut fresh = [0u8; LEN];
    getrandom::fill(&mut fresh).map_err(|e| CaptureError::Config {
        key: "cache salt".into(),
        value: store.describe(),
        expected: format!("random bytes from the operating system ({e}); memoized calls run uncached"),
    })?;
    if !backend.put_if_absent(SALT_KEY, &fresh)? {
        // Another process won, or the file is damaged (wrong length): a
        // damaged salt is replaced, which turns every entry into a miss.
        match backend.get(SALT_KEY)?.and_then(|b| <[u8; LEN]>::try_from(b).ok()) {
            Some(s) => return Ok(s),
            None => backend.put(SALT_KEY, &fresh)?,
        }
    }
    Ok(fresh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_salt_per_store_created_once_and_replaced_when_damaged() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let sa = read_or_create(&Store::open(a.path())).unwrap();
        assert_eq!(
            read_or_create(&Store::open(a.path())).unwrap(),
            sa,
            "read back, not recreated"
        );
        assert_ne!(read_or_create(&Store::open(b.path())).unwrap(), sa);
        let path = a.path().join(SALT_KEY);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::write(&path, b"short").unwrap();
        let replaced = read_or_create(&Store::open(a.path())).unwrap();
        assert_ne!(replaced, sa);
        assert_eq!(std::fs::read(&path).unwrap(), replaced);
    }
}
