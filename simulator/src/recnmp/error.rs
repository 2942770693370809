//! Errors of the RecNMP model: bad configuration, bad run options, bad traces.

use std::path::PathBuf;

use crate::trace::TraceError;

/// Everything that can go wrong while configuring or running the RecNMP and host models.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecnmpError {
    /// The configuration file could not be read.
    #[error("RecNMP config {path}: {reason}")]
    ConfigIo {
        /// The file involved.
        path: PathBuf,
        /// The operating-system error, as text.
        reason: String,
    },
    /// The configuration is not valid TOML or has an unknown, missing or mistyped key.
    #[error("RecNMP config {origin}: {message}")]
    ConfigSyntax {
        /// The file (or built-in preset) the text came from.
        origin: String,
        /// The TOML parser's message (names the line and key).
        message: String,
    },
    /// A configuration value is outside its allowed range.
    #[error("RecNMP config {origin}: key `{key}` = {value} is out of range (allowed: {allowed})")]
    ConfigValue {
        /// The file (or built-in preset, or command-line flag) the value came from.
        origin: String,
        /// The key, as `section.key`.
        key: &'static str,
        /// The rejected value, as text.
        value: String,
        /// The allowed range, as text.
        allowed: String,
    },
    /// A run option (not part of the config file) is outside its allowed range.
    #[error("RecNMP option `{name}` = {value} is out of range (allowed: {allowed})")]
    InvalidOption {
        /// The option name.
        name: &'static str,
        /// The rejected value, as text.
        value: String,
        /// The allowed range, as text.
        allowed: String,
    },
    /// A lookup reads a table or row the trace does not declare.
    #[error(
        "lookup {index}: table {table} row {row} is outside the trace's tables ({tables} tables)"
    )]
    LookupOutOfRange {
        /// Position of the lookup in the trace.
        index: usize,
        /// Table index of the lookup.
        table: u32,
        /// Row index of the lookup.
        row: u64,
        /// Number of tables the trace declares.
        tables: usize,
    },
    /// The trace holds no lookups.
    #[error("the lookup trace is empty")]
    EmptyTrace,
    /// The trace could not be generated, read or written.
    #[error(transparent)]
    Trace(#[from] TraceError),
}
