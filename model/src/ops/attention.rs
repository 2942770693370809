//! One transformer encoder layer on `[B, N, E]` (NASRec's `transformer` node after its item
//! projection, nasrec-spec §1): multi-head self-attention (8 heads; E = 16 gives head dim 2;
//! Q/K/V/O projections E x E with biases; softmax of `Q K^T / sqrt(head_dim)`), residual +
//! LayerNorm(E), FFN E -> E ReLU E -> E with biases, residual + LayerNorm(E). No dropout (the
//! reference's dropout is dead code).
//!
//! Parameters are passed as views ([`AttentionParams`]) and gradients as mutable views
//! ([`AttentionGrads`], accumulated with `+=`); [`AttentionWeights`] owns a set and lends both.
//! Weights are `[in, out]` as in [`super::linear`].

use ndarray::{
    Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, ArrayViewMut1, ArrayViewMut2,
    CowArray, Ix1, Ix2,
};
use rand::Rng;

use super::activation::{relu_backward_inplace, relu_inplace};
use super::attention_core::{self, CoreShape};
use super::init::{
    layernorm_params, xavier_uniform, xavier_uniform_with_fans, TRANSFORMER_LN_GAIN,
};
use super::layernorm::{self, LayerNormCache};
use super::{linear, workspace, Real};

/// Number of attention heads (reference `NUM_MHA_HEADS`).
pub const NUM_HEADS: usize = 8;

/// Largest `B * heads * N * N` for which the forward keeps the softmax exponentials for the
/// backward (6 Mi elements, 24 MiB in f32: a 128-example chunk at N = 64, the training
/// engine's chunk, fits). Beyond it the
/// backward recomputes them from each row's log-sum-exp, since a buffer that large costs more in
/// page faults than the exponentials it saves.
pub const PROBS_KEEP_LIMIT: usize = 6 << 20;

/// Read-only views of the encoder layer's parameters (weights `[E, E]`, vectors `[E]`).
#[derive(Debug, Clone)]
pub struct AttentionParams<'a, T> {
    /// Query projection weight.
    pub wq: ArrayView2<'a, T>,
    /// Query projection bias.
    pub bq: ArrayView1<'a, T>,
    /// Key projection weight.
    pub wk: ArrayView2<'a, T>,
    /// Key projection bias.
    pub bk: ArrayView1<'a, T>,
    /// Value projection weight.
    pub wv: ArrayView2<'a, T>,
    /// Value projection bias.
    pub bv: ArrayView1<'a, T>,
    /// Output projection weight.
    pub wo: ArrayView2<'a, T>,
    /// Output projection bias.
    pub bo: ArrayView1<'a, T>,
    /// Gain of the LayerNorm after the attention residual.
    pub ln1_gamma: ArrayView1<'a, T>,
    /// Bias of the LayerNorm after the attention residual.
    pub ln1_beta: ArrayView1<'a, T>,
    /// First FFN weight.
    pub ffn1_w: ArrayView2<'a, T>,
    /// First FFN bias.
    pub ffn1_b: ArrayView1<'a, T>,
    /// Second FFN weight.
    pub ffn2_w: ArrayView2<'a, T>,
    /// Second FFN bias.
    pub ffn2_b: ArrayView1<'a, T>,
    /// Gain of the LayerNorm after the FFN residual.
    pub ln2_gamma: ArrayView1<'a, T>,
    /// Bias of the LayerNorm after the FFN residual.
    pub ln2_beta: ArrayView1<'a, T>,
}

