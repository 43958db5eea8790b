//! The environment layer.

use std::path::PathBuf;
use std::time::Duration;

use super::humane::{parse_duration, parse_size};
use super::parse::{parse_bool, parse_rate};
use super::SampleBy;
use crate::codec::Codec;
use crate::error::CaptureError;
use crate::filter::{DetectorSet, DetectorSpec};

/// Values read from `CAPTURE_*` variables, with the errors of those that did not parse.
///
/// ```
/// use capture_runtime::config::EnvConfig;
/// let env = EnvConfig::from_env(|k| (k == "CAPTURE_RETENTION").then(|| "3".to_string()));
/// assert_eq!(env.retention, Some(3));
/// let bad = EnvConfig::from_env(|k| (k == "CAPTURE_RETENTION").then(|| "many".to_string()));
/// assert!(bad.retention.is_none() && bad.errors.len() == 1);
/// let filters = EnvConfig::from_env(|k| (k == "CAPTURE_DETECTORS").then(|| "-internal_host".to_string()));
/// assert_eq!((filters.detectors, &filters.filters_off[..]), (None, &["internal_host".to_string()][..]));
/// ```
#[derive(Debug, Default)]
pub struct EnvConfig {
    /// `CAPTURE_ENABLED`
    pub enabled: Option<bool>,
    /// `CAPTURE_DIR`
    pub dir: Option<PathBuf>,
    /// `CAPTURE_RETENTION`
    pub retention: Option<usize>,
    /// `CAPTURE_MAX_AGE`
    pub max_age: Option<Duration>,
    /// `CAPTURE_IGNORE_ARGS` (comma-separated)
    pub ignore_args: Vec<String>,
    /// `CAPTURE_SAMPLE_RATE`
    pub sample_rate: Option<f64>,
    /// `CAPTURE_PRODUCTION`
    pub production: Option<bool>,
    /// `CAPTURE_FORMAT`
    pub format: Option<Codec>,
    /// `CAPTURE_MAX_SIZE`
    pub max_size: Option<u64>,
    /// `CAPTURE_MAX_DEPTH`
    pub max_depth: Option<usize>,
    /// `CAPTURE_SAMPLE_BY` (`call` or `args`)
    pub sample_by: Option<SampleBy>,
    /// `CAPTURE_DETECTORS` (`all`, `none`, `email,jwt`, `-iban`)
    pub detectors: Option<DetectorSet>,
    /// `CAPTURE_DETECTORS` entries `-name` naming no detector: the user
    /// filters of that name to turn off.
    pub filters_off: Vec<String>,
    /// `CAPTURE_QUOTA` (a size such as `1GiB`)
    pub quota: Option<u64>,
    /// `CAPTURE_ACCEPT` (`no`, `new` or `always`)
    pub accept: Option<super::Accept>,
    /// `CAPTURE_REPLAY` (`accepted`, `pending` or `all`)
    pub replay: Option<crate::record::Kinds>,
    /// `CI` is set (to anything but `0`, `false` or nothing): CI mode.
    pub ci: bool,
    /// Values that did not parse.
    pub errors: Vec<CaptureError>,
}

