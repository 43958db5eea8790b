//! `CAPTURE_DETECTORS`: built-in detectors on or off, user filters off.

use super::detect::{DetectorSet, PiiKind};

/// What a `CAPTURE_DETECTORS` value asks for: the built-in detectors to
/// run, and the user filters (added with [`Policy::filter`](super::Policy::filter))
/// to turn off.
///
/// A `-name` that is not a detector turns off the filter of that name;
/// the rest of the list is parsed by [`DetectorSet::parse`]. A list made
/// only of such names leaves the detectors as they are.
///
/// ```
/// use capture_runtime::filter::{DetectorSet, DetectorSpec, PiiKind};
/// let spec = DetectorSpec::parse("all, -iban, -internal_host").unwrap();
/// assert_eq!(spec.detectors, Some(DetectorSet::ALL.without(PiiKind::Iban)));
/// assert_eq!(spec.filters_off, ["internal_host"]);
/// let only = DetectorSpec::parse("-internal_host").unwrap();
/// assert_eq!((only.detectors, only.filters_off.len()), (None, 1));
/// assert!(DetectorSpec::parse("internal_host").is_err(), "filters can only be turned off");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DetectorSpec {
    /// The built-in detectors, when the list names any.
    pub detectors: Option<DetectorSet>,
    /// Names of user filters to turn off.
    pub filters_off: Vec<String>,
}

impl DetectorSpec {
    /// Parse a `CAPTURE_DETECTORS` value.
    pub fn parse(text: &str) -> Result<DetectorSpec, String> {
        let mut spec = DetectorSpec::default();
        let mut builtin = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item.strip_prefix('-').map(str::trim) {
                Some(name) if !name.is_empty() && !is_builtin(name) => spec.filters_off.push(name.to_owned()),
                _ => builtin.push(item),
            }
        }
        if !builtin.is_empty() || spec.filters_off.is_empty() {
            spec.detectors = Some(DetectorSet::parse(&builtin.join(",")).map_err(|e| {
                if builtin.is_empty() {
                    format!("`{text}`: expected `all`, `none` or detector names")
                } else {
                    e
                }
            })?);
        }
        Ok(spec)
    }
}

fn is_builtin(name: &str) -> bool {
    PiiKind::from_name(name).is_some() || name.eq_ignore_ascii_case("all") || name.eq_ignore_ascii_case("none")
}
