//! Which output neurons of a compiled graph can be removed, and the surgery that removes them.
//!
//! A *prunable layer* is a `Linear` (features) or `LinearItems` (items) node whose output neurons
//! can be deleted without changing anything else: when neuron `j`'s weight column and bias entry
//! are zero, its output is exactly zero, and every path from it reaches only
//! - `Relu` (0 stays 0), feature/item concatenations and `Flatten` (the zero moves to known
//!   positions), then
//! - rows of a consumer `Linear` / `LinearItems` weight (a zero input times any row adds nothing,
//!   so the rows are deleted), or an `Fm` (a zero item adds nothing to `(sum x)^2 - sum x^2`).
//!
//! Anything else on the path (LayerNorm, sigmoid, padded additions, the interaction, attention,
//! the logit itself) makes the layer not prunable: there a zero neuron still changes the result.
//! So the pruned graph computes exactly what the hard-masked graph computes (tested).

use crate::error::{ModelError, Result};
use crate::flops::node_layer_name;
use crate::net::graph::{Graph, Layout, Op, ParamId, Shape, ValueId};
use crate::net::network::Network;
use crate::net::params::RowRun;
use crate::ops::Real;
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Where neuron `j` of a layer sits on a value's axis: `offset + j * stride + [0, width)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    offset: usize,
    stride: usize,
    width: usize,
}

impl Span {
    fn positions(self, j: usize) -> impl Iterator<Item = usize> {
        let start = self.offset + j * self.stride;
        start..start + self.width
    }
}

/// A layer whose output neurons can be removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunableLayer {
    /// The `Linear` / `LinearItems` node.
    pub node: ValueId,
    /// Layer name (its weight key without `.w`), e.g. `b2.linear-3d.fc`.
    pub name: String,
    /// `[in, out]` weight: the neurons are its columns.
    pub weight: ParamId,
    /// `[out, 1]` bias, if any.
    pub bias: Option<ParamId>,
    /// Output neurons (features, or items for `LinearItems`).
    pub neurons: usize,
    /// Values whose axis shrinks with this layer's neurons.
    values: Vec<(ValueId, Span)>,
    /// Consumer weights whose rows go with this layer's neurons.
    rows: Vec<(ParamId, Span)>,
}

/// For every value, the nodes reading it and at which input position.
fn consumers(graph: &Graph) -> Vec<Vec<(ValueId, usize)>> {
    let mut out = vec![Vec::new(); graph.nodes.len()];
    for (c, node) in graph.nodes.iter().enumerate() {
        for (k, v) in node.op.inputs().into_iter().enumerate() {
            if let Some(list) = out.get_mut(v) {
                list.push((c, k));
            }
        }
    }
    out
}

/// Axis offset of input `k` in a concatenation / multi-input Linear.
fn input_offset(graph: &Graph, inputs: &[ValueId], k: usize) -> usize {
    inputs[..k]
        .iter()
        .map(|&v| graph.nodes[v].shape.axis_len())
        .sum()
}

/// Follows a zero neuron from `start` to everything it touches; `None` if some path reaches a
/// node where a zero still matters.
type Effects = (Vec<(ValueId, Span)>, Vec<(ParamId, Span)>);

fn propagate(graph: &Graph, cons: &[Vec<(ValueId, usize)>], start: ValueId) -> Option<Effects> {
    let mut values = Vec::new();
    let mut rows = Vec::new();
    let mut stack = vec![(
        start,
        Span {
            offset: 0,
            stride: 1,
            width: 1,
        },
    )];
    while let Some((v, span)) = stack.pop() {
        if v == graph.logit {
            return None;
        }
        values.push((v, span));
        for &(c, k) in &cons[v] {
            match &graph.nodes[c].op {
                Op::Relu(_) => stack.push((c, span)),
                Op::ConcatFeatures(inputs) | Op::ConcatItems(inputs) => {
                    let off = input_offset(graph, inputs, k);
                    stack.push((
                        c,
                        Span {
                            offset: span.offset + off,
                            ..span
                        },
                    ));
                }
                Op::Flatten(_) => {
                    let e = match graph.nodes[v].shape {
                        Shape::Items(_, e) => e,
                        Shape::Flat(_) => return None,
                    };
                    stack.push((
                        c,
                        Span {
                            offset: span.offset * e,
                            stride: span.stride * e,
                            width: span.width * e,
                        },
                    ));
                }
                Op::Linear { inputs, w, .. } | Op::LinearItems { inputs, w, .. } => {
                    let off = input_offset(graph, inputs, k);
                    rows.push((
                        *w,
                        Span {
                            offset: span.offset + off,
                            ..span
                        },
                    ));
                }
                Op::Fm(_) => {}
                _ => return None,
            }
        }
    }
    Some((values, rows))
}

