//! Iterative structured pruning with lottery-ticket retraining (the seed paper's §6.2, Table 7).
//!
//! Iteration 0 trains the full model from its seeded init `θ0`. Iteration `t = 1..=T` removes, in
//! every prunable layer, the `fraction` (20%) of its still-kept output neurons with the lowest
//! score from the previous iteration's trained model, then retrains *from scratch*: the same seed
//! gives back `θ0` (and the mask MLPs' init), only the hard neuron mask differs. Scores:
//! - mask-based: the mean of the learned soft mask `M` over the neuron's weight column;
//! - magnitude-based: the L2 norm of the neuron's trained weight column (no soft mask).
//!
//! Each iteration's row holds validation/test log loss and the pruned graph's forward
//! multiply-adds against the unpruned one.

use super::masked_model::MaskedModel;
use super::structure::{prunable_layers, prune_graph, NeuronMask};
use crate::batch::DataSchema;
use crate::error::{ModelError, Result};
use crate::net::graph::Graph;
use crate::net::NetModel;
use crate::train::{evaluate, train, BatchSource, TrainConfig};
use ndarray::Array2;
use serde::Serialize;

/// How neurons are scored for removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PruneMethod {
    /// Learned mask `M = sigmoid(W2 ReLU(W1 W))`: mean of `M` over the neuron's column.
    Mask,
    /// Weight magnitude: L2 norm of the neuron's column.
    Magnitude,
}

impl PruneMethod {
    /// Name on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            PruneMethod::Mask => "mask",
            PruneMethod::Magnitude => "magnitude",
        }
    }
}

/// Options of [`iterative_prune`].
#[derive(Debug, Clone, PartialEq)]
pub struct PruneConfig {
    /// Pruning iterations `T` (each followed by retraining from scratch).
    pub iterations: usize,
    /// Share of each layer's kept neurons removed per iteration (the paper: 0.2).
    pub fraction_per_iteration: f64,
    /// Hidden units of each mask MLP.
    pub mask_hidden: usize,
    /// Seed of the model's (and mask MLPs') initialisation: the lottery ticket's `θ0`.
    pub init_seed: u64,
    /// Training recipe of every (re)training.
    pub train: TrainConfig,
}

impl Default for PruneConfig {
    fn default() -> Self {
        PruneConfig {
            iterations: 3,
            fraction_per_iteration: 0.2,
            mask_hidden: 16,
            init_seed: 0,
            train: TrainConfig::default(),
        }
    }
}

impl PruneConfig {
    /// Checks the options; errors name the option and its allowed range.
    pub fn check(&self) -> Result<()> {
        let bad = |name: &str, value: String, allowed: &str| {
            Err(ModelError::InvalidOption {
                name: name.into(),
                value,
                allowed: allowed.into(),
            })
        };
        if self.iterations > 64 {
            return bad("iterations", self.iterations.to_string(), "0 to 64");
        }
        if !(self.fraction_per_iteration > 0.0 && self.fraction_per_iteration < 1.0) {
            return bad(
                "fraction",
                self.fraction_per_iteration.to_string(),
                "strictly between 0 and 1",
            );
        }
        if self.mask_hidden == 0 || self.mask_hidden > 4096 {
            return bad("mask-hidden", self.mask_hidden.to_string(), "1 to 4096");
        }
        self.train.check()
    }
}

/// One row of the pruning table (one method, one iteration).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PruneRow {
    /// Method.
    pub method: PruneMethod,
    /// Iteration `t` (0 = unpruned).
    pub iteration: usize,
    /// Validation log loss of the retrained model.
    pub val_logloss: Option<f64>,
    /// Validation AUC.
    pub val_auc: Option<f64>,
    /// Test log loss (when a test set is given).
    pub test_logloss: Option<f64>,
    /// Test AUC.
    pub test_auc: Option<f64>,
    /// Forward multiply-adds per example of the pruned graph.
    pub macs: u64,
    /// `macs` as a percentage of the unpruned model's.
    pub macs_kept_percent: f64,
    /// Dense parameters of the pruned graph.
    pub dense_params: u64,
    /// Prunable neurons kept.
    pub neurons_kept: usize,
    /// Prunable neurons of the unpruned model.
    pub neurons_total: usize,
}

/// The outcome of one method.
#[derive(Debug, Clone)]
pub struct PruneOutcome {
    /// Method.
    pub method: PruneMethod,
    /// Rows for `t = 0..=T`.
    pub rows: Vec<PruneRow>,
    /// The final hard neuron mask.
    pub mask: NeuronMask,
    /// The final model, structurally pruned (masks folded into the weights).
    pub pruned: NetModel,
}

