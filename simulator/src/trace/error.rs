//! Errors of the lookup-trace generator and of the trace CSV reader/writer.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while generating, reading or writing a lookup trace.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TraceError {
    /// The trace file could not be opened, read or written.
    #[error("trace file {path}: {reason}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The operating-system error, as text.
        reason: String,
    },
    /// A line of a trace file does not follow the documented format.
    #[error("trace file {path}, line {line}: {message}")]
    Parse {
        /// The file involved.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A trace file has a header but no lookups.
    #[error("trace file {path} holds no lookups")]
    Empty {
        /// The file involved.
        path: PathBuf,
    },
    /// A generator parameter is outside its allowed range.
    #[error("trace parameter `{name}` = {value} is out of range (allowed: {allowed})")]
    InvalidParameter {
        /// The parameter (flag or field) name.
        name: &'static str,
        /// The rejected value, as text.
        value: String,
        /// The allowed range, as text.
        allowed: &'static str,
    },
    /// An unknown trace shape name was given.
    #[error("unknown trace shape `{name}` (allowed: criteo, dcnv2, avazu, kdd)")]
    UnknownShape {
        /// The rejected name.
        name: String,
    },
}

impl TraceError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: &Path, error: &std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            reason: error.to_string(),
        }
    }
}
