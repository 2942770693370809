//! A compiled graph with its parameter values: forward, loss and gradients over a whole batch,
//! split into fixed-size chunks that run in parallel (rayon) and are reduced in chunk order, so
//! results are bit-identical for any number of threads.

use super::engine::{self, GradsMut, ParamsRef};
use super::graph::Graph;
use super::params::{init_embedding, init_tensor, real};
use crate::batch::DataSchema;
use crate::error::{ModelError, Result};
use crate::ops::{self, embedding::SparseRowGrad, Real};
use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, CowArray, Ix2};
use rayon::prelude::*;

/// Examples per chunk. The chunking depends only on the batch size (never on the thread count),
/// which is what makes 1 and 2 threads give identical bits. (64 was measured too: the same for
/// Criteo-Full, 3-5% slower for Criteo-Small, whose GEMMs then repack their weights twice as
/// often; BENCHMARKS.md.)
pub const CHUNK_ROWS: usize = 128;

/// Elements per parallel task of the step's element-wise dense passes (the chunk-gradient
/// reduction, the clip norm's sums, Adagrad): fixed, so results do not depend on the threads.
pub(crate) const ELEMENTWISE_PIECE: usize = 1 << 15;

/// Parameter values of a network.
#[derive(Debug, Clone, PartialEq)]
pub struct Network<T> {
    /// The compiled graph.
    pub graph: Graph,
    /// Dense tensors in `graph.params` order.
    pub dense: Vec<Array2<T>>,
    /// Embedding tables: group -> field -> `[rows, dim]`.
    pub tables: Vec<Vec<Array2<T>>>,
}

/// Gradients of a network (dense tensors and per-field sparse rows).
#[derive(Debug, Clone)]
pub struct NetGrads<T> {
    /// Same shapes as `Network::dense`.
    pub dense: Vec<Array2<T>>,
    /// Group -> field -> touched rows.
    pub tables: Vec<Vec<SparseRowGrad<T>>>,
}

/// Checks the schema a network is built for.
pub fn check_schema(schema: &DataSchema) -> Result<()> {
    if let Some((i, _)) = schema.table_rows.iter().enumerate().find(|(_, &r)| r == 0) {
        return Err(ModelError::InvalidOption {
            name: format!("table_rows[{i}]"),
            value: "0".to_string(),
            allowed: "every categorical field needs at least one embedding row".to_string(),
        });
    }
    Ok(())
}

