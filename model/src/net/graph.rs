//! The network as a small static graph: a list of nodes in topological order, each producing one
//! value from earlier values and from parameters. Every model (NASRec standalone, a supernet's
//! subnet, the baselines) is compiled into this form once and then run by one forward/backward
//! engine (`engine.rs`), so each operator's backward is written once.
//!
//! Every value also carries its *max layout*: where its compact features (2-D) or items (3-D)
//! sit in the supernet's zero-padded max-width tensor. Linear layers use it to know which rows of a
//! max-width weight belong to which compact input row.

use super::params::{Init, ParamSpec, RowRun};

/// Index of a value (= the node that produces it).
pub type ValueId = usize;
/// Index of a dense parameter tensor.
pub type ParamId = usize;

/// Per-example shape of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `[batch, features]`.
    Flat(usize),
    /// `[batch, items, emb]`.
    Items(usize, usize),
}

impl Shape {
    /// Features of a flat value or items of an itemised one (the axis linear layers act on).
    pub fn axis_len(self) -> usize {
        match self {
            Shape::Flat(f) => f,
            Shape::Items(n, _) => n,
        }
    }
}

/// Where a value's compact axis entries sit in the supernet's max-width axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Compact positions -> max positions (in compact order).
    pub runs: Vec<RowRun>,
    /// Length of the max-width axis.
    pub max_len: usize,
}

impl Layout {
    /// Compact positions `0..len` at max positions `0..len` of an axis of `max_len`.
    pub fn leading(len: usize, max_len: usize) -> Self {
        let runs = if len == 0 {
            Vec::new()
        } else {
            vec![RowRun {
                compact_start: 0,
                max_start: 0,
                len,
            }]
        };
        Layout {
            runs,
            max_len: max_len.max(len),
        }
    }
}

/// The ids of one attention encoder layer's parameters (all 16x16 matrices `[in, out]` and
/// 16-vectors stored as `[16, 1]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionIds {
    /// Query, key, value, output projections and their biases.
    pub wq: ParamId,
    /// Key projection.
    pub wk: ParamId,
    /// Value projection.
    pub wv: ParamId,
    /// Output projection.
    pub wo: ParamId,
    /// Query bias.
    pub bq: ParamId,
    /// Key bias.
    pub bk: ParamId,
    /// Value bias.
    pub bv: ParamId,
    /// Output bias.
    pub bo: ParamId,
    /// First residual LayerNorm gain and shift.
    pub ln1_g: ParamId,
    /// First residual LayerNorm shift.
    pub ln1_b: ParamId,
    /// FFN first layer.
    pub w1: ParamId,
    /// FFN first bias.
    pub b1: ParamId,
    /// FFN second layer.
    pub w2: ParamId,
    /// FFN second bias.
    pub b2: ParamId,
    /// Second residual LayerNorm gain.
    pub ln2_g: ParamId,
    /// Second residual LayerNorm shift.
    pub ln2_b: ParamId,
}

