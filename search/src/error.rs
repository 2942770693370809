//! The one error type of recpim-search.

use std::path::PathBuf;

/// Everything that can go wrong in recpim-search. Variants carry the offending values so a
/// message names what was wrong and what was allowed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// An objective vector was empty.
    #[error("an objective vector needs at least one objective, got none")]
    EmptyObjectives,

    /// An objective value was NaN or infinite.
    #[error("objective {objective} is {value}, but objectives must be finite (express a failed evaluation as a constraint violation instead)")]
    NonFiniteObjective {
        /// Position of the objective inside its vector.
        objective: usize,
        /// The offending value.
        value: f64,
    },

    /// A constraint violation was negative, NaN or infinite.
    #[error(
        "constraint violation {value} is invalid: it must be finite and >= 0 (0 means feasible)"
    )]
    InvalidConstraintViolation {
        /// The offending value.
        value: f64,
    },

    /// Points (or a point and a reference) disagree on the number of objectives.
    #[error("{what}: point {index} has {found} objectives, expected {expected}")]
    ObjectiveCountMismatch {
        /// Which input the point belongs to.
        what: &'static str,
        /// Index of the offending point.
        index: usize,
        /// Number of objectives the first point (or the reference) has.
        expected: usize,
        /// Number of objectives the offending point has.
        found: usize,
    },

    /// An index into a point set was out of range.
    #[error("{what}: index {index} is out of range for {len} points")]
    IndexOutOfRange {
        /// Which input the index belongs to.
        what: &'static str,
        /// The offending index.
        index: usize,
        /// Number of points.
        len: usize,
    },

    /// The hypervolume is implemented for a fixed range of objective counts.
    #[error("hypervolume supports {min}..={max} objectives, got {found}")]
    UnsupportedObjectiveCount {
        /// Number of objectives given.
        found: usize,
        /// Smallest supported count.
        min: usize,
        /// Largest supported count.
        max: usize,
    },

    /// Two paired samples have different lengths.
    #[error("{what}: the two samples have different lengths ({left} and {right})")]
    LengthMismatch {
        /// Which statistic was asked for.
        what: &'static str,
        /// Length of the first sample.
        left: usize,
        /// Length of the second sample.
        right: usize,
    },

    /// Too few points for a statistic or a plot.
    #[error("{what} needs at least {needed} points, got {found}")]
    TooFewPoints {
        /// Which statistic or output was asked for.
        what: &'static str,
        /// Minimum number of points.
        needed: usize,
        /// Number of points given.
        found: usize,
    },

    /// A sample has no spread, so a correlation is undefined.
    #[error(
        "{what}: sample {sample} has zero variance (all values tied), the correlation is undefined"
    )]
    ZeroVariance {
        /// Which statistic was asked for.
        what: &'static str,
        /// "x" or "y".
        sample: &'static str,
    },

    /// A sample value was NaN or infinite.
    #[error("{what}: sample {sample} value {index} is {value}, values must be finite")]
    NonFiniteSample {
        /// Which statistic or output was asked for.
        what: &'static str,
        /// "x" or "y".
        sample: &'static str,
        /// Index of the offending value.
        index: usize,
        /// The offending value.
        value: f64,
    },

    /// A correlation coefficient outside [-1, 1] (or not finite) was given to a significance test.
    #[error("{what}: correlation {value} is outside -1..=1")]
    CorrelationOutOfRange {
        /// Which test was asked for.
        what: &'static str,
        /// The coefficient given.
        value: f64,
    },

    /// A value on a logarithmic plot axis was zero or negative.
    #[error("{what}: {axis} value {index} is {value}, but a logarithmic axis needs values > 0")]
    NonPositiveOnLogAxis {
        /// Which output was asked for.
        what: &'static str,
        /// "x" or "y".
        axis: &'static str,
        /// Index of the offending value (points first, then baselines).
        index: usize,
        /// The offending value.
        value: f64,
    },

    /// Drawing a plot failed.
    #[error("drawing the plot {path}: {message}", path = path.display())]
    Plot {
        /// Where the plot was to be written (`<memory>` for an in-memory render).
        path: PathBuf,
        /// The plotting library's message.
        message: String,
    },

    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}", path = path.display())]
    Io {
        /// What was being done ("writing", "reading").
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A co-design space file could not be parsed.
    #[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    SpaceParse {
        /// The space file.
        path: String,
        /// 1-based line of the error, when known.
        line: Option<usize>,
        /// The TOML parser's message.
        message: String,
    },

    /// A key of a co-design space file is missing, unknown or out of range.
    #[error("{path}: {key}: {reason}")]
    SpaceKey {
        /// The space file.
        path: String,
        /// Dotted key in the space file.
        key: String,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// A co-design genome does not fit its space (wrong number of genes).
    #[error("{what}: expected {expected} entries, found {found}")]
    GenomeMismatch {
        /// Which part of the genome.
        what: &'static str,
        /// Entries the space (or architecture) needs.
        expected: usize,
        /// Entries the genome has.
        found: usize,
    },

    /// A measured design figure was NaN, infinite or negative.
    #[error("design metric {name} is {value}; it must be finite and >= 0")]
    InvalidMetric {
        /// Metric name (CSV column).
        name: &'static str,
        /// The offending value.
        value: f64,
    },

    /// A constraint limit was not a finite positive number.
    #[error("{flag} {value} is invalid: a limit must be finite and > 0")]
    InvalidConstraint {
        /// The command-line flag of the limit.
        flag: &'static str,
        /// The value given.
        value: f64,
    },

    /// The simulator rejected a hardware design or workload.
    #[error("{context}: {source}")]
    Hardware {
        /// What was being simulated or built.
        context: String,
        /// The simulator's error.
        source: Box<recpim_sim::SimError>,
    },

    /// The model crate failed (training, evaluation, mapping, genotype I/O).
    #[error("{context}: {source}")]
    Model {
        /// What was being done.
        context: String,
        /// The model crate's error.
        source: Box<recpim_model::ModelError>,
    },

    /// A co-design option or checkpoint is invalid.
    #[error("{what}: {reason}")]
    Codesign {
        /// The option, flag or file concerned.
        what: String,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// A sweep-space file is malformed: unknown key, empty list, bad value or range.
    #[error("{path}{}: {key}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    SweepSpace {
        /// The space file.
        path: String,
        /// 1-based line of the offending key, when known.
        line: Option<usize>,
        /// The key in the space file (a dotted hwconfig key or a top-level key).
        key: String,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// A shard specification (flag or environment variable) is invalid.
    #[error("shard from {origin} = {value:?}: {reason}")]
    Shard {
        /// Where the value came from: `--shard`, `SLURM_ARRAY_TASK_ID`, ...
        origin: String,
        /// The value given.
        value: String,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// A sweep or merge CSV file is malformed or does not match the others.
    #[error("{path}{}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    SweepCsv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<u64>,
        /// What is wrong.
        reason: String,
    },

    /// A sweep output directory cannot be (re)used as asked.
    #[error("{path}: {reason}", path = path.display())]
    SweepOutput {
        /// The file or directory concerned.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },

    /// A `--backend` value is neither `builtin` nor `plugin:PATH`.
    #[error("--backend {value:?}: {reason}")]
    BackendSpec {
        /// The value given.
        value: String,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// A model backend rejected a candidate (genotype or bitwidths) given by the host.
    #[error("backend {backend}: {what}: {reason}")]
    BackendInput {
        /// The backend's name.
        backend: String,
        /// Which input was rejected (`genotype JSON`, `bits JSON`, ...).
        what: String,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// Accuracy was asked of a backend that has no accuracy model.
    #[error("backend {backend} has no accuracy model; it provides workloads only (search hardware and bits against latency/energy instead)")]
    AccuracyUnavailable {
        /// The backend's name.
        backend: String,
    },

    /// A plugin file does not exist.
    #[error("plugin {path}: no such file", path = path.display())]
    PluginNotFound {
        /// The path as given.
        path: PathBuf,
    },

    /// The dynamic loader refused a plugin file.
    #[error("plugin {path}: cannot load it as a shared library: {message}", path = path.display())]
    PluginLoad {
        /// The resolved path.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },

    /// A plugin does not export a symbol the ABI requires.
    #[error("plugin {path}: missing symbol `{symbol}` ({message}); a recpim plugin must export `{symbol}` (see plugins/README.md)", path = path.display())]
    PluginMissingSymbol {
        /// The resolved path.
        path: PathBuf,
        /// The symbol looked up.
        symbol: &'static str,
        /// The loader's message.
        message: String,
    },

    /// A plugin's vtable does not fit the host's ABI (version, size, flags).
    #[error("plugin {path}: ABI mismatch: {reason}", path = path.display())]
    PluginAbi {
        /// The resolved path.
        path: PathBuf,
        /// What does not match and what the host needs.
        reason: String,
    },

    /// A plugin call returned an error status.
    #[error("plugin {plugin} ({path}): {function} failed with {status_name} ({status}): {message}", path = path.display())]
    PluginCall {
        /// The plugin's name (or its file name before the name is known).
        plugin: String,
        /// The resolved path.
        path: PathBuf,
        /// The vtable function called.
        function: &'static str,
        /// The status code returned.
        status: i32,
        /// The status code's constant name (`RECPIM_STATUS_INVALID_JSON`, or `unknown status`).
        status_name: String,
        /// The plugin's `last_error` text.
        message: String,
    },

    /// A plugin caught a panic (or C++ exception) inside a call and returned RECPIM_STATUS_PANIC.
    #[error("plugin {plugin} ({path}): {function} panicked inside the plugin (RECPIM_STATUS_PANIC): {message}", path = path.display())]
    PluginPanic {
        /// The plugin's name.
        plugin: String,
        /// The resolved path.
        path: PathBuf,
        /// The vtable function called.
        function: &'static str,
        /// The plugin's `last_error` text.
        message: String,
    },

    /// A plugin returned output that breaks the ABI contract (NULL or non-UTF-8 string, a
    /// workload that does not parse or check).
    #[error("plugin {plugin} ({path}): {function} returned invalid output: {reason}", path = path.display())]
    PluginOutput {
        /// The plugin's name.
        plugin: String,
        /// The resolved path.
        path: PathBuf,
        /// The vtable function called.
        function: &'static str,
        /// What is wrong.
        reason: String,
    },

    /// An architecture-search option, input or state is invalid.
    #[error("{what}: {reason}")]
    Nas {
        /// The option, flag, file or value concerned.
        what: String,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// A comparison option, baseline name or input is invalid (`recpim compare`).
    #[error("{what}: {reason}")]
    Compare {
        /// The option, baseline, file or op concerned.
        what: String,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// The RecNMP model rejected its configuration or a lookup trace.
    #[error("{context}: {source}")]
    Recnmp {
        /// What was being done.
        context: String,
        /// The RecNMP model's error.
        source: recpim_sim::recnmp::RecnmpError,
    },
}

/// Result alias of recpim-search.
pub type Result<T> = std::result::Result<T, SearchError>;
