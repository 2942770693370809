//! The model crate's one error type (structured fields; the CLI adds context with anyhow).

use std::path::PathBuf;

/// Everything that can go wrong in the model crate.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A genotype JSON that does not parse or describes an impossible network.
    #[error("genotype {origin}: {message}")]
    InvalidGenotype {
        /// File name or other origin of the genotype.
        origin: String,
        /// What is wrong, naming the block and key.
        message: String,
    },
    /// A data row that does not fit its format.
    #[error("{path}:{line}: {message}")]
    MalformedRow {
        /// The data file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        message: String,
    },
    /// A data set or option that cannot be used as asked.
    #[error("data: {0}")]
    Data(String),
    /// A checkpoint or saved state that does not match the model it is loaded into.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// Training diverged.
    #[error("training stopped at step {step}: loss is {loss} (not finite); the last good checkpoint is kept")]
    NonFiniteLoss {
        /// The step whose loss was not finite.
        step: u64,
        /// The loss value.
        loss: f32,
    },
    /// A bitwidth file or assignment that does not fit the model (wrong length, bits outside
    /// the allowed range, unknown key).
    #[error("bits {origin}: {message}")]
    InvalidBits {
        /// File name or other origin of the bits.
        origin: String,
        /// What is wrong, naming the key, the operator and the allowed range.
        message: String,
    },
    /// A graph that cannot be mapped to simulator ops or evaluated on the hardware path.
    #[error("hardware mapping: {0}")]
    Hardware(String),
    /// A neuron mask (pruning) that does not fit the model it is applied to.
    #[error("prune mask {origin}: {message}")]
    InvalidPruneMask {
        /// File name or other origin of the mask.
        origin: String,
        /// What is wrong, naming the layer and the expected size.
        message: String,
    },
    /// An option outside its allowed range.
    #[error("invalid option {name} = {value}: {allowed}")]
    InvalidOption {
        /// The option (flag or key) name.
        name: String,
        /// The value given.
        value: String,
        /// The allowed range.
        allowed: String,
    },
}

/// Shorthand for results in this crate.
pub type Result<T> = std::result::Result<T, ModelError>;
