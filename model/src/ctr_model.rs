//! The contract between a trainable CTR model and the trainer.

use crate::batch::Batch;
use crate::error::ModelError;
use ndarray::Array1;

/// Hyper-parameters of one optimisation step (the trainer owns the schedule).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepHyper {
    /// Learning rate for this step (after warm-up / cosine schedule).
    pub lr: f32,
    /// Global gradient-norm clip (NASRec uses 5.0); `f32::INFINITY` disables it.
    pub clip_norm: f32,
    /// Adagrad epsilon (NASRec uses 1e-2).
    pub adagrad_eps: f32,
    /// L2 weight decay on matrices (NASRec uses 0).
    pub weight_decay: f32,
}

impl Default for StepHyper {
    fn default() -> Self {
        Self {
            lr: 0.1,
            clip_norm: 5.0,
            adagrad_eps: 1e-2,
            weight_decay: 0.0,
        }
    }
}

/// What one training step measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// Mean binary cross-entropy of the batch before the update.
    pub loss: f32,
    /// Global gradient L2 norm before clipping.
    pub grad_norm: f32,
}

/// Parameter counts, split the way the paper reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ParamCounts {
    /// Weights and biases of every non-embedding layer.
    pub dense: usize,
    /// Embedding table entries (rows x dim, summed over tables).
    pub embedding: usize,
}

/// A CTR model the trainer can optimise: it owns its parameters and its Adagrad state.
pub trait CtrModel: Send + Sync {
    /// Forward, backward, global-norm clipping and one Adagrad update; embedding rows are
    /// updated only where the batch used them.
    fn train_step(&mut self, batch: &Batch, hyper: &StepHyper) -> StepStats;

    /// Logits (before the sigmoid) for every example of the batch; no state changes.
    fn predict_logits(&self, batch: &Batch) -> Array1<f32>;

    /// Dense and embedding parameter counts.
    fn param_counts(&self) -> ParamCounts;

    /// Writes weights and optimizer state (a checkpoint's model part).
    fn save_state(&self, out: &mut dyn std::io::Write) -> Result<(), ModelError>;

    /// Restores what `save_state` wrote; errors on a state of another shape.
    fn load_state(&mut self, input: &mut dyn std::io::Read) -> Result<(), ModelError>;
}
