//! The forward/backward engine of a compiled graph over one chunk of a batch.
//!
//! Forward stores every node's value (and the caches LayerNorm and attention need); backward walks
//! the nodes in reverse, accumulating value gradients, and adds (+=) parameter gradients into the
//! caller's buffers (dense: one tensor per parameter; embeddings: per-field sparse row gradients).

use super::composite::LN_EPS;
use super::graph::{Graph, Op, ValueId};
use super::params::real;
use crate::ops::{self, Real};
use ndarray::{s, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis};

/// A value: flat `[B, F]` or itemised `[B, N, E]`.
#[derive(Debug, Clone)]
pub enum Tensor<T> {
    /// `[batch, features]`.
    Flat(Array2<T>),
    /// `[batch, items, emb]`.
    Items(Array3<T>),
}

impl<T: Real> Tensor<T> {
    fn flat(&self) -> ArrayView2<'_, T> {
        match self {
            Tensor::Flat(a) => a.view(),
            Tensor::Items(_) => panic!("graph invariant: a flat value was expected"),
        }
    }

    fn items(&self) -> ArrayView3<'_, T> {
        match self {
            Tensor::Items(a) => a.view(),
            Tensor::Flat(_) => panic!("graph invariant: an itemised value was expected"),
        }
    }

    fn add_assign(&mut self, other: Tensor<T>) {
        match (self, other) {
            (Tensor::Flat(a), Tensor::Flat(b)) => *a += &b,
            (Tensor::Items(a), Tensor::Items(b)) => *a += &b,
            _ => panic!("graph invariant: gradient kinds differ"),
        }
    }
}

/// What backward needs from forward besides the values.
#[derive(Debug)]
enum Cache<T> {
    None,
    LayerNorm(ops::layernorm::LayerNormCache<T>),
    LayerNormItems(ops::layernorm::LayerNormItemsCache<T>),
    Attention(Box<ops::attention::AttentionCache<T>>),
    /// A fake-quantized flat input (the inputs' concatenation) and its STE mask.
    QuantFlat(Array2<T>, Array2<T>),
    /// A fake-quantized itemised input and its STE mask.
    QuantItems(Array3<T>, Array3<T>),
    /// Attention on a fake-quantized input: its cache and the input's STE mask.
    QuantAttention(Box<ops::attention::AttentionCache<T>>, Array3<T>),
}

/// The values (and caches) of one forward pass.
#[derive(Debug)]
pub struct Tape<T> {
    values: Vec<Tensor<T>>,
    caches: Vec<Cache<T>>,
    /// The fake-quantized dense parameters the pass used (when `graph.quant` is set).
    qparams: Option<Vec<Array2<T>>>,
}

impl<T: Real> Tape<T> {
    /// The logits `[B]` of the pass.
    pub fn logits(&self, graph: &Graph) -> ndarray::Array1<T> {
        self.values[graph.logit].flat().column(0).to_owned()
    }
}

/// Parameters the engine reads: dense tensors and embedding tables (group -> field -> table).
#[derive(Clone, Copy)]
pub struct ParamsRef<'a, T> {
    /// Dense tensors in `graph.params` order.
    pub dense: &'a [Array2<T>],
    /// Embedding tables.
    pub tables: &'a [Vec<Array2<T>>],
}

fn col<T: Real>(a: &Array2<T>) -> ArrayView1<'_, T> {
    a.column(0)
}

fn input_rows(graph: &Graph, inputs: &[ValueId]) -> Vec<(usize, usize)> {
    let mut off = 0;
    inputs
        .iter()
        .map(|&v| {
            let n = graph.nodes[v].shape.axis_len();
            let r = (off, off + n);
            off += n;
            r
        })
        .collect()
}

fn attention_params<'a, T: Real>(
    p: &'a [Array2<T>],
    ids: &super::graph::AttentionIds,
) -> ops::attention::AttentionParams<'a, T> {
    ops::attention::AttentionParams {
        wq: p[ids.wq].view(),
        wk: p[ids.wk].view(),
        wv: p[ids.wv].view(),
        wo: p[ids.wo].view(),
        bq: col(&p[ids.bq]),
        bk: col(&p[ids.bk]),
        bv: col(&p[ids.bv]),
        bo: col(&p[ids.bo]),
        ln1_gamma: col(&p[ids.ln1_g]),
        ln1_beta: col(&p[ids.ln1_b]),
        ffn1_w: p[ids.w1].view(),
        ffn1_b: col(&p[ids.b1]),
        ffn2_w: p[ids.w2].view(),
        ffn2_b: col(&p[ids.b2]),
        ln2_gamma: col(&p[ids.ln2_g]),
        ln2_beta: col(&p[ids.ln2_b]),
    }
}