/// One node of the graph.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// The batch's dense features `[B, n_dense]`.
    DenseInput,
    /// All fields of one embedding group gathered to `[B, n_fields, dim]`.
    Embed {
        /// Embedding group (a set of per-field tables of one width).
        group: usize,
    },
    /// `y = b + sum_k x_k W[rows_k, ..]` over 2-D inputs: a Linear over the concatenation of the
    /// inputs (feature axis), where input k uses the weight rows starting at its compact offset.
    Linear {
        /// The inputs, concatenated along features.
        inputs: Vec<ValueId>,
        /// `[sum in, out]` weight.
        w: ParamId,
        /// `[out, 1]` bias.
        b: Option<ParamId>,
    },
    /// The embedded FC along the item axis over inputs concatenated on items:
    /// `y[b,m,e] = b[m] + sum_k sum_n x_k[b,n,e] W[off_k + n, m]`.
    LinearItems {
        /// The inputs, concatenated along items.
        inputs: Vec<ValueId>,
        /// `[sum items, out]` weight.
        w: ParamId,
        /// `[out, 1]` bias.
        b: Option<ParamId>,
    },
    /// LayerNorm over the features of a 2-D value.
    LayerNorm {
        /// Input.
        x: ValueId,
        /// `[features, 1]` gain.
        g: ParamId,
        /// `[features, 1]` shift.
        b: ParamId,
    },
    /// LayerNorm over the items of a 3-D value, for each (example, emb) pair.
    LayerNormItems {
        /// Input.
        x: ValueId,
        /// `[items, 1]` gain.
        g: ParamId,
        /// `[items, 1]` shift.
        b: ParamId,
    },
    /// Elementwise max(x, 0).
    Relu(ValueId),
    /// Elementwise logistic.
    Sigmoid(ValueId),
    /// 2-D inputs zero-padded on the right to `width` and added.
    AddPadded {
        /// Inputs (each at most `width` wide).
        inputs: Vec<ValueId>,
    },
    /// 3-D inputs of the same shape added.
    AddItems(Vec<ValueId>),
    /// `gate * pad(x)`: `x` is at most as wide as `gate`; the columns past `x` are zero.
    MulPadded {
        /// `[B, w]`.
        gate: ValueId,
        /// `[B, w_x <= w]`.
        x: ValueId,
    },
    /// 2-D inputs concatenated along features.
    ConcatFeatures(Vec<ValueId>),
    /// `[B, E]` -> `[B, 1, E]`.
    AsItem(ValueId),
    /// `[B, N, E]` -> `[B, N*E]`.
    Flatten(ValueId),
    /// `[B, 8*E]` -> `[B, 8, E]` (any item count given by the shape).
    Unflatten(ValueId),
    /// 3-D inputs concatenated along items.
    ConcatItems(Vec<ValueId>),
    /// Strict lower triangle of `T T^T`: `[B, P, E]` -> `[B, P(P-1)/2]`.
    Interaction(ValueId),
    /// `(sum_n x)^2 - sum_n x^2` per emb: `[B, N, E]` -> `[B, E]`.
    Fm(ValueId),
    /// One attention encoder layer on `[B, N, 16]`.
    Attention {
        /// Input.
        x: ValueId,
        /// Parameters.
        params: AttentionIds,
    },
    /// `scale * sum_f x[b, f]`: `[B, F]` -> `[B, 1]`.
    SumFeatures {
        /// Input.
        x: ValueId,
        /// Constant factor.
        scale: f64,
    },
}

impl AttentionIds {
    fn all_mut(&mut self) -> [&mut ParamId; 16] {
        [
            &mut self.wq,
            &mut self.wk,
            &mut self.wv,
            &mut self.wo,
            &mut self.bq,
            &mut self.bk,
            &mut self.bv,
            &mut self.bo,
            &mut self.ln1_g,
            &mut self.ln1_b,
            &mut self.w1,
            &mut self.b1,
            &mut self.w2,
            &mut self.b2,
            &mut self.ln2_g,
            &mut self.ln2_b,
        ]
    }
}

impl Op {
    /// The values this node reads.
    pub fn inputs(&self) -> Vec<ValueId> {
        match self {
            Op::DenseInput | Op::Embed { .. } => Vec::new(),
            Op::Linear { inputs, .. }
            | Op::LinearItems { inputs, .. }
            | Op::AddPadded { inputs }
            | Op::AddItems(inputs)
            | Op::ConcatFeatures(inputs)
            | Op::ConcatItems(inputs) => inputs.clone(),
            Op::LayerNorm { x, .. }
            | Op::LayerNormItems { x, .. }
            | Op::Attention { x, .. }
            | Op::SumFeatures { x, .. }
            | Op::Relu(x)
            | Op::Sigmoid(x)
            | Op::AsItem(x)
            | Op::Flatten(x)
            | Op::Unflatten(x)
            | Op::Interaction(x)
            | Op::Fm(x) => vec![*x],
            Op::MulPadded { gate, x } => vec![*gate, *x],
        }
    }

