//! A trainable network whose prunable weights are used through masks: `W_eff = M ⊙ W ⊙ H`, with
//! `M` the learned soft mask of [`super::mask_mlp`] (mask-based pruning; all ones for
//! magnitude-based pruning) and `H` the hard neuron mask (0 on the columns and bias entries of
//! removed neurons). Gradients flow through `W_eff` into `W`, `W1` and `W2`; one global-norm clip
//! and Adagrad step updates all of them, as `NetModel` does for its own parameters.

use super::mask_mlp::{MaskCache, MaskMlp};
use super::structure::{prunable_layers, prune_network, NeuronMask, PrunableLayer};
use crate::batch::{Batch, DataSchema};
use crate::ctr_model::{CtrModel, ParamCounts, StepHyper, StepStats};
use crate::error::{ModelError, Result};
use crate::net::engine::ParamsRef;
use crate::net::graph::Graph;
use crate::net::model::{apply_adagrad, assert_batch, grads_squared_norm, zero_adagrad_sums};
use crate::net::network::{batch_logits, batch_loss_grads, check_schema, NetGrads, Network};
use crate::net::{state_io, NetModel};
use crate::optim::{adagrad_dense, clip_coefficient, squared_norm};
use ndarray::{Array1, Array2, Zip};
use std::io::{Read, Write};

/// A network trained under a soft (learned) and a hard (structural) neuron mask.
#[derive(Debug, Clone)]
pub struct MaskedModel {
    name: String,
    net: Network<f32>,
    layers: Vec<PrunableLayer>,
    mask: NeuronMask,
    /// 1.0 for kept and 0.0 for removed neurons, per layer.
    keep: Vec<Array1<f32>>,
    /// One mask MLP per prunable layer (empty: no soft mask).
    mlps: Vec<MaskMlp<f32>>,
    dense_accum: Vec<Array2<f32>>,
    table_accum: Vec<Vec<Array2<f32>>>,
    mlp_accum: Vec<(Array2<f32>, Array2<f32>)>,
    work: Vec<NetGrads<f32>>,
}