/// Runs the graph forward on `dense` `[B, n_dense]` and `sparse` `[B, n_sparse]` (rows already
/// inside their tables), keeping what [`backward`] needs.
pub fn forward<T: Real>(
    graph: &Graph,
    p: ParamsRef<'_, T>,
    dense: ArrayView2<'_, T>,
    sparse: ArrayView2<'_, u32>,
) -> Tape<T> {
    forward_pass(graph, p, dense, sparse, Pass::Training)
}

/// The logits `[B]` of a forward pass that no backward follows: the same values, bit for bit, as
/// `forward(..).logits(graph)`, without writing the attention layers' softmax exponentials.
pub fn forward_logits<T: Real>(
    graph: &Graph,
    p: ParamsRef<'_, T>,
    dense: ArrayView2<'_, T>,
    sparse: ArrayView2<'_, u32>,
) -> ndarray::Array1<T> {
    forward_pass(graph, p, dense, sparse, Pass::Inference).logits(graph)
}

/// Whether a backward will read the forward's caches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Training,
    Inference,
}

/// An encoder layer's forward: with the cache a backward reads for a training pass; for an
/// inference pass without it (and without writing the softmax exponentials).
fn attention_forward<T: Real>(
    x: ArrayView3<'_, T>,
    ap: &ops::attention::AttentionParams<'_, T>,
    pass: Pass,
) -> (Array3<T>, Option<Box<ops::attention::AttentionCache<T>>>) {
    let eps = real(LN_EPS);
    match pass {
        Pass::Inference => (ops::attention::forward_for_inference(x, ap, eps), None),
        Pass::Training => {
            let (y, c) = ops::attention::forward(x, ap, eps);
            (y, Some(Box::new(c)))
        }
    }
}

