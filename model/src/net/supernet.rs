//! The weight-sharing supernet by slicing (nasrec-spec §7.2).
//!
//! Every parameter exists once at max width (dense 1024, sparse 64 + 8 items, every source of
//! every block, balancing projection to 45 items, or without balancing one interaction row per
//! pair of the max item list); a subnet (a genotype chosen by the caller)
//! compiles to exactly the graph of its standalone model, and each of its tensors is the share of
//! the max-width tensor of the same key given by its row runs and leading columns. A step copies
//! the subnet's shares (and their Adagrad sums) out, runs the standalone step, and writes them
//! back; embedding tables are shared in place. So a subnet's forward inside the supernet equals
//! its standalone forward with the same weights, and its cost is the subnet's, not the
//! 1024-wide graph's. Max-width tensors are allocated up front from covering genotypes (the full
//! path at d = 1024 / s = 64, and full paths alternating 16 and 1024 so that projections that exist
//! only when widths differ are created too).

use super::build::ModelOptions;
use super::engine::ParamsRef;
use super::genotype_graph::{compile_genotype, GenotypeBuild};
use super::graph::Graph;
use super::model::{assert_batch, optimizer_step, sanitize_rows, NetModel};
use super::network::{batch_logits, check_schema, Network};
use super::params::{gather_slice, init_embedding, init_tensor, scatter_slice, ParamSpec};
use crate::batch::{Batch, DataSchema};
use crate::ctr_model::{StepHyper, StepStats};
use crate::error::{ModelError, Result};
use crate::genotype::{
    Genotype, MacroChoice, MicroChoice, SearchSpace, DENSE_DIMS, EMBED_DIM, NUM_BLOCKS, SPARSE_DIMS,
};
use ndarray::{Array1, Array2};
use std::collections::HashMap;

/// The "full path" of a space: every source, every node, the given widths, both mergers on.
/// Left and right read the previous block's output (the raw input in block 0).
pub fn full_path_genotype(
    space: SearchSpace,
    num_blocks: usize,
    dense_dims: usize,
    sparse_dims: usize,
) -> Genotype {
    let all_nodes: Vec<usize> = (0..space.nodes().len()).collect();
    Genotype {
        micro: (0..num_blocks)
            .map(|_| MicroChoice {
                active_nodes: all_nodes.clone(),
                dense_in_dims: dense_dims,
                sparse_in_dims: sparse_dims,
                dense_sparse_interact: 1,
                deep_fm: 1,
            })
            .collect(),
        macro_: (0..num_blocks)
            .map(|i| MacroChoice {
                dense_idx: (0..=i).collect(),
                sparse_idx: (0..=i).collect(),
                dense_left_idx: vec![i],
                dense_right_idx: vec![i],
            })
            .collect(),
        num_blocks,
        use_layernorm: 1,
        config: space.reference_name().to_string(),
        test_loss: None,
    }
}

/// The weight-sharing supernet of a search space.
#[derive(Debug, Clone)]
pub struct Supernet {
    space: SearchSpace,
    num_blocks: usize,
    opts: ModelOptions,
    schema: DataSchema,
    index: HashMap<String, usize>,
    specs: Vec<ParamSpec>,
    max: Vec<Array2<f32>>,
    max_accum: Vec<Array2<f32>>,
    tables: Vec<Array2<f32>>,
    table_accum: Vec<Array2<f32>>,
}

impl Supernet {
    /// A supernet of `space` with 7 blocks for `schema`; LayerNorm per `opts.layernorm` (the
    /// reference trains its supernet with LN) and the dot product's operator-balancing
    /// projection per `opts.operator_balancing` (nasrec-spec §7.6).
    ///
    /// Without balancing, the dot product's interaction has one value per pair of its items, so
    /// its output projection's max-width weight has one row per pair (I, J), I > J, of the max
    /// item list (the dense item, then every candidate sparse input of the block at max width in
    /// slot order): `P(P-1)/2` rows with `P = 1 + n_sparse + 72 i` in block i. That is large
    /// (1.05e5 x 1024 floats in block 6 of a 26-field data set; 2.8e5 x 1024 over 7 blocks,
    /// 1.1 GB, twice that with the Adagrad sums, against 1035 x 1024 per block balanced; see
    /// search/NAS.md), and the full path computes all of it; a sampled subnet computes only its
    /// own pairs.
    pub fn new(
        space: SearchSpace,
        schema: &DataSchema,
        opts: &ModelOptions,
        seed: u64,
    ) -> Result<Self> {
        Self::with_blocks(space, NUM_BLOCKS, schema, opts, seed)
    }

