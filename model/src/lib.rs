//! recpim-model: NASRec in ndarray. Operators with hand-written backward passes, genotypes,
//! the standalone model and the weight-sharing supernet, CTR data readers and the trainer.

pub mod batch;
pub mod ctr_model;
pub mod data;
pub mod error;
pub mod flops;
pub mod genotype;
pub mod hardware;
pub mod metrics;
pub mod net;
pub mod ops;
pub mod optim;
pub mod prune;
pub mod quant;
pub mod train;

pub use batch::{Batch, DataSchema};
pub use ctr_model::{CtrModel, ParamCounts, StepHyper, StepStats};
pub use error::{ModelError, Result};
