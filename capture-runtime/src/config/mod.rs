//! Configuration: attribute > environment > [`configure`] > defaults.
//!
//! `CAPTURE_ENABLED=0` turns everything off whatever else says. Invalid
//! values are reported once (through `tracing` and on stderr) and ignored;
//! [`check_config`] returns them as an error for programs that want to fail fast.

mod env;
mod humane;
mod mode;
mod parse;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

pub use env::EnvConfig;
pub use humane::{parse_duration, parse_size};
#[doc(hidden)]
pub use mode::SiteMode;
pub use parse::{parse_bool, parse_rate};

use crate::codec::Codec;
use crate::error::CaptureError;
use crate::filter::{DetectorSet, Policy};
use crate::store::Durability;

/// Whether new recordings become accepted captures on their own (as
/// `INSTA_UPDATE` does for snapshots). Set by `CAPTURE_ACCEPT` or
/// [`Config::accept`]; in CI (`CI` set) the default is `No` too.
///
/// ```
/// use capture_runtime::config::Accept;
/// assert_eq!(Accept::default(), Accept::No);
/// assert_eq!("new".parse::<Accept>(), Ok(Accept::New));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Accept {
    /// Recordings are pending until reviewed (the default).
    #[default]
    No,
    /// A recording whose inputs have no accepted capture yet is accepted
    /// at once; one whose inputs have one stays out (the accepted one is kept).
    New,
    /// Every recording is accepted, replacing the accepted capture with
    /// the same inputs: re-record the expected results after an intended change.
    Always,
}

impl std::str::FromStr for Accept {
    type Err = String;
    fn from_str(s: &str) -> Result<Accept, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "no" | "0" | "false" => Ok(Accept::No),
            "new" => Ok(Accept::New),
            "always" | "1" | "true" => Ok(Accept::Always),
            other => Err(format!("`{other}`: expected no, new or always")),
        }
    }
}

/// Default capacity of the background writer's queue, in calls.
pub const DEFAULT_QUEUE: usize = 16 * 1024;

/// How captures get to disk.
///
/// ```
/// use capture_runtime::config::{WhenFull, WriterMode, DEFAULT_QUEUE};
/// assert_eq!(
///     WriterMode::default(),
///     WriterMode::Background { capacity: DEFAULT_QUEUE, when_full: WhenFull::Drop }
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriterMode {
    /// The calling thread hashes and writes: every capture is on disk when
    /// the call returns, at the cost of a file append per call start and end.
    Sync,
    /// The calling thread encodes and enqueues; a writer thread hashes and
    /// writes (the default).
    Background {
        /// Bounded queue length.
        capacity: usize,
        /// What a full queue does.
        when_full: WhenFull,
    },
}

impl Default for WriterMode {
    fn default() -> WriterMode {
        WriterMode::Background {
            capacity: DEFAULT_QUEUE,
            when_full: WhenFull::Drop,
        }
    }
}

/// Policy of a full background queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WhenFull {
    /// Drop the capture and count it (the caller never waits). The default.
    #[default]
    Drop,
    /// Wait for room.
    Block,
}

/// The size limit of one encoded argument (or return value) when nothing
/// sets one: 1 MiB. A larger value is dropped with a `too_large` marker, so
/// one giant argument passed in a loop costs a bounded encoding, not a copy
/// and a PII scan of all of it on every call. Raise it with
/// `max_size = "64MiB"` on the attribute, `CAPTURE_MAX_SIZE` or
/// [`Config::max_size`]; production mode lowers it to 16 KiB.
///
/// ```
/// assert_eq!(capture_runtime::config::DEFAULT_MAX_SIZE, 1 << 20);
/// ```
pub const DEFAULT_MAX_SIZE: u64 = 1 << 20;

