//! Humane values: durations (`7d`, `90m`, `1h30m`) and sizes (`64KiB`, `1MB`).

use std::time::Duration;

/// Parse a duration such as `7d`, `12h`, `90m`, `30s`, `500ms`, `2w`, `1h30m`.
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
                "`{text}`: expected a number before the unit; e.g. `7d`, `12h`, `30m`"
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}`: number too large"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c.is_whitespace())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let secs = match unit {
            "ms" => {
                total += Duration::from_millis(n);
                rest = rest[unit_len..].trim_start();
                continue;
            }
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600,
            "d" | "day" | "days" => 86_400,
            "w" | "week" | "weeks" => 604_800,
            "" => return Err(format!("`{text}`: missing unit; use ms, s, m, h, d or w")),
            other => return Err(format!("`{text}`: unknown unit `{other}`; use ms, s, m, h, d or w")),
        };
        total += Duration::from_secs(n.saturating_mul(secs));
        rest = rest[unit_len..].trim_start();
    }
    Ok(total)
}

/// Parse a size such as `64KiB`, `1MiB`, `10MB`, `512` (bytes).
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
        return Err(format!("`{text}`: expected a size such as `64KiB`, `1MiB`, `4096`"));
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

/// Parse a boolean flag: `1/0`, `true/false`, `yes/no`, `on/off`.
///
/// ```
/// assert_eq!(capture_runtime::config::parse_bool("off"), Ok(false));
/// ```
pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("`{text}`: expected 1/0, true/false, yes/no or on/off")),
    }
}

/// Parse a sampling rate in `[0, 1]`.
///
/// ```
/// assert_eq!(capture_runtime::config::parse_rate("0.25"), Ok(0.25));
/// assert!(capture_runtime::config::parse_rate("2").is_err());
/// ```
pub fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("`{text}`: expected a number between 0 and 1, e.g. 0.1")),
    }
}
