//! Typed errors. Every variant says what happened and what to do about it.

use std::path::PathBuf;

/// Everything that can go wrong when loading, storing or replaying captures.
///
/// Capturing itself never returns these to the wrapped function's caller
/// (hot-path rule 2): capture-time failures are counted and logged once.
///
/// ```
/// use capture_runtime::CaptureError;
/// let err = CaptureError::NotFound { function: "price".into(), store: "captures".into(), known: vec![] };
/// assert!(err.to_string().contains("no captures"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// No call of that function is stored.
    #[error("no captures for `{function}` in {store}; {}", known_hint(.known))]
    NotFound {
        /// The function asked for.
        function: String,
        /// The store that was searched.
        store: PathBuf,
        /// Functions that do have captures there.
        known: Vec<String>,
    },
    /// A short function name matched several captured functions.
    #[error("`{function}` is ambiguous: it matches {}; use the full path", .candidates.join(", "))]
    Ambiguous {
        /// The name asked for.
        function: String,
        /// Full function ids that match it.
        candidates: Vec<String>,
    },
    /// The index asked for is past the stored calls.
    #[error("`{function}` has {len} stored call(s); index {index} is out of range")]
    IndexOutOfRange {
        /// Function id.
        function: String,
        /// Index asked for.
        index: usize,
        /// Number of stored calls.
        len: usize,
    },
    /// A file's bytes do not hash to what they should: it was corrupted or tampered with.
    #[error("corrupted file {path}: expected sha256 {expected}, found {actual}; delete it (captures are re-recorded on the next run)")]
    Corrupted {
        /// The file.
        path: PathBuf,
        /// Hash it should have.
        expected: String,
        /// Hash it has.
        actual: String,
    },
    /// The file is not a capture file at all, or is truncated.
    #[error("{path} is not a capture file ({reason}); delete it or point the loader at a capture store")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A store file that is not safe to read: a symbolic link, not a regular
    /// file, or larger than the record referring to it says (a committed
    /// store is untrusted input).
    #[error("refused to read {path}: {problem}")]
    Refused {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, and what to do.
        problem: Refusal,
    },
    /// A call record whose content does not match its place in the store: it
    /// was written for another function or under another name (moved,
    /// swapped or tampered with).
    #[error("call record {path} holds {found}, not what its name says ({expected}); delete it or re-record")]
    Misplaced {
        /// The record's file.
        path: PathBuf,
        /// What its folder and name say it holds.
        expected: String,
        /// What it holds.
        found: String,
    },
    /// Written by a newer (or unknown) version of the format.
    #[error(
        "{path} has format version {found}, this build reads up to {supported}; upgrade capture-runtime or re-record"
    )]
    UnknownVersion {
        /// The file.
        path: PathBuf,
        /// Version found in the header.
        found: u16,
        /// Highest version this build understands.
        supported: u16,
    },
    /// The stored value does not decode as the requested type.
    #[error("argument `{arg}` of `{function}` was recorded as `{recorded}` but `{requested}` was requested: {detail}")]
    TypeMismatch {
        /// Function id.
        function: String,
        /// Argument name (or `return`).
        arg: String,
        /// Type name recorded at capture time.
        recorded: String,
        /// Type requested now.
        requested: String,
        /// Decoder message and, where known, what changed.
        detail: String,
    },
    /// No argument by that name was recorded.
    #[error("`{function}` has no argument `{arg}`; recorded arguments: {}", .known.join(", "))]
    NoSuchArg {
        /// Function id.
        function: String,
        /// Name asked for.
        arg: String,
        /// Names that exist.
        known: Vec<String>,
    },
    /// The value exists in the record but was not stored (ignored, redacted, placeholder, too large).
    #[error("argument `{arg}` of `{function}` was not stored: {reason}")]
    NotStored {
        /// Function id.
        function: String,
        /// Argument name.
        arg: String,
        /// Why (ignored, redacted, placeholder, too large, failed to encode).
        reason: String,
    },
    /// No checkpoint by that name (or version) is stored.
    #[error("no checkpoint `{name}`{} in {store}; {}", .version.map(|v| format!(" version {v}")).unwrap_or_default(), checkpoint_hint(.known))]
    NoCheckpoint {
        /// The name asked for.
        name: String,
        /// The version asked for (`None`: the latest).
        version: Option<u64>,
        /// The store searched.
        store: PathBuf,
        /// Checkpoint names (or, for a missing version, versions) that exist.
        known: Vec<String>,
    },
    /// A configuration value is invalid.
    #[error("invalid configuration {key}={value:?}: {expected}")]
    Config {
        /// Variable or option name.
        key: String,
        /// Value given.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
    /// Encoding a value failed.
    #[error("could not encode {what}: {message}")]
    Encode {
        /// What was being encoded.
        what: String,
        /// The encoder's message.
        message: String,
    },
    /// An I/O error on a store path.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a store file was not read (see [`CaptureError::Refused`]).
///
/// ```
/// use capture_runtime::{CaptureError, Refusal};
/// let e = CaptureError::Refused { path: "objects/ab/cd/ef".into(), problem: Refusal::Symlink };
/// assert!(e.to_string().contains("symbolic link"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The file, or a folder on the way to it inside the store, is a symbolic link.
    Symlink,
    /// Not a regular file (a FIFO, a device, a socket, a folder).
    NotRegular {
        /// What it is.
        kind: &'static str,
    },
    /// Larger than what may be read there.
    TooLarge {
        /// Its size in bytes.
        len: u64,
        /// The most that may be read: the length its record states plus the
        /// header, or the hard cap for its kind of file.
        limit: u64,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Symlink => write!(
                f,
                "it or a folder on its way is a symbolic link, which a store never contains and a reader never follows; replace the link with the real file, or delete it and re-record"
            ),
            Refusal::NotRegular { kind } => write!(
                f,
                "it is {kind}, not a regular file; delete it (a store holds regular files and folders only)"
            ),
            Refusal::TooLarge { len, limit } => write!(
                f,
                "it holds {len} bytes, more than the {limit} that may be read there; the file is damaged or not a capture file: delete it and re-record"
            ),
        }
    }
}

