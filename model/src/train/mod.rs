//! Training: the loop (schedule, early stopping, checkpoints, resume) around any
//! [`CtrModel`](crate::CtrModel), and evaluation.
//!
//! In-memory data: [`train`] with any [`BatchSource`]. A file larger than memory:
//! [`train_stream`] with a [`StreamingSource`] (a closure opening a
//! [`BatchStream`](crate::data::BatchStream) at a position, plus the rows per epoch from the
//! counting pass of `fit_encoder_streaming`). Both run the same loop and resume exactly.

pub mod checkpoint;
pub mod evaluate;
pub mod schedule;
pub mod source;
pub mod trainer;

pub use checkpoint::{write_atomically, BestEpoch, Checkpoint, EpochRecord, TrainerState};
pub use evaluate::{evaluate, predict_all, EvalMetrics, EVAL_CHUNK_ROWS};
pub use schedule::{CosineWarmup, DEFAULT_MIN_LR};
pub use source::BatchSource;
pub use trainer::{epoch_order, train, train_stream, StreamingSource, TrainConfig, TrainOutcome};
