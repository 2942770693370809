//! The one error type of recpim-sim.
//!
//! Every variant names where the problem is (`origin`: a file path or the name given to
//! [`crate::HwConfig::from_toml_str`]), the key (a dotted path such as `crossbar.rows` or
//! `op[3].rows`) and, for range errors, the allowed range, so a user can fix the input
//! without reading code.

use thiserror::Error;

/// Why a hardware configuration, a workload or a simulation was rejected.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SimError {
    /// The file could not be read (missing, unreadable).
    #[error("{path}: cannot read file: {reason}")]
    Io {
        /// The path as given.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The text is not valid TOML/JSON or does not fit the schema (unknown key, wrong type,
    /// missing key). `line`/`column` are 1-based; 0 when the parser gave no position.
    #[error("{origin}:{line}:{column}: {message}")]
    Parse {
        /// File path or origin name.
        origin: String,
        /// 1-based line, 0 if unknown.
        line: usize,
        /// 1-based column, 0 if unknown.
        column: usize,
        /// The parser's message (it names the offending key).
        message: String,
    },
    /// A key holds a value outside its allowed range.
    #[error("{origin}: {key} = {value} is out of range; allowed: {allowed}")]
    OutOfRange {
        /// File path or origin name.
        origin: String,
        /// Dotted key path, e.g. `adc.bits` or `op[2].rows`.
        key: String,
        /// The value found, as text.
        value: String,
        /// The allowed range or set, e.g. `1..=16`.
        allowed: String,
    },
    /// A key that is required in this context is absent (e.g. an ADC figure with no preset).
    #[error("{origin}: missing key {key}: {why}")]
    MissingKey {
        /// File path or origin name.
        origin: String,
        /// Dotted key path.
        key: String,
        /// Why it is needed here.
        why: String,
    },
    /// A component preset name is not known.
    #[error("{origin}: {key} = \"{name}\" is not a known preset; allowed: {allowed}")]
    UnknownPreset {
        /// File path or origin name.
        origin: String,
        /// Dotted key path (`adc.preset` or `dac.preset`).
        key: String,
        /// The name given.
        name: String,
        /// The known names.
        allowed: String,
    },
    /// The workload needs more crossbars than the chip fixed by `hierarchy.tiles` provides.
    #[error(
        "workload does not fit the chip: op[{op_index}] ({op_name}) brings the total to {needed_tiles} tiles \
         but hierarchy.tiles = {available_tiles}; allowed: at most {available_tiles} tiles \
         (raise hierarchy.tiles, crossbars_per_pe or pes_per_tile, or lower mapping.replication)"
    )]
    Unmappable {
        /// Index of the op at which the chip ran out.
        op_index: usize,
        /// Name of that op.
        op_name: String,
        /// Tiles the workload needs up to and including that op.
        needed_tiles: u64,
        /// Tiles the chip has.
        available_tiles: u64,
    },
    /// A workload has no ops.
    #[error("{origin}: the workload has no ops; allowed: at least one [[op]]")]
    EmptyWorkload {
        /// File path or origin name.
        origin: String,
    },
    /// Writing the event trace failed.
    #[error("writing the event trace failed: {reason}")]
    Trace {
        /// The writer's reason.
        reason: String,
    },
    /// A `key = value` override (sweep, search space, `--set`) does not fit the hwconfig.
    #[error("{origin}: override `{key}`: {reason}")]
    Override {
        /// The base hwconfig's path or origin name.
        origin: String,
        /// Dotted key path of the override, e.g. `adc.bits`.
        key: String,
        /// What is wrong (no such table, unknown key, value out of range, ...).
        reason: String,
    },
    /// The functional MVM path rejected its input.
    #[error(transparent)]
    Functional(#[from] crate::functional::FunctionalError),
    /// The RecNMP model rejected its config, options or trace.
    #[error(transparent)]
    Recnmp(#[from] crate::recnmp::RecnmpError),
    /// A lookup trace could not be generated, read or written.
    #[error(transparent)]
    LookupTrace(#[from] crate::trace::TraceError),
}