    /// The parameters this node reads.
    pub fn param_ids(&self) -> Vec<ParamId> {
        let mut c = self.clone();
        let mut ids = Vec::new();
        c.for_each_param(|p| ids.push(*p));
        ids
    }

    fn for_each_param(&mut self, mut f: impl FnMut(&mut ParamId)) {
        match self {
            Op::Linear { w, b, .. } | Op::LinearItems { w, b, .. } => {
                f(w);
                if let Some(b) = b {
                    f(b);
                }
            }
            Op::LayerNorm { g, b, .. } | Op::LayerNormItems { g, b, .. } => {
                f(g);
                f(b);
            }
            Op::Attention { params, .. } => params.all_mut().into_iter().for_each(f),
            _ => {}
        }
    }

    /// Renumbers values and parameters.
    fn remap(&mut self, values: &[usize], params: &[usize]) {
        self.for_each_param(|p| *p = params[*p]);
        let fix = |v: &mut ValueId| *v = values[*v];
        match self {
            Op::DenseInput | Op::Embed { .. } => {}
            Op::Linear { inputs, .. }
            | Op::LinearItems { inputs, .. }
            | Op::AddPadded { inputs }
            | Op::AddItems(inputs)
            | Op::ConcatFeatures(inputs)
            | Op::ConcatItems(inputs) => inputs.iter_mut().for_each(fix),
            Op::LayerNorm { x, .. }
            | Op::LayerNormItems { x, .. }
            | Op::Attention { x, .. }
            | Op::SumFeatures { x, .. }
            | Op::Relu(x)
            | Op::Sigmoid(x)
            | Op::AsItem(x)
            | Op::Flatten(x)
            | Op::Unflatten(x)
            | Op::Interaction(x)
            | Op::Fm(x) => fix(x),
            Op::MulPadded { gate, x } => {
                fix(gate);
                fix(x);
            }
        }
    }
}

/// A node: its operation and the per-example shape and max layout of the value it produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What it computes.
    pub op: Op,
    /// Per-example shape of its value.
    pub shape: Shape,
    /// Max layout of its value's linear axis (features or items).
    pub layout: Layout,
}

/// A compiled network: nodes, parameters and the logit value `[B, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// Nodes in topological order.
    pub nodes: Vec<Node>,
    /// Dense parameters.
    pub params: Vec<ParamSpec>,
    /// Width of each embedding group.
    pub embed_dims: Vec<usize>,
    /// The logit value, shape `[B, 1]`.
    pub logit: ValueId,
    /// Dense input width.
    pub n_dense: usize,
    /// Number of categorical fields.
    pub n_sparse: usize,
    /// Names of the model's quantizable operators in canonical order (for a NASRec genotype
    /// `crate::quant::operator_names`; empty for the baselines).
    pub operators: Vec<String>,
    /// Provenance: for each node, the index into `operators` of the operator it belongs to
    /// (`None` for glue such as the inputs, concatenations and the nodes' sums).
    pub node_operator: Vec<Option<usize>>,
    /// Fake quantization the engine applies (weights and crossbar inputs, STE in backward);
    /// `None` runs in float. Set with `crate::quant::quantize_network` or
    /// `crate::quant::QuantPlan::new`.
    pub quant: Option<std::sync::Arc<crate::quant::fake_quant::QuantPlan>>,
}

/// Incremental construction of a graph.
#[derive(Debug, Clone)]
pub struct GraphBuilder {
    nodes: Vec<Node>,
    params: Vec<ParamSpec>,
    embed_dims: Vec<usize>,
    n_dense: usize,
    n_sparse: usize,
    operators: Vec<String>,
    node_operator: Vec<Option<usize>>,
    current_operator: Option<usize>,
}

impl GraphBuilder {
    /// An empty graph for a data set with `n_dense` dense and `n_sparse` categorical features.
    pub fn new(n_dense: usize, n_sparse: usize) -> Self {
        GraphBuilder {
            nodes: Vec::new(),
            params: Vec::new(),
            embed_dims: Vec::new(),
            n_dense,
            n_sparse,
            operators: Vec::new(),
            node_operator: Vec::new(),
            current_operator: None,
        }
    }