impl<T: Real> Network<T> {
    /// `sparse` with every id outside its table mapped to the out-of-vocabulary row 0 (see
    /// [`super::model::sanitize_rows`]; borrowed when all ids are in range).
    pub(crate) fn sanitize_sparse<'a>(&self, sparse: &'a Array2<u32>) -> CowArray<'a, u32, Ix2> {
        let table_rows: Vec<usize> = self
            .tables
            .first()
            .map(|g| g.iter().map(|t| t.nrows()).collect())
            .unwrap_or_default();
        super::model::sanitize_rows(sparse, &table_rows)
    }

    /// Seeded initial values (nasrec-spec §1 "Init"): xavier-uniform Linear weights, zero biases,
    /// LayerNorm gain 1 (0.17 in the transformer), xavier-normal embeddings with the row count
    /// floored at [`super::params::EMBEDDING_INIT_MIN_ROWS`] (see `params::init_embedding`).
    pub fn init(graph: Graph, schema: &DataSchema, seed: u64) -> Result<Self> {
        check_schema(schema)?;
        let dense = graph
            .params
            .iter()
            .map(|p| init_tensor(p.init, p.shape, seed, &p.key))
            .collect();
        let tables = graph
            .embed_dims
            .iter()
            .enumerate()
            .map(|(g, &dim)| {
                schema
                    .table_rows
                    .iter()
                    .enumerate()
                    .map(|(f, &rows)| init_embedding(rows, dim, seed, &format!("emb{g}.{f}")))
                    .collect()
            })
            .collect();
        Ok(Network {
            graph,
            dense,
            tables,
        })
    }

    /// Zero gradients shaped like this network.
    pub fn zero_grads(&self) -> NetGrads<T> {
        zero_grads(&self.graph)
    }

    /// The parameters as the engine reads them.
    pub fn params(&self) -> ParamsRef<'_, T> {
        ParamsRef {
            dense: &self.dense,
            tables: &self.tables,
        }
    }

    /// Logits of one chunk.
    pub fn logits_chunk(&self, dense: ArrayView2<'_, T>, sparse: ArrayView2<'_, u32>) -> Array1<T> {
        engine::forward_logits(&self.graph, self.params(), dense, sparse)
    }

    /// Logits of a whole batch (chunked, parallel, deterministic).
    pub fn logits(&self, dense: ArrayView2<'_, T>, sparse: ArrayView2<'_, u32>) -> Array1<T> {
        batch_logits(&self.graph, self.params(), dense, sparse)
    }

    /// Mean loss of a whole batch and its gradients, see [`batch_loss_grads`].
    pub fn loss_grads(
        &self,
        dense: ArrayView2<'_, T>,
        sparse: ArrayView2<'_, u32>,
        labels: ArrayView1<'_, T>,
        chunk_grads: &mut Vec<NetGrads<T>>,
    ) -> T {
        batch_loss_grads(
            &self.graph,
            self.params(),
            dense,
            sparse,
            labels,
            chunk_grads,
        )
    }

    /// Mean BCE loss of one chunk and its gradients added (+=) into `grads`, with d loss scaled by
    /// `scale` (the chunk's share of a larger batch); returns the chunk's mean loss.
    pub fn loss_grads_chunk(
        &self,
        dense: ArrayView2<'_, T>,
        sparse: ArrayView2<'_, u32>,
        labels: ArrayView1<'_, T>,
        scale: T,
        grads: &mut NetGrads<T>,
    ) -> T {
        chunk_loss_grads(
            &self.graph,
            self.params(),
            dense,
            sparse,
            labels,
            scale,
            grads,
        )
    }
}

/// Zero gradients shaped like `graph`'s parameters.
pub fn zero_grads<T: Real>(graph: &Graph) -> NetGrads<T> {
    NetGrads {
        dense: graph
            .params
            .iter()
            .map(|p| Array2::zeros(p.shape))
            .collect(),
        tables: graph
            .embed_dims
            .iter()
            .map(|&dim| {
                (0..graph.n_sparse)
                    .map(|_| SparseRowGrad::new(dim))
                    .collect()
            })
            .collect(),
    }
}

/// Mean BCE loss of one chunk; gradients (d loss scaled by `scale`) added into `grads`.
pub fn chunk_loss_grads<T: Real>(
    graph: &Graph,
    p: ParamsRef<'_, T>,
    dense: ArrayView2<'_, T>,
    sparse: ArrayView2<'_, u32>,
    labels: ArrayView1<'_, T>,
    scale: T,
    grads: &mut NetGrads<T>,
) -> T {
    let tape = engine::forward(graph, p, dense, sparse);
    let logits = tape.logits(graph);
    let (loss, mut dlogit) = ops::loss::bce_with_logits(logits.view(), labels);
    dlogit.mapv_inplace(|v| v * scale);
    engine::backward(
        graph,
        p,
        &tape,
        sparse,
        dlogit.view(),
        GradsMut {
            dense: &mut grads.dense,
            tables: &mut grads.tables,
        },
    );
    loss
}

/// Logits of a whole batch (chunked, parallel, deterministic).
pub fn batch_logits<T: Real>(
    graph: &Graph,
    p: ParamsRef<'_, T>,
    dense: ArrayView2<'_, T>,
    sparse: ArrayView2<'_, u32>,
) -> Array1<T> {
    let n = dense.nrows();
    let chunks: Vec<(usize, usize)> = (0..n.div_ceil(CHUNK_ROWS))
        .map(|c| (c * CHUNK_ROWS, ((c + 1) * CHUNK_ROWS).min(n)))
        .collect();
    let parts: Vec<Array1<T>> = chunks
        .par_iter()
        .map(|&(a, b)| {
            engine::forward_logits(
                graph,
                p,
                dense.slice(s![a..b, ..]),
                sparse.slice(s![a..b, ..]),
            )
        })
        .collect();
    let mut out = Array1::zeros(n);
    for (&(a, b), part) in chunks.iter().zip(parts) {
        out.slice_mut(s![a..b]).assign(&part);
    }
    out
}