/// Per-neuron scores of every prunable layer of a trained model (higher = more important).
pub fn neuron_scores(model: &MaskedModel, method: PruneMethod) -> Vec<Vec<f64>> {
    let column_scores = |a: &Array2<f32>, f: &dyn Fn(&[f64]) -> f64| -> Vec<f64> {
        a.columns()
            .into_iter()
            .map(|c| {
                let v: Vec<f64> = c.iter().map(|&x| f64::from(x)).collect();
                f(&v)
            })
            .collect()
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let l2 = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    match (method, model.soft_masks()) {
        (PruneMethod::Mask, Some(masks)) => masks.iter().map(|m| column_scores(m, &mean)).collect(),
        _ => model
            .layers()
            .iter()
            .map(|l| column_scores(&model.network().dense[l.weight], &l2))
            .collect(),
    }
}

/// One pruning step: in each layer, the `fraction` of its kept neurons with the lowest scores
/// (ties: the lower index goes first) are removed; at least one neuron always stays.
pub fn prune_step(mask: &NeuronMask, scores: &[Vec<f64>], fraction: f64) -> NeuronMask {
    let mut next = mask.clone();
    for (layer, s) in next.layers.iter_mut().zip(scores) {
        let mut alive: Vec<usize> = (0..layer.keep.len()).filter(|&j| layer.keep[j]).collect();
        let remove = ((alive.len() as f64 * fraction).floor() as usize).min(alive.len() - 1);
        alive.sort_by(|&a, &b| {
            let (sa, sb) = (s.get(a).copied(), s.get(b).copied());
            sa.partial_cmp(&sb)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.cmp(&b))
        });
        for &j in &alive[..remove] {
            layer.keep[j] = false;
        }
    }
    next
}

/// Runs iterative pruning of `graph` with `method`: `T + 1` trainings on `train` (early
/// stopping on `val`), each evaluated on `val` and `test`. `on_row` sees each row as it is done.
#[allow(clippy::too_many_arguments)]
pub fn iterative_prune(
    name: &str,
    graph: &Graph,
    schema: &DataSchema,
    train_set: &dyn BatchSource,
    val: &dyn BatchSource,
    test: Option<&dyn BatchSource>,
    method: PruneMethod,
    config: &PruneConfig,
    on_row: &mut dyn FnMut(&PruneRow),
) -> Result<PruneOutcome> {
    config.check()?;
    let layers = prunable_layers(graph);
    let base_macs = graph.forward_macs_per_example().max(1);
    let soft = match method {
        PruneMethod::Mask => Some(config.mask_hidden),
        PruneMethod::Magnitude => None,
    };
    let mut mask = NeuronMask::full(&layers);
    let mut rows = Vec::with_capacity(config.iterations + 1);
    let mut last: Option<MaskedModel> = None;
    for t in 0..=config.iterations {
        if let Some(prev) = &last {
            mask = prune_step(
                &mask,
                &neuron_scores(prev, method),
                config.fraction_per_iteration,
            );
        }
        let mut model = MaskedModel::new(
            name,
            graph.clone(),
            schema,
            config.init_seed,
            mask.clone(),
            soft,
        )?;
        train(
            &mut model,
            train_set,
            Some(val),
            &config.train,
            false,
            &mut |_| {},
        )?;
        let v = evaluate(&model, val);
        let te = test.and_then(|s| evaluate(&model, s));
        let pruned_graph = prune_graph(graph, &layers, &mask)?;
        let macs = pruned_graph.forward_macs_per_example();
        let row = PruneRow {
            method,
            iteration: t,
            val_logloss: v.map(|m| m.logloss),
            val_auc: v.and_then(|m| m.auc),
            test_logloss: te.map(|m| m.logloss),
            test_auc: te.and_then(|m| m.auc),
            macs,
            macs_kept_percent: 100.0 * macs as f64 / base_macs as f64,
            dense_params: pruned_graph.params.iter().map(|p| p.numel() as u64).sum(),
            neurons_kept: mask.kept(),
            neurons_total: mask.total(),
        };
        on_row(&row);
        rows.push(row);
        last = Some(model);
    }
    let pruned = match &last {
        Some(m) => m.pruned_model()?,
        None => {
            return Err(ModelError::InvalidOption {
                name: "iterations".into(),
                value: config.iterations.to_string(),
                allowed: "0 to 64".into(),
            })
        }
    };
    Ok(PruneOutcome {
        method,
        rows,
        mask,
        pruned,
    })
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.5}"))
}

/// A Markdown table like the seed paper's Table 7: per method and iteration, log loss and
/// MFLOPs with the percentage kept.
pub fn table_markdown(rows: &[PruneRow]) -> String {
    let mut s = String::from(
        "| method | T | val log loss | test log loss | MFLOPs | % FLOPs kept | dense params | neurons kept |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:.4} | {:.1} | {} | {}/{} |\n",
            r.method.name(),
            r.iteration,
            fmt_opt(r.val_logloss),
            fmt_opt(r.test_logloss),
            r.macs as f64 / 1e6,
            r.macs_kept_percent,
            r.dense_params,
            r.neurons_kept,
            r.neurons_total
        ));
    }
    s
}

/// The same rows as CSV (header included).
pub fn table_csv(rows: &[PruneRow]) -> String {
    let mut s = String::from(
        "method,iteration,val_logloss,val_auc,test_logloss,test_auc,macs,macs_kept_percent,dense_params,neurons_kept,neurons_total\n",
    );
    let o = |v: Option<f64>| v.map_or_else(String::new, |x| format!("{x}"));
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            r.method.name(),
            r.iteration,
            o(r.val_logloss),
            o(r.val_auc),
            o(r.test_logloss),
            o(r.test_auc),
            r.macs,
            r.macs_kept_percent,
            r.dense_params,
            r.neurons_kept,
            r.neurons_total
        ));
    }
    s
}