    /// Declares the quantizable operators (canonical order) that nodes can be attributed to.
    pub fn set_operators(&mut self, names: Vec<String>) {
        self.operators = names;
    }

    /// Attributes the nodes pushed from now on to operator `name` (declared if new), until
    /// [`GraphBuilder::end_operator`].
    pub fn begin_operator(&mut self, name: &str) {
        let index = match self.operators.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.operators.push(name.to_string());
                self.operators.len() - 1
            }
        };
        self.current_operator = Some(index);
    }

    /// Stops attributing new nodes to an operator.
    pub fn end_operator(&mut self) {
        self.current_operator = None;
    }

    /// Shape of a value.
    pub fn shape(&self, v: ValueId) -> Shape {
        self.nodes[v].shape
    }

    /// Max layout of a value.
    pub fn layout(&self, v: ValueId) -> &Layout {
        &self.nodes[v].layout
    }

    /// Width of a flat value or item count of an itemised one.
    pub fn axis_len(&self, v: ValueId) -> usize {
        self.nodes[v].shape.axis_len()
    }

    /// Appends a node.
    pub fn push(&mut self, op: Op, shape: Shape, layout: Layout) -> ValueId {
        self.nodes.push(Node { op, shape, layout });
        self.node_operator.push(self.current_operator);
        self.nodes.len() - 1
    }

    /// Declares a dense parameter tensor.
    pub fn param(
        &mut self,
        key: String,
        init: Init,
        shape: (usize, usize),
        max_shape: (usize, usize),
        row_runs: Vec<RowRun>,
        is_matrix: bool,
    ) -> ParamId {
        let max_shape = (max_shape.0.max(shape.0), max_shape.1.max(shape.1));
        self.params.push(ParamSpec {
            key,
            init,
            shape,
            max_shape,
            row_runs,
            is_matrix,
        });
        self.params.len() - 1
    }

    /// A vector parameter of `len` entries at the leading positions of `max_len` (stored `[len, 1]`).
    pub fn vector(&mut self, key: String, init: Init, layout: &Layout, len: usize) -> ParamId {
        self.param(
            key,
            init,
            (len, 1),
            (layout.max_len, 1),
            layout.runs.clone(),
            false,
        )
    }

    /// The raw dense input value.
    pub fn dense_input(&mut self) -> ValueId {
        let n = self.n_dense;
        self.push(Op::DenseInput, Shape::Flat(n), Layout::leading(n, n))
    }

    /// A new embedding group of width `dim` over all fields; returns the gathered `[B, n_sparse, dim]`.
    pub fn embed(&mut self, dim: usize) -> ValueId {
        self.embed_dims.push(dim);
        let n = self.n_sparse;
        self.push(
            Op::Embed {
                group: self.embed_dims.len() - 1,
            },
            Shape::Items(n, dim),
            Layout::leading(n, n),
        )
    }

    /// Finishes the graph with `logit` (`[B, 1]`) as its output. Nodes the logit does not depend
    /// on (e.g. a block whose outputs no later block reads, as in some shipped genotypes) are
    /// dropped with their parameters: they cannot change the logits or any gradient.
    pub fn finish(self, logit: ValueId) -> Graph {
        let n = self.nodes.len();
        let mut live = vec![false; n];
        if logit < n {
            live[logit] = true;
        }
        for i in (0..n).rev() {
            if live[i] {
                for v in self.nodes[i].op.inputs() {
                    live[v] = true;
                }
            }
        }
        let mut value_map = vec![usize::MAX; n];
        let mut param_live = vec![false; self.params.len()];
        let mut next = 0;
        for i in 0..n {
            if live[i] {
                value_map[i] = next;
                next += 1;
                for p in self.nodes[i].op.param_ids() {
                    param_live[p] = true;
                }
            }
        }
        let mut param_map = vec![usize::MAX; self.params.len()];
        let mut params = Vec::new();
        for (i, p) in self.params.into_iter().enumerate() {
            if param_live[i] {
                param_map[i] = params.len();
                params.push(p);
            }
        }
        let node_operator = self
            .node_operator
            .iter()
            .enumerate()
            .filter(|(i, _)| live[*i])
            .map(|(_, o)| *o)
            .collect();
        let nodes = self
            .nodes
            .into_iter()
            .enumerate()
            .filter(|(i, _)| live[*i])
            .map(|(_, mut node)| {
                node.op.remap(&value_map, &param_map);
                node
            })
            .collect();
        Graph {
            nodes,
            params,
            embed_dims: self.embed_dims,
            logit: value_map.get(logit).copied().unwrap_or(0),
            n_dense: self.n_dense,
            n_sparse: self.n_sparse,
            operators: self.operators,
            node_operator,
            quant: None,
        }
    }
}

