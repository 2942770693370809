//! A compiled [`Graph`] (with per-operator bitwidths) as a simulator [`Workload`].
//!
//! Mapping table (HARDWARE_MAPPING.md has it with the reasons):
//!
//! | graph node | simulator op | shape |
//! |---|---|---|
//! | `Linear` (FC, projections of dot product / FM / mergers, head) | `Mvm` (crossbar) | rows = in features, cols = out, count = batch |
//! | `LinearItems` (embedded FC, item projections) | `Mvm` (crossbar) | rows = in items, cols = out items, count = batch x emb dim |
//! | `Attention` | 6 `Mvm` (Q, K, V, O, FFN1, FFN2; 16x16, count = batch x items) + `Digital` scores, softmax, values + `Elementwise` residual adds, LayerNorms, ReLU | see [`map_graph`] |
//! | `Interaction` | `Digital` dot-product | macs = batch x P(P-1)/2 x E |
//! | `Fm` | `Digital` fm | macs = batch x 2 x N x E |
//! | `Embed` | `Gather` (memory: DRAM or ReRAM per the hwconfig) | tables = fields, rows = mean table rows (ceil), dim, lookups = batch |
//! | `LayerNorm(Items)`, `Relu`, `Sigmoid`, `AddPadded`, `AddItems`, `MulPadded`, `SumFeatures` | `Elementwise` | elements = batch x elements touched |
//! | `DenseInput`, concatenations, reshapes | nothing (data movement within buffers) | |
//!
//! Biases are added in the MVM's output stage (shift-add/accumulate), not costed separately.
//! Weights come from the graph's parameter shapes, so pruned graphs with smaller shapes map too.

use crate::batch::DataSchema;
use crate::data::SyntheticShape;
use crate::error::{ModelError, Result};
use crate::genotype::Genotype;
use crate::net::composite::tril_len;
use crate::net::genotype_graph::{compile_genotype, GenotypeBuild};
use crate::net::graph::{Graph, Op, Shape};
use crate::net::ModelOptions;
use crate::quant::bits::{BitAssignment, OperatorBits};
use recpim_sim::workload::{DigitalKind, ElementwiseKind, Op as SimOp, Workload};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Heads of the transformer's attention (nasrec-spec §1, `NUM_MHA_HEADS`).
pub const ATTENTION_HEADS: u64 = 8;
/// Bits per embedding element by default: the tables are trained and stored as f32.
pub const DEFAULT_EMBEDDING_BITS: u32 = 32;

/// How a graph is turned into a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapOptions {
    /// Examples per inference (MVM `count`, gather `lookups` and digital work scale with it).
    pub batch: u64,
    /// Bits per embedding element read by the gathers.
    pub embedding_bits: u32,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            batch: 1,
            embedding_bits: DEFAULT_EMBEDDING_BITS,
        }
    }
}

/// Where an op runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Weight-stationary on ReRAM crossbars (`Mvm`).
    Crossbar,
    /// On the digital units (`Digital`, `Elementwise`).
    Digital,
    /// Embedding storage (`Gather`): DRAM or ReRAM as the hwconfig's `embedding` says.
    Memory,
}

/// Where one workload op came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpOrigin {
    /// Index of the graph node it was mapped from.
    pub node: usize,
    /// The quantizable operator that node belongs to (`None` for glue and the embeddings).
    pub operator: Option<String>,
    /// Where it runs.
    pub placement: Placement,
}

/// A mapped workload and, op by op, where each op came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedWorkload {
    /// The simulator workload (ops in graph order).
    pub workload: Workload,
    /// One entry per `workload.ops` entry.
    pub origins: Vec<OpOrigin>,
}

/// Bits used for an `Mvm` of a node that belongs to no named operator (baseline models).
pub const UNATTRIBUTED_BITS: OperatorBits = OperatorBits::DEFAULT;

/// The data schema of a built-in shape (`criteo`, `avazu`, `kdd`): the synthetic generator's
/// cardinalities plus the missing and out-of-vocabulary rows.
pub fn schema_for_shape(shape: SyntheticShape) -> DataSchema {
    shape.schema()
}