fn known_hint(known: &[String]) -> String {
    if known.is_empty() {
        "the store is empty: run the code with capture enabled first (CAPTURE_ENABLED=1), or set CAPTURE_DIR to the store".to_string()
    } else {
        format!("functions with captures: {}", known.join(", "))
    }
}

fn checkpoint_hint(known: &[String]) -> String {
    if known.is_empty() {
        "none is stored there: save one with capture_runtime::checkpoint(name, &value)".to_string()
    } else {
        format!("stored: {}", known.join(", "))
    }
}

impl CaptureError {
    /// A stable label of this error's class, without paths or values: what
    /// repeated failures are counted under when they are reported.
    ///
    /// ```
    /// use capture_runtime::CaptureError;
    /// let full = |p: &str| CaptureError::Io {
    ///     path: p.into(),
    ///     source: std::io::Error::from(std::io::ErrorKind::StorageFull),
    /// };
    /// assert_eq!(full("/a/tmp/1.tmp").kind_label(), full("/a/tmp/2.tmp").kind_label());
    /// ```
    pub fn kind_label(&self) -> String {
        match self {
            CaptureError::NotFound { .. } => "not found".into(),
            CaptureError::Ambiguous { .. } => "ambiguous name".into(),
            CaptureError::IndexOutOfRange { .. } => "index out of range".into(),
            CaptureError::Corrupted { .. } => "corrupted file".into(),
            CaptureError::BadFile { .. } => "not a capture file".into(),
            CaptureError::Refused { problem, .. } => match problem {
                Refusal::Symlink => "refused: symbolic link".into(),
                Refusal::NotRegular { .. } => "refused: not a regular file".into(),
                Refusal::TooLarge { .. } => "refused: too large".into(),
            },
            CaptureError::Misplaced { .. } => "misplaced call record".into(),
            CaptureError::UnknownVersion { .. } => "unknown format version".into(),
            CaptureError::TypeMismatch { .. } => "type mismatch".into(),
            CaptureError::NoSuchArg { .. } => "no such argument".into(),
            CaptureError::NotStored { .. } => "not stored".into(),
            CaptureError::NoCheckpoint { .. } => "no checkpoint".into(),
            CaptureError::Config { key, .. } => format!("invalid configuration {key}"),
            CaptureError::Encode { .. } => "encoding failed".into(),
            CaptureError::Io { source, .. } => format!("I/O error: {}", source.kind()),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CaptureError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = CaptureError> = std::result::Result<T, E>;
