//! Forward FLOPs and parameter counts of a compiled model, per node, per operator and in total.
//!
//! Counting follows fvcore as the NASRec reference uses it (nasrec-spec §5): one multiply-add is
//! one "FLOP"; Linear and item-axis Linear layers, the interaction's and attention's matrix
//! products and LayerNorms (5 per element, fvcore's norm handle) are counted; embedding lookups
//! and elementwise ops (ReLU, sigmoid, additions, the FM's squares) are free. This module is the
//! one source of truth: [`Graph::forward_macs_per_example`] sums [`node_forward_macs`].

use crate::batch::DataSchema;
use crate::error::Result;
use crate::genotype::Genotype;
use crate::net::baselines::{compile_baseline, BaselineKind};
use crate::net::genotype_graph::{compile_genotype, GenotypeBuild};
use crate::net::graph::{Graph, Op, Shape, ValueId};
use crate::net::ModelOptions;
use serde::Serialize;

/// Multiply-adds of one example's forward pass through node `node` (0 for an id outside the
/// graph).
///
/// - `Linear` `[r, c]`: `r * c`; item-axis `LinearItems` `[r, c]` over `E`-wide items: `r * c * E`.
/// - `Interaction` of `[P, E]`: `P * P * E` (fvcore counts the full `bmm(T, T^T)`).
/// - `LayerNorm` / `LayerNormItems`: 5 per element.
/// - `Attention` on `[N, E]`: Q, K, V, output and the two FFN projections (`6 N E^2`), the scores
///   and the weighted sum (`2 N^2 E`) and its two LayerNorms (`10 N E`).
pub fn node_forward_macs(graph: &Graph, node: ValueId) -> u64 {
    let Some(n) = graph.nodes.get(node) else {
        return 0;
    };
    let shape_of = |p: usize| graph.params.get(p).map_or((0, 0), |s| s.shape);
    let m = match &n.op {
        Op::Linear { w, .. } => {
            let (r, c) = shape_of(*w);
            r * c
        }
        Op::LinearItems { w, .. } => {
            let (r, c) = shape_of(*w);
            let e = match n.shape {
                Shape::Items(_, e) => e,
                Shape::Flat(_) => 1,
            };
            r * c * e
        }
        Op::Interaction(t) => match graph.nodes.get(*t).map(|t| t.shape) {
            Some(Shape::Items(p, e)) => p * p * e,
            _ => 0,
        },
        Op::LayerNorm { .. } | Op::LayerNormItems { .. } => {
            5 * match n.shape {
                Shape::Flat(f) => f,
                Shape::Items(items, e) => items * e,
            }
        }
        Op::Attention { .. } => match n.shape {
            Shape::Items(items, e) => 6 * items * e * e + 2 * items * items * e + 10 * items * e,
            Shape::Flat(_) => 0,
        },
        _ => 0,
    };
    m as u64
}

/// Dense parameters (scalars) node `node` reads.
pub fn node_dense_params(graph: &Graph, node: ValueId) -> u64 {
    graph.nodes.get(node).map_or(0, |n| {
        n.op.param_ids()
            .iter()
            .filter_map(|&p| graph.params.get(p))
            .map(|p| p.numel() as u64)
            .sum()
    })
}

/// Short name of a node's kind (`linear`, `linear-items`, `interaction`, ...).
pub fn op_kind(op: &Op) -> &'static str {
    match op {
        Op::DenseInput => "dense-input",
        Op::Embed { .. } => "embedding",
        Op::Linear { .. } => "linear",
        Op::LinearItems { .. } => "linear-items",
        Op::LayerNorm { .. } => "layernorm",
        Op::LayerNormItems { .. } => "layernorm-items",
        Op::Relu(_) => "relu",
        Op::Sigmoid(_) => "sigmoid",
        Op::AddPadded { .. } => "add",
        Op::AddItems(_) => "add-items",
        Op::MulPadded { .. } => "mul",
        Op::ConcatFeatures(_) => "concat",
        Op::AsItem(_) => "as-item",
        Op::Flatten(_) => "flatten",
        Op::Unflatten(_) => "unflatten",
        Op::ConcatItems(_) => "concat-items",
        Op::Interaction(_) => "interaction",
        Op::Fm(_) => "fm",
        Op::Attention { .. } => "attention",
        Op::SumFeatures { .. } => "sum-features",
    }
}

/// A node's layer name: its first parameter's key without the last component (`b2.dot-product
/// .out_proj`, `dnn.0`), or its kind for nodes without parameters.
pub fn node_layer_name(graph: &Graph, node: ValueId) -> String {
    let Some(n) = graph.nodes.get(node) else {
        return String::new();
    };
    match n.op.param_ids().first().and_then(|&p| graph.params.get(p)) {
        Some(spec) => match spec.key.rsplit_once('.') {
            Some((layer, _)) => layer.to_string(),
            None => spec.key.clone(),
        },
        None => op_kind(&n.op).to_string(),
    }
}

