//! Sub-network evaluation from a trained supernet (nasrec-spec §3 "Sub-net evaluation during
//! search"; issue 4 item 2): the path is fixed to the candidate, optionally only the final logit
//! layer is fine-tuned (500 steps, Adagrad lr 0.04, cosine with 10% warm-up, batch 512 by default),
//! then the validation log loss is measured on a bounded number of batches.
//!
//! The supernet is only read: each candidate gets a private copy of its dense shares (the head it
//! fine-tunes is its own) and reads the embedding tables in place, so candidates evaluate in
//! parallel (rayon across candidates) without copying tables, and the result of a candidate does
//! not depend on which others are evaluated, in which order or on how many threads.

use crate::error::{Result, SearchError};
use recpim_model::genotype::Genotype;
use recpim_model::metrics::log_loss_from_logits;
use recpim_model::net::engine::ParamsRef;
use recpim_model::net::network::{batch_logits, batch_loss_grads, NetGrads};
use recpim_model::net::Supernet;
use recpim_model::optim::{adagrad_dense, clip_coefficient, squared_norm};
use recpim_model::train::{epoch_order, BatchSource, CosineWarmup, DEFAULT_MIN_LR};
use serde::{Deserialize, Serialize};

/// Key prefix of the logit layer's tensors (`head.w`, `head.b`), the only ones fine-tuning trains.
pub const HEAD_KEY_PREFIX: &str = "head.";

/// How a candidate is scored; the defaults are the reference's (except the validation size,
/// which the reference sets per data set: 150 x 8192 rows on Criteo).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubnetEvalConfig {
    /// Fine-tuning steps of the logit layer (500; 0 = no fine-tuning, the `-noft` ablation).
    pub finetune_steps: u64,
    /// Peak fine-tuning learning rate (0.04).
    pub finetune_lr: f64,
    /// Fraction of the fine-tuning steps in the linear warm-up (0.1 = the reference's 50 of 500).
    pub finetune_warmup_frac: f64,
    /// Fine-tuning batch size (512).
    pub finetune_batch: usize,
    /// Validation batches (150).
    pub val_batches: usize,
    /// Validation batch size (8192).
    pub val_batch_size: usize,
    /// Gradient-norm clip of fine-tuning (5).
    pub clip_norm: f32,
    /// Adagrad epsilon (1e-2).
    pub adagrad_eps: f32,
    /// Seed of the fine-tuning batch order (the same for every candidate, for a fair comparison).
    pub data_seed: u64,
}

impl Default for SubnetEvalConfig {
    fn default() -> Self {
        SubnetEvalConfig {
            finetune_steps: 500,
            finetune_lr: 0.04,
            finetune_warmup_frac: 0.1,
            finetune_batch: 512,
            val_batches: 150,
            val_batch_size: 8192,
            clip_norm: 5.0,
            adagrad_eps: 1e-2,
            data_seed: 0,
        }
    }
}

impl SubnetEvalConfig {
    /// Checks the options; errors name the flag and the allowed range.
    pub fn check(&self) -> Result<()> {
        let bad = |what: String, reason: &str| {
            Err(SearchError::Nas {
                what,
                reason: reason.to_string(),
            })
        };
        if self.finetune_steps > 0 && !(self.finetune_lr.is_finite() && self.finetune_lr > 0.0) {
            return bad(
                format!("--finetune-lr {}", self.finetune_lr),
                "must be finite and > 0",
            );
        }
        if !(0.0..=1.0).contains(&self.finetune_warmup_frac) {
            return bad(
                format!("finetune warm-up fraction {}", self.finetune_warmup_frac),
                "must be in 0..=1",
            );
        }
        if self.finetune_batch == 0 {
            return bad("--finetune-batch 0".into(), "must be at least 1");
        }
        if self.val_batches == 0 {
            return bad("--val-batches 0".into(), "must be at least 1");
        }
        if self.val_batch_size == 0 {
            return bad("--val-batch 0".into(), "must be at least 1");
        }
        Ok(())
    }
}

/// A candidate's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubnetScore {
    /// Validation log loss (mean BCE, from logits).
    pub val_logloss: f64,
    /// Validation examples used.
    pub val_rows: usize,
    /// Fine-tuning steps run.
    pub finetune_steps: u64,
    /// Forward multiply-adds per example (fvcore convention, nasrec-spec §5), i.e. "FLOPs".
    pub flops: u64,
}

