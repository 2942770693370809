//! The genotype, field for field as the NASRec reference writes it (nasrec-spec.md §2).

use serde::{Deserialize, Serialize};

/// A whole architecture: one micro and one macro choice per block.
/// Field order is the reference's JSON key order, so serialising keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genotype {
    /// What each block computes.
    pub micro: Vec<MicroChoice>,
    /// Where each block reads from.
    #[serde(rename = "macro")]
    pub macro_: Vec<MacroChoice>,
    /// Number of choice blocks (7 in both shipped spaces).
    pub num_blocks: usize,
    /// 1 when the model was searched with LayerNorm in every operator.
    pub use_layernorm: u8,
    /// Search space name: "autoctr" (NASRec-Small) or "xlarge" (NASRec-Full).
    pub config: String,
    /// Validation log loss recorded by the search that found it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_loss: Option<f64>,
}

/// The micro choice of one block.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MicroChoice {
    /// `[dense_node, sparse_node]`, indices into the search space's node list.
    pub active_nodes: Vec<usize>,
    /// Output width d of the dense node.
    pub dense_in_dims: usize,
    /// Output items s of the sparse node (each item is a 16-wide embedding).
    pub sparse_in_dims: usize,
    /// 1: project the dense output to 8 x 16 and append it to the sparse output.
    pub dense_sparse_interact: u8,
    /// 1: factorization machine on the sparse output, projected and added to the dense output.
    pub deep_fm: u8,
}

/// The macro (connection) choice of one block; indices into the outputs list `0..=block`.
/// Index 0 is the raw (dense, sparse) input; index k >= 1 is block k-1's output.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacroChoice {
    /// Dense sources, concatenated along the feature axis.
    pub dense_idx: Vec<usize>,
    /// Sparse sources, concatenated along the item axis.
    pub sparse_idx: Vec<usize>,
    /// The single left input of the binary dense operators.
    pub dense_left_idx: Vec<usize>,
    /// The single right input of the binary dense operators.
    pub dense_right_idx: Vec<usize>,
}