fn placement_of(op: &SimOp) -> Placement {
    match op {
        SimOp::Mvm { .. } => Placement::Crossbar,
        SimOp::Gather { .. } => Placement::Memory,
        SimOp::Digital { .. } | SimOp::Elementwise { .. } => Placement::Digital,
    }
}

struct Emitter<'a> {
    graph: &'a Graph,
    ops: Vec<SimOp>,
    origins: Vec<OpOrigin>,
    used_names: HashMap<String, usize>,
}

impl Emitter<'_> {
    fn unique(&mut self, name: String) -> String {
        let n = self.used_names.entry(name.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            name
        } else {
            format!("{name}#{n}")
        }
    }

    fn prefix(&self, node: usize) -> String {
        self.graph
            .operator_of(node)
            .and_then(|i| self.graph.operators.get(i))
            .cloned()
            .unwrap_or_else(|| "glue".to_string())
    }

    /// Pushes `op` (its name made unique) unless its size is zero.
    fn push(&mut self, node: usize, op: SimOp) {
        let empty = match &op {
            SimOp::Mvm {
                rows, cols, count, ..
            } => *rows == 0 || *cols == 0 || *count == 0,
            SimOp::Gather {
                tables,
                rows,
                dim,
                lookups,
                ..
            } => *tables == 0 || *rows == 0 || *dim == 0 || *lookups == 0,
            SimOp::Digital { macs, .. } => *macs == 0,
            SimOp::Elementwise { elements, .. } => *elements == 0,
        };
        if empty {
            return;
        }
        let mut op = op;
        let unique = self.unique(op.name().to_string());
        match &mut op {
            SimOp::Mvm { name, .. }
            | SimOp::Gather { name, .. }
            | SimOp::Digital { name, .. }
            | SimOp::Elementwise { name, .. } => *name = unique,
        }
        let operator = self
            .graph
            .operator_of(node)
            .and_then(|i| self.graph.operators.get(i))
            .cloned();
        self.origins.push(OpOrigin {
            node,
            operator,
            placement: placement_of(&op),
        });
        self.ops.push(op);
    }

    fn elementwise(&mut self, node: usize, label: &str, kind: ElementwiseKind, elements: u64) {
        let name = format!("{}.{label}", self.prefix(node));
        self.push(
            node,
            SimOp::Elementwise {
                name,
                kind,
                elements,
            },
        );
    }

    fn digital(&mut self, node: usize, label: &str, kind: DigitalKind, macs: u64) {
        let name = format!("{}.{label}", self.prefix(node));
        self.push(node, SimOp::Digital { name, kind, macs });
    }

    fn mvm(
        &mut self,
        node: usize,
        name: String,
        rows: u64,
        cols: u64,
        count: u64,
        b: OperatorBits,
    ) {
        self.push(
            node,
            SimOp::Mvm {
                name,
                rows,
                cols,
                weight_bits: b.weight_bits,
                input_bits: b.activation_bits,
                count,
            },
        );
    }

    /// An Mvm of the weight matrix `param` of `graph` (rows x cols as stored), applied to
    /// `count` input vectors.
    fn weight_mvm(
        &mut self,
        node: usize,
        graph: &Graph,
        param: usize,
        count: u64,
        b: OperatorBits,
    ) {
        let (rows, cols) = graph.params[param].shape;
        self.mvm(
            node,
            weight_name(graph, param),
            rows as u64,
            cols as u64,
            count,
            b,
        );
    }
}

fn elements(shape: Shape) -> u64 {
    match shape {
        Shape::Flat(f) => f as u64,
        Shape::Items(n, e) => (n * e) as u64,
    }
}

/// The name of a weight's MVM: its parameter key without the trailing `.w`.
fn weight_name(graph: &Graph, w: usize) -> String {
    let key = graph
        .params
        .get(w)
        .map(|p| p.key.as_str())
        .unwrap_or("linear");
    key.strip_suffix(".w").unwrap_or(key).to_string()
}

/// Per-node bits: the node's operator's bits, or [`UNATTRIBUTED_BITS`].
fn node_bits(graph: &Graph, resolved: &[OperatorBits], node: usize) -> OperatorBits {
    graph
        .operator_of(node)
        .and_then(|i| resolved.get(i).copied())
        .unwrap_or(UNATTRIBUTED_BITS)
}