    /// As [`Supernet::new`] with another number of blocks.
    pub fn with_blocks(
        space: SearchSpace,
        num_blocks: usize,
        schema: &DataSchema,
        opts: &ModelOptions,
        seed: u64,
    ) -> Result<Self> {
        check_schema(schema)?;
        let mut index = HashMap::new();
        let mut specs: Vec<ParamSpec> = Vec::new();
        let (d_max, s_max) = (
            DENSE_DIMS[DENSE_DIMS.len() - 1],
            SPARSE_DIMS[SPARSE_DIMS.len() - 1],
        );
        let (d_min, s_min) = (DENSE_DIMS[0], SPARSE_DIMS[0]);
        // Sum and gating project only when their padded input width differs from d: alternating
        // widths make every block's left/right (the previous block) differ from its own d.
        let alternating = |first_narrow: bool| {
            let mut g = full_path_genotype(space, num_blocks, d_max, s_max);
            for (i, m) in g.micro.iter_mut().enumerate() {
                let narrow = (i % 2 == 0) == first_narrow;
                m.dense_in_dims = if narrow { d_min } else { d_max };
                m.sparse_in_dims = if narrow { s_min } else { s_max };
            }
            g
        };
        let coverings = [
            full_path_genotype(space, num_blocks, d_max, s_max),
            alternating(true),
            alternating(false),
        ];
        for g in coverings {
            let graph =
                compile_genotype(&g, schema.n_dense, schema.n_sparse(), Self::build_of(opts))?;
            for p in graph.params {
                if !index.contains_key(&p.key) {
                    index.insert(p.key.clone(), specs.len());
                    specs.push(p);
                }
            }
        }
        let max: Vec<Array2<f32>> = specs
            .iter()
            .map(|p| init_tensor(p.init, p.max_shape, seed, &p.key))
            .collect();
        let max_accum = max.iter().map(|a| Array2::zeros(a.raw_dim())).collect();
        let tables: Vec<Array2<f32>> = schema
            .table_rows
            .iter()
            .enumerate()
            .map(|(f, &rows)| init_embedding(rows, EMBED_DIM, seed, &format!("emb0.{f}")))
            .collect();
        let table_accum = tables.iter().map(|t| Array2::zeros(t.raw_dim())).collect();
        Ok(Supernet {
            space,
            num_blocks,
            opts: *opts,
            schema: schema.clone(),
            index,
            specs,
            max,
            max_accum,
            tables,
            table_accum,
        })
    }

    fn build_of(opts: &ModelOptions) -> GenotypeBuild {
        GenotypeBuild {
            layernorm: opts.layernorm,
            operator_balancing: opts.operator_balancing,
        }
    }

    /// The search space.
    pub fn space(&self) -> SearchSpace {
        self.space
    }

    /// Scalars held at max width (dense tensors) and in the embedding tables.
    pub fn param_counts(&self) -> crate::ctr_model::ParamCounts {
        crate::ctr_model::ParamCounts {
            dense: self.max.iter().map(|a| a.len()).sum(),
            embedding: self.tables.iter().map(|t| t.len()).sum(),
        }
    }

    /// The max-width tensor of a parameter key (e.g. `b0.linear-2d.fc.w`), if the supernet has one.
    pub fn tensor(&self, key: &str) -> Option<&Array2<f32>> {
        self.index.get(key).map(|&i| &self.max[i])
    }

