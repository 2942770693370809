//! Primitive NASRec operators with hand-written backward passes (nasrec-spec §1, issue 3 item 1).
//!
//! # API summary (for the network code built on top)
//! - Element type: every operator is generic over [`Real`] (f32 in production, f64 in the
//!   finite-difference tests).
//! - Layout: 2D activations are `[batch, features]`, 3D activations `[batch, items, emb]` (emb = 16).
//!   Linear weights are `[in, out]` (`y = x W + b`), so a supernet passes the leading
//!   `w.slice(s![..in, ..out])` of a max-width matrix.
//! - Backward functions ACCUMULATE (`+=`) parameter gradients into caller-provided `ArrayViewMut`s
//!   (so gradients of a sliced subnet land in slices of the max-width buffers) and RETURN the input
//!   gradient as a new array. No hidden state: forward returns a cache struct or backward takes the
//!   forward inputs/outputs.
//! - [`linear`]: `forward(x, w, b) -> y`, `backward(x, w, dy, dw, db) -> dx`, plus
//!   `forward_into`, `forward_add_into` (y += x W, for concatenated inputs), `backward_params`,
//!   `backward_input_into(w, dy, dx, accumulate)` for preallocated buffers.
//! - [`activation`]: `relu`, `relu_backward(y, dy)`, `sigmoid`, `sigmoid_backward(y, dy)` over any
//!   dimension, plus in-place variants.
//! - [`layernorm`]: `forward(x[R,F], gamma, beta, eps) -> (y, LayerNormCache)`,
//!   `backward(&cache, gamma, dy, dgamma, dbeta) -> dx` (last axis); `forward_items` /
//!   `backward_items` on `[B,N,E]` normalising over the item axis N for each (b, e).
//! - [`loss`]: `bce_with_logits(logits, labels) -> (mean loss, dloss/dlogits)`.
//! - [`embedding`]: `gather(table, rows)`, `scatter_add(rows, dy, &mut SparseRowGrad)`,
//!   `gather_fields(tables, sparse[B,F]) -> [B,F,dim]`, `scatter_fields`.
//! - [`linear_items`]: the embedded FC along the item axis, `[B,N,E] x [N,M] (+ b[M]) -> [B,M,E]`,
//!   `forward`, `forward_into`, `forward_add_into`, `backward(x, w, dy, dw, db) -> dx`,
//!   `backward_into(.., dx, accumulate)` (dx added into an existing gradient).
//! - [`fm`]: factorization machine `(sum_n x)^2 - sum_n x^2` (no 1/2), `[B,N,E] -> [B,E]`.
//! - [`interaction`]: strict lower triangle of `T T^T`, `[B,P,E] -> [B,P(P-1)/2]`.
//! - [`attention`]: one transformer encoder layer (8 heads, FFN 16, two residual LayerNorms):
//!   `forward(x, &AttentionParams, eps) -> (y, AttentionCache)`,
//!   `backward(&cache, &params, dy, &mut AttentionGrads) -> dx`; `AttentionWeights` owns a set
//!   (`init(emb, rng)`, `zeros(emb)`, `.params()`, `.grads()`). The cache keeps the softmax
//!   exponentials up to `PROBS_KEEP_LIMIT` elements (shard large batches, e.g. 128 examples,
//!   to stay under it), else the backward recomputes them; `forward_for_inference` keeps none.
//!   Its buffers come from, and its cache returns them to, the [`workspace`]. The softmax core
//!   runs sixteen lanes wide with AVX-512F, eight with AVX2 + FMA (one kernel body over
//!   `simd_lanes`), else the portable core.
//! - [`workspace`]: per-thread recycled buffers (`take`, `give`, `array`, `give_array`) for
//!   operators whose every output element is written, so repeated steps allocate nothing.
//! - [`init`]: xavier initialisers, LayerNorm parameters, `LN_EPS`, `TRANSFORMER_LN_GAIN`.
//! - [`exp_f32`] / [`Real::exp_inplace`]: the vectorisable exponential of the softmax.
//!
//! Shape mismatches between operands are programming errors of the caller (the network builder
//! derives every shape from a validated genotype), so the operators assert them with a message
//! instead of returning `Result`.

pub mod activation;
pub mod attention;
mod attention_core;
mod attention_head2;
pub mod embedding;
pub mod fm;
pub mod init;
pub mod interaction;
mod kernels;
pub mod layernorm;
pub(crate) mod layout;
pub mod linear;
pub mod linear_items;
pub mod loss;
mod simd_lanes;
pub mod workspace;

/// The floating-point element type of the operators: f32 in production, f64 for gradient checks.
pub trait Real:
    num_traits::Float
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + num_traits::FromPrimitive
    + std::iter::Sum
    + std::ops::AddAssign
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// Replaces every element of `xs` by its exponential. The default is the exact scalar `exp`;
    /// f32 overrides it with a vectorisable version (a few ulp; the softmax hot loop).
    fn exp_inplace(xs: &mut [Self]) {
        xs.iter_mut().for_each(|x| *x = x.exp());
    }

    /// Replaces every element by `exp(x - shift)` and returns their sum (the fused inner step
    /// of a max-shifted softmax).
    fn exp_shifted_sum(xs: &mut [Self], shift: Self) -> Self {
        let mut total = Self::zero();
        for x in xs.iter_mut() {
            *x = (*x - shift).exp();
            total += *x;
        }
        total
    }
}

impl Real for f32 {
    #[inline(always)]
    fn exp_inplace(xs: &mut [Self]) {
        xs.iter_mut().for_each(|x| *x = exp_f32(*x));
    }

    #[inline(always)]
    fn exp_shifted_sum(xs: &mut [Self], shift: Self) -> Self {
        // Eight partial sums so that the loop vectorises (f32 addition is not reassociated).
        let mut acc = [0.0f32; 8];
        let mut chunks = xs.chunks_exact_mut(8);
        for c in &mut chunks {
            for (a, x) in acc.iter_mut().zip(c.iter_mut()) {
                *x = exp_f32(*x - shift);
                *a += *x;
            }
        }
        let mut total = 0.0f32;
        for x in chunks.into_remainder() {
            *x = exp_f32(*x - shift);
            total += *x;
        }
        total + acc.iter().sum::<f32>()
    }
}

impl Real for f64 {}

/// `e^x` for f32 without a libm call, so loops over slices vectorise: `x = n ln2 + r` with
/// `|r| <= ln2 / 2`, `e^r` by its degree-7 Taylor polynomial (truncation < 1e-8 relative) and
/// `2^n` built in the exponent bits. Inputs are clamped to [-87, 88] (results stay normal);
/// NaN stays NaN.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in a high part exact in f32 products and a low correction (Cody-Waite).
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer without a libm call.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // 2^n from the exponent bits: in `n + 127 + 2^23` the integer n + 127 (in 1..=254) fills
    // the low mantissa bits, so no float-to-int conversion (which would not vectorise) is needed.
    const EXPONENT_MAGIC: f32 = 8_388_608.0 + 127.0;
    let biased = (n + EXPONENT_MAGIC).to_bits() & 0x007f_ffff;
    let scale = f32::from_bits(biased << 23);
    p * scale
}

/// Converts an f64 constant into `T` (exact for the small constants the operators use).
#[inline]
pub(crate) fn cst<T: Real>(v: f64) -> T {
    T::from_f64(v).unwrap_or_else(T::nan)
}