/// Mutable views receiving the gradients (accumulated, `+=`), one per field of [`AttentionParams`].
#[derive(Debug)]
#[allow(missing_docs)]
pub struct AttentionGrads<'a, T> {
    pub wq: ArrayViewMut2<'a, T>,
    pub bq: ArrayViewMut1<'a, T>,
    pub wk: ArrayViewMut2<'a, T>,
    pub bk: ArrayViewMut1<'a, T>,
    pub wv: ArrayViewMut2<'a, T>,
    pub bv: ArrayViewMut1<'a, T>,
    pub wo: ArrayViewMut2<'a, T>,
    pub bo: ArrayViewMut1<'a, T>,
    pub ln1_gamma: ArrayViewMut1<'a, T>,
    pub ln1_beta: ArrayViewMut1<'a, T>,
    pub ffn1_w: ArrayViewMut2<'a, T>,
    pub ffn1_b: ArrayViewMut1<'a, T>,
    pub ffn2_w: ArrayViewMut2<'a, T>,
    pub ffn2_b: ArrayViewMut1<'a, T>,
    pub ln2_gamma: ArrayViewMut1<'a, T>,
    pub ln2_beta: ArrayViewMut1<'a, T>,
}

/// An owned parameter set (also usable as a gradient buffer), lending [`AttentionParams`] and
/// [`AttentionGrads`].
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct AttentionWeights<T> {
    pub wq: Array2<T>,
    pub bq: Array1<T>,
    pub wk: Array2<T>,
    pub bk: Array1<T>,
    pub wv: Array2<T>,
    pub bv: Array1<T>,
    pub wo: Array2<T>,
    pub bo: Array1<T>,
    pub ln1_gamma: Array1<T>,
    pub ln1_beta: Array1<T>,
    pub ffn1_w: Array2<T>,
    pub ffn1_b: Array1<T>,
    pub ffn2_w: Array2<T>,
    pub ffn2_b: Array1<T>,
    pub ln2_gamma: Array1<T>,
    pub ln2_beta: Array1<T>,
}

impl<T: Real> AttentionWeights<T> {
    /// All-zero weights of embedding width `emb` (a gradient buffer).
    pub fn zeros(emb: usize) -> Self {
        let m = || Array2::zeros((emb, emb));
        let v = || Array1::zeros(emb);
        Self {
            wq: m(),
            bq: v(),
            wk: m(),
            bk: v(),
            wv: m(),
            bv: v(),
            wo: m(),
            bo: v(),
            ln1_gamma: v(),
            ln1_beta: v(),
            ffn1_w: m(),
            ffn1_b: v(),
            ffn2_w: m(),
            ffn2_b: v(),
            ln2_gamma: v(),
            ln2_beta: v(),
        }
    }

    /// Reference initialisation: the Q/K/V weights are thirds of PyTorch's packed `[3E, E]`
    /// in-projection, xavier-uniform over that packed shape; the output projection and the FFN
    /// are xavier-uniform `E x E`; biases are zero; both LayerNorm gains are 0.17.
    pub fn init<R: Rng + ?Sized>(emb: usize, rng: &mut R) -> Self {
        let mut w = Self::zeros(emb);
        w.wq = xavier_uniform_with_fans(rng, (emb, emb), 4 * emb);
        w.wk = xavier_uniform_with_fans(rng, (emb, emb), 4 * emb);
        w.wv = xavier_uniform_with_fans(rng, (emb, emb), 4 * emb);
        w.wo = xavier_uniform(rng, emb, emb);
        w.ffn1_w = xavier_uniform(rng, emb, emb);
        w.ffn2_w = xavier_uniform(rng, emb, emb);
        (w.ln1_gamma, w.ln1_beta) = layernorm_params(emb, TRANSFORMER_LN_GAIN);
        (w.ln2_gamma, w.ln2_beta) = layernorm_params(emb, TRANSFORMER_LN_GAIN);
        w
    }