fn forward_pass<T: Real>(
    graph: &Graph,
    p: ParamsRef<'_, T>,
    dense: ArrayView2<'_, T>,
    sparse: ArrayView2<'_, u32>,
    pass: Pass,
) -> Tape<T> {
    let batch = dense.nrows();
    let mut values: Vec<Tensor<T>> = Vec::with_capacity(graph.nodes.len());
    let mut caches: Vec<Cache<T>> = Vec::with_capacity(graph.nodes.len());
    // Fake quantization (crate::quant): quantized weights for the whole pass.
    let quant = graph.quant.as_deref();
    let qparams = quant
        .filter(|q| q.quantizes_weights())
        .map(|q| q.quantize_params(p.dense));
    let p = ParamsRef {
        dense: qparams.as_deref().unwrap_or(p.dense),
        tables: p.tables,
    };
    for (idx, node) in graph.nodes.iter().enumerate() {
        let mut cache = Cache::None;
        let nq = quant.and_then(|q| q.node(idx).map(|n| (q, n)));
        let v = match &node.op {
            Op::Linear { inputs, w, b } if nq.is_some() => {
                let (q, n) = nq.expect("checked by the guard");
                let parts: Vec<ArrayView2<T>> = inputs.iter().map(|&x| values[x].flat()).collect();
                let x = crate::quant::fake_quant::concat_flat(&parts, batch);
                let bias = b.map(|b| col(&p.dense[b]));
                let (y, xq, mask) = q.linear(idx, n, x.view(), p.dense[*w].view(), bias);
                cache = Cache::QuantFlat(xq, mask);
                Tensor::Flat(y)
            }
            Op::LinearItems { inputs, w, b } if nq.is_some() => {
                let (q, n) = nq.expect("checked by the guard");
                let parts: Vec<ArrayView3<T>> = inputs.iter().map(|&x| values[x].items()).collect();
                let x = crate::quant::fake_quant::concat_items(&parts, batch);
                let bias = b.map(|b| col(&p.dense[b]));
                let (y, xq, mask) = q.linear_items(idx, n, x.view(), p.dense[*w].view(), bias);
                cache = Cache::QuantItems(xq, mask);
                Tensor::Items(y)
            }
            Op::Attention { x, params } if nq.is_some() => {
                let (q, n) = nq.expect("checked by the guard");
                let (xq, mask) = q.items_input(n, values[*x].items());
                let ap = attention_params(p.dense, params);
                let (y, c) = attention_forward(xq.view(), &ap, pass);
                if let Some(c) = c {
                    cache = Cache::QuantAttention(c, mask);
                }
                Tensor::Items(y)
            }
            Op::DenseInput => Tensor::Flat(dense.to_owned()),
            Op::Embed { group } => {
                Tensor::Items(ops::embedding::gather_fields(&p.tables[*group], sparse))
            }
            Op::Linear { inputs, w, b } => {
                let w = &p.dense[*w];
                let bias = b.map(|b| col(&p.dense[b]));
                let mut acc: Option<Array2<T>> = None;
                for (&x, (r0, r1)) in inputs.iter().zip(input_rows(graph, inputs)) {
                    let ws = w.slice(s![r0..r1, ..]);
                    match acc.as_mut() {
                        None => acc = Some(ops::linear::forward(values[x].flat(), ws, bias)),
                        Some(a) => ndarray::linalg::general_mat_mul(
                            T::one(),
                            &values[x].flat(),
                            &ws,
                            T::one(),
                            a,
                        ),
                    }
                }
                Tensor::Flat(acc.unwrap_or_else(|| Array2::zeros((batch, w.ncols()))))
            }
            Op::LinearItems { inputs, w, b } => {
                let w = &p.dense[*w];
                let bias = b.map(|b| col(&p.dense[b]));
                let mut acc: Option<Array3<T>> = None;
                for (&x, (r0, r1)) in inputs.iter().zip(input_rows(graph, inputs)) {
                    let ws = w.slice(s![r0..r1, ..]);
                    match acc.as_mut() {
                        None => acc = Some(ops::linear_items::forward(values[x].items(), ws, bias)),
                        Some(a) => {
                            ops::linear_items::forward_add_into(values[x].items(), ws, a.view_mut())
                        }
                    }
                }
                Tensor::Items(acc.unwrap_or_else(|| Array3::zeros((batch, w.ncols(), 0))))
            }
            Op::LayerNorm { x, g, b } => {
                let (y, c) = ops::layernorm::forward(
                    values[*x].flat(),
                    col(&p.dense[*g]),
                    col(&p.dense[*b]),
                    real(LN_EPS),
                );
                cache = Cache::LayerNorm(c);
                Tensor::Flat(y)
            }
            Op::LayerNormItems { x, g, b } => {
                let (y, c) = ops::layernorm::forward_items(
                    values[*x].items(),
                    col(&p.dense[*g]),
                    col(&p.dense[*b]),
                    real(LN_EPS),
                );
                cache = Cache::LayerNormItems(c);
                Tensor::Items(y)
            }
            Op::Relu(x) => match &values[*x] {
                Tensor::Flat(a) => Tensor::Flat(ops::activation::relu(a.view())),
                Tensor::Items(a) => Tensor::Items(ops::activation::relu(a.view())),
            },
            Op::Sigmoid(x) => Tensor::Flat(ops::activation::sigmoid(values[*x].flat())),
            Op::AddPadded { inputs } => {
                let width = node.shape.axis_len();
                let mut y = Array2::zeros((batch, width));
                for &x in inputs {
                    let xv = values[x].flat();
                    let mut ys = y.slice_mut(s![.., ..xv.ncols()]);
                    ys += &xv;
                }
                Tensor::Flat(y)
            }
            Op::AddItems(inputs) => {
                let mut y = values[inputs[0]].items().to_owned();
                for &x in &inputs[1..] {
                    y += &values[x].items();
                }
                Tensor::Items(y)
            }
            Op::MulPadded { gate, x } => {
                let g = values[*gate].flat();
                let xv = values[*x].flat();
                let wx = xv.ncols();
                let mut y = Array2::zeros(g.raw_dim());
                ndarray::Zip::from(y.slice_mut(s![.., ..wx]))
                    .and(g.slice(s![.., ..wx]))
                    .and(xv)
                    .for_each(|y, &g, &x| *y = g * x);
                Tensor::Flat(y)
            }
            Op::ConcatFeatures(inputs) => {
                let views: Vec<ArrayView2<T>> = inputs.iter().map(|&x| values[x].flat()).collect();
                Tensor::Flat(ops::layout::concat_features(&views))
            }
            Op::AsItem(x) => {
                let xv = values[*x].flat();
                Tensor::Items(xv.to_owned().insert_axis(Axis(1)))
            }
            Op::Flatten(x) => {
                let xv = values[*x].items();
                let (b, n, e) = xv.dim();
                let y = xv.as_standard_layout().into_owned();
                Tensor::Flat(
                    y.into_shape_with_order((b, n * e))
                        .unwrap_or_else(|_| Array2::zeros((b, n * e))),
                )
            }
            Op::Unflatten(x) => {
                let xv = values[*x].flat();
                let (n, e) = match node.shape {
                    super::graph::Shape::Items(n, e) => (n, e),
                    super::graph::Shape::Flat(f) => (f, 1),
                };
                let y = xv.as_standard_layout().into_owned();
                Tensor::Items(
                    y.into_shape_with_order((batch, n, e))
                        .unwrap_or_else(|_| Array3::zeros((batch, n, e))),
                )
            }
            Op::ConcatItems(inputs) => {
                let views: Vec<ArrayView3<T>> = inputs.iter().map(|&x| values[x].items()).collect();
                Tensor::Items(ops::layout::concat_items(&views))
            }
            Op::Interaction(t) => Tensor::Flat(ops::interaction::forward(values[*t].items())),
            Op::Fm(x) => Tensor::Flat(ops::fm::forward(values[*x].items())),
            Op::Attention { x, params } => {
                let ap = attention_params(p.dense, params);
                let (y, c) = attention_forward(values[*x].items(), &ap, pass);
                if let Some(c) = c {
                    cache = Cache::Attention(c);
                }
                Tensor::Items(y)
            }
            Op::SumFeatures { x, scale } => {
                let sc: T = real(*scale);
                let y = values[*x]
                    .flat()
                    .sum_axis(Axis(1))
                    .mapv(|v| v * sc)
                    .insert_axis(Axis(1));
                Tensor::Flat(y)
            }
        };
        values.push(v);
        caches.push(cache);
    }
    Tape {
        values,
        caches,
        qparams,
    }
}