fn f32_bytes(a: &Array2<f32>) -> Vec<u8> {
    a.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn read_like(input: &mut dyn Read, like: &Array2<f32>) -> Result<Array2<f32>> {
    let mut buf = vec![0u8; like.len() * 4];
    input
        .read_exact(&mut buf)
        .map_err(|e| ModelError::Checkpoint(format!("masked model state: {e}")))?;
    let values: Vec<f32> = buf
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Array2::from_shape_vec(like.raw_dim(), values)
        .map_err(|e| ModelError::Checkpoint(format!("masked model state: {e}")))
}

impl MaskedModel {
    /// A freshly initialised network of `graph` (seeded exactly as `NetModel::new` with the same
    /// seed: the lottery ticket's original init), trained under `mask`; with `soft_hidden =
    /// Some(h)` every prunable weight also gets a learned mask MLP of `h` hidden units.
    pub fn new(
        name: impl Into<String>,
        graph: Graph,
        schema: &DataSchema,
        seed: u64,
        mask: NeuronMask,
        soft_hidden: Option<usize>,
    ) -> Result<Self> {
        check_schema(schema)?;
        if soft_hidden == Some(0) {
            return Err(ModelError::InvalidOption {
                name: "mask-hidden".into(),
                value: "0".into(),
                allowed: "at least 1 hidden unit".into(),
            });
        }
        let layers = prunable_layers(&graph);
        mask.check(&layers, "masked model")?;
        let net = Network::init(graph, schema, seed)?;
        let mlps: Vec<MaskMlp<f32>> = match soft_hidden {
            Some(h) => layers
                .iter()
                .map(|l| MaskMlp::init(net.dense[l.weight].nrows(), h, seed, &l.name))
                .collect(),
            None => Vec::new(),
        };
        let keep = mask
            .layers
            .iter()
            .map(|m| m.keep.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect())
            .collect();
        let mlp_accum = mlps
            .iter()
            .map(|m| (Array2::zeros(m.w1.raw_dim()), Array2::zeros(m.w2.raw_dim())))
            .collect();
        let (dense_accum, table_accum) = zero_adagrad_sums(&net);
        Ok(MaskedModel {
            name: name.into(),
            net,
            layers,
            mask,
            keep,
            mlps,
            dense_accum,
            table_accum,
            mlp_accum,
            work: Vec::new(),
        })
    }

    /// The raw parameters (`W` before any mask).
    pub fn network(&self) -> &Network<f32> {
        &self.net
    }

    /// Mutable raw parameters (tests and weight surgery).
    pub fn network_mut(&mut self) -> &mut Network<f32> {
        &mut self.net
    }

    /// The prunable layers, in graph order.
    pub fn layers(&self) -> &[PrunableLayer] {
        &self.layers
    }

    /// The hard neuron mask.
    pub fn mask(&self) -> &NeuronMask {
        &self.mask
    }

    /// The mask MLPs (empty without a soft mask).
    pub fn mask_mlps(&self) -> &[MaskMlp<f32>] {
        &self.mlps
    }

    /// The learned soft mask `M` of each prunable layer (`None` without a soft mask).
    pub fn soft_masks(&self) -> Option<Vec<Array2<f32>>> {
        if self.mlps.is_empty() {
            return None;
        }
        Some(
            self.layers
                .iter()
                .zip(&self.mlps)
                .map(|(l, m)| m.forward(self.net.dense[l.weight].view()).mask)
                .collect(),
        )
    }

    /// The dense tensors the network actually computes with, and each layer's mask cache.
    fn effective(&self) -> (Vec<Array2<f32>>, Vec<Option<MaskCache<f32>>>) {
        let mut dense = self.net.dense.clone();
        let mut caches = Vec::with_capacity(self.layers.len());
        for (i, l) in self.layers.iter().enumerate() {
            let keep = &self.keep[i];
            let w = &self.net.dense[l.weight];
            let cache = self.mlps.get(i).map(|m| m.forward(w.view()));
            let eff = &mut dense[l.weight];
            if let Some(c) = &cache {
                *eff *= &c.mask;
            }
            *eff *= keep;
            if let Some(b) = l.bias {
                let mut col = dense[b].column_mut(0);
                col *= keep;
            }
            caches.push(cache);
        }
        (dense, caches)
    }

    /// The network with the masks folded into its weights (`W_eff`), same shapes.
    pub fn effective_network(&self) -> Network<f32> {
        let (dense, _) = self.effective();
        Network {
            graph: self.net.graph.clone(),
            dense,
            tables: self.net.tables.clone(),
        }
    }

    /// The structurally pruned model: masks folded in, removed neurons deleted (smaller
    /// tensors), computing exactly what this model computes.
    pub fn pruned_model(&self) -> Result<NetModel> {
        let net = prune_network(&self.effective_network(), &self.layers, &self.mask)?;
        Ok(NetModel::from_network(format!("{}:pruned", self.name), net))
    }
}

impl CtrModel for MaskedModel {
    fn train_step(&mut self, batch: &Batch, hyper: &StepHyper) -> StepStats {
        assert_batch(&self.net.graph, batch);
        if batch.is_empty() {
            return StepStats {
                loss: 0.0,
                grad_norm: 0.0,
            };
        }
        let sparse = self.net.sanitize_sparse(&batch.sparse);
        let (eff, caches) = self.effective();
        let loss = batch_loss_grads(
            &self.net.graph,
            ParamsRef {
                dense: &eff,
                tables: &self.net.tables,
            },
            batch.dense.view(),
            sparse.view(),
            batch.labels.view(),
            &mut self.work,
        );
        let Some(grads) = self.work.first_mut() else {
            return StepStats {
                loss,
                grad_norm: 0.0,
            };
        };
        // Chain rule through W_eff = M ⊙ W ⊙ H (and b_eff = b ⊙ H).
        let mut mlp_grads = Vec::with_capacity(self.mlps.len());
        for (i, l) in self.layers.iter().enumerate() {
            let keep = &self.keep[i];
            let g_eff = &mut grads.dense[l.weight];
            *g_eff *= keep;
            if let (Some(cache), Some(mlp)) = (&caches[i], self.mlps.get(i)) {
                {
                    let w = &self.net.dense[l.weight];
                    let d_mask = &*g_eff * w;
                    let mg = mlp.backward(cache, w.view(), d_mask.view());
                    Zip::from(&mut *g_eff)
                        .and(&cache.mask)
                        .and(&mg.w_via_mask)
                        .for_each(|g, &m, &via| *g = *g * m + via);
                    mlp_grads.push((mg.w1, mg.w2));
                }
            }
            if let Some(b) = l.bias {
                let mut col = grads.dense[b].column_mut(0);
                col *= keep;
            }
        }
        let mut sq = grads_squared_norm(grads);
        for (g1, g2) in &mlp_grads {
            sq += squared_norm(g1.as_slice_memory_order().unwrap_or(&[]));
            sq += squared_norm(g2.as_slice_memory_order().unwrap_or(&[]));
        }
        let norm = sq.sqrt();
        let scale = clip_coefficient(norm, hyper.clip_norm);
        apply_adagrad(
            &mut self.net,
            &mut self.dense_accum,
            &mut self.table_accum,
            grads,
            hyper,
            scale,
        );
        for ((mlp, (a1, a2)), (g1, g2)) in self
            .mlps
            .iter_mut()
            .zip(self.mlp_accum.iter_mut())
            .zip(&mlp_grads)
        {
            for (p, a, g) in [(&mut mlp.w1, a1, g1), (&mut mlp.w2, a2, g2)] {
                if let (Some(p), Some(a), Some(g)) = (
                    p.as_slice_memory_order_mut(),
                    a.as_slice_memory_order_mut(),
                    g.as_slice_memory_order(),
                ) {
                    adagrad_dense(p, g, a, hyper.lr, hyper.adagrad_eps, scale, 0.0);
                }
            }
        }
        StepStats {
            loss,
            grad_norm: norm as f32,
        }
    }

    fn predict_logits(&self, batch: &Batch) -> Array1<f32> {
        assert_batch(&self.net.graph, batch);
        let sparse = self.net.sanitize_sparse(&batch.sparse);
        let (eff, _) = self.effective();
        batch_logits(
            &self.net.graph,
            ParamsRef {
                dense: &eff,
                tables: &self.net.tables,
            },
            batch.dense.view(),
            sparse.view(),
        )
    }

    fn param_counts(&self) -> ParamCounts {
        let mlp: usize = self.mlps.iter().map(|m| m.w1.len() + m.w2.len()).sum();
        ParamCounts {
            dense: self.net.dense.iter().map(|a| a.len()).sum::<usize>() + mlp,
            embedding: self.net.tables.iter().flatten().map(|t| t.len()).sum(),
        }
    }

    fn save_state(&self, out: &mut dyn Write) -> Result<()> {
        state_io::write_state(
            out,
            &self.name,
            &self.net,
            &self.dense_accum,
            &self.table_accum,
        )?;
        let io = |e: std::io::Error| ModelError::Checkpoint(format!("masked model state: {e}"));
        for (m, (a1, a2)) in self.mlps.iter().zip(&self.mlp_accum) {
            for a in [&m.w1, &m.w2, a1, a2] {
                out.write_all(&f32_bytes(a)).map_err(io)?;
            }
        }
        Ok(())
    }

    fn load_state(&mut self, input: &mut dyn Read) -> Result<()> {
        let (dense, dense_accum, tables, table_accum) = state_io::read_state(
            input,
            &self.name,
            &self.net,
            &self.dense_accum,
            &self.table_accum,
        )?;
        let mut mlps = Vec::with_capacity(self.mlps.len());
        let mut accums = Vec::with_capacity(self.mlps.len());
        for (m, (a1, a2)) in self.mlps.iter().zip(&self.mlp_accum) {
            let w1 = read_like(input, &m.w1)?;
            let w2 = read_like(input, &m.w2)?;
            accums.push((read_like(input, a1)?, read_like(input, a2)?));
            mlps.push(MaskMlp { w1, w2 });
        }
        self.net.dense = dense;
        self.net.tables = tables;
        self.dense_accum = dense_accum;
        self.table_accum = table_accum;
        self.mlps = mlps;
        self.mlp_accum = accums;
        Ok(())
    }
}