    /// Views of the parameters.
    pub fn params(&self) -> AttentionParams<'_, T> {
        AttentionParams {
            wq: self.wq.view(),
            bq: self.bq.view(),
            wk: self.wk.view(),
            bk: self.bk.view(),
            wv: self.wv.view(),
            bv: self.bv.view(),
            wo: self.wo.view(),
            bo: self.bo.view(),
            ln1_gamma: self.ln1_gamma.view(),
            ln1_beta: self.ln1_beta.view(),
            ffn1_w: self.ffn1_w.view(),
            ffn1_b: self.ffn1_b.view(),
            ffn2_w: self.ffn2_w.view(),
            ffn2_b: self.ffn2_b.view(),
            ln2_gamma: self.ln2_gamma.view(),
            ln2_beta: self.ln2_beta.view(),
        }
    }

    /// Mutable views, to receive gradients.
    pub fn grads(&mut self) -> AttentionGrads<'_, T> {
        AttentionGrads {
            wq: self.wq.view_mut(),
            bq: self.bq.view_mut(),
            wk: self.wk.view_mut(),
            bk: self.bk.view_mut(),
            wv: self.wv.view_mut(),
            bv: self.bv.view_mut(),
            wo: self.wo.view_mut(),
            bo: self.bo.view_mut(),
            ln1_gamma: self.ln1_gamma.view_mut(),
            ln1_beta: self.ln1_beta.view_mut(),
            ffn1_w: self.ffn1_w.view_mut(),
            ffn1_b: self.ffn1_b.view_mut(),
            ffn2_w: self.ffn2_w.view_mut(),
            ffn2_b: self.ffn2_b.view_mut(),
            ln2_gamma: self.ln2_gamma.view_mut(),
            ln2_beta: self.ln2_beta.view_mut(),
        }
    }
}

/// What [`backward`] needs from [`forward`]. Row-major `[B*N, E]` activations.
#[derive(Debug, Clone)]
pub struct AttentionCache<T> {
    batch: usize,
    items: usize,
    x: Array2<T>,
    q: Array2<T>,
    k: Array2<T>,
    v: Array2<T>,
    /// Each softmax row's maximum and its sum of shifted exponentials, `[2, B, heads, N]`
    /// flattened: the probabilities are recomputed from them (log-sum-exp `max + ln(sum)`)
    /// when they were not kept.
    row_stats: Vec<T>,
    /// The shifted exponentials `exp(s - max)` `[B, heads, N, N]` (probabilities times their row sum), kept when they fit in
    /// [`PROBS_KEEP_LIMIT`] elements; otherwise the backward recomputes them from `row_stats`.
    probs: Option<Vec<T>>,
    /// Hands every buffer back to the thread's [`workspace`] when the cache is dropped (a
    /// function pointer so that `Drop` needs no `T: Real` bound).
    recycle: fn(&mut AttentionCache<T>),
    scale: T,
    ctx: Array2<T>,
    ln1: LayerNormCache<T>,
    h1: Array2<T>,
    a1: Array2<T>,
    ln2: LayerNormCache<T>,
}

impl<T: Real> AttentionCache<T> {
    /// True when the forward kept the softmax probabilities (see [`PROBS_KEEP_LIMIT`]).
    pub fn keeps_probs(&self) -> bool {
        self.probs.is_some()
    }

    /// Drops the kept probabilities to save memory; the backward then recomputes them from
    /// each row's log-sum-exp (same result up to rounding).
    pub fn forget_probs(&mut self) {
        if let Some(p) = self.probs.take() {
            workspace::give(p);
        }
    }

    /// The softmax probabilities of example `b`, head `h`: row i is the distribution of query i
    /// over the N keys (`[N, N]`).
    ///
    /// # Panics
    /// If `b` or `h` is out of range.
    pub fn probs(&self, b: usize, h: usize) -> Array2<T> {
        assert!(
            b < self.batch && h < NUM_HEADS,
            "attention probs: ({b}, {h}) out of range"
        );
        let n = self.items;
        let emb = self.x.ncols();
        let dh = emb / NUM_HEADS;
        let off = b * n * emb + h * dh;
        let mut kt = vec![T::zero(); dh * n];
        attention_core::head_major(slice_of(&self.k), off, emb, dh, &mut kt);
        let mut out = Array2::zeros((n, n));
        let mut buf = vec![T::zero(); n];
        for (i, mut row) in out.rows_mut().into_iter().enumerate() {
            let qi = &slice_of(&self.q)[off + i * emb..][..dh];
            attention_core::scores_max(qi, &kt, self.scale, &mut buf);
            let stat = (b * NUM_HEADS + h) * n + i;
            let rows = self.batch * NUM_HEADS * n;
            let log_sum_exp = self.row_stats[stat] + self.row_stats[rows + stat].ln();
            T::exp_shifted_sum(&mut buf, log_sum_exp);
            row.assign(&ndarray::ArrayView1::from(&buf[..]));
        }
        out
    }
}