/// Scores `genotype` with the supernet's shared weights: fine-tune its private logit layer on
/// `train` (when `config.finetune_steps > 0`), then the log loss on the first
/// `val_batches * val_batch_size` rows of `val`.
pub fn evaluate_subnet(
    supernet: &Supernet,
    genotype: &Genotype,
    train: &dyn BatchSource,
    val: &dyn BatchSource,
    config: &SubnetEvalConfig,
) -> Result<SubnetScore> {
    config.check()?;
    let (graph, mut dense) =
        supernet
            .subnet_weights(genotype)
            .map_err(|source| SearchError::Model {
                context: format!("sub-network {}", genotype.arch_hash_hex()),
                source: Box::new(source),
            })?;
    let tables = supernet.table_groups();
    let head: Vec<usize> = graph
        .params
        .iter()
        .enumerate()
        .filter(|(_, p)| p.key.starts_with(HEAD_KEY_PREFIX))
        .map(|(i, _)| i)
        .collect();
    let rows = train.num_rows();
    if config.finetune_steps > 0 && rows > 0 && !head.is_empty() {
        let schedule = CosineWarmup::new(
            config.finetune_lr,
            DEFAULT_MIN_LR.min(config.finetune_lr),
            config.finetune_steps,
            config.finetune_warmup_frac,
        );
        let batch_rows = config.finetune_batch.min(rows);
        let per_epoch = (rows / batch_rows).max(1) as u64;
        let mut accum: Vec<ndarray::Array2<f32>> = head
            .iter()
            .map(|&i| ndarray::Array2::zeros(dense[i].raw_dim()))
            .collect();
        let mut work: Vec<NetGrads<f32>> = Vec::new();
        let mut order_epoch = u64::MAX;
        let mut order = Vec::new();
        for step in 0..config.finetune_steps {
            let epoch = step / per_epoch;
            if epoch != order_epoch {
                order = epoch_order(rows, config.data_seed, epoch);
                order_epoch = epoch;
            }
            let start = ((step % per_epoch) as usize) * batch_rows;
            let batch = train.gather(&order[start..start + batch_rows]);
            let params = ParamsRef {
                dense: &dense,
                tables,
            };
            let loss = batch_loss_grads(
                &graph,
                params,
                batch.dense.view(),
                batch.sparse.view(),
                batch.labels.view(),
                &mut work,
            );
            if !loss.is_finite() {
                return Err(SearchError::Nas {
                    what: format!(
                        "fine-tuning sub-network {} at step {}",
                        genotype.arch_hash_hex(),
                        step + 1
                    ),
                    reason: format!("loss is {loss}"),
                });
            }
            let Some(grads) = work.first() else { break };
            // Only the head trains, so only its gradient is clipped (frozen tensors have none).
            let norm: f64 = head
                .iter()
                .map(|&i| squared_norm(grads.dense[i].as_slice_memory_order().unwrap_or(&[])))
                .sum::<f64>()
                .sqrt();
            let scale = clip_coefficient(norm, config.clip_norm);
            let lr = schedule.lr_at(step) as f32;
            for (&i, acc) in head.iter().zip(accum.iter_mut()) {
                if let (Some(p), Some(g), Some(a)) = (
                    dense[i].as_slice_memory_order_mut(),
                    grads.dense[i].as_slice_memory_order(),
                    acc.as_slice_memory_order_mut(),
                ) {
                    adagrad_dense(p, g, a, lr, config.adagrad_eps, scale, 0.0);
                }
            }
        }
    }
    let val_rows = val
        .num_rows()
        .min(config.val_batches.saturating_mul(config.val_batch_size));
    if val_rows == 0 {
        return Err(SearchError::Nas {
            what: "validation data".to_string(),
            reason: "holds no example".to_string(),
        });
    }
    let mut logits = Vec::with_capacity(val_rows);
    let mut labels = Vec::with_capacity(val_rows);
    let params = ParamsRef {
        dense: &dense,
        tables,
    };
    let mut start = 0;
    while start < val_rows {
        let end = (start + config.val_batch_size).min(val_rows);
        let idx: Vec<usize> = (start..end).collect();
        let batch = val.gather(&idx);
        let out = batch_logits(&graph, params, batch.dense.view(), batch.sparse.view());
        logits.extend(out.iter().copied());
        labels.extend(batch.labels.iter().copied());
        start = end;
    }
    let val_logloss = log_loss_from_logits(&labels, &logits).ok_or_else(|| SearchError::Nas {
        what: "validation data".to_string(),
        reason: "log loss is undefined (no example)".to_string(),
    })?;
    Ok(SubnetScore {
        val_logloss,
        val_rows,
        finetune_steps: config.finetune_steps,
        flops: graph.forward_macs_per_example(),
    })
}