    /// The spec (shapes, row runs) of a subnet's parameters, in the subnet's order.
    pub fn subnet_params(&self, g: &Genotype) -> Result<Vec<ParamSpec>> {
        Ok(self.subnet(g)?.0.params)
    }

    /// The full-path genotype of this supernet (warm-up).
    pub fn full_path(&self) -> Genotype {
        full_path_genotype(
            self.space,
            self.num_blocks,
            DENSE_DIMS[DENSE_DIMS.len() - 1],
            SPARSE_DIMS[SPARSE_DIMS.len() - 1],
        )
    }

    /// Compiles a subnet and finds each of its tensors in the supernet.
    fn subnet(&self, g: &Genotype) -> Result<(Graph, Vec<usize>)> {
        if SearchSpace::from_name(&g.config) != Some(self.space) || g.num_blocks != self.num_blocks
        {
            return Err(ModelError::InvalidGenotype {
                origin: "supernet".to_string(),
                message: format!(
                    "config \"{}\" with {} blocks is not this supernet's space ({}, {} blocks)",
                    g.config,
                    g.num_blocks,
                    self.space.reference_name(),
                    self.num_blocks
                ),
            });
        }
        let graph = compile_genotype(
            g,
            self.schema.n_dense,
            self.schema.n_sparse(),
            Self::build_of(&self.opts),
        )?;
        let mut ids = Vec::with_capacity(graph.params.len());
        for p in &graph.params {
            let id = self
                .index
                .get(&p.key)
                .copied()
                .filter(|&i| self.specs[i].max_shape == p.max_shape);
            match id {
                Some(i) => ids.push(i),
                None => {
                    return Err(ModelError::InvalidGenotype {
                        origin: "supernet".to_string(),
                        message: format!(
                            "parameter {} of shape {:?} does not fit the supernet (widths above {} / {} items?)",
                            p.key,
                            p.shape,
                            DENSE_DIMS[DENSE_DIMS.len() - 1],
                            SPARSE_DIMS[SPARSE_DIMS.len() - 1]
                        ),
                    })
                }
            }
        }
        Ok((graph, ids))
    }

    fn gather(&self, graph: &Graph, ids: &[usize], from: &[Array2<f32>]) -> Vec<Array2<f32>> {
        graph
            .params
            .iter()
            .zip(ids)
            .map(|(p, &i)| {
                let mut a = Array2::zeros(p.shape);
                gather_slice(p, &from[i], &mut a);
                a
            })
            .collect()
    }

    /// Logits of the subnet `g` on `batch`, computed from the supernet's shared weights.
    pub fn forward_subnet(&self, g: &Genotype, batch: &Batch) -> Result<Array1<f32>> {
        self.forward_subnet_quant(g, batch, None)
    }

    /// As [`Supernet::forward_subnet`], fake-quantized per `quant` when given.
    pub fn forward_subnet_quant(
        &self,
        g: &Genotype,
        batch: &Batch,
        quant: Option<&crate::quant::QuantConfig>,
    ) -> Result<Array1<f32>> {
        let (mut graph, ids) = self.subnet(g)?;
        Self::set_quant(&mut graph, quant)?;
        assert_batch(&graph, batch);
        let dense = self.gather(&graph, &ids, &self.max);
        let tables = std::slice::from_ref(&self.tables);
        let sparse = sanitize_rows(&batch.sparse, &self.schema.table_rows);
        let p = ParamsRef {
            dense: &dense,
            tables,
        };
        Ok(batch_logits(&graph, p, batch.dense.view(), sparse.view()))
    }

    /// One training step of the subnet `g`: forward, backward, clip, Adagrad on its shares of the
    /// max-width tensors and on the embedding rows the batch used.
    pub fn train_step_subnet(
        &mut self,
        g: &Genotype,
        batch: &Batch,
        hyper: &StepHyper,
    ) -> Result<StepStats> {
        self.train_step_subnet_quant(g, batch, hyper, None)
    }

