//! The two NASRec search spaces and their operator nodes (nasrec-spec.md §2).

use serde::{Deserialize, Serialize};

/// One operator node a block can activate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeOp {
    /// Dense unary: Linear -> (LN) -> ReLU.
    Linear2d,
    /// Dense+sparse -> dense: operator-balanced pairwise dot products.
    DotProduct,
    /// Dense binary: sigmoid(Linear(left)) * right, then project.
    SigmoidGating,
    /// Dense binary: zero-pad, add, project.
    Sum,
    /// Sparse unary: item projection then one attention encoder layer.
    Transformer,
    /// Sparse unary: Linear along the item axis -> (LN) -> ReLU.
    Linear3d,
}

impl NodeOp {
    /// True for nodes that produce the dense output of a block.
    pub fn is_dense(self) -> bool {
        matches!(
            self,
            NodeOp::Linear2d | NodeOp::DotProduct | NodeOp::SigmoidGating | NodeOp::Sum
        )
    }

    /// The reference's name of the node.
    pub fn reference_name(self) -> &'static str {
        match self {
            NodeOp::Linear2d => "linear-2d",
            NodeOp::DotProduct => "dot-product",
            NodeOp::SigmoidGating => "sigmoid-gating",
            NodeOp::Sum => "sum",
            NodeOp::Transformer => "transformer",
            NodeOp::Linear3d => "linear-3d",
        }
    }
}

/// A NASRec search space: its node list and the widths a block may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SearchSpace {
    /// NASRec-Small, the reference's "autoctr".
    Small,
    /// NASRec-Full, the reference's "xlarge".
    Full,
}

/// Dense output widths of both spaces.
pub const DENSE_DIMS: [usize; 8] = [16, 32, 64, 128, 256, 512, 768, 1024];
/// Sparse output item counts of both spaces.
pub const SPARSE_DIMS: [usize; 4] = [16, 32, 48, 64];
/// Embedding width, fixed by the reference.
pub const EMBED_DIM: usize = 16;
/// Blocks in both shipped spaces.
pub const NUM_BLOCKS: usize = 7;

impl SearchSpace {
    /// Looks a space up by the reference's config name ("autoctr" / "xlarge") or ours ("small" / "full").
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "autoctr" | "small" => Some(SearchSpace::Small),
            "xlarge" | "full" => Some(SearchSpace::Full),
            _ => None,
        }
    }

    /// The reference's config name.
    pub fn reference_name(self) -> &'static str {
        match self {
            SearchSpace::Small => "autoctr",
            SearchSpace::Full => "xlarge",
        }
    }

    /// The node list; genotype `active_nodes` index into it.
    pub fn nodes(self) -> &'static [NodeOp] {
        match self {
            SearchSpace::Small => &[NodeOp::Linear2d, NodeOp::DotProduct, NodeOp::Linear3d],
            SearchSpace::Full => &[
                NodeOp::Linear2d,
                NodeOp::DotProduct,
                NodeOp::SigmoidGating,
                NodeOp::Sum,
                NodeOp::Transformer,
                NodeOp::Linear3d,
            ],
        }
    }

    /// Indices of the dense nodes in `nodes()`.
    pub fn dense_node_indices(self) -> Vec<usize> {
        (0..self.nodes().len())
            .filter(|&i| self.nodes()[i].is_dense())
            .collect()
    }

    /// Indices of the sparse nodes in `nodes()`.
    pub fn sparse_node_indices(self) -> Vec<usize> {
        (0..self.nodes().len())
            .filter(|&i| !self.nodes()[i].is_dense())
            .collect()
    }
}
