//! The call record: what one captured call looks like on disk.
//!
//! Records are encoded with named fields (MessagePack maps), so adding a field
//! with `#[serde(default)]` stays readable by older records; removing or
//! changing a field bumps [`crate::codec::FORMAT_VERSION`].

use serde::{Deserialize, Serialize};

use crate::hash::ContentId;

/// One captured call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Function id: `crate::module::fn` (or the `name = ..` given).
    pub function: String,
    /// Name of the crate that captured.
    pub crate_name: String,
    /// Version of the crate that captured.
    pub crate_version: String,
    /// On-disk format version of this record.
    pub format_version: u16,
    /// Wall-clock time at call start, nanoseconds since the Unix epoch.
    pub unix_nanos: u64,
    /// Process id.
    pub pid: u32,
    /// Per-process sequence number of the capture.
    pub seq: u64,
    /// Thread name, when the thread has one.
    pub thread_name: Option<String>,
    /// Numeric thread id (from `std::thread::ThreadId`).
    pub thread_id: u64,
    /// Nesting depth of captured calls on this thread at call start (0 = outermost).
    pub depth: u32,
    /// Arguments in declaration order.
    pub args: Vec<ArgRecord>,
    /// The return value, when `ret` was on and the call returned.
    #[serde(default)]
    pub ret: Option<ArgRecord>,
    /// State of `&mut` arguments (and of a recorded `&mut self`) after the call, when it returned.
    #[serde(default)]
    pub after: Vec<ArgRecord>,
    /// How the call ended.
    pub outcome: Outcome,
}

/// Where a capture is in its lifecycle.
///
/// Recording produces *pending* captures; reviewed ones are *accepted*:
/// regression fixtures, one file each, committed with the code and never
/// evicted by anything automatic (see the guide's lifecycle chapter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureKind {
    /// Recorded, awaiting review: subject to retention, age and quota.
    Pending,
    /// Reviewed and kept: replayed by default.
    Accepted,
}

/// Which captures a listing includes.
///
/// ```
/// use capture_runtime::record::{CaptureKind, Kinds};
/// assert!(Kinds::All.includes(CaptureKind::Pending));
/// assert!(!Kinds::Accepted.includes(CaptureKind::Pending));
/// assert_eq!("pending".parse::<Kinds>(), Ok(Kinds::Pending));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kinds {
    /// Accepted and pending captures.
    #[default]
    All,
    /// Accepted captures only.
    Accepted,
    /// Pending captures only.
    Pending,
}

impl Kinds {
    /// Whether captures of `kind` are included.
    pub fn includes(self, kind: CaptureKind) -> bool {
        match self {
            Kinds::All => true,
            Kinds::Accepted => kind == CaptureKind::Accepted,
            Kinds::Pending => kind == CaptureKind::Pending,
        }
    }
}

impl std::str::FromStr for Kinds {
    type Err = String;
    fn from_str(s: &str) -> Result<Kinds, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" => Ok(Kinds::All),
            "accepted" => Ok(Kinds::Accepted),
            "pending" => Ok(Kinds::Pending),
            other => Err(format!("`{other}`: expected accepted, pending or all")),
        }
    }
}

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Recorded at call start; the call has not finished (or the process died in it).
    Started,
    /// The call returned.
    Returned,
    /// The call panicked.
    Panicked,
    /// The call's future was dropped before it finished (`async fn` only).
    Cancelled,
}

/// One argument (or the return value) of a call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArgRecord {
    /// Parameter name (`self` for receivers, `return` for the return value).
    pub name: String,
    /// `std::any::type_name` of the value at capture time.
    pub type_name: String,
    /// Where the value is, or why it is not stored.
    pub slot: Slot,
    /// Schema fingerprint of the type, when one could be computed.
    #[serde(default)]
    pub schema: Option<Schema>,
    /// Parts of the value that were redacted: (path, reason).
    #[serde(default)]
    pub redacted: Vec<(String, String)>,
}

/// A type's structure at capture time, for drift messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// SHA-256 (hex, first 16 chars) of `description`.
    pub fingerprint: String,
    /// Human-readable structure, e.g. `Order { id: u64, items: [LineItem { sku: str, qty: u32 }] }`.
    pub description: String,
}

