//! What may reach disk: sensitive names, PII in strings, skipped types and the
//! size limit, gathered in one [`Policy`] applied while values are encoded.

mod debug_text;
pub mod detect;
mod detector_spec;
pub mod names;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use detect::{DetectorSet, PiiKind};
pub use detector_spec::DetectorSpec;
pub use names::NameMatcher;

use crate::value::Marker;

/// A user-defined string filter: given a string, return the cleaned string
/// when it found something to redact.
///
/// ```
/// use capture_runtime::filter::Filter;
/// struct NoInternalHosts;
/// impl Filter for NoInternalHosts {
///     fn redact(&self, s: &str) -> Option<String> {
///         s.contains(".internal").then(|| "[REDACTED:internal-host]".to_string())
///     }
/// }
/// assert!(NoInternalHosts.redact("db.internal").is_some());
/// ```
pub trait Filter: Send + Sync {
    /// Return `Some(cleaned)` to replace `s`, `None` to keep it.
    fn redact(&self, s: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String> + Send + Sync> Filter for F {
    fn redact(&self, s: &str) -> Option<String> {
        self(s)
    }
}

static NEXT_POLICY_ID: AtomicU64 = AtomicU64::new(1);

/// The redaction and size policy applied while encoding a value.
///
/// ```
/// use capture_runtime::filter::Policy;
/// let p = Policy::default();
/// assert!(p.is_sensitive_name("apiKey"));
/// assert!(!p.is_sensitive_name("quantity"));
/// ```
#[derive(Clone)]
pub struct Policy {
    id: u64,
    names: NameMatcher,
    detectors: DetectorSet,
    filters: Vec<(String, Arc<dyn Filter>)>,
    skip_types: Vec<String>,
    max_size: Option<u64>,
    max_depth: Option<usize>,
    /// Sensitivity of `'static` names already asked about (see [`Policy::is_sensitive_static`]);
    /// renewed whenever the names change.
    static_names: Arc<StaticNames>,
}

/// A direct-mapped cache of `'static` names -> sensitive, shared by threads.
/// Each slot packs the name's address (48 bits), its length (15 bits) and the
/// answer (1 bit) into one atomic, so a read is never torn.
struct StaticNames([AtomicU64; STATIC_SLOTS]);

const STATIC_SLOTS: usize = 512;

impl StaticNames {
    fn new() -> Arc<StaticNames> {
        Arc::new(StaticNames([const { AtomicU64::new(0) }; STATIC_SLOTS]))
    }

    /// The set (two slots) and the packed key of `name`, when it fits.
    #[inline]
    fn key(name: &'static str) -> Option<(usize, u64)> {
        // A `&str`'s pointer is never null, so no packed key is 0 (a free slot).
        let addr = name.as_ptr() as u64;
        let len = name.len() as u64;
        if (addr >> 48) | (len >> 15) != 0 {
            return None;
        }
        // Fibonacci hashing: the top bits of the product are well mixed.
        let x = (addr ^ len << 48).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let set = (x >> (64 - STATIC_SLOTS.trailing_zeros())) as usize & !1;
        Some((set, addr << 16 | len << 1))
    }

    /// The cached answer for `name`, if it was asked before.
    #[inline]
    fn get(&self, name: &'static str) -> Option<bool> {
        let (set, key) = Self::key(name)?;
        let a = self.0[set].load(Ordering::Relaxed);
        if a & !1 == key {
            return Some(a & 1 == 1);
        }
        let b = self.0[set + 1].load(Ordering::Relaxed);
        (b & !1 == key).then_some(b & 1 == 1)
    }

    fn put(&self, name: &'static str, sensitive: bool) {
        if let Some((set, key)) = Self::key(name) {
            // Two ways per set: a new name takes a free slot, else the second
            // one (so two names sharing a set both stay).
            let slot = if self.0[set].load(Ordering::Relaxed) == 0 {
                set
            } else {
                set + 1
            };
            self.0[slot].store(key | sensitive as u64, Ordering::Relaxed);
        }
    }
}

impl Default for Policy {
    /// Default sensitive names on, PII detectors on, no size limit.
    fn default() -> Self {
        Policy::new(NameMatcher::with_defaults(), DetectorSet::ALL)
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("names", &self.names)
            .field("detectors", &self.detectors)
            .field("filters", &self.filters.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .field("skip_types", &self.skip_types)
            .field("max_size", &self.max_size)
            .field("max_depth", &self.max_depth)
            .finish()
    }
}

impl Policy {
    /// A policy with the given name matcher and detectors.
    pub fn new(names: NameMatcher, detectors: DetectorSet) -> Self {
        Policy {
            id: NEXT_POLICY_ID.fetch_add(1, Ordering::Relaxed),
            names,
            detectors,
            filters: Vec::new(),
            skip_types: Vec::new(),
            max_size: None,
            max_depth: None,
            static_names: StaticNames::new(),
        }
    }

    /// A policy that redacts nothing.
    pub fn none() -> Self {
        Policy::new(NameMatcher::new(Vec::<&str>::new()), DetectorSet::NONE)
    }

    fn renew(mut self) -> Self {
        self.id = NEXT_POLICY_ID.fetch_add(1, Ordering::Relaxed);
        self.static_names = StaticNames::new();
        self
    }

    /// Also treat `name` as sensitive.
    pub fn redact_name(mut self, name: &str) -> Self {
        self.names.add(name);
        self.renew()
    }

    /// Never treat `name` as sensitive (overrides defaults).
    pub fn allow_name(mut self, name: &str) -> Self {
        self.names.allow(name);
        self.renew()
    }

    /// Set which PII detectors run on strings.
    pub fn detectors(mut self, set: DetectorSet) -> Self {
        self.detectors = set;
        self
    }

    /// Add a named string filter: a closure or a type implementing
    /// [`Filter`]. The name appears in the record (`pii:<name>`) and turns
    /// the filter off again ([`Policy::without_filter`],
    /// `CAPTURE_DETECTORS=-<name>`).
    ///
    /// ```
    /// use capture_runtime::filter::{Filter, Policy};
    /// struct NoInternalHosts;
    /// impl Filter for NoInternalHosts {
    ///     fn redact(&self, s: &str) -> Option<String> {
    ///         s.contains(".internal").then(|| "[REDACTED:internal_host]".to_string())
    ///     }
    /// }
    /// let p = Policy::default().filter("internal_host", NoInternalHosts);
    /// let (clean, kinds) = p.scan_str("db.internal").unwrap();
    /// assert_eq!((clean.as_str(), kinds[0].as_str()), ("[REDACTED:internal_host]", "internal_host"));
    /// ```
    pub fn filter(mut self, name: &str, f: impl Filter + 'static) -> Self {
        self.filters.push((name.to_owned(), Arc::new(f)));
        self
    }

    /// Remove the string filters added under `name` (built-in detectors are
    /// turned off with [`Policy::detectors`] instead). A name no filter has
    /// changes nothing: see [`Policy::has_filter`].
    ///
    /// ```
    /// use capture_runtime::filter::Policy;
    /// let p = Policy::default().filter("internal_host", |s: &str| {
    ///     s.contains(".internal").then(|| "[REDACTED:internal_host]".to_string())
    /// });
    /// assert!(p.has_filter("internal_host"));
    /// let p = p.without_filter("internal_host");
    /// assert!(!p.has_filter("internal_host"));
    /// assert!(p.scan_str("db.internal").is_none());
    /// ```
    pub fn without_filter(mut self, name: &str) -> Self {
        self.filters.retain(|(n, _)| n != name);
        self
    }

    /// Whether a string filter named `name` is in this policy.
    pub fn has_filter(&self, name: &str) -> bool {
        self.filters.iter().any(|(n, _)| n == name)
    }

    /// The names of the string filters, in the order they run.
    ///
    /// ```
    /// use capture_runtime::filter::Policy;
    /// let p = Policy::default().filter("a", |_: &str| None).filter("b", |_: &str| None);
    /// assert_eq!(p.filter_names().collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn filter_names(&self) -> impl Iterator<Item = &str> {
        self.filters.iter().map(|(n, _)| n.as_str())
    }

    /// Replace values of the type named `name` (serde's struct name) by a marker.
    pub fn skip_type(mut self, name: &str) -> Self {
        self.skip_types.push(name.to_owned());
        self
    }

    /// Drop (with a marker) any argument whose encoding exceeds `bytes`.
    pub fn max_size(mut self, bytes: Option<u64>) -> Self {
        self.max_size = bytes;
        self
    }

    /// Stop encoding a value nested deeper than `levels` (default
    /// [`crate::value::MAX_DEPTH`]).
    pub fn max_depth(mut self, levels: Option<usize>) -> Self {
        self.max_depth = levels;
        self
    }

    /// The nesting limit in force.
    pub fn depth_limit(&self) -> usize {
        self.max_depth.unwrap_or(crate::value::MAX_DEPTH)
    }

    /// The size limit in bytes, if any.
    pub fn size_limit(&self) -> Option<u64> {
        self.max_size
    }

    /// Whether an argument, field or map key called `name` is redacted.
    /// Results are cached per thread, so repeated names cost a hash lookup.
    pub fn is_sensitive_name(&self, name: &str) -> bool {
        thread_local! {
            // (policy id, name -> sensitive); reset when another policy asks.
            static CACHE: RefCell<(u64, HashMap<String, bool>)> = RefCell::new((0, HashMap::new()));
        }
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.0 != self.id || c.1.len() > 4096 {
                c.0 = self.id;
                c.1.clear();
            }
            if let Some(&hit) = c.1.get(name) {
                return hit;
            }
            let v = self.names.is_sensitive(name);
            c.1.insert(name.to_owned(), v);
            v
        })
    }

