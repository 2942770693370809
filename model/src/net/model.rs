//! A trainable network: parameters, Adagrad state and per-chunk gradient workspaces, behind the
//! trainer's `CtrModel` trait.

use super::graph::Graph;
use super::network::{check_schema, NetGrads, Network, ELEMENTWISE_PIECE};
use super::state_io;
use crate::batch::{Batch, DataSchema};
use crate::ctr_model::{CtrModel, ParamCounts, StepHyper, StepStats};
use crate::error::Result;
use crate::optim::{adagrad_dense, adagrad_rows, clip_coefficient, squared_norm};
use ndarray::{Array1, Array2, CowArray, Ix2};
use rayon::prelude::*;

/// A network of one architecture (a NASRec genotype or a baseline) with its optimizer state.
#[derive(Debug, Clone)]
pub struct NetModel {
    /// Short description, written into saved states (e.g. `nasrec:xlarge` or `dlrm`).
    name: String,
    /// Parameters.
    pub(crate) net: Network<f32>,
    /// Adagrad sums for the dense tensors.
    pub(crate) dense_accum: Vec<Array2<f32>>,
    /// Adagrad sums for the embedding tables.
    pub(crate) table_accum: Vec<Vec<Array2<f32>>>,
    /// Per-chunk gradient workspaces, reused across steps.
    work: Vec<NetGrads<f32>>,
}

/// The NASRec standalone model of a genotype.
pub type NasrecModel = NetModel;

/// Rows outside their table count as the out-of-vocabulary row 0 (copying only if any is).
pub(crate) fn sanitize_rows<'a>(
    sparse: &'a Array2<u32>,
    table_rows: &[usize],
) -> CowArray<'a, u32, Ix2> {
    let bad = sparse
        .rows()
        .into_iter()
        .any(|r| r.iter().zip(table_rows).any(|(&v, &n)| v as usize >= n));
    if !bad {
        return CowArray::from(sparse.view());
    }
    let mut fixed = sparse.clone();
    for mut r in fixed.rows_mut() {
        for (v, &n) in r.iter_mut().zip(table_rows) {
            if *v as usize >= n {
                *v = 0;
            }
        }
    }
    CowArray::from(fixed)
}

/// Checks that a batch matches the network's inputs (a programming error of the caller if not:
/// batches come from the same schema the model was built for).
pub(crate) fn assert_batch(graph: &Graph, batch: &Batch) {
    assert_eq!(
        batch.dense.ncols(),
        graph.n_dense,
        "batch has {} dense features, the model was built for {}",
        batch.dense.ncols(),
        graph.n_dense
    );
    assert_eq!(
        batch.sparse.ncols(),
        graph.n_sparse,
        "batch has {} categorical fields, the model was built for {}",
        batch.sparse.ncols(),
        graph.n_sparse
    );
    assert_eq!(
        batch.labels.len(),
        batch.dense.nrows(),
        "batch labels and rows differ"
    );
    assert_eq!(
        batch.sparse.nrows(),
        batch.dense.nrows(),
        "batch dense and sparse rows differ"
    );
}

/// Global-norm clipping and one Adagrad update of `net` with `grads`; returns the norm before
/// clipping. Weight decay (L2 `wd * ||W||^2`) applies to dense matrices and to the embedding rows
/// the batch used.
pub(crate) fn optimizer_step(
    net: &mut Network<f32>,
    dense_accum: &mut [Array2<f32>],
    table_accum: &mut [Vec<Array2<f32>>],
    grads: &NetGrads<f32>,
    hyper: &StepHyper,
) -> f32 {
    let norm = grads_squared_norm(grads).sqrt();
    let scale = clip_coefficient(norm, hyper.clip_norm);
    apply_adagrad(net, dense_accum, table_accum, grads, hyper, scale);
    norm as f32
}

/// Zeroed Adagrad sums shaped like the network's dense tensors and embedding tables.
pub(crate) fn zero_adagrad_sums(net: &Network<f32>) -> (Vec<Array2<f32>>, Vec<Vec<Array2<f32>>>) {
    let dense = net
        .dense
        .iter()
        .map(|a| Array2::zeros(a.raw_dim()))
        .collect();
    let tables = net
        .tables
        .iter()
        .map(|g| g.iter().map(|t| Array2::zeros(t.raw_dim())).collect())
        .collect();
    (dense, tables)
}

/// Sum of squares of every dense and embedding-row gradient (the clip norm's square).
pub(crate) fn grads_squared_norm(grads: &NetGrads<f32>) -> f64 {
    // Per-tensor sums in parallel, added in a fixed order (the same bits for any thread count).
    // Large tensors in fixed pieces, so that one big matrix does not keep a thread alone.
    let dense: Vec<f64> = grads
        .dense
        .iter()
        .flat_map(|g| {
            g.as_slice_memory_order()
                .unwrap_or(&[])
                .chunks(ELEMENTWISE_PIECE)
        })
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(squared_norm)
        .collect();
    let tables: Vec<f64> = grads
        .tables
        .par_iter()
        .flat_map_iter(|group| group.iter())
        .map(|f| f.iter().map(|(_, g)| squared_norm(g)).sum::<f64>())
        .collect();
    dense.iter().chain(&tables).sum()
}