/// Every prunable layer of `graph`, in graph order (layers of one output neuron are left out:
/// they cannot lose any).
pub fn prunable_layers(graph: &Graph) -> Vec<PrunableLayer> {
    let cons = consumers(graph);
    let mut layers = Vec::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        let (w, b) = match &node.op {
            Op::Linear { w, b, .. } | Op::LinearItems { w, b, .. } => (*w, *b),
            _ => continue,
        };
        let neurons = node.shape.axis_len();
        if neurons < 2 {
            continue;
        }
        if let Some((values, rows)) = propagate(graph, &cons, i) {
            layers.push(PrunableLayer {
                node: i,
                name: node_layer_name(graph, i),
                weight: w,
                bias: b,
                neurons,
                values,
                rows,
            });
        }
    }
    layers
}

/// Which neurons of each prunable layer are kept (the structured pruning state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeuronMask {
    /// One entry per prunable layer, in [`prunable_layers`] order.
    pub layers: Vec<LayerMask>,
}

/// The kept neurons of one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerMask {
    /// Layer name ([`PrunableLayer::name`]).
    pub layer: String,
    /// `keep[j]`: output neuron `j` stays.
    pub keep: Vec<bool>,
}

impl NeuronMask {
    /// Every neuron kept.
    pub fn full(layers: &[PrunableLayer]) -> Self {
        NeuronMask {
            layers: layers
                .iter()
                .map(|l| LayerMask {
                    layer: l.name.clone(),
                    keep: vec![true; l.neurons],
                })
                .collect(),
        }
    }

    /// Checks that the mask fits `layers` (same names, sizes, and at least one neuron kept per
    /// layer); `origin` names the mask in errors.
    pub fn check(&self, layers: &[PrunableLayer], origin: &str) -> Result<()> {
        let bad = |message: String| ModelError::InvalidPruneMask {
            origin: origin.to_string(),
            message,
        };
        if self.layers.len() != layers.len() {
            return Err(bad(format!(
                "{} layers, the model has {} prunable layers",
                self.layers.len(),
                layers.len()
            )));
        }
        for (m, l) in self.layers.iter().zip(layers) {
            if m.layer != l.name {
                return Err(bad(format!(
                    "layer \"{}\" where the model has \"{}\"",
                    m.layer, l.name
                )));
            }
            if m.keep.len() != l.neurons {
                return Err(bad(format!(
                    "layer {}: {} neurons, the model has {}",
                    l.name,
                    m.keep.len(),
                    l.neurons
                )));
            }
            if !m.keep.iter().any(|&k| k) {
                return Err(bad(format!(
                    "layer {}: no neuron kept (at least 1 of {} must stay)",
                    l.name, l.neurons
                )));
            }
        }
        Ok(())
    }

    /// Neurons kept over all layers.
    pub fn kept(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.keep.iter().filter(|&&k| k).count())
            .sum()
    }

    /// Neurons over all layers.
    pub fn total(&self) -> usize {
        self.layers.iter().map(|l| l.keep.len()).sum()
    }
}

/// A copy of `net` with the removed neurons' weight columns and bias entries set to zero (the
/// "hard mask"): same shapes, and exactly the outputs of [`prune_network`].
pub fn hard_masked<T: Real>(
    net: &Network<T>,
    layers: &[PrunableLayer],
    mask: &NeuronMask,
) -> Result<Network<T>> {
    mask.check(layers, "hard mask")?;
    let mut out = net.clone();
    for (l, m) in layers.iter().zip(&mask.layers) {
        for (j, _) in m.keep.iter().enumerate().filter(|(_, &k)| !k) {
            out.dense[l.weight].column_mut(j).fill(T::zero());
            if let Some(b) = l.bias {
                out.dense[b][[j, 0]] = T::zero();
            }
        }
    }
    Ok(out)
}