    /// [`Policy::is_sensitive_name`] for a name that lives for the whole
    /// program (serde's field and variant names, argument names): cached in
    /// the policy by the name's address and length in a small direct-mapped
    /// table of atomics shared by every thread, so a repeated name costs one
    /// load and a compare, no hashing of its text. A `'static` string never
    /// moves or changes, so its address identifies it.
    ///
    /// ```
    /// use capture_runtime::filter::Policy;
    /// let p = Policy::default();
    /// assert!(p.is_sensitive_static("password"));
    /// assert!(!p.is_sensitive_static("quantity"));
    /// ```
    #[inline]
    pub fn is_sensitive_static(&self, name: &'static str) -> bool {
        match self.static_names.get(name) {
            Some(v) => v,
            None => self.learn_static(name),
        }
    }

    /// [`Self::is_sensitive_static`] for a name not in the cache yet: decide and remember.
    #[cold]
    fn learn_static(&self, name: &'static str) -> bool {
        let v = self.is_sensitive_name(name);
        self.static_names.put(name, v);
        v
    }

    /// Scan a string for PII and user filters; `Some((cleaned, kinds))` when
    /// anything was redacted. The detectors run once over the text (one
    /// linear scan per enabled detector); user filters then see the text
    /// already cleaned of PII.
    ///
    /// ```
    /// use capture_runtime::filter::Policy;
    /// let (clean, kinds) = Policy::default().scan_str("card 4111 1111 1111 1111").unwrap();
    /// assert_eq!(clean, "card [REDACTED:credit_card]");
    /// assert_eq!(kinds, ["credit_card"]);
    /// assert!(Policy::default().scan_str("order 1234567812345678").is_none());
    /// ```
    #[inline]
    pub fn scan_str(&self, s: &str) -> Option<(String, Vec<String>)> {
        if self.filters.is_empty() && !detect::may_hold_pii(s, self.detectors) {
            return None;
        }
        self.scan_view(s, s)
    }