/// Adagrad on the network's dense tensors (in parallel, one tensor per task) and on the
/// embedding rows the batch used, with gradients scaled by the clip coefficient `scale`.
pub(crate) fn apply_adagrad(
    net: &mut Network<f32>,
    dense_accum: &mut [Array2<f32>],
    table_accum: &mut [Vec<Array2<f32>>],
    grads: &NetGrads<f32>,
    hyper: &StepHyper,
    scale: f32,
) {
    let specs = &net.graph.params;
    // Element-wise, so the tensors go in fixed pieces across threads (one big matrix would
    // otherwise keep a thread alone) with the same bits for any thread count.
    let mut pieces = Vec::new();
    for (t, ((p, a), g)) in net
        .dense
        .iter_mut()
        .zip(dense_accum.iter_mut())
        .zip(&grads.dense)
        .enumerate()
    {
        let wd = if specs[t].is_matrix {
            hyper.weight_decay
        } else {
            0.0
        };
        if let (Some(p), Some(a), Some(g)) = (
            p.as_slice_memory_order_mut(),
            a.as_slice_memory_order_mut(),
            g.as_slice_memory_order(),
        ) {
            let parts = p
                .chunks_mut(ELEMENTWISE_PIECE)
                .zip(a.chunks_mut(ELEMENTWISE_PIECE))
                .zip(g.chunks(ELEMENTWISE_PIECE));
            pieces.extend(parts.map(|((p, a), g)| (p, a, g, wd)));
        }
    }
    pieces.into_par_iter().for_each(|(p, a, g, wd)| {
        adagrad_dense(p, g, a, hyper.lr, hyper.adagrad_eps, scale, wd);
    });
    // One task per embedding table (each touches only its own rows and sums).
    let jobs: Vec<_> = net
        .tables
        .iter_mut()
        .flatten()
        .zip(table_accum.iter_mut().flatten())
        .zip(grads.tables.iter().flatten())
        .collect();
    jobs.into_par_iter().for_each(|((table, accum), rows)| {
        adagrad_rows(
            table.view_mut(),
            accum.view_mut(),
            rows.iter(),
            hyper.lr,
            hyper.adagrad_eps,
            scale,
            hyper.weight_decay,
        );
    });
}

impl NetModel {
    /// A freshly initialised model of `graph` for `schema`.
    pub fn new(
        name: impl Into<String>,
        graph: Graph,
        schema: &DataSchema,
        seed: u64,
    ) -> Result<Self> {
        check_schema(schema)?;
        let net = Network::init(graph, schema, seed)?;
        Ok(Self::from_network(name.into(), net))
    }

    /// Wraps parameter values with zero optimizer state.
    pub(crate) fn from_network(name: String, net: Network<f32>) -> Self {
        let (dense_accum, table_accum) = zero_adagrad_sums(&net);
        NetModel {
            name,
            net,
            dense_accum,
            table_accum,
            work: Vec::new(),
        }
    }

    /// The model's name (`nasrec:<config>` or a baseline's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The compiled graph.
    pub fn graph(&self) -> &Graph {
        &self.net.graph
    }

    /// The parameter values.
    pub fn network(&self) -> &Network<f32> {
        &self.net
    }

    /// Mutable parameter values (tests and weight surgery).
    pub fn network_mut(&mut self) -> &mut Network<f32> {
        &mut self.net
    }

    /// Multiply-adds of one example's forward pass (fvcore convention, nasrec-spec §5).
    pub fn forward_macs_per_example(&self) -> u64 {
        self.net.graph.forward_macs_per_example()
    }
}

impl CtrModel for NetModel {
    fn train_step(&mut self, batch: &Batch, hyper: &StepHyper) -> StepStats {
        assert_batch(&self.net.graph, batch);
        if batch.is_empty() {
            return StepStats {
                loss: 0.0,
                grad_norm: 0.0,
            };
        }
        let sparse = self.net.sanitize_sparse(&batch.sparse);
        let loss = self.net.loss_grads(
            batch.dense.view(),
            sparse.view(),
            batch.labels.view(),
            &mut self.work,
        );
        let Some(grads) = self.work.first() else {
            return StepStats {
                loss,
                grad_norm: 0.0,
            };
        };
        let grad_norm = optimizer_step(
            &mut self.net,
            &mut self.dense_accum,
            &mut self.table_accum,
            grads,
            hyper,
        );
        StepStats { loss, grad_norm }
    }

    fn predict_logits(&self, batch: &Batch) -> Array1<f32> {
        assert_batch(&self.net.graph, batch);
        let sparse = self.net.sanitize_sparse(&batch.sparse);
        self.net.logits(batch.dense.view(), sparse.view())
    }

    fn param_counts(&self) -> ParamCounts {
        ParamCounts {
            dense: self.net.dense.iter().map(|a| a.len()).sum(),
            embedding: self.net.tables.iter().flatten().map(|t| t.len()).sum(),
        }
    }

    fn save_state(&self, out: &mut dyn std::io::Write) -> Result<()> {
        state_io::write_state(
            out,
            &self.name,
            &self.net,
            &self.dense_accum,
            &self.table_accum,
        )
    }

    fn load_state(&mut self, input: &mut dyn std::io::Read) -> Result<()> {
        let (dense, dense_accum, tables, table_accum) = state_io::read_state(
            input,
            &self.name,
            &self.net,
            &self.dense_accum,
            &self.table_accum,
        )?;
        self.net.dense = dense;
        self.net.tables = tables;
        self.dense_accum = dense_accum;
        self.table_accum = table_accum;
        Ok(())
    }
}
