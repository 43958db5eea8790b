//! Flags and rates (durations and sizes are in [`super::humane`], shared with the macros).

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