    /// [`Policy::scan_str`] with the detectors looking at `view`, a text of
    /// the same length as `s` with the same char boundaries (see
    /// [`debug_text::mask_escapes`]); what they find is redacted in `s`.
    fn scan_view(&self, s: &str, view: &str) -> Option<(String, Vec<String>)> {
        debug_assert_eq!(s.len(), view.len());
        let mut kinds: Vec<String> = Vec::new();
        let mut current: Option<String> = None;
        if !self.detectors.is_empty() {
            let found = detect::find_pii(view, self.detectors);
            if !found.is_empty() {
                for m in &found {
                    if !kinds.iter().any(|k| k == m.kind.name()) {
                        kinds.push(m.kind.name().to_owned());
                    }
                }
                current = Some(detect::redact_matches(s, &found));
            }
        }
        for (name, f) in &self.filters {
            let input = current.as_deref().unwrap_or(s);
            if let Some(clean) = f.redact(input) {
                kinds.push(name.clone());
                current = Some(clean);
            }
        }
        current.map(|c| (c, kinds))
    }

    /// The PII detectors that are on.
    pub fn detector_set(&self) -> DetectorSet {
        self.detectors
    }

    /// Clean `Debug` text (as kept in placeholders): the value after any
    /// sensitive field name or map key (`password: "…"`, `"api_key": …`) is
    /// replaced by `[REDACTED]`, then PII detectors and filters run on the
    /// rest (looking through `Debug`'s escapes: the card in `"a\n4111…"`
    /// follows a line break, not the letter `n`). `None` when nothing was
    /// changed.
    ///
    /// ```
    /// use capture_runtime::filter::Policy;
    /// let p = Policy::default();
    /// let text = r#"Login { user: "ann", password: "hunter2", mfa: Some(Otp { token: 123456 }) }"#;
    /// assert_eq!(
    ///     p.scrub_debug(text).unwrap(),
    ///     r#"Login { user: "ann", password: [REDACTED], mfa: Some(Otp { token: [REDACTED] }) }"#
    /// );
    /// assert!(p.scrub_debug("Point { x: 1, y: 2 }").is_none());
    /// assert_eq!(
    ///     p.scrub_debug(r#"Note { text: "paid\n4111 1111 1111 1111" }"#).unwrap(),
    ///     r#"Note { text: "paid\n[REDACTED:credit_card]" }"#
    /// );
    /// ```
    pub fn scrub_debug(&self, text: &str) -> Option<String> {
        let named = debug_text::redact_named(text, |name| self.is_sensitive_name(name));
        let base = named.as_deref().unwrap_or(text);
        let scanned = match debug_text::mask_escapes(base) {
            Some(view) => self.scan_view(base, &view),
            None => self.scan_str(base),
        };
        match (scanned, named) {
            (Some((clean, _)), _) => Some(clean),
            (None, named) => named,
        }
    }

    /// Whether any type is skipped by name (see [`Policy::skip_type`]).
    #[inline]
    pub fn skips_types(&self) -> bool {
        !self.skip_types.is_empty()
    }

    /// The marker replacing a value of type `name`, when that type is skipped.
    pub fn skip_type_marker(&self, name: &str) -> Option<Marker> {
        self.skip_types.iter().any(|t| t == name).then(|| Marker::Placeholder {
            type_name: name.to_owned(),
            debug: None,
            reason: "type skipped by policy".into(),
        })
    }
}