/// Programmatic configuration, the layer below attributes and environment.
///
/// ```
/// use capture_runtime::{configure, Config};
/// configure(Config { retention: Some(5), ..Config::default() });
/// ```
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Turn capturing on or off (default: on in debug builds, off in
    /// release unless the production preset is on).
    pub enabled: Option<bool>,
    /// Store folder (default `<capturing crate>/captures`).
    pub dir: Option<PathBuf>,
    /// Calls kept per function.
    pub retention: Option<usize>,
    /// Maximum age of kept calls.
    pub max_age: Option<Duration>,
    /// Argument names never recorded, for every function.
    pub ignore_args: Vec<String>,
    /// Fraction of calls recorded.
    pub sample_rate: Option<f64>,
    /// Fraction of the calls that `sample_rate` leaves out which are kept
    /// all the same when they return `Err` (functions returning a
    /// `Result`) or panic; default 1: every failure is kept. 0 restores
    /// plain sampling, where a call sampled out costs no encoding.
    pub err_sample_rate: Option<f64>,
    /// Production preset (see [`Config::production`]). Like
    /// `CAPTURE_PRODUCTION=1`, it also turns capturing on in release builds
    /// unless `enabled` says otherwise.
    pub production: Option<bool>,
    /// Codec of new files.
    pub format: Option<Codec>,
    /// Deepest nesting of a captured value (default
    /// [`crate::value::MAX_DEPTH`]); deeper values are recorded as not captured.
    pub max_depth: Option<usize>,
    /// Largest encoded argument kept, in bytes ([`DEFAULT_MAX_SIZE`] when
    /// nothing sets one).
    pub max_size: Option<u64>,
    /// Base redaction policy (names, PII detectors, filters).
    pub policy: Option<Policy>,
    /// Synchronous or background writing.
    pub writer: Option<WriterMode>,
    /// fsync policy of the local store.
    pub durability: Option<Durability>,
    /// Whether nested captured calls (depth > 0) are recorded. Default true.
    pub nested: Option<bool>,
    /// How calls are sampled when the rate is below 1 (default: at random).
    pub sample_by: Option<SampleBy>,
    /// PII detectors that run on strings, overriding those of `policy`.
    pub detectors: Option<DetectorSet>,
    /// Store-wide disk quota in bytes: past it, the oldest pending captures
    /// of any function are evicted (local stores only; accepted captures
    /// never are).
    pub quota: Option<u64>,
    /// Whether recordings are accepted on their own (`CAPTURE_ACCEPT`; default [`Accept::No`]).
    pub accept: Option<Accept>,
    /// Which captures replay runs (`CAPTURE_REPLAY`; default accepted only).
    pub replay: Option<crate::record::Kinds>,
}

/// How a sampling rate below 1 picks the calls it records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SampleBy {
    /// Each call is recorded with the given probability, independently
    /// (costs one random number per call; nothing is encoded on a miss).
    #[default]
    Call,
    /// Deterministic: a hash of the call's *redacted* encoded arguments
    /// decides, so the same input is always in or always out, in every
    /// process. The arguments are encoded before the decision, so a miss
    /// costs an encoding.
    Args,
}

impl std::str::FromStr for SampleBy {
    type Err = String;

    /// `call` / `random`, or `args` / `deterministic`.
    ///
    /// ```
    /// use capture_runtime::config::SampleBy;
    /// assert_eq!("args".parse::<SampleBy>(), Ok(SampleBy::Args));
    /// assert!("sometimes".parse::<SampleBy>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "call" | "calls" | "random" => Ok(SampleBy::Call),
            "args" | "arguments" | "deterministic" => Ok(SampleBy::Args),
            _ => Err(format!(
                "`{s}`: expected `call` (random per call) or `args` (deterministic by argument hash)"
            )),
        }
    }
}

impl Config {
    /// The production preset, a starting point for services that capture
    /// real traffic: 1% of calls sampled at random, a 16 KiB size limit per
    /// argument, retention 1 per function, a 256 MiB store-wide quota with
    /// oldest-first eviction, every PII detector on (whatever the base
    /// policy says), and the background writer dropping captures when its
    /// queue is full. Turned on by `CAPTURE_PRODUCTION=1` or
    /// `Config { production: Some(true), .. }`; every value can still be
    /// overridden by attributes, environment and the other `Config` fields.
    /// The preset also turns capturing on in release builds (where it is off
    /// by default), unless `CAPTURE_ENABLED` or `Config::enabled` says otherwise.
    ///
    /// ```
    /// use capture_runtime::{filter::DetectorSet, Config};
    /// let c = Config::production();
    /// assert_eq!(c.retention, Some(1));
    /// assert_eq!(c.detectors, Some(DetectorSet::ALL));
    /// assert_eq!(c.quota, Some(256 << 20));
    /// ```
    pub fn production() -> Config {
        Config {
            production: Some(true),
            sample_rate: Some(0.01),
            sample_by: Some(SampleBy::Call),
            max_size: Some(16 * 1024),
            retention: Some(1),
            quota: Some(PRODUCTION_QUOTA),
            detectors: Some(DetectorSet::ALL),
            writer: Some(WriterMode::Background {
                capacity: 1024,
                when_full: WhenFull::Drop,
            }),
            ..Config::default()
        }
    }
}