    /// As [`Supernet::train_step_subnet`] with fake quantization when `quant` is given
    /// (quantization-aware training / fine-tuning: quantized forward, straight-through
    /// gradients onto the float max-width weights).
    pub fn train_step_subnet_quant(
        &mut self,
        g: &Genotype,
        batch: &Batch,
        hyper: &StepHyper,
        quant: Option<&crate::quant::QuantConfig>,
    ) -> Result<StepStats> {
        let (mut graph, ids) = self.subnet(g)?;
        Self::set_quant(&mut graph, quant)?;
        assert_batch(&graph, batch);
        if batch.is_empty() {
            return Ok(StepStats {
                loss: 0.0,
                grad_norm: 0.0,
            });
        }
        let dense = self.gather(&graph, &ids, &self.max);
        let mut dense_accum = self.gather(&graph, &ids, &self.max_accum);
        let tables = vec![std::mem::take(&mut self.tables)];
        let mut table_accum = vec![std::mem::take(&mut self.table_accum)];
        let mut net = Network {
            graph,
            dense,
            tables,
        };
        let sparse = sanitize_rows(&batch.sparse, &self.schema.table_rows);
        let mut work = Vec::new();
        let loss = net.loss_grads(
            batch.dense.view(),
            sparse.view(),
            batch.labels.view(),
            &mut work,
        );
        let grad_norm = match work.first() {
            Some(grads) => {
                optimizer_step(&mut net, &mut dense_accum, &mut table_accum, grads, hyper)
            }
            None => 0.0,
        };
        for ((p, &i), (a, acc)) in net
            .graph
            .params
            .iter()
            .zip(&ids)
            .zip(net.dense.iter().zip(&dense_accum))
        {
            scatter_slice(p, a, &mut self.max[i]);
            scatter_slice(p, acc, &mut self.max_accum[i]);
        }
        self.tables = net.tables.pop().unwrap_or_default();
        self.table_accum = table_accum.pop().unwrap_or_default();
        Ok(StepStats { loss, grad_norm })
    }

    fn set_quant(graph: &mut Graph, quant: Option<&crate::quant::QuantConfig>) -> Result<()> {
        if let Some(cfg) = quant {
            let plan = crate::quant::QuantPlan::new(graph, cfg)?;
            graph.quant = Some(std::sync::Arc::new(plan));
        }
        Ok(())
    }

    /// The standalone model of `g` with the supernet's current weights (optimizer state fresh).
    pub fn extract_standalone(&self, g: &Genotype) -> Result<NetModel> {
        let (graph, ids) = self.subnet(g)?;
        let dense = self.gather(&graph, &ids, &self.max);
        let net = Network {
            graph,
            dense,
            tables: vec![self.tables.clone()],
        };
        Ok(NetModel::from_network(
            format!("nasrec:{}", self.space.reference_name()),
            net,
        ))
    }

    /// The shared embedding tables as the engine's table groups (one group of one table per
    /// categorical field), read-only: `ParamsRef { dense, tables: supernet.table_groups() }`.
    pub fn table_groups(&self) -> &[Vec<Array2<f32>>] {
        std::slice::from_ref(&self.tables)
    }

    /// The compiled graph of subnet `g` and a private copy of its shares of the dense tensors
    /// (in `graph.params` order); with [`Supernet::table_groups`] this evaluates or fine-tunes a subnet
    /// without copying the embedding tables.
    pub fn subnet_weights(&self, g: &Genotype) -> Result<(Graph, Vec<Array2<f32>>)> {
        let (graph, ids) = self.subnet(g)?;
        let dense = self.gather(&graph, &ids, &self.max);
        Ok((graph, dense))
    }

