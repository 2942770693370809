//! Training: the loop (schedule, early stopping, checkpoints, resume) around any
//! [`CtrModel`](crate::CtrModel), and evaluation.

pub mod checkpoint;
pub mod evaluate;
pub mod schedule;
pub mod source;
pub mod trainer;

pub use checkpoint::{write_atomically, BestEpoch, Checkpoint, EpochRecord, TrainerState};
pub use evaluate::{evaluate, predict_all, EvalMetrics, EVAL_CHUNK_ROWS};
pub use schedule::{CosineWarmup, DEFAULT_MIN_LR};
pub use source::BatchSource;
pub use trainer::{epoch_order, train, TrainConfig, TrainOutcome};