impl EnvConfig {
    /// Read the variables through `get` (`std::env::var` in production, a map in tests).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> EnvConfig {
        let mut cfg = EnvConfig::default();
        let mut errors = Vec::new();
        let mut read = |key: &str, expected: &str| -> Option<String> {
            let v = get(key)?;
            if v.trim().is_empty() {
                errors.push(CaptureError::Config {
                    key: key.into(),
                    value: v,
                    expected: format!("{expected} (the variable is set but empty)"),
                });
                return None;
            }
            Some(v)
        };
        let enabled = read("CAPTURE_ENABLED", "1/0, true/false");
        let dir = read("CAPTURE_DIR", "a folder path");
        let retention = read("CAPTURE_RETENTION", "a whole number >= 1");
        let max_age = read("CAPTURE_MAX_AGE", "a duration such as 7d");
        let ignore = read("CAPTURE_IGNORE_ARGS", "comma-separated argument names");
        let rate = read("CAPTURE_SAMPLE_RATE", "a number between 0 and 1");
        let prod = read("CAPTURE_PRODUCTION", "1/0, true/false");
        let format = read("CAPTURE_FORMAT", "msgpack or json");
        let max_size = read("CAPTURE_MAX_SIZE", "a size such as 64KiB");
        let max_depth = read("CAPTURE_MAX_DEPTH", "a whole number of levels >= 1");
        let sample_by = read("CAPTURE_SAMPLE_BY", "call or args");
        let detectors = read(
            "CAPTURE_DETECTORS",
            "all, none, or detector names such as email,jwt or -iban",
        );
        let quota = read("CAPTURE_QUOTA", "a size such as 1GiB");
        let accept = read("CAPTURE_ACCEPT", "no, new or always");
        let replay = read("CAPTURE_REPLAY", "accepted, pending or all");
        cfg.ci = get("CI").is_some_and(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false"));
        let mut check = |key: &str, value: Option<String>, f: &dyn Fn(&str) -> Result<(), String>| {
            if let Some(v) = value.as_deref() {
                if let Err(expected) = f(v) {
                    errors.push(CaptureError::Config {
                        key: key.into(),
                        value: v.into(),
                        expected,
                    });
                }
            }
            value
        };
        cfg.enabled = check("CAPTURE_ENABLED", enabled, &|v| parse_bool(v).map(drop)).and_then(|v| parse_bool(&v).ok());
        cfg.dir = dir.map(PathBuf::from);
        cfg.retention = check("CAPTURE_RETENTION", retention, &|v| match v.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(()),
            _ => Err(format!("`{v}`: expected a whole number >= 1")),
        })
        .and_then(|v| v.trim().parse().ok().filter(|n| *n >= 1));
        cfg.max_age = check("CAPTURE_MAX_AGE", max_age, &|v| match parse_duration(v) {
            Ok(d) if d.is_zero() => Err(format!(
                "`{v}`: the maximum age must be longer than 0s (0 would delete every call as it is written; unset the variable to keep calls of any age)"
            )),
            other => other.map(drop),
        })
        .and_then(|v| parse_duration(&v).ok().filter(|d| !d.is_zero()));
        cfg.ignore_args = ignore
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        cfg.sample_rate =
            check("CAPTURE_SAMPLE_RATE", rate, &|v| parse_rate(v).map(drop)).and_then(|v| parse_rate(&v).ok());
        cfg.production =
            check("CAPTURE_PRODUCTION", prod, &|v| parse_bool(v).map(drop)).and_then(|v| parse_bool(&v).ok());
        cfg.format = check("CAPTURE_FORMAT", format, &|v| v.parse::<Codec>().map(drop)).and_then(|v| v.parse().ok());
        cfg.max_size =
            check("CAPTURE_MAX_SIZE", max_size, &|v| parse_size(v).map(drop)).and_then(|v| parse_size(&v).ok());
        cfg.max_depth = check("CAPTURE_MAX_DEPTH", max_depth, &|v| match v.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(()),
            _ => Err(format!("`{v}` is not a whole number of levels >= 1")),
        })
        .and_then(|v| v.trim().parse().ok().filter(|n| *n >= 1));
        cfg.sample_by =
            check("CAPTURE_SAMPLE_BY", sample_by, &|v| v.parse::<SampleBy>().map(drop)).and_then(|v| v.parse().ok());
        let spec = check("CAPTURE_DETECTORS", detectors, &|v| DetectorSpec::parse(v).map(drop))
            .and_then(|v| DetectorSpec::parse(&v).ok())
            .unwrap_or_default();
        cfg.detectors = spec.detectors;
        cfg.filters_off = spec.filters_off;
        cfg.quota = check("CAPTURE_QUOTA", quota, &|v| match parse_size(v) {
            Ok(0) => Err(format!("`{v}`: the quota must be more than 0 bytes")),
            other => other.map(drop),
        })
        .and_then(|v| parse_size(&v).ok().filter(|n| *n > 0));
        cfg.accept =
            check("CAPTURE_ACCEPT", accept, &|v| v.parse::<super::Accept>().map(drop)).and_then(|v| v.parse().ok());
        cfg.replay = check("CAPTURE_REPLAY", replay, &|v| {
            v.parse::<crate::record::Kinds>().map(drop)
        })
        .and_then(|v| v.parse().ok());
        cfg.errors = errors;
        cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(key: &'static str, value: &'static str) -> EnvConfig {
        EnvConfig::from_env(move |k| (k == key).then(|| value.to_string()))
    }

    #[test]
    fn lifecycle_variables_parse_and_ci_is_any_true_value() {
        assert_eq!(with("CAPTURE_ACCEPT", "new").accept, Some(super::super::Accept::New));
        assert_eq!(
            with("CAPTURE_ACCEPT", "ALWAYS").accept,
            Some(super::super::Accept::Always)
        );
        let bad = with("CAPTURE_ACCEPT", "yes please");
        assert_eq!((bad.accept, bad.errors.len()), (None, 1));
        assert_eq!(with("CAPTURE_REPLAY", "all").replay, Some(crate::record::Kinds::All));
        assert_eq!(with("CAPTURE_REPLAY", "some").errors.len(), 1);
        assert!(with("CI", "true").ci);
        assert!(with("CI", "1").ci);
        assert!(!with("CI", "false").ci);
        assert!(!with("CI", "0").ci);
        assert!(!with("OTHER", "1").ci);
    }

    #[test]
    fn max_depth_is_a_whole_number_of_levels_and_limits_encoding() {
        assert_eq!(with("CAPTURE_MAX_DEPTH", "3").max_depth, Some(3));
        for bad in ["0", "deep", "-1"] {
            let env = with("CAPTURE_MAX_DEPTH", bad);
            assert_eq!((env.max_depth, env.errors.len()), (None, 1), "{bad}");
        }
        // The limit reaches the encoder through the policy.
        let policy = crate::filter::Policy::none().max_depth(Some(3));
        let nested = vec![vec![vec![vec![1u8]]]];
        let mut ctx = crate::value::EncodeCtx::with_policy(&policy);
        ctx.begin("x");
        let err = crate::value::to_value(&nested, &mut ctx).expect_err("4 levels > 3");
        assert!(format!("{err:?}").contains("nested more than 3 levels"), "{err:?}");
        let mut ctx = crate::value::EncodeCtx::with_policy(&policy);
        ctx.begin("x");
        assert!(crate::value::to_value(&vec![vec![1u8]], &mut ctx).is_ok());
    }

    #[test]
    fn max_age_uses_the_shared_grammar_and_rejects_zero() {
        for &(text, want_ms) in super::super::humane::DURATION_CASES {
            if text.trim().is_empty() {
                continue; // an empty variable is its own error
            }
            let env = EnvConfig::from_env(|k| (k == "CAPTURE_MAX_AGE").then(|| text.to_string()));
            match want_ms {
                Some(0) | None => {
                    assert!(env.max_age.is_none(), "{text:?}");
                    assert_eq!(env.errors.len(), 1, "{text:?}: one error, never a silent fallback");
                }
                Some(ms) => assert_eq!(env.max_age, Some(Duration::from_millis(ms)), "{text:?}"),
            }
        }
        let zero = with("CAPTURE_MAX_AGE", "0d").errors[0].to_string();
        assert!(zero.contains("longer than 0s"), "{zero}");
    }
}
