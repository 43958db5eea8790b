//! Humane durations (`7d`, `1h30m`, `500ms`) and sizes (`64KiB`, `1MB`).
//!
//! This one file is compiled into two crates: into capture-runtime (for
//! `CAPTURE_MAX_AGE`, `CAPTURE_MAX_SIZE`, `CAPTURE_CACHE_TTL`, ...) and, through
//! `#[path]`, into capture-macros (for `max_age = "7d"`, `max_size = "64KiB"`,
//! `cache_ttl = "1h"`, ...). So the attribute and the environment accept
//! exactly the same text, and the table of cases at the bottom is run by the
//! unit tests of both crates. It must therefore use `std` alone.

use std::time::Duration;

/// Parse a duration: one or more `<number><unit>` parts, summed, e.g. `7d`,
/// `12h`, `90m`, `30s`, `500ms`, `2w`, `1h30m`, `1h 30m`.
///
/// Units: `ms`; `s`/`sec`/`secs`/`second`/`seconds`; `m`/`min`/`mins`/`minute`/`minutes`;
/// `h`/`hr`/`hrs`/`hour`/`hours`; `d`/`day`/`days`; `w`/`week`/`weeks`.
/// The number is a whole number; a unit is required.
///
/// ```
/// use capture_runtime::config::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86_400));
/// assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5_400));
/// assert!(parse_duration("7 parsecs").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration; expected e.g. `7d`, `12h`, `30m`, `45s`".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "`{text}` is not a duration: expected a number before the unit, e.g. `7d`, `12h`, `30m`"
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}`: number too large"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c.is_whitespace())
            .unwrap_or(rest.len());
        let part = match &rest[..unit_len] {
            "ms" => Some(Duration::from_millis(n)),
            "s" | "sec" | "secs" | "second" | "seconds" => secs(n, 1),
            "m" | "min" | "mins" | "minute" | "minutes" => secs(n, 60),
            "h" | "hr" | "hrs" | "hour" | "hours" => secs(n, 3_600),
            "d" | "day" | "days" => secs(n, 86_400),
            "w" | "week" | "weeks" => secs(n, 604_800),
            "" => return Err(format!("`{text}`: missing unit after {n}; use ms, s, m, h, d or w")),
            other => return Err(format!("`{text}`: unknown unit `{other}`; use ms, s, m, h, d or w")),
        };
        total = part
            .and_then(|p| total.checked_add(p))
            .ok_or_else(|| format!("`{text}`: duration too large"))?;
        rest = rest[unit_len..].trim_start();
    }
    Ok(total)
}

fn secs(n: u64, unit: u64) -> Option<Duration> {
    n.checked_mul(unit).map(Duration::from_secs)
}

/// Parse a size in bytes: a whole number with an optional unit, e.g. `512`,
/// `64KiB`, `1MiB`, `10MB` (units `B`, `K`/`KB`, `KiB`, `M`/`MB`, `MiB`,
/// `G`/`GB`, `GiB`, case-insensitive).
///
/// ```
/// use capture_runtime::config::parse_size;
/// assert_eq!(parse_size("64KiB").unwrap(), 65_536);
/// assert_eq!(parse_size("1MB").unwrap(), 1_000_000);
/// assert_eq!(parse_size("512").unwrap(), 512);
/// assert!(parse_size("lots").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if digits == 0 {
        return Err(format!("`{text}` is not a size: expected e.g. `64KiB`, `1MiB`, `4096`"));
    }
    let n: u64 = s[..digits].parse().map_err(|_| format!("`{text}`: number too large"))?;
    let mult: u64 = match s[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}`; use B, KB, KiB, MB, MiB, GB or GiB"
            ))
        }
    };
    n.checked_mul(mult).ok_or_else(|| format!("`{text}`: too large"))
}

/// The cases both crates test their parsers against: text, and the
/// duration in milliseconds (`None`: rejected).
#[cfg(test)]
pub(crate) const DURATION_CASES: &[(&str, Option<u64>)] = &[
    ("7d", Some(7 * 86_400_000)),
    ("1h30m", Some(5_400_000)),
    ("1h 30m", Some(5_400_000)),
    (" 90m ", Some(5_400_000)),
    ("45s", Some(45_000)),
    ("1s", Some(1_000)),
    ("500ms", Some(500)),
    ("1s500ms", Some(1_500)),
    ("2w", Some(2 * 604_800_000)),
    ("3 days", Some(3 * 86_400_000)),
    ("2hours", Some(7_200_000)),
    ("10min", Some(600_000)),
    ("0s", Some(0)),
    ("", None),
    ("   ", None),
    ("soon", None),
    ("7", None),
    ("7 parsecs", None),
    ("d7", None),
    ("-1s", None),
    ("1.5h", None),
    ("99999999999999999999s", None),
    ("18446744073709551615w", None),
    ("18446744073709551615s 18446744073709551615s", None),
];

#[cfg(test)]
pub(crate) const SIZE_CASES: &[(&str, Option<u64>)] = &[
    ("512", Some(512)),
    ("512B", Some(512)),
    ("64KiB", Some(65_536)),
    ("64kib", Some(65_536)),
    ("1MB", Some(1_000_000)),
    ("1 MiB", Some(1 << 20)),
    ("2GiB", Some(2 << 30)),
    ("1k", Some(1_000)),
    ("lots", None),
    ("", None),
    ("1.5MB", None),
    ("1 parsec", None),
    ("18446744073709551615GiB", None),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_the_shared_table() {
        for &(text, want) in DURATION_CASES {
            let got = parse_duration(text).map(|d| d.as_millis() as u64);
            match want {
                Some(ms) => assert_eq!(got, Ok(ms), "{text:?}"),
                None => assert!(got.is_err(), "{text:?} should be rejected, got {got:?}"),
            }
        }
    }

    #[test]
    fn sizes_follow_the_shared_table() {
        for &(text, want) in SIZE_CASES {
            let got = parse_size(text);
            match want {
                Some(n) => assert_eq!(got, Ok(n), "{text:?}"),
                None => assert!(got.is_err(), "{text:?} should be rejected, got {got:?}"),
            }
        }
    }

    #[test]
    fn errors_name_the_text_and_the_units() {
        let e = parse_duration("7 parsecs").unwrap_err();
        assert!(e.contains("`parsecs`") && e.contains("ms, s, m, h, d or w"), "{e}");
        let e = parse_size("1 parsec").unwrap_err();
        assert!(e.contains("KiB"), "{e}");
    }
}