impl<T> Drop for AttentionCache<T> {
    fn drop(&mut self) {
        (self.recycle)(self);
    }
}

/// The [`AttentionCache::recycle`] of real element types: every buffer back to the pool.
fn recycle_cache<T: Real>(c: &mut AttentionCache<T>) {
    for a in [
        &mut c.x, &mut c.q, &mut c.k, &mut c.v, &mut c.ctx, &mut c.h1, &mut c.a1,
    ] {
        workspace::give_from(a);
    }
    for ln in [&mut c.ln1, &mut c.ln2] {
        workspace::give_from(&mut ln.xhat);
        workspace::give_from(&mut ln.inv_std);
    }
    workspace::give(std::mem::take(&mut c.row_stats));
    if let Some(p) = c.probs.take() {
        workspace::give(p);
    }
}

fn head_dim(emb: usize) -> usize {
    assert!(
        emb.is_multiple_of(NUM_HEADS) && emb > 0,
        "attention: embedding width {emb} is not a positive multiple of {NUM_HEADS} heads"
    );
    emb / NUM_HEADS
}

/// Forward pass of the encoder layer on `x [B, N, E]`; `eps` is the LayerNorms' epsilon.
///
/// # Panics
/// If E is not a positive multiple of [`NUM_HEADS`] or a parameter is not `E x E` / `E`.
pub fn forward<T: Real>(
    x: ArrayView3<T>,
    p: &AttentionParams<'_, T>,
    eps: T,
) -> (Array3<T>, AttentionCache<T>) {
    forward_keeping(x, p, eps, true)
}

/// [`forward`] when no backward follows (prediction, validation): the same output, bit for bit,
/// without writing the softmax exponentials (up to 26 MiB per 128-example chunk at N = 64) that
/// only a backward reads.
///
/// # Panics
/// As [`forward`].
pub fn forward_for_inference<T: Real>(
    x: ArrayView3<T>,
    p: &AttentionParams<'_, T>,
    eps: T,
) -> Array3<T> {
    forward_keeping(x, p, eps, false).0
}

/// [`forward`], keeping the softmax exponentials for the backward when `keep_probs` (and they
/// fit in [`PROBS_KEEP_LIMIT`]).
fn forward_keeping<T: Real>(
    x: ArrayView3<T>,
    p: &AttentionParams<'_, T>,
    eps: T,
    keep_probs: bool,
) -> (Array3<T>, AttentionCache<T>) {
    let (batch, items, emb) = x.dim();
    let dh = head_dim(emb);
    let x2 = merge_items(x);
    let q = projected(&x2, &p.wq, &p.bq);
    let k = projected(&x2, &p.wk, &p.bk);
    let v = projected(&x2, &p.wv, &p.bv);
    let scale = T::one() / T::from_usize(dh).unwrap_or_else(T::one).sqrt();
    let mut row_stats = workspace::take(2 * batch * NUM_HEADS * items, T::zero());
    let prob_count = batch * NUM_HEADS * items * items;
    let mut probs = (keep_probs && prob_count <= PROBS_KEEP_LIMIT)
        .then(|| workspace::take(prob_count, T::zero()));
    let mut ctx = workspace::array(Ix2(batch * items, emb), T::zero());
    let shape = CoreShape {
        batch,
        items,
        heads: NUM_HEADS,
        dh,
    };
    attention_core::forward(
        shape,
        scale,
        (slice_of(&q), slice_of(&k), slice_of(&v)),
        &mut row_stats,
        probs.as_deref_mut(),
        ctx.as_slice_mut().unwrap_or(&mut []),
    );
    let mut r1 = projected(&ctx, &p.wo, &p.bo);
    r1 += &x2;
    let (h1, ln1) = normalized(r1, &p.ln1_gamma, &p.ln1_beta, eps);
    let mut a1 = projected(&h1, &p.ffn1_w, &p.ffn1_b);
    relu_inplace(a1.view_mut());
    let mut r2 = projected(&a1, &p.ffn2_w, &p.ffn2_b);
    r2 += &h1;
    let (out, ln2) = normalized(r2, &p.ln2_gamma, &p.ln2_beta, eps);
    let out = split_items(out, batch, items);
    (
        out,
        AttentionCache {
            batch,
            items,
            x: x2,
            q,
            k,
            v,
            row_stats,
            probs,
            recycle: recycle_cache::<T>,
            scale,
            ctx,
            ln1,
            h1,
            a1,
            ln2,
        },
    )
}