/// Mean loss of a whole batch and its gradients (written into `chunk_grads[0]`; the others are
/// per-chunk workspaces, grown as needed). Chunks run in parallel and are reduced in order.
pub fn batch_loss_grads<T: Real>(
    graph: &Graph,
    p: ParamsRef<'_, T>,
    dense: ArrayView2<'_, T>,
    sparse: ArrayView2<'_, u32>,
    labels: ArrayView1<'_, T>,
    chunk_grads: &mut Vec<NetGrads<T>>,
) -> T {
    let n = dense.nrows();
    let n_chunks = n.div_ceil(CHUNK_ROWS).max(1);
    while chunk_grads.len() < n_chunks {
        chunk_grads.push(zero_grads(graph));
    }
    let total: T = real(n.max(1) as f64);
    let losses: Vec<T> = chunk_grads[..n_chunks]
        .par_iter_mut()
        .enumerate()
        .map(|(c, g)| {
            for a in g.dense.iter_mut() {
                a.fill(T::zero());
            }
            for group in g.tables.iter_mut() {
                for f in group.iter_mut() {
                    f.clear();
                }
            }
            let (a, b) = (c * CHUNK_ROWS, ((c + 1) * CHUNK_ROWS).min(n));
            let rows: T = real((b - a) as f64);
            let scale = rows / total;
            let loss = chunk_loss_grads(
                graph,
                p,
                dense.slice(s![a..b, ..]),
                sparse.slice(s![a..b, ..]),
                labels.slice(s![a..b]),
                scale,
                g,
            );
            loss * scale
        })
        .collect();
    // Fixed-order reduction into chunk 0.
    if n_chunks > 1 {
        let (first, rest) = chunk_grads.split_at_mut(1);
        let rest = &rest[..n_chunks - 1];
        // Element-wise in fixed pieces (one big matrix would otherwise keep a thread alone);
        // each element adds the other chunks in chunk order, as before.
        let mut pieces = Vec::new();
        for (t, acc) in first[0].dense.iter_mut().enumerate() {
            if acc.as_slice_memory_order().is_none() {
                for other in rest {
                    *acc += &other.dense[t];
                }
                continue;
            }
            let acc = acc.as_slice_memory_order_mut().unwrap_or(&mut []);
            pieces.extend(
                acc.chunks_mut(ELEMENTWISE_PIECE)
                    .enumerate()
                    .map(|(i, a)| (t, i * ELEMENTWISE_PIECE, a)),
            );
        }
        pieces.into_par_iter().for_each(|(t, start, acc)| {
            let len = acc.len();
            for other in rest {
                let src = other.dense[t]
                    .as_slice_memory_order()
                    .and_then(|o| o.get(start..start + len))
                    .expect("chunk gradients are made alike: contiguous, same shape");
                for (a, &v) in acc.iter_mut().zip(src) {
                    *a += v;
                }
            }
        });
        // One task per table; each table adds the other chunks' rows in chunk order.
        let tables: Vec<_> = first[0]
            .tables
            .iter_mut()
            .enumerate()
            .flat_map(|(g, group)| {
                group
                    .iter_mut()
                    .enumerate()
                    .map(move |(f, acc)| (g, f, acc))
            })
            .collect();
        tables.into_par_iter().for_each(|(g, f, acc)| {
            for other in rest {
                for (row, grad) in other.tables[g][f].iter() {
                    acc.add_row(row, ndarray::ArrayView1::from(grad));
                }
            }
        });
    }
    losses.into_iter().fold(T::zero(), |a, b| a + b)
}