/// Gradient buffers the backward pass adds into.
pub struct GradsMut<'a, T> {
    /// One tensor per dense parameter, same shapes.
    pub dense: &'a mut [Array2<T>],
    /// Per group, per field: the sparse row gradients.
    pub tables: &'a mut [Vec<ops::embedding::SparseRowGrad<T>>],
}

/// Mutable references to distinct elements of a slice (ids must be distinct).
fn distinct_mut<'a, A>(items: &'a mut [A], ids: &[usize]) -> Vec<&'a mut A> {
    let mut slots: Vec<Option<&'a mut A>> = items.iter_mut().map(Some).collect();
    ids.iter()
        .map(|&i| {
            slots[i]
                .take()
                .expect("graph invariant: parameter ids are distinct")
        })
        .collect()
}

fn add_grad<T: Real>(grads: &mut [Option<Tensor<T>>], v: ValueId, g: Tensor<T>) {
    match &mut grads[v] {
        Some(existing) => existing.add_assign(g),
        slot @ None => *slot = Some(g),
    }
}

/// The item-axis Linear's backward for its input `x`: `dx` is added straight into `x`'s
/// gradient when another consumer already started it (no temporary, no extra pass; the same
/// bits as [`add_grad`] of a separate `dx`), else it becomes that gradient.
fn linear_items_backward_to<T: Real>(
    grads: &mut [Option<Tensor<T>>],
    x: ValueId,
    (xs, ws, dy): (ArrayView3<'_, T>, ArrayView2<'_, T>, ArrayView3<'_, T>),
    (dw, db): (
        ndarray::ArrayViewMut2<'_, T>,
        Option<ndarray::ArrayViewMut1<'_, T>>,
    ),
) {
    match &mut grads[x] {
        Some(Tensor::Items(g)) => {
            ops::linear_items::backward_into(xs, ws, dy, (dw, db), g.view_mut(), true)
        }
        _ => {
            let dx = ops::linear_items::backward(xs, ws, dy, dw, db);
            add_grad(grads, x, Tensor::Items(dx));
        }
    }
}

/// Backpropagates `dlogit` (`[B]`, d loss / d logit) through the tape.
pub fn backward<T: Real>(
    graph: &Graph,
    p: ParamsRef<'_, T>,
    tape: &Tape<T>,
    sparse: ArrayView2<'_, u32>,
    dlogit: ArrayView1<'_, T>,
    out: GradsMut<'_, T>,
) {
    let n = graph.nodes.len();
    // Straight-through estimator: gradients through the fake-quantized weights the forward
    // used land on the float weights unchanged.
    let p = ParamsRef {
        dense: tape.qparams.as_deref().unwrap_or(p.dense),
        tables: p.tables,
    };
    let mut grads: Vec<Option<Tensor<T>>> = (0..n).map(|_| None).collect();
    grads[graph.logit] = Some(Tensor::Flat(dlogit.to_owned().insert_axis(Axis(1))));
    for idx in (0..n).rev() {
        let Some(dy) = grads[idx].take() else {
            continue;
        };
        let node = &graph.nodes[idx];
        match (&node.op, &tape.caches[idx]) {
            (Op::Linear { inputs, w, b }, Cache::QuantFlat(xq, mask)) => {
                let dy = dy.flat();
                let wq = p.dense[*w].view();
                let dx = match b {
                    Some(b) => {
                        let mut m = distinct_mut(out.dense, &[*w, *b]);
                        let (dw, db) = m.split_at_mut(1);
                        ops::linear::backward(
                            xq.view(),
                            wq,
                            dy,
                            dw[0].view_mut(),
                            Some(db[0].column_mut(0)),
                        )
                    }
                    None => {
                        ops::linear::backward(xq.view(), wq, dy, out.dense[*w].view_mut(), None)
                    }
                };
                // STE: no gradient where the input clipped.
                let dx = dx * mask;
                for (&x, (r0, r1)) in inputs.iter().zip(input_rows(graph, inputs)) {
                    if !matches!(graph.nodes[x].op, Op::DenseInput) {
                        add_grad(
                            &mut grads,
                            x,
                            Tensor::Flat(dx.slice(s![.., r0..r1]).to_owned()),
                        );
                    }
                }
                continue;
            }
            (Op::LinearItems { inputs, w, b }, Cache::QuantItems(xq, mask)) => {
                let dy = dy.items();
                let wq = p.dense[*w].view();
                let dx = match b {
                    Some(b) => {
                        let mut m = distinct_mut(out.dense, &[*w, *b]);
                        let (dw, db) = m.split_at_mut(1);
                        ops::linear_items::backward(
                            xq.view(),
                            wq,
                            dy,
                            dw[0].view_mut(),
                            Some(db[0].column_mut(0)),
                        )
                    }
                    None => ops::linear_items::backward(
                        xq.view(),
                        wq,
                        dy,
                        out.dense[*w].view_mut(),
                        None,
                    ),
                };
                let dx = dx * mask;
                for (&x, (r0, r1)) in inputs.iter().zip(input_rows(graph, inputs)) {
                    add_grad(
                        &mut grads,
                        x,
                        Tensor::Items(dx.slice(s![.., r0..r1, ..]).to_owned()),
                    );
                }
                continue;
            }
            _ => {}
        }
        match &node.op {
            Op::DenseInput => {}
            Op::Embed { group } => {
                ops::embedding::scatter_fields(sparse, dy.items(), &mut out.tables[*group])
            }
            Op::Linear { inputs, w, b } => {
                let dy = dy.flat();
                if let Some(b) = b {
                    let mut db = out.dense[*b].column_mut(0);
                    db += &dy.sum_axis(Axis(0));
                }
                let wt = &p.dense[*w];
                for (&x, (r0, r1)) in inputs.iter().zip(input_rows(graph, inputs)) {
                    let dw = out.dense[*w].slice_mut(s![r0..r1, ..]);
                    if matches!(graph.nodes[x].op, Op::DenseInput) {
                        // The raw features need no gradient.
                        ops::linear::backward_params(tape.values[x].flat(), dy, dw, None);
                    } else {
                        let dx = ops::linear::backward(
                            tape.values[x].flat(),
                            wt.slice(s![r0..r1, ..]),
                            dy,
                            dw,
                            None,
                        );
                        add_grad(&mut grads, x, Tensor::Flat(dx));
                    }
                }
            }
            Op::LinearItems { inputs, w, b } => {
                let dy = dy.items();
                let wt = &p.dense[*w];
                let rows = input_rows(graph, inputs);
                let mut bias_done = b.is_none();
                for (&x, (r0, r1)) in inputs.iter().zip(rows) {
                    let (xs, ws) = (tape.values[x].items(), wt.slice(s![r0..r1, ..]));
                    if !bias_done {
                        let ids = [*w, b.unwrap_or(*w)];
                        let mut m = distinct_mut(out.dense, &ids);
                        let (dw, db) = m.split_at_mut(1);
                        bias_done = true;
                        let dw = dw[0].slice_mut(s![r0..r1, ..]);
                        let grads_w = (dw, Some(db[0].column_mut(0)));
                        linear_items_backward_to(&mut grads, x, (xs, ws, dy), grads_w);
                    } else {
                        let dw = out.dense[*w].slice_mut(s![r0..r1, ..]);
                        linear_items_backward_to(&mut grads, x, (xs, ws, dy), (dw, None));
                    }
                }
                if !bias_done {
                    if let Some(b) = b {
                        let mut db = out.dense[*b].column_mut(0);
                        db += &dy.sum_axis(Axis(2)).sum_axis(Axis(0));
                    }
                }
            }
            Op::LayerNorm { x, g, b } => {
                let Cache::LayerNorm(c) = &tape.caches[idx] else {
                    panic!("graph invariant: layernorm cache")
                };
                let mut m = distinct_mut(out.dense, &[*g, *b]);
                let (dg, db) = m.split_at_mut(1);
                let dx = ops::layernorm::backward(
                    c,
                    col(&p.dense[*g]),
                    dy.flat(),
                    dg[0].column_mut(0),
                    db[0].column_mut(0),
                );
                add_grad(&mut grads, *x, Tensor::Flat(dx));
            }
            Op::LayerNormItems { x, g, b } => {
                let Cache::LayerNormItems(c) = &tape.caches[idx] else {
                    panic!("graph invariant: layernorm cache")
                };
                let mut m = distinct_mut(out.dense, &[*g, *b]);
                let (dg, db) = m.split_at_mut(1);
                let dx = ops::layernorm::backward_items(
                    c,
                    col(&p.dense[*g]),
                    dy.items(),
                    dg[0].column_mut(0),
                    db[0].column_mut(0),
                );
                add_grad(&mut grads, *x, Tensor::Items(dx));
            }
            Op::Relu(x) => {
                let g = match (&tape.values[idx], &dy) {
                    (Tensor::Flat(y), Tensor::Flat(d)) => {
                        Tensor::Flat(ops::activation::relu_backward(y.view(), d.view()))
                    }
                    (Tensor::Items(y), Tensor::Items(d)) => {
                        Tensor::Items(ops::activation::relu_backward(y.view(), d.view()))
                    }
                    _ => panic!("graph invariant: relu kinds"),
                };
                add_grad(&mut grads, *x, g);
            }
            Op::Sigmoid(x) => {
                let g = ops::activation::sigmoid_backward(tape.values[idx].flat(), dy.flat());
                add_grad(&mut grads, *x, Tensor::Flat(g));
            }
            Op::AddPadded { inputs } => {
                let d = dy.flat();
                for &x in inputs {
                    let w = graph.nodes[x].shape.axis_len();
                    add_grad(&mut grads, x, Tensor::Flat(d.slice(s![.., ..w]).to_owned()));
                }
            }
            Op::AddItems(inputs) => {
                for &x in inputs {
                    add_grad(&mut grads, x, Tensor::Items(dy.items().to_owned()));
                }
            }
            Op::MulPadded { gate, x } => {
                let d = dy.flat();
                let g = tape.values[*gate].flat();
                let xv = tape.values[*x].flat();
                let wx = xv.ncols();
                let mut dgate = Array2::zeros(g.raw_dim());
                ndarray::Zip::from(dgate.slice_mut(s![.., ..wx]))
                    .and(d.slice(s![.., ..wx]))
                    .and(xv)
                    .for_each(|o, &d, &x| *o = d * x);
                let mut dx = Array2::zeros(xv.raw_dim());
                ndarray::Zip::from(&mut dx)
                    .and(d.slice(s![.., ..wx]))
                    .and(g.slice(s![.., ..wx]))
                    .for_each(|o, &d, &g| *o = d * g);
                add_grad(&mut grads, *gate, Tensor::Flat(dgate));
                add_grad(&mut grads, *x, Tensor::Flat(dx));
            }
            Op::ConcatFeatures(inputs) => {
                let d = dy.flat();
                for (&x, (r0, r1)) in inputs.iter().zip(input_rows(graph, inputs)) {
                    add_grad(
                        &mut grads,
                        x,
                        Tensor::Flat(d.slice(s![.., r0..r1]).to_owned()),
                    );
                }
            }
            Op::AsItem(x) => {
                let d = dy.items();
                add_grad(
                    &mut grads,
                    *x,
                    Tensor::Flat(d.index_axis(Axis(1), 0).to_owned()),
                );
            }
            Op::Flatten(x) => {
                let (b, n, e) = tape.values[*x].items().dim();
                let d = dy.flat().as_standard_layout().into_owned();
                let d3 = d
                    .into_shape_with_order((b, n, e))
                    .unwrap_or_else(|_| Array3::zeros((b, n, e)));
                add_grad(&mut grads, *x, Tensor::Items(d3));
            }
            Op::Unflatten(x) => {
                let (b, n, e) = dy.items().dim();
                let d = dy.items().as_standard_layout().into_owned();
                let d2 = d
                    .into_shape_with_order((b, n * e))
                    .unwrap_or_else(|_| Array2::zeros((b, n * e)));
                add_grad(&mut grads, *x, Tensor::Flat(d2));
            }
            Op::ConcatItems(inputs) => {
                let d = dy.items();
                for (&x, (r0, r1)) in inputs.iter().zip(input_rows(graph, inputs)) {
                    add_grad(
                        &mut grads,
                        x,
                        Tensor::Items(d.slice(s![.., r0..r1, ..]).to_owned()),
                    );
                }
            }
            Op::Interaction(t) => {
                let dt = ops::interaction::backward(tape.values[*t].items(), dy.flat());
                add_grad(&mut grads, *t, Tensor::Items(dt));
            }
            Op::Fm(x) => {
                let dx = ops::fm::backward(tape.values[*x].items(), dy.flat());
                add_grad(&mut grads, *x, Tensor::Items(dx));
            }
            Op::Attention { x, params } => {
                let (c, mask) = match &tape.caches[idx] {
                    Cache::Attention(c) => (c, None),
                    Cache::QuantAttention(c, mask) => (c, Some(mask)),
                    _ => panic!("graph invariant: attention cache"),
                };
                let ap = attention_params(p.dense, params);
                let ids = [
                    params.wq,
                    params.wk,
                    params.wv,
                    params.wo,
                    params.bq,
                    params.bk,
                    params.bv,
                    params.bo,
                    params.ln1_g,
                    params.ln1_b,
                    params.w1,
                    params.b1,
                    params.w2,
                    params.b2,
                    params.ln2_g,
                    params.ln2_b,
                ];
                let mut m = distinct_mut(out.dense, &ids).into_iter();
                let mut next = || m.next().expect("graph invariant: 16 attention grads");
                let (wq, wk, wv, wo) = (next(), next(), next(), next());
                let (bq, bk, bv, bo) = (next(), next(), next(), next());
                let (ln1_g, ln1_b, w1, b1) = (next(), next(), next(), next());
                let (w2, b2, ln2_g, ln2_b) = (next(), next(), next(), next());
                let mut ag = ops::attention::AttentionGrads {
                    wq: wq.view_mut(),
                    wk: wk.view_mut(),
                    wv: wv.view_mut(),
                    wo: wo.view_mut(),
                    bq: bq.column_mut(0),
                    bk: bk.column_mut(0),
                    bv: bv.column_mut(0),
                    bo: bo.column_mut(0),
                    ln1_gamma: ln1_g.column_mut(0),
                    ln1_beta: ln1_b.column_mut(0),
                    ffn1_w: w1.view_mut(),
                    ffn1_b: b1.column_mut(0),
                    ffn2_w: w2.view_mut(),
                    ffn2_b: b2.column_mut(0),
                    ln2_gamma: ln2_g.column_mut(0),
                    ln2_beta: ln2_b.column_mut(0),
                };
                let mut dx = ops::attention::backward(c, &ap, dy.items(), &mut ag);
                if let Some(mask) = mask {
                    ndarray::Zip::from(&mut dx)
                        .and(mask)
                        .for_each(|d, &m| *d = *d * m);
                }
                add_grad(&mut grads, *x, Tensor::Items(dx));
            }
            Op::SumFeatures { x, scale } => {
                let w = graph.nodes[*x].shape.axis_len();
                let sc: T = real(*scale);
                let d = dy.flat().column(0).mapv(|v| v * sc);
                let dx = Array2::from_shape_fn((d.len(), w), |(b, _)| d[b]);
                add_grad(&mut grads, *x, Tensor::Flat(dx));
            }
        }
    }
}