/// Maps `graph` to a workload for a data set with `table_rows` (one entry per categorical field)
/// at the bits of `bits` (matched to the graph's operators by name). See the module docs for the
/// table; ops keep the graph's order.
pub fn map_graph(
    graph: &Graph,
    table_rows: &[usize],
    bits: &BitAssignment,
    opts: &MapOptions,
) -> Result<MappedWorkload> {
    if opts.batch == 0 {
        return Err(ModelError::InvalidOption {
            name: "batch".to_string(),
            value: "0".to_string(),
            allowed: "at least 1 example".to_string(),
        });
    }
    if !(1..=recpim_sim::workload::MAX_ELEMENT_BITS).contains(&opts.embedding_bits) {
        return Err(ModelError::InvalidOption {
            name: "embedding_bits".to_string(),
            value: opts.embedding_bits.to_string(),
            allowed: format!("1..={}", recpim_sim::workload::MAX_ELEMENT_BITS),
        });
    }
    if table_rows.len() != graph.n_sparse {
        return Err(ModelError::Hardware(format!(
            "the schema has {} embedding tables but the model was built for {} categorical fields",
            table_rows.len(),
            graph.n_sparse
        )));
    }
    let resolved = bits.resolve(&graph.operators)?;
    let batch = opts.batch;
    let mut em = Emitter {
        graph,
        ops: Vec::new(),
        origins: Vec::new(),
        used_names: HashMap::new(),
    };
    for (idx, node) in graph.nodes.iter().enumerate() {
        let out = elements(node.shape);
        match &node.op {
            Op::DenseInput
            | Op::ConcatFeatures(_)
            | Op::ConcatItems(_)
            | Op::AsItem(_)
            | Op::Flatten(_)
            | Op::Unflatten(_) => {}
            Op::Embed { group } => {
                let dim = graph.embed_dims.get(*group).copied().unwrap_or(0) as u64;
                let tables = table_rows.len() as u64;
                let total: u64 = table_rows.iter().map(|&r| r as u64).sum();
                // Tables differ in size; one gather op with the mean (rounded up) keeps the
                // stored rows (tables x rows) at the schema's total.
                let rows = total.div_ceil(tables.max(1));
                em.push(
                    idx,
                    SimOp::Gather {
                        name: format!("embedding{group}"),
                        tables,
                        rows,
                        dim,
                        lookups: batch,
                        element_bits: opts.embedding_bits,
                    },
                );
            }
            Op::Linear { w, .. } => {
                let (rows, cols) = graph.params[*w].shape;
                let b = node_bits(graph, &resolved, idx);
                em.mvm(
                    idx,
                    weight_name(graph, *w),
                    rows as u64,
                    cols as u64,
                    batch,
                    b,
                );
            }
            Op::LinearItems { w, .. } => {
                let (rows, cols) = graph.params[*w].shape;
                let emb = match node.shape {
                    Shape::Items(_, e) => e as u64,
                    Shape::Flat(_) => 1,
                };
                let b = node_bits(graph, &resolved, idx);
                // One MVM per embedding column: the item axis is the crossbar's input.
                em.mvm(
                    idx,
                    weight_name(graph, *w),
                    rows as u64,
                    cols as u64,
                    batch * emb,
                    b,
                );
            }
            Op::LayerNorm { .. } | Op::LayerNormItems { .. } => {
                em.elementwise(idx, "layernorm", ElementwiseKind::LayerNorm, batch * out)
            }
            Op::Relu(_) => em.elementwise(idx, "relu", ElementwiseKind::Relu, batch * out),
            Op::Sigmoid(_) => em.elementwise(idx, "sigmoid", ElementwiseKind::Sigmoid, batch * out),
            Op::AddPadded { inputs } => {
                // Each input after the first is added over its own width.
                let adds: u64 = inputs
                    .iter()
                    .skip(1)
                    .map(|&v| elements(graph.nodes[v].shape))
                    .sum();
                em.elementwise(idx, "add", ElementwiseKind::Add, batch * adds)
            }
            Op::AddItems(inputs) => {
                let adds = out * inputs.len().saturating_sub(1) as u64;
                em.elementwise(idx, "add", ElementwiseKind::Add, batch * adds)
            }
            Op::MulPadded { x, .. } => {
                let n = elements(graph.nodes[*x].shape);
                em.elementwise(idx, "gate", ElementwiseKind::Multiply, batch * n)
            }
            Op::SumFeatures { x, .. } => {
                let n = elements(graph.nodes[*x].shape);
                em.elementwise(idx, "sum", ElementwiseKind::Add, batch * n)
            }
            Op::Interaction(t) => {
                let (p, e) = match graph.nodes[*t].shape {
                    Shape::Items(p, e) => (p as u64, e as u64),
                    Shape::Flat(f) => (f as u64, 1),
                };
                // Only the strict lower triangle is computed: P(P-1)/2 dot products of E.
                let macs = batch * tril_len(p as usize) as u64 * e;
                em.digital(idx, "interaction", DigitalKind::DotProduct, macs)
            }
            Op::Fm(x) => {
                let (n, e) = match graph.nodes[*x].shape {
                    Shape::Items(n, e) => (n as u64, e as u64),
                    Shape::Flat(f) => (f as u64, 1),
                };
                // Sum over items and sum of squares: 2 N E multiply-adds per example.
                em.digital(idx, "fm", DigitalKind::Fm, batch * 2 * n * e)
            }
            Op::Attention { params, .. } => {
                let (n, e) = match node.shape {
                    Shape::Items(n, e) => (n as u64, e as u64),
                    Shape::Flat(f) => (f as u64, 1),
                };
                let b = node_bits(graph, &resolved, idx);
                let vectors = batch * n;
                for w in [params.wq, params.wk, params.wv] {
                    em.weight_mvm(idx, graph, w, vectors, b);
                }
                // Q K^T over all heads: N x N x E multiply-adds; softmax per (head, query, key).
                em.digital(
                    idx,
                    "attn.scores",
                    DigitalKind::AttentionScores,
                    batch * n * n * e,
                );
                em.digital(
                    idx,
                    "attn.softmax",
                    DigitalKind::Softmax,
                    batch * ATTENTION_HEADS * n * n,
                );
                em.digital(
                    idx,
                    "attn.values",
                    DigitalKind::AttentionValues,
                    batch * n * n * e,
                );
                em.weight_mvm(idx, graph, params.wo, vectors, b);
                em.elementwise(idx, "attn.residual1", ElementwiseKind::Add, batch * n * e);
                em.elementwise(idx, "attn.ln1", ElementwiseKind::LayerNorm, batch * n * e);
                em.weight_mvm(idx, graph, params.w1, vectors, b);
                em.elementwise(idx, "attn.ffn_relu", ElementwiseKind::Relu, batch * n * e);
                em.weight_mvm(idx, graph, params.w2, vectors, b);
                em.elementwise(idx, "attn.residual2", ElementwiseKind::Add, batch * n * e);
                em.elementwise(idx, "attn.ln2", ElementwiseKind::LayerNorm, batch * n * e);
            }
        }
    }
    let workload = Workload { ops: em.ops };
    workload
        .check("mapped graph")
        .map_err(|e| ModelError::Hardware(e.to_string()))?;
    Ok(MappedWorkload {
        workload,
        origins: em.origins,
    })
}

/// Compiles `genotype` for `schema` (LayerNorm and balancing per `model`) and maps it; `bits`
/// `None` means 8-bit weights and activations everywhere.
pub fn map_genotype(
    genotype: &Genotype,
    schema: &DataSchema,
    model: &ModelOptions,
    bits: Option<&BitAssignment>,
    opts: &MapOptions,
) -> Result<MappedWorkload> {
    let graph = compile_genotype(
        genotype,
        schema.n_dense,
        schema.n_sparse(),
        GenotypeBuild {
            layernorm: model.layernorm,
            operator_balancing: model.operator_balancing,
        },
    )?;
    let uniform;
    let bits = match bits {
        Some(b) => b,
        None => {
            uniform = BitAssignment::uniform_8(genotype)?;
            &uniform
        }
    };
    map_graph(&graph, &schema.table_rows, bits, opts)
}
