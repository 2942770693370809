//! Fake quantization with a straight-through estimator (STE).
//!
//! # Scheme
//! - **Weights**: symmetric, per tensor. `s_w = max|W| / (2^(b-1) - 1)`, codes
//!   `round(W / s_w)` in `-(2^(b-1)-1)..=2^(b-1)-1` (the range differential-polarity crossbars
//!   store exactly), `W_q = codes * s_w`. Biases stay in float (they are added after the
//!   shift-add, in the digital accumulator). Backward: the gradient with respect to `W_q` is
//!   applied to `W` unchanged (nothing clips, because the range is the tensor's own maximum).
//! - **Activations**, at the input of every crossbar-mapped operator (each `Linear` and item-axis
//!   `Linear`, and the attention's input that feeds Q, K and V): per example (the input vector,
//!   or for item-axis layers all N x E values of the example), with the scale
//!   `s_x = range / qmax` where `range` is the example's max |x| ([`ActivationRange::Dynamic`])
//!   or a fixed clip ([`ActivationRange::Clip`]).
//!   * inputs produced by a ReLU or a sigmoid are **unsigned**: codes `0..=2^a - 1`;
//!   * every other input is **signed**: codes `-(2^(a-1)-1)..=2^(a-1)-1`. The crossbar takes
//!     unsigned inputs, so the hardware drives `code + 2^(a-1)` (still `a` bits) and subtracts
//!     `2^(a-1) * sum_i W_codes[i, o]` digitally after the shift-add (the input-side twin of
//!     offset-column weight storage).
//!
//!   Backward (STE): the gradient passes where `x` was inside the representable range and is
//!   zero where it was clipped.
//!
//! The attention's inner products (O's and the FFN's inputs) run inside the fused attention
//! kernel and are not activation-quantized; their weights are.

use super::bits::{BitAssignment, OperatorBits};
use crate::error::{ModelError, Result};
use crate::net::graph::{Graph, Op, ParamId};
use crate::net::params::real;
use crate::ops::Real;
use ndarray::{Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis};
use std::sync::Arc;

/// How an activation's quantization range is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ActivationRange {
    /// Per example: the largest magnitude of the operator's input (nothing clips).
    Dynamic,
    /// A fixed range `[-clip, clip]` (signed) or `[0, clip]` (unsigned); values outside clip and
    /// get no gradient.
    Clip(f32),
}

/// Fake-quantization settings of a model: per-operator bits and the activation range rule.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantConfig {
    /// Bits per quantizable operator.
    pub bits: BitAssignment,
    /// Activation range rule.
    pub activation_range: ActivationRange,
}

impl QuantConfig {
    /// Dynamic activation ranges with the given bits.
    pub fn new(bits: BitAssignment) -> Self {
        QuantConfig {
            bits,
            activation_range: ActivationRange::Dynamic,
        }
    }
}

/// The precisions of one crossbar-mapped node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeQuant {
    /// Weight bits (signed, symmetric).
    pub weight_bits: u32,
    /// Activation bits at the node's input.
    pub activation_bits: u32,
    /// Whether the input can be negative (see the module docs).
    pub signed: bool,
}

/// Integer products computed somewhere other than float arithmetic (the crossbar's functional
/// model): `codes [vectors, in]` (signed activation codes, row-major) times the node's weight
/// codes `[in, out]`, returned `[vectors, out]` row-major.
pub trait HardwareProduct: Send + Sync + std::fmt::Debug {
    /// The product for node `node`; `signed` and `activation_bits` describe the codes.
    fn product(
        &self,
        node: usize,
        codes: &[i32],
        vectors: usize,
        signed: bool,
        activation_bits: u32,
    ) -> Option<Vec<i64>>;

    /// The weight scale `s_w` the node's codes were made with.
    fn weight_scale(&self, node: usize) -> Option<f64>;
}

/// Fake quantization resolved onto a compiled graph: which nodes and parameters are quantized
/// at which bits. Set as `graph.quant` to make the engine quantize (training and inference).
#[derive(Debug, Clone)]
pub struct QuantPlan {
    nodes: Vec<Option<NodeQuant>>,
    /// Parameter -> weight bits, for every weight matrix of a quantized node.
    params: Vec<Option<u32>>,
    range: ActivationRange,
    hardware: Option<Arc<dyn HardwareProduct>>,
    /// The caller passes already fake-quantized weights (forward-only paths quantize once).
    prequantized: bool,
}