/// `x w + b` into a recycled buffer.
fn projected<T: Real>(x: &Array2<T>, w: &ArrayView2<T>, b: &ArrayView1<T>) -> Array2<T> {
    let mut y = workspace::array(Ix2(x.nrows(), w.ncols()), T::zero());
    linear::forward_into(x.view(), w.view(), Some(b.view()), y.view_mut());
    y
}

/// LayerNorm of `x` (handed back to the pool) into recycled buffers: the output and its cache.
fn normalized<T: Real>(
    x: Array2<T>,
    gamma: &ArrayView1<T>,
    beta: &ArrayView1<T>,
    eps: T,
) -> (Array2<T>, LayerNormCache<T>) {
    let mut y = workspace::array(x.raw_dim(), T::zero());
    let mut cache = LayerNormCache {
        xhat: workspace::array(x.raw_dim(), T::zero()),
        inv_std: workspace::array(Ix1(x.nrows()), T::zero()),
    };
    layernorm::forward_into(
        x.view(),
        gamma.view(),
        beta.view(),
        eps,
        y.view_mut(),
        &mut cache,
    );
    workspace::give_array(x);
    (y, cache)
}

fn slice_of<T>(a: &Array2<T>) -> &[T] {
    // Every array here is freshly allocated in standard layout.
    a.as_slice().unwrap_or(&[])
}

/// Backward pass: accumulates every parameter gradient into `g` and returns `dx [B, N, E]`.
///
/// # Panics
/// If `dy` does not have the forward output's shape.
pub fn backward<T: Real>(
    cache: &AttentionCache<T>,
    p: &AttentionParams<'_, T>,
    dy: ArrayView3<T>,
    g: &mut AttentionGrads<'_, T>,
) -> Array3<T> {
    let (batch, items) = (cache.batch, cache.items);
    let emb = cache.x.ncols();
    let dh = head_dim(emb);
    assert_eq!(
        dy.dim(),
        (batch, items, emb),
        "attention backward: dy is {:?}, expected {:?}",
        dy.dim(),
        (batch, items, emb)
    );
    // A contiguous dy is read as [B*N, E] in place; any other layout is copied once.
    let dy2: CowArray<'_, T, Ix2> = match dy.into_shape_with_order(Ix2(batch * items, emb)) {
        Ok(view) => view.into(),
        Err(_) => merge_items(dy).into(),
    };
    let ln2_grads = (&mut g.ln2_gamma, &mut g.ln2_beta);
    let dr2 = normalized_backward_view(&cache.ln2, &p.ln2_gamma, dy2.view(), ln2_grads);
    let mut da1 = projected_backward(&cache.a1, &p.ffn2_w, &dr2, (&mut g.ffn2_w, &mut g.ffn2_b));
    relu_backward_inplace(cache.a1.view(), da1.view_mut());
    let mut dh1 = projected_backward(&cache.h1, &p.ffn1_w, &da1, (&mut g.ffn1_w, &mut g.ffn1_b));
    workspace::give_array(da1);
    dh1 += &dr2;
    workspace::give_array(dr2);
    let dr1 = normalized_backward(
        &cache.ln1,
        &p.ln1_gamma,
        dh1,
        (&mut g.ln1_gamma, &mut g.ln1_beta),
    );
    let dctx = projected_backward(&cache.ctx, &p.wo, &dr1, (&mut g.wo, &mut g.bo));

    let scale = cache.scale;
    // Overwritten by the core: recycled buffers need no clearing.
    let rows = Ix2(batch * items, emb);
    let (mut dq, mut dk, mut dv) = (
        workspace::array(rows, T::zero()),
        workspace::array(rows, T::zero()),
        workspace::array(rows, T::zero()),
    );
    let shape = CoreShape {
        batch,
        items,
        heads: NUM_HEADS,
        dh,
    };
    attention_core::backward(
        shape,
        scale,
        (slice_of(&cache.q), slice_of(&cache.k), slice_of(&cache.v)),
        &cache.row_stats,
        cache.probs.as_deref(),
        slice_of(&dctx),
        (
            dq.as_slice_mut().unwrap_or(&mut []),
            dk.as_slice_mut().unwrap_or(&mut []),
            dv.as_slice_mut().unwrap_or(&mut []),
        ),
    );
    workspace::give_array(dctx);
    let mut dx = dr1;
    for (w, d, gw, gb) in [
        (&p.wq, dq, &mut g.wq, &mut g.bq),
        (&p.wk, dk, &mut g.wk, &mut g.bk),
        (&p.wv, dv, &mut g.wv, &mut g.bv),
    ] {
        linear::backward_params(cache.x.view(), d.view(), gw.view_mut(), Some(gb.view_mut()));
        linear::backward_input_into(w.view(), d.view(), dx.view_mut(), true);
        workspace::give_array(d);
    }
    split_items(dx, batch, items)
}

