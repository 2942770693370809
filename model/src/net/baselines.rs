//! Hand-crafted CTR baselines in the same operator set (issue 3 item 3), adapted to a data set's
//! own numbers of dense and categorical features.
//!
//! - `lr`: logistic regression: a Linear over the dense features plus one weight per categorical
//!   value (an embedding of width 1 per field, summed).
//! - `fm`: `lr` plus the factorization machine's pairwise term, `0.5 * sum_e [(sum_n v)^2 - sum_n v^2]`
//!   over 16-wide embeddings.
//! - `dnn`: an MLP 512-256-128 (ReLU) over `[dense, flattened 16-wide embeddings]`, then Linear -> 1.
//! - `deepfm`: `fm` plus `dnn` sharing the 16-wide embeddings.
//! - `dlrm`: the DLRM Kaggle configuration (baselines.md §4.1): bottom MLP n_dense-512-256-64-16
//!   (ReLU), strict-lower-triangle dot interactions of `[bottom output; embeddings]`, top MLP over
//!   `[bottom output, interactions]` 512-256-1 (ReLU between).

use super::graph::{Graph, GraphBuilder, ValueId};
use crate::genotype::EMBED_DIM;
use serde::{Deserialize, Serialize};

/// The baseline models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BaselineKind {
    /// Logistic regression.
    Lr,
    /// Factorization machine.
    Fm,
    /// MLP over embeddings.
    Dnn,
    /// FM + MLP.
    DeepFm,
    /// Facebook's DLRM.
    Dlrm,
}

impl BaselineKind {
    /// All baselines in the CLI's order.
    pub const ALL: [BaselineKind; 5] = [
        BaselineKind::Lr,
        BaselineKind::Fm,
        BaselineKind::Dnn,
        BaselineKind::DeepFm,
        BaselineKind::Dlrm,
    ];

    /// Parses the CLI name (`lr|fm|dnn|deepfm|dlrm`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "lr" => Some(BaselineKind::Lr),
            "fm" => Some(BaselineKind::Fm),
            "dnn" => Some(BaselineKind::Dnn),
            "deepfm" => Some(BaselineKind::DeepFm),
            "dlrm" => Some(BaselineKind::Dlrm),
            _ => None,
        }
    }

    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            BaselineKind::Lr => "lr",
            BaselineKind::Fm => "fm",
            BaselineKind::Dnn => "dnn",
            BaselineKind::DeepFm => "deepfm",
            BaselineKind::Dlrm => "dlrm",
        }
    }
}

/// Hidden widths of the `dnn` / `deepfm` MLP.
pub const DNN_HIDDEN: [usize; 3] = [512, 256, 128];
/// DLRM bottom MLP widths after the dense input (the last must equal the embedding width).
pub const DLRM_BOTTOM: [usize; 4] = [512, 256, 64, EMBED_DIM];
/// DLRM top MLP hidden widths (then one logit).
pub const DLRM_TOP: [usize; 2] = [512, 256];

fn mlp(
    b: &mut GraphBuilder,
    key: &str,
    inputs: &[ValueId],
    widths: &[usize],
    relu_last: bool,
) -> ValueId {
    let mut x: Vec<(ValueId, usize)> = Vec::new();
    let mut off = 0;
    for &v in inputs {
        x.push((v, off));
        off += b.axis_len(v);
    }
    let mut in_w = off;
    let mut y = inputs.first().copied().unwrap_or(0);
    for (i, &w) in widths.iter().enumerate() {
        y = b.linear(&format!("{key}.{i}"), &x, in_w, w, w, true);
        if relu_last || i + 1 < widths.len() {
            y = b.relu(y);
        }
        x = vec![(y, 0)];
        in_w = w;
    }
    y
}

/// First-order part: Linear over dense + per-value weights.
fn first_order(b: &mut GraphBuilder, dense: ValueId) -> ValueId {
    let nd = b.axis_len(dense);
    let lin = b.linear("lr.dense", &[(dense, 0)], nd, 1, 1, true);
    let w1 = b.embed(1);
    let flat = b.flatten(w1);
    let s = b.sum_features(flat, 1.0);
    b.add_padded(&[lin, s])
}

/// Compiles a baseline for `n_dense` dense and `n_sparse` categorical features.
pub fn compile_baseline(kind: BaselineKind, n_dense: usize, n_sparse: usize) -> Graph {
    let mut b = GraphBuilder::new(n_dense, n_sparse);
    let dense = b.dense_input();
    let logit = match kind {
        BaselineKind::Lr => first_order(&mut b, dense),
        BaselineKind::Fm => {
            let lr = first_order(&mut b, dense);
            let emb = b.embed(EMBED_DIM);
            let f = b.fm(emb);
            let pair = b.sum_features(f, 0.5);
            b.add_padded(&[lr, pair])
        }
        BaselineKind::Dnn => {
            let emb = b.embed(EMBED_DIM);
            let flat = b.flatten(emb);
            let mut widths = DNN_HIDDEN.to_vec();
            widths.push(1);
            mlp(&mut b, "dnn", &[dense, flat], &widths, false)
        }
        BaselineKind::DeepFm => {
            let lr = first_order(&mut b, dense);
            let emb = b.embed(EMBED_DIM);
            let f = b.fm(emb);
            let pair = b.sum_features(f, 0.5);
            let flat = b.flatten(emb);
            let mut widths = DNN_HIDDEN.to_vec();
            widths.push(1);
            let deep = mlp(&mut b, "dnn", &[dense, flat], &widths, false);
            b.add_padded(&[lr, pair, deep])
        }
        BaselineKind::Dlrm => {
            let emb = b.embed(EMBED_DIM);
            let bottom = mlp(&mut b, "bottom", &[dense], &DLRM_BOTTOM, true);
            let item = b.as_item(bottom);
            let t = b.concat_items(&[item, emb]);
            let z = b.interaction(t);
            let mut widths = DLRM_TOP.to_vec();
            widths.push(1);
            mlp(&mut b, "top", &[bottom, z], &widths, false)
        }
    };
    b.finish(logit)
}