impl PartialEq for QuantPlan {
    fn eq(&self, other: &Self) -> bool {
        self.nodes == other.nodes
            && self.params == other.params
            && self.range == other.range
            && self.prequantized == other.prequantized
            && match (&self.hardware, &other.hardware) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

/// Whether a value is non-negative by construction (ReLU or sigmoid output).
fn non_negative(graph: &Graph, v: usize) -> bool {
    matches!(
        graph.nodes.get(v).map(|n| &n.op),
        Some(Op::Relu(_)) | Some(Op::Sigmoid(_))
    )
}

/// Largest signed code at `bits`.
pub fn signed_max(bits: u32) -> i64 {
    (1_i64 << (bits - 1)) - 1
}

/// Largest unsigned code at `bits`.
pub fn unsigned_max(bits: u32) -> i64 {
    (1_i64 << bits) - 1
}

impl QuantPlan {
    /// Resolves `cfg` onto `graph`: every `Linear`, item-axis `Linear` and attention node gets
    /// its operator's bits (nodes of no named operator, as in the baselines, get 8/8).
    pub fn new(graph: &Graph, cfg: &QuantConfig) -> Result<Self> {
        if let ActivationRange::Clip(c) = cfg.activation_range {
            if !(c.is_finite() && c > 0.0) {
                return Err(ModelError::InvalidOption {
                    name: "activation_clip".to_string(),
                    value: c.to_string(),
                    allowed: "a finite value > 0".to_string(),
                });
            }
        }
        let resolved = cfg.bits.resolve(&graph.operators)?;
        let mut nodes = vec![None; graph.nodes.len()];
        let mut params = vec![None; graph.params.len()];
        for (idx, node) in graph.nodes.iter().enumerate() {
            let b: OperatorBits = graph
                .operator_of(idx)
                .and_then(|i| resolved.get(i).copied())
                .unwrap_or(OperatorBits::DEFAULT);
            let (weights, signed): (Vec<ParamId>, bool) = match &node.op {
                Op::Linear { inputs, w, .. } | Op::LinearItems { inputs, w, .. } => {
                    (vec![*w], !inputs.iter().all(|&v| non_negative(graph, v)))
                }
                Op::Attention { x, params: a } => (
                    vec![a.wq, a.wk, a.wv, a.wo, a.w1, a.w2],
                    !non_negative(graph, *x),
                ),
                _ => continue,
            };
            nodes[idx] = Some(NodeQuant {
                weight_bits: b.weight_bits,
                activation_bits: b.activation_bits,
                signed,
            });
            for w in weights {
                if let Some(slot) = params.get_mut(w) {
                    *slot = Some(b.weight_bits);
                }
            }
        }
        Ok(QuantPlan {
            nodes,
            params,
            range: cfg.activation_range,
            hardware: None,
            prequantized: false,
        })
    }

    /// The same plan with every quantized `Linear` / item-axis `Linear` product computed by
    /// `hardware` (forward only).
    pub fn with_hardware(mut self, hardware: Arc<dyn HardwareProduct>) -> Self {
        self.hardware = Some(hardware);
        self
    }

    /// The same plan for parameters that are already fake-quantized (by
    /// [`QuantPlan::quantize_params`]): the engine then uses them as given. Forward only.
    pub fn with_prequantized_weights(mut self) -> Self {
        self.prequantized = true;
        self
    }

    /// Whether the engine must quantize the weights itself.
    pub fn quantizes_weights(&self) -> bool {
        !self.prequantized
    }

    /// The precisions of node `idx`, if it is quantized.
    pub fn node(&self, idx: usize) -> Option<NodeQuant> {
        self.nodes.get(idx).copied().flatten()
    }

    /// Weight bits of parameter `p`, if it is a quantized weight.
    pub fn param_bits(&self, p: ParamId) -> Option<u32> {
        self.params.get(p).copied().flatten()
    }

    /// The activation range rule.
    pub fn activation_range(&self) -> ActivationRange {
        self.range
    }

    /// The dense parameters with every quantized weight replaced by its fake-quantized value.
    pub fn quantize_params<T: Real>(&self, dense: &[Array2<T>]) -> Vec<Array2<T>> {
        dense
            .iter()
            .enumerate()
            .map(|(p, a)| match self.param_bits(p) {
                Some(bits) => fake_quant_weight(a.view(), bits),
                None => a.clone(),
            })
            .collect()
    }

    /// Quantizes the rows of `x` (one example per row) for node `q`: `(x_q, mask)`.
    fn rows<T: Real>(&self, q: NodeQuant, x: ArrayView2<'_, T>) -> RowQuant<T> {
        quantize_rows(x, q.activation_bits, q.signed, self.range)
    }

    /// A quantized `Linear` node's forward: `(y, x_q, mask)` for the input `x [B, F]` (the
    /// inputs' concatenation) and the (already fake-quantized) weight `w [F, out]`.
    pub fn linear<T: Real>(
        &self,
        idx: usize,
        q: NodeQuant,
        x: ArrayView2<'_, T>,
        w: ArrayView2<'_, T>,
        bias: Option<ArrayView1<'_, T>>,
    ) -> (Array2<T>, Array2<T>, Array2<T>) {
        let rq = self.rows(q, x);
        let y = match self.hardware_rows(idx, q, &rq, x.nrows(), w.ncols()) {
            Some(mut y) => {
                if let Some(b) = bias {
                    y += &b;
                }
                y
            }
            None => crate::ops::linear::forward(rq.xq.view(), w, bias),
        };
        (y, rq.xq, rq.mask)
    }

    /// A quantized item-axis `Linear` node's forward on `x [B, N, E]` (one MVM per embedding
    /// column; the activation scale is per example over its N x E values).
    pub fn linear_items<T: Real>(
        &self,
        idx: usize,
        q: NodeQuant,
        x: ArrayView3<'_, T>,
        w: ArrayView2<'_, T>,
        bias: Option<ArrayView1<'_, T>>,
    ) -> (Array3<T>, Array3<T>, Array3<T>) {
        let (xq, mask, scales, codes) = self.items(q, x);
        let (batch, n, e) = x.dim();
        let out = w.ncols();
        if let (Some(hw), Some(codes)) = (&self.hardware, &codes) {
            // Vectors are the (example, emb column) pairs: [B*E, N] codes.
            let mut vcodes = vec![0_i32; batch * e * n];
            for b in 0..batch {
                for i in 0..n {
                    for c in 0..e {
                        vcodes[(b * e + c) * n + i] = codes[(b * n + i) * e + c];
                    }
                }
            }
            if let (Some(prod), Some(sw)) = (
                hw.product(idx, &vcodes, batch * e, q.signed, q.activation_bits),
                hw.weight_scale(idx),
            ) {
                let mut y = Array3::<T>::zeros((batch, out, e));
                for b in 0..batch {
                    let s = scales[b] * sw;
                    for c in 0..e {
                        let row = &prod[(b * e + c) * out..][..out];
                        for (m, &v) in row.iter().enumerate() {
                            let bias_m = bias.map_or(0.0, |bv| bv[m].to_f64().unwrap_or(0.0));
                            y[[b, m, c]] = real(v as f64 * s + bias_m);
                        }
                    }
                }
                return (y, xq, mask);
            }
        }
        let y = crate::ops::linear_items::forward(xq.view(), w, bias);
        (y, xq, mask)
    }

    /// The quantized input `x [B, N, E]` of an attention node: `(x_q, mask)`.
    pub fn items_input<T: Real>(
        &self,
        q: NodeQuant,
        x: ArrayView3<'_, T>,
    ) -> (Array3<T>, Array3<T>) {
        let (xq, mask, _, _) = self.items(q, x);
        (xq, mask)
    }

    #[allow(clippy::type_complexity)]
    fn items<T: Real>(
        &self,
        q: NodeQuant,
        x: ArrayView3<'_, T>,
    ) -> (Array3<T>, Array3<T>, Vec<f64>, Option<Vec<i32>>) {
        let (batch, n, e) = x.dim();
        let flat = x
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((batch, n * e))
            .unwrap_or_else(|_| Array2::zeros((batch, n * e)));
        let rq = self.rows(q, flat.view());
        let to3 = |a: Array2<T>| {
            a.into_shape_with_order((batch, n, e))
                .unwrap_or_else(|_| Array3::zeros((batch, n, e)))
        };
        (to3(rq.xq), to3(rq.mask), rq.scales, Some(rq.codes))
    }

    /// The hardware product of a `Linear` node, rescaled to `[B, out]` (no bias), when a
    /// hardware backend is set and answers.
    fn hardware_rows<T: Real>(
        &self,
        idx: usize,
        q: NodeQuant,
        rq: &RowQuant<T>,
        batch: usize,
        out: usize,
    ) -> Option<Array2<T>> {
        let hw = self.hardware.as_ref()?;
        let prod = hw.product(idx, &rq.codes, batch, q.signed, q.activation_bits)?;
        let sw = hw.weight_scale(idx)?;
        let mut y = Array2::<T>::zeros((batch, out));
        for (b, mut row) in y.axis_iter_mut(Axis(0)).enumerate() {
            let s = rq.scales[b] * sw;
            for (o, v) in row.iter_mut().enumerate() {
                *v = real(prod[b * out + o] as f64 * s);
            }
        }
        Some(y)
    }
}

/// Fake-quantized rows: values, STE mask, per-row scales and the integer codes.
#[derive(Debug, Clone)]
pub struct RowQuant<T> {
    /// `codes * scale`, the value the next operator sees.
    pub xq: Array2<T>,
    /// 1 where the input was representable (gradient passes), 0 where it clipped.
    pub mask: Array2<T>,
    /// Per-row scale.
    pub scales: Vec<f64>,
    /// Integer codes, row-major (signed codes for signed inputs).
    pub codes: Vec<i32>,
}

/// Quantizes each row of `x` at `bits` (signed or unsigned) with its own scale (see the
/// module docs for the scheme and the STE mask).
pub fn quantize_rows<T: Real>(
    x: ArrayView2<'_, T>,
    bits: u32,
    signed: bool,
    range: ActivationRange,
) -> RowQuant<T> {
    let (rows, cols) = x.dim();
    let (qmin, qmax) = if signed {
        (-signed_max(bits), signed_max(bits))
    } else {
        (0, unsigned_max(bits))
    };
    let mut xq = Array2::<T>::zeros((rows, cols));
    let mut mask = Array2::<T>::zeros((rows, cols));
    let mut scales = Vec::with_capacity(rows);
    let mut codes = vec![0_i32; rows * cols];
    for (r, xr) in x.axis_iter(Axis(0)).enumerate() {
        let limit = match range {
            ActivationRange::Dynamic => xr.iter().fold(0.0_f64, |m, &v| {
                let v = v.to_f64().unwrap_or(0.0);
                if signed {
                    m.max(v.abs())
                } else {
                    m.max(v)
                }
            }),
            ActivationRange::Clip(c) => f64::from(c),
        };
        let scale = if limit > 0.0 && limit.is_finite() {
            limit / qmax as f64
        } else {
            0.0
        };
        scales.push(scale);
        for (c, &v) in xr.iter().enumerate() {
            let v = v.to_f64().unwrap_or(0.0);
            let (code, inside) = if scale > 0.0 {
                let t = v / scale;
                let inside = t >= qmin as f64 - 0.5 && t <= qmax as f64 + 0.5;
                ((t.round() as i64).clamp(qmin, qmax), inside)
            } else {
                (0, true)
            };
            codes[r * cols + c] = code as i32;
            xq[[r, c]] = real(code as f64 * scale);
            mask[[r, c]] = if inside { T::one() } else { T::zero() };
        }
    }
    RowQuant {
        xq,
        mask,
        scales,
        codes,
    }
}

/// Symmetric per-tensor weight codes `[rows, cols]` row-major and their scale.
pub fn weight_codes<T: Real>(w: ArrayView2<'_, T>, bits: u32) -> (Vec<i32>, f64) {
    let qmax = signed_max(bits);
    let max_abs = w
        .iter()
        .fold(0.0_f64, |m, &v| m.max(v.to_f64().unwrap_or(0.0).abs()));
    let scale = if max_abs > 0.0 && max_abs.is_finite() {
        max_abs / qmax as f64
    } else {
        0.0
    };
    let codes = w
        .iter()
        .map(|&v| {
            if scale > 0.0 {
                ((v.to_f64().unwrap_or(0.0) / scale).round() as i64).clamp(-qmax, qmax) as i32
            } else {
                0
            }
        })
        .collect();
    (codes, scale)
}

/// The fake-quantized weight `codes * scale` (same shape).
pub fn fake_quant_weight<T: Real>(w: ArrayView2<'_, T>, bits: u32) -> Array2<T> {
    let (codes, scale) = weight_codes(w, bits);
    let values = codes.iter().map(|&c| real(f64::from(c) * scale)).collect();
    Array2::from_shape_vec(w.raw_dim(), values).unwrap_or_else(|_| w.to_owned())
}

/// Concatenates 2-D inputs along features (one owned matrix).
pub(crate) fn concat_flat<T: Real>(parts: &[ArrayView2<'_, T>], batch: usize) -> Array2<T> {
    ndarray::concatenate(Axis(1), parts).unwrap_or_else(|_| Array2::zeros((batch, 0)))
}

/// Concatenates 3-D inputs along items.
pub(crate) fn concat_items<T: Real>(parts: &[ArrayView3<'_, T>], batch: usize) -> Array3<T> {
    ndarray::concatenate(Axis(1), parts).unwrap_or_else(|_| Array3::zeros((batch, 0, 0)))
}