/// The backward of [`normalized`]: `dx` of `dy` (handed back to the pool) in a recycled buffer.
fn normalized_backward<T: Real>(
    cache: &LayerNormCache<T>,
    gamma: &ArrayView1<T>,
    dy: Array2<T>,
    grads: (&mut ArrayViewMut1<T>, &mut ArrayViewMut1<T>),
) -> Array2<T> {
    let dx = normalized_backward_view(cache, gamma, dy.view(), grads);
    workspace::give_array(dy);
    dx
}

/// [`normalized_backward`] of a borrowed `dy`.
fn normalized_backward_view<T: Real>(
    cache: &LayerNormCache<T>,
    gamma: &ArrayView1<T>,
    dy: ArrayView2<T>,
    (dgamma, dbeta): (&mut ArrayViewMut1<T>, &mut ArrayViewMut1<T>),
) -> Array2<T> {
    let mut dx = workspace::array(dy.raw_dim(), T::zero());
    layernorm::backward_into(
        cache,
        gamma.view(),
        dy,
        dgamma.view_mut(),
        dbeta.view_mut(),
        dx.view_mut(),
    );
    dx
}

/// The backward of [`projected`]: parameter gradients accumulated, `dx` in a recycled buffer.
fn projected_backward<T: Real>(
    x: &Array2<T>,
    w: &ArrayView2<T>,
    dy: &Array2<T>,
    (dw, db): (&mut ArrayViewMut2<T>, &mut ArrayViewMut1<T>),
) -> Array2<T> {
    linear::backward_params(x.view(), dy.view(), dw.view_mut(), Some(db.view_mut()));
    let mut dx = workspace::array(Ix2(dy.nrows(), w.nrows()), T::zero());
    linear::backward_input_into(w.view(), dy.view(), dx.view_mut(), false);
    dx
}

/// `[B, N, E]` -> `[B*N, E]`: a copy in standard layout, in a recycled buffer.
fn merge_items<T: Real>(x: ArrayView3<T>) -> Array2<T> {
    let (batch, items, emb) = x.dim();
    let mut out = workspace::array(Ix2(batch * items, emb), T::zero());
    match (x.as_slice(), out.as_slice_mut()) {
        (Some(src), Some(dst)) => dst.copy_from_slice(src),
        _ => out.iter_mut().zip(x.iter()).for_each(|(o, &v)| *o = v),
    }
    out
}

/// `[B*N, E]` -> `[B, N, E]` for an owned array (always freshly allocated in standard layout here).
fn split_items<T: Real>(x: Array2<T>, batch: usize, items: usize) -> Array3<T> {
    let emb = x.ncols();
    x.into_shape_with_order((batch, items, emb))
        .expect("a standard-layout array reshapes to the same number of elements")
}