/// The operator a node is reported under: the genotype's operator (`b0.sigmoid-gating`,
/// `b2.fm`, `head`, as in `crate::quant::operator_names`) when the graph attributes it, else the
/// first component of its layer name (`dnn`, `bottom`, `top`, `lr`) or its kind.
pub fn node_operator_name(graph: &Graph, node: ValueId) -> String {
    if let Some(name) = graph.operator_of(node).and_then(|i| graph.operators.get(i)) {
        return name.clone();
    }
    let layer = node_layer_name(graph, node);
    match layer.split_once('.') {
        Some((first, _)) => first.to_string(),
        None => layer,
    }
}

/// One node's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerFlops {
    /// Node index in the graph.
    pub node: usize,
    /// Layer name (see [`node_layer_name`]).
    pub layer: String,
    /// Operator it is reported under (see [`node_operator_name`]).
    pub operator: String,
    /// Node kind (see [`op_kind`]).
    pub kind: String,
    /// Forward multiply-adds per example.
    pub macs: u64,
    /// Dense parameters it reads.
    pub dense_params: u64,
}

/// One operator's figures (its nodes summed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorFlops {
    /// Operator name.
    pub operator: String,
    /// Forward multiply-adds per example.
    pub macs: u64,
    /// Dense parameters.
    pub dense_params: u64,
}

/// FLOPs and parameters of a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlopsProfile {
    /// Forward multiply-adds per example (fvcore "FLOPs").
    pub total_macs: u64,
    /// Weights and biases of every non-embedding layer.
    pub dense_params: u64,
    /// Embedding entries (rows x width over every table of every group).
    pub embedding_params: u64,
    /// Per operator, in order of first appearance.
    pub operators: Vec<OperatorFlops>,
    /// Per node with multiply-adds or parameters, in graph order.
    pub layers: Vec<LayerFlops>,
}

/// The profile of a compiled graph whose categorical fields have `table_rows` rows each.
pub fn profile_graph(graph: &Graph, table_rows: &[usize]) -> FlopsProfile {
    let mut layers = Vec::new();
    let mut operators: Vec<OperatorFlops> = Vec::new();
    for i in 0..graph.nodes.len() {
        let macs = node_forward_macs(graph, i);
        let dense_params = node_dense_params(graph, i);
        if macs == 0 && dense_params == 0 {
            continue;
        }
        let operator = node_operator_name(graph, i);
        match operators.iter_mut().find(|o| o.operator == operator) {
            Some(o) => {
                o.macs += macs;
                o.dense_params += dense_params;
            }
            None => operators.push(OperatorFlops {
                operator: operator.clone(),
                macs,
                dense_params,
            }),
        }
        layers.push(LayerFlops {
            node: i,
            layer: node_layer_name(graph, i),
            operator,
            kind: op_kind(&graph.nodes[i].op).to_string(),
            macs,
            dense_params,
        });
    }
    let rows: u64 = table_rows.iter().map(|&r| r as u64).sum();
    FlopsProfile {
        total_macs: graph.forward_macs_per_example(),
        dense_params: graph.params.iter().map(|p| p.numel() as u64).sum(),
        embedding_params: graph.embed_dims.iter().map(|&d| d as u64 * rows).sum(),
        operators,
        layers,
    }
}

/// The profile of a genotype's standalone model for a data schema.
pub fn profile_genotype(
    genotype: &Genotype,
    schema: &DataSchema,
    opts: &ModelOptions,
) -> Result<FlopsProfile> {
    let graph = compile_genotype(
        genotype,
        schema.n_dense,
        schema.n_sparse(),
        GenotypeBuild {
            layernorm: opts.layernorm,
            operator_balancing: opts.operator_balancing,
        },
    )?;
    Ok(profile_graph(&graph, &schema.table_rows))
}

/// The profile of a baseline for a data schema.
pub fn profile_baseline(kind: BaselineKind, schema: &DataSchema) -> FlopsProfile {
    let graph = compile_baseline(kind, schema.n_dense, schema.n_sparse());
    profile_graph(&graph, &schema.table_rows)
}

impl FlopsProfile {
    /// A Markdown report: totals, then one row per operator with its share of the FLOPs.
    pub fn to_markdown(&self, title: &str) -> String {
        let mut s = format!("# FLOPs of {title}\n\n");
        s.push_str(&format!(
            "forward multiply-adds per example: {} ({:.4} M)\n\
             dense parameters: {}\nembedding parameters: {}\n\n",
            self.total_macs,
            self.total_macs as f64 / 1e6,
            self.dense_params,
            self.embedding_params
        ));
        s.push_str("| operator | MACs | % | dense params |\n|---|---:|---:|---:|\n");
        let total = self.total_macs.max(1) as f64;
        for o in &self.operators {
            s.push_str(&format!(
                "| {} | {} | {:.1} | {} |\n",
                o.operator,
                o.macs,
                100.0 * o.macs as f64 / total,
                o.dense_params
            ));
        }
        s
    }
}