/// Row runs of a weight whose rows are the concatenation of `inputs` (compact) placed at the given
/// max offsets.
pub fn concat_runs(layouts: &[(&Layout, usize)], compact_lens: &[usize]) -> Vec<RowRun> {
    let mut runs = Vec::new();
    let mut compact_off = 0;
    for ((layout, max_off), len) in layouts.iter().zip(compact_lens) {
        for r in &layout.runs {
            runs.push(RowRun {
                compact_start: compact_off + r.compact_start,
                max_start: max_off + r.max_start,
                len: r.len,
            });
        }
        compact_off += len;
    }
    runs
}

/// Row runs of the strict lower triangle of `T T^T` (pair (i, j), i > j, at row `i(i-1)/2 + j`)
/// when T's `items` compact items sit at `layout` in a max item list: compact pair (i, j) goes to
/// the row of the max pair {map(i), map(j)}. Where the map is increasing (items of one input, or
/// inputs concatenated in slot order) the pair keeps its orientation, and consecutive j inside one
/// run of T's layout give consecutive rows (one run). Where it is not (inputs concatenated out of
/// slot order, e.g. `sparse_idx` [2, 1, 0]) the pair is stored as (map(j), map(i)): the Gram matrix
/// is symmetric, so that row holds the same value the reference's zero-padded max-width T puts
/// there. Compact items without a run keep their own position (leading layouts always cover them).
pub fn interaction_runs(layout: &Layout, items: usize) -> Vec<RowRun> {
    use crate::ops::interaction::tril_len;
    let mut pos: Vec<usize> = (0..items).collect();
    for r in &layout.runs {
        for k in 0..r.len {
            if let Some(p) = pos.get_mut(r.compact_start + k) {
                *p = r.max_start + k;
            }
        }
    }
    let mut runs: Vec<RowRun> = Vec::new();
    for i in 1..items {
        for j in 0..i {
            let (hi, lo) = if pos[i] >= pos[j] {
                (pos[i], pos[j])
            } else {
                (pos[j], pos[i])
            };
            let compact = tril_len(i) + j;
            let max = tril_len(hi) + lo;
            match runs.last_mut() {
                Some(r) if r.compact_start + r.len == compact && r.max_start + r.len == max => {
                    r.len += 1
                }
                _ => runs.push(RowRun {
                    compact_start: compact,
                    max_start: max,
                    len: 1,
                }),
            }
        }
    }
    runs
}

impl Graph {
    /// The quantizable operator node `node` belongs to (its index into `operators`), if any.
    pub fn operator_of(&self, node: ValueId) -> Option<usize> {
        self.node_operator.get(node).copied().flatten()
    }

    /// Multiply-adds of one example's forward pass, counted like fvcore (nasrec-spec §5): Linear
    /// and item-axis Linear layers, the interaction's and attention's matrix products, and
    /// LayerNorms (5 per element, fvcore's norm handle); embeddings and elementwise ops are free.
    /// The per-node counting lives in [`crate::flops::node_forward_macs`] (one source of truth).
    pub fn forward_macs_per_example(&self) -> u64 {
        (0..self.nodes.len())
            .map(|i| crate::flops::node_forward_macs(self, i))
            .sum()
    }
}