    /// Writes the supernet's weights and Adagrad sums (a checkpoint's model part): little-endian
    /// `magic "RPIMSUP\0" | version u32 | 4 lists (max tensors, their sums, tables, their sums)`,
    /// each a u32 count of `rows u64 | cols u64 | f32 data`.
    pub fn save_state(&self, out: &mut dyn std::io::Write) -> Result<()> {
        let io = |e: std::io::Error| ModelError::Checkpoint(format!("supernet state: {e}"));
        out.write_all(SUPERNET_MAGIC).map_err(io)?;
        out.write_all(&SUPERNET_STATE_VERSION.to_le_bytes())
            .map_err(io)?;
        for list in [&self.max, &self.max_accum, &self.tables, &self.table_accum] {
            out.write_all(&(list.len() as u32).to_le_bytes())
                .map_err(io)?;
            for a in list.iter() {
                let mut buf = Vec::with_capacity(16 + a.len() * 4);
                buf.extend_from_slice(&(a.nrows() as u64).to_le_bytes());
                buf.extend_from_slice(&(a.ncols() as u64).to_le_bytes());
                for v in a.iter() {
                    buf.extend_from_slice(&v.to_le_bytes());
                }
                out.write_all(&buf).map_err(io)?;
            }
        }
        Ok(())
    }

    /// Restores what [`Supernet::save_state`] wrote into a supernet built the same way (same
    /// space, blocks, options and schema); every shape is checked before anything changes.
    pub fn load_state(&mut self, input: &mut dyn std::io::Read) -> Result<()> {
        let io = |e: std::io::Error| ModelError::Checkpoint(format!("supernet state: {e}"));
        let mut magic = [0u8; 8];
        input.read_exact(&mut magic).map_err(io)?;
        if &magic != SUPERNET_MAGIC {
            return Err(ModelError::Checkpoint(
                "not a recpim supernet state (bad magic)".to_string(),
            ));
        }
        let mut b4 = [0u8; 4];
        input.read_exact(&mut b4).map_err(io)?;
        let version = u32::from_le_bytes(b4);
        if version != SUPERNET_STATE_VERSION {
            return Err(ModelError::Checkpoint(format!(
                "supernet state version {version}, this build reads {SUPERNET_STATE_VERSION}"
            )));
        }
        let names = [
            "max-width tensors",
            "adagrad sums",
            "embedding tables",
            "embedding sums",
        ];
        let mut loaded: Vec<Vec<Array2<f32>>> = Vec::with_capacity(4);
        for (name, expect) in
            names
                .iter()
                .zip([&self.max, &self.max_accum, &self.tables, &self.table_accum])
        {
            input.read_exact(&mut b4).map_err(io)?;
            let n = u32::from_le_bytes(b4) as usize;
            if n != expect.len() {
                return Err(ModelError::Checkpoint(format!(
                    "supernet {name}: {n} tensors in the saved state, {} in this supernet",
                    expect.len()
                )));
            }
            let mut list = Vec::with_capacity(n);
            for (i, e) in expect.iter().enumerate() {
                let mut b8 = [0u8; 8];
                input.read_exact(&mut b8).map_err(io)?;
                let rows = u64::from_le_bytes(b8);
                input.read_exact(&mut b8).map_err(io)?;
                let cols = u64::from_le_bytes(b8);
                if rows != e.nrows() as u64 || cols != e.ncols() as u64 {
                    return Err(ModelError::Checkpoint(format!(
                        "supernet {name}[{i}] is {rows}x{cols} in the saved state but {}x{} here",
                        e.nrows(),
                        e.ncols()
                    )));
                }
                let mut buf = vec![0u8; e.len() * 4];
                input.read_exact(&mut buf).map_err(io)?;
                let data: Vec<f32> = buf
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                list.push(Array2::from_shape_vec(e.raw_dim(), data).map_err(|err| {
                    ModelError::Checkpoint(format!("supernet {name}[{i}]: {err}"))
                })?);
            }
            loaded.push(list);
        }
        self.table_accum = loaded.pop().unwrap_or_default();
        self.tables = loaded.pop().unwrap_or_default();
        self.max_accum = loaded.pop().unwrap_or_default();
        self.max = loaded.pop().unwrap_or_default();
        Ok(())
    }
}

const SUPERNET_MAGIC: &[u8; 8] = b"RPIMSUP\0";
const SUPERNET_STATE_VERSION: u32 = 1;