/// Store-wide quota of the production preset (256 MiB).
pub const PRODUCTION_QUOTA: u64 = 256 << 20;

/// Default number of calls kept per function when nothing says otherwise.
pub const DEFAULT_RETENTION: usize = 10;

static GENERATION: AtomicU64 = AtomicU64::new(1);
static PROGRAMMATIC: RwLock<Option<Config>> = RwLock::new(None);
static ENV: OnceLock<EnvConfig> = OnceLock::new();

/// Whether capturing is globally on: one relaxed atomic load and a branch
/// on the hot path (initialisation happens once, on the first call).
/// Annotated functions read their own copy of it ([`SiteMode`]).
///
/// ```
/// capture_runtime::set_enabled(false);
/// assert!(!capture_runtime::config::enabled());
/// capture_runtime::set_enabled(true);
/// ```
#[inline(always)]
pub fn enabled() -> bool {
    mode::enabled()
}

fn resolve_enabled() -> bool {
    enabled_from(env_config(), programmatic().as_ref(), cfg!(debug_assertions))
}

/// [`decide_enabled`] from the environment layer and `configure()`'s.
fn enabled_from(env: &EnvConfig, prog: Option<&Config>, debug_build: bool) -> bool {
    decide_enabled(
        env.enabled,
        prog.and_then(|c| c.enabled),
        env.production.or(prog.and_then(|c| c.production)),
        debug_build && !env.ci,
    )
}

/// Whether capturing is on, from what each layer says: `CAPTURE_ENABLED`,
/// then `Config::enabled`, then the production preset (`CAPTURE_PRODUCTION`,
/// else `Config::production`) turns it on; otherwise it is on exactly in
/// debug builds outside CI (`debug_build`: `cfg!(debug_assertions)`, true
/// under `cargo test` and `cargo run`, false under `--release`; and false
/// when `CI` is set: CI replays what was committed, it records only when
/// asked).
pub(crate) fn decide_enabled(
    env_enabled: Option<bool>,
    configured: Option<bool>,
    production: Option<bool>,
    debug_build: bool,
) -> bool {
    env_enabled
        .or(configured)
        .unwrap_or(production == Some(true) || debug_build)
}

/// `policy` without the user filters that `CAPTURE_DETECTORS` turns off
/// (`-name`); a name that is neither a detector nor a filter of the policy
/// is reported once.
pub(crate) fn without_env_filters(mut policy: Policy) -> Policy {
    let off = &env_config().filters_off;
    if off.is_empty() {
        return policy;
    }
    let filters: Vec<String> = policy.filter_names().map(str::to_owned).collect();
    for name in off {
        if filters.contains(name) {
            policy = policy.without_filter(name);
        } else {
            let known: Vec<&str> = crate::filter::PiiKind::ALL.iter().map(|k| k.name()).collect();
            report_once(
                &CaptureError::Config {
                    key: "CAPTURE_DETECTORS".into(),
                    value: format!("-{name}"),
                    expected: format!(
                        "`-{name}` turns off neither a detector ({}) nor a filter of the policy (filters: {}); fix or remove it",
                        known.join(", "),
                        if filters.is_empty() { "none".to_owned() } else { filters.join(", ") }
                    ),
                }
                .to_string(),
            );
        }
    }
    policy
}

/// Set the programmatic configuration layer (below attributes and
/// environment). Sites pick it up on their next call.
///
/// ```
/// capture_runtime::configure(capture_runtime::Config { sample_rate: Some(0.5), ..Default::default() });
/// ```
pub fn configure(config: Config) {
    *PROGRAMMATIC.write().unwrap_or_else(|e| e.into_inner()) = Some(config);
    GENERATION.fetch_add(1, Ordering::Relaxed);
    mode::store(resolve_enabled());
}

/// Turn capturing on or off for the whole process at run time (the
/// environment's `CAPTURE_ENABLED=0` still wins).
///
/// ```
/// capture_runtime::set_enabled(false);
/// assert!(!capture_runtime::config::enabled());
/// capture_runtime::set_enabled(true);
/// ```
pub fn set_enabled(on: bool) {
    mode::store(on && env_config().enabled != Some(false));
}