/// Where an argument's value is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    /// Stored as the object with this id.
    Stored {
        /// Content id of the encoded value.
        id: ContentId,
        /// Encoded length in bytes.
        len: u64,
    },
    /// Not recorded (`ignore(..)`).
    Ignored,
    /// Replaced by a redaction marker (sensitive name).
    Redacted {
        /// Why.
        reason: String,
    },
    /// The type can be neither encoded nor rebuilt; a description was kept.
    Placeholder {
        /// Capped `Debug` text, when available and not sensitive.
        debug: Option<String>,
        /// Why the value could not be encoded.
        reason: String,
    },
    /// Larger than the size limit.
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Encoding failed (the type's `Serialize` returned an error or panicked).
    Failed {
        /// The error message.
        error: String,
    },
}

impl Slot {
    /// Why this slot cannot be rebuilt, or `None` when it is stored.
    pub fn missing_reason(&self) -> Option<String> {
        match self {
            Slot::Stored { .. } => None,
            Slot::Ignored => Some("ignored at capture time (`ignore(..)`)".into()),
            Slot::Redacted { reason } => Some(format!("redacted at capture time ({reason})")),
            Slot::Placeholder { reason, .. } => Some(format!("placeholder: {reason}")),
            Slot::TooLarge { limit } => Some(format!("larger than the {limit}-byte size limit")),
            Slot::Failed { error } => Some(format!("encoding failed: {error}")),
        }
    }
}

impl CallRecord {
    /// Why this call cannot be replayed as is (arguments not stored, parts redacted), empty when it can.
    pub fn not_replayable_reasons(&self) -> Vec<String> {
        let mut out = Vec::new();
        for a in &self.args {
            if let Some(r) = a.slot.missing_reason() {
                out.push(format!("argument `{}`: {r}", a.name));
            } else if !a.redacted.is_empty() {
                let paths: Vec<_> = a.redacted.iter().map(|(p, why)| format!("{p} ({why})")).collect();
                out.push(format!(
                    "argument `{}` has redacted parts: {}",
                    a.name,
                    paths.join(", ")
                ));
            }
        }
        out
    }

    /// The id of this call's inputs: 12 hex characters of the SHA-256 of the
    /// function id and each argument's name and content id (or, for an
    /// argument not stored, why). Calls with equal inputs have equal ids.
    /// It names the accepted capture's file (`calls/<fn>/<input id>.call`)
    /// and its replay test (`<fn>::<input id>`).
    ///
    /// ```
    /// # use capture_runtime::record::*;
    /// # let rec = CallRecord { function: "shop::price".into(), crate_name: "shop".into(),
    /// #     crate_version: "0.1.0".into(), format_version: 2, unix_nanos: 1_000, pid: 1, seq: 0,
    /// #     thread_name: None, thread_id: 1, depth: 0, args: vec![], ret: None, after: vec![],
    /// #     outcome: Outcome::Returned };
    /// let mut later = rec.clone();
    /// later.unix_nanos = 2_000;
    /// assert_eq!(rec.input_id(), later.input_id());
    /// assert_eq!(rec.input_id().len(), 12);
    /// ```
    pub fn input_id(&self) -> String {
        let mut text = self.function.clone();
        for a in &self.args {
            text.push('\n');
            text.push_str(&a.name);
            text.push('=');
            match &a.slot {
                Slot::Stored { id, .. } => text.push_str(&id.to_hex()),
                other => text.push_str(&other.missing_reason().unwrap_or_default()),
            }
        }
        ContentId::of(text.as_bytes()).short(12)
    }

    /// The file name of this record inside its function's folder, as this
    /// process writes it: `<nanos>-<pid>-<seq>-<nonce>.call`. It sorts by
    /// time; the nonce (random, one per process, see
    /// [`crate::store::process_nonce`]) keeps names unique across machines
    /// and containers whose processes share a pid. Names written before the
    /// nonce existed (`<nanos>-<pid>-<seq>.call`) are read the same way.
    pub fn file_name(&self) -> String {
        format!(
            "{:020}-{:010}-{:012}-{:016x}.call",
            self.unix_nanos,
            self.pid,
            self.seq,
            crate::store::process_nonce()
        )
    }
}

/// A call of `shop::price` with no arguments, for unit tests of the store.
#[cfg(test)]
pub(crate) fn test_record(unix_nanos: u64, pid: u32, seq: u64) -> CallRecord {
    CallRecord {
        function: "shop::price".into(),
        crate_name: "shop".into(),
        crate_version: "0.1.0".into(),
        format_version: crate::codec::FORMAT_VERSION,
        unix_nanos,
        pid,
        seq,
        thread_name: None,
        thread_id: 1,
        depth: 0,
        args: vec![],
        ret: None,
        after: vec![],
        outcome: Outcome::Returned,
    }
}
