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
}

/// Result alias of recpim-search.
pub type Result<T> = std::result::Result<T, SearchError>;