/// Rows and columns to delete from each parameter and positions to delete from each value.
struct Deletions {
    param_rows: Vec<BTreeSet<usize>>,
    param_cols: Vec<BTreeSet<usize>>,
    value_axis: Vec<BTreeSet<usize>>,
}

fn deletions(graph: &Graph, layers: &[PrunableLayer], mask: &NeuronMask) -> Deletions {
    let mut d = Deletions {
        param_rows: vec![BTreeSet::new(); graph.params.len()],
        param_cols: vec![BTreeSet::new(); graph.params.len()],
        value_axis: vec![BTreeSet::new(); graph.nodes.len()],
    };
    for (l, m) in layers.iter().zip(&mask.layers) {
        for (j, _) in m.keep.iter().enumerate().filter(|(_, &k)| !k) {
            d.param_cols[l.weight].insert(j);
            if let Some(b) = l.bias {
                d.param_rows[b].insert(j);
            }
            for &(v, span) in &l.values {
                d.value_axis[v].extend(span.positions(j));
            }
            for &(p, span) in &l.rows {
                d.param_rows[p].extend(span.positions(j));
            }
        }
    }
    d
}

fn kept(len: usize, deleted: &BTreeSet<usize>) -> Vec<usize> {
    (0..len).filter(|i| !deleted.contains(i)).collect()
}

/// The graph with the removed neurons deleted: smaller weight shapes (columns of the pruned
/// layers, rows of their consumers, bias entries) and smaller value shapes.
pub fn prune_graph(graph: &Graph, layers: &[PrunableLayer], mask: &NeuronMask) -> Result<Graph> {
    mask.check(layers, "prune")?;
    let d = deletions(graph, layers, mask);
    Ok(apply_to_graph(graph, &d))
}

fn apply_to_graph(graph: &Graph, d: &Deletions) -> Graph {
    let mut g = graph.clone();
    for (node, del) in g.nodes.iter_mut().zip(&d.value_axis) {
        if del.is_empty() {
            continue;
        }
        node.shape = match node.shape {
            Shape::Flat(f) => Shape::Flat(f - del.len()),
            Shape::Items(n, e) => Shape::Items(n - del.len(), e),
        };
        node.layout = Layout::leading(node.shape.axis_len(), node.layout.max_len);
    }
    for ((spec, rows), cols) in g.params.iter_mut().zip(&d.param_rows).zip(&d.param_cols) {
        if rows.is_empty() && cols.is_empty() {
            continue;
        }
        spec.shape = (spec.shape.0 - rows.len(), spec.shape.1 - cols.len());
        // A pruned tensor is no longer a slice of a supernet tensor: its rows are its own.
        spec.row_runs = if spec.shape.0 == 0 {
            Vec::new()
        } else {
            vec![RowRun {
                compact_start: 0,
                max_start: 0,
                len: spec.shape.0,
            }]
        };
    }
    g
}

/// The pruned network: [`prune_graph`] with every tensor cut to its kept rows and columns.
/// Embedding tables are unchanged.
pub fn prune_network<T: Real>(
    net: &Network<T>,
    layers: &[PrunableLayer],
    mask: &NeuronMask,
) -> Result<Network<T>> {
    mask.check(layers, "prune")?;
    let d = deletions(&net.graph, layers, mask);
    let graph = apply_to_graph(&net.graph, &d);
    let dense = net
        .dense
        .iter()
        .enumerate()
        .map(|(p, a)| {
            let (rows, cols) = (&d.param_rows[p], &d.param_cols[p]);
            if rows.is_empty() && cols.is_empty() {
                return a.clone();
            }
            let r = kept(a.nrows(), rows);
            let c = kept(a.ncols(), cols);
            let out: Array2<T> = a.select(Axis(0), &r).select(Axis(1), &c);
            out
        })
        .collect();
    Ok(Network {
        graph,
        dense,
        tables: net.tables.clone(),
    })
}
