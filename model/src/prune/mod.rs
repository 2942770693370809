//! Structured pruning of compiled models (the seed paper's §6.2 and Table 7): learned masks
//! `M = sigmoid(W2 ReLU(W1 W))` per prunable weight, iterative removal of whole output neurons
//! with lottery-ticket retraining, magnitude-based pruning for comparison, and the surgery that
//! turns a hard neuron mask into a smaller graph (model/PRUNING.md).

pub mod iterative;
pub mod mask_mlp;
pub mod masked_model;
pub mod structure;

pub use iterative::{
    iterative_prune, neuron_scores, prune_step, table_csv, table_markdown, PruneConfig,
    PruneMethod, PruneOutcome, PruneRow,
};
pub use mask_mlp::{MaskCache, MaskGrads, MaskMlp};
pub use masked_model::MaskedModel;
pub use structure::{
    hard_masked, prunable_layers, prune_graph, prune_network, LayerMask, NeuronMask, PrunableLayer,
};