/// The programmatic layer, if set.
pub fn programmatic() -> Option<Config> {
    PROGRAMMATIC.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The environment layer (read once per process).
pub fn env_config() -> &'static EnvConfig {
    ENV.get_or_init(|| {
        let cfg = EnvConfig::from_env(|k| std::env::var(k).ok());
        for err in &cfg.errors {
            report_once(&err.to_string());
        }
        cfg
    })
}

/// Bumped by [`configure`]: sites re-resolve their settings when it changes.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

/// Every configuration error found so far (environment values that did not
/// parse), as one error: for programs that want to refuse to start.
///
/// ```
/// assert!(capture_runtime::check_config().is_ok() || capture_runtime::check_config().is_err());
/// ```
pub fn check_config() -> Result<(), CaptureError> {
    match env_config().errors.first() {
        None => Ok(()),
        Some(CaptureError::Config { key, value, expected }) => Err(CaptureError::Config {
            key: key.clone(),
            value: value.clone(),
            expected: expected.clone(),
        }),
        Some(other) => Err(CaptureError::Config {
            key: "?".into(),
            value: String::new(),
            expected: other.to_string(),
        }),
    }
}

pub(crate) use crate::report::report;
pub(crate) use crate::report::report_once;
#[doc(hidden)]
pub use crate::report::{reported_counts, reported_messages};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_in_debug_off_in_release_unless_enabled() {
        // Nothing said: the build decides.
        assert!(decide_enabled(None, None, None, true), "on in debug builds and tests");
        assert!(!decide_enabled(None, None, None, false), "off in release");
        // Release, turned on by each layer.
        assert!(decide_enabled(Some(true), None, None, false), "CAPTURE_ENABLED=1");
        assert!(decide_enabled(None, Some(true), None, false), "configure(enabled)");
        assert!(decide_enabled(None, None, Some(true), false), "production preset");
        assert!(!decide_enabled(None, None, Some(false), false), "CAPTURE_PRODUCTION=0");
        // Debug, turned off.
        assert!(!decide_enabled(Some(false), None, None, true), "CAPTURE_ENABLED=0");
        assert!(
            !decide_enabled(None, Some(false), None, true),
            "configure(enabled: false)"
        );
        // The environment beats configure(), which beats the preset.
        assert!(!decide_enabled(Some(false), Some(true), Some(true), true));
        assert!(decide_enabled(Some(true), Some(false), None, false));
        assert!(!decide_enabled(None, Some(false), Some(true), true));
    }

    fn env(pairs: &[(&str, &str)]) -> EnvConfig {
        EnvConfig::from_env(|k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn production_turns_capturing_on_in_release_builds_from_either_layer() {
        let prod = Config {
            production: Some(true),
            ..Config::default()
        };
        let release = false;
        assert!(!enabled_from(&env(&[]), None, release));
        assert!(enabled_from(&env(&[("CAPTURE_PRODUCTION", "1")]), None, release));
        assert!(enabled_from(&env(&[]), Some(&prod), release));
        assert!(enabled_from(&env(&[]), None, !release));
        // `enabled` wins over the preset, in both layers.
        let off = Config {
            enabled: Some(false),
            ..prod.clone()
        };
        assert!(!enabled_from(&env(&[]), Some(&off), release));
        assert!(!enabled_from(&env(&[("CAPTURE_ENABLED", "0")]), Some(&prod), !release));
        // CI: recording is off in debug builds too, unless asked for.
        let debug = !release;
        assert!(!enabled_from(&env(&[("CI", "true")]), None, debug));
        assert!(enabled_from(
            &env(&[("CI", "true"), ("CAPTURE_ENABLED", "1")]),
            None,
            debug
        ));
        let on = Config {
            enabled: Some(true),
            ..Config::default()
        };
        assert!(enabled_from(&env(&[("CI", "true")]), Some(&on), debug));
        assert!(enabled_from(&env(&[("CI", "true")]), Some(&prod), release));
        // The environment's `CAPTURE_PRODUCTION=0` wins over `Config`, as for the preset's settings.
        assert!(!enabled_from(
            &env(&[("CAPTURE_PRODUCTION", "0")]),
            Some(&prod),
            release
        ));
    }
}
