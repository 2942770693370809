//! The scaled dot-product core of [`super::attention`]: per (example, head), softmax of
//! `scale * Q K^T` times V, and its backward. NASRec's heads are 2 wide (E = 16, 8 heads), so
//! a score is only two multiply-adds: the loops run ACROSS KEYS over head-major `[dh, N]`
//! copies of K and V. Each per-row step is a plain element-wise pass over the N keys (which the
//! loop vectoriser handles reliably; fusing several into one loop defeated it) or a reduction
//! with eight explicit partial sums, all on one row held in L1.
//!
//! The kernels are compiled twice: for the x86-64 baseline and with AVX2 enabled, chosen at run
//! time. The AVX2 copy executes the same operations in the same order (no FMA contraction, the
//! same eight partial sums), only on wider registers, so both give bit-identical results.

use super::attention_head2;
use super::kernels::{dot, LANES};
use super::Real;

/// Shapes of one call: `batch` examples of `items` rows, `heads` heads of `dh` dimensions,
/// rows `[B*N, heads*dh]` in standard layout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CoreShape {
    pub batch: usize,
    pub items: usize,
    pub heads: usize,
    pub dh: usize,
}

impl CoreShape {
    fn emb(&self) -> usize {
        self.heads * self.dh
    }
}

/// Forward: writes `ctx [B*N, E]` and each softmax row's statistics into `stats [2, B, heads, N]`
/// (the row maxima, or for [`attention_head2`] a shift at least as large, then the sums of the shifted exponentials: the log-sum-exp is
/// `max + ln(sum)`, taken only when the backward must recompute the probabilities),
/// and, when `probs` is given (`B * heads * N * N` long, overwritten), the shifted exponentials
/// `exp(s - max)` `[B, heads, N, N]` (the probabilities times their row sum: dividing here
/// would cost a pass over every row, the backward divides as it reads).
///
/// For 2-wide heads in f32 on a CPU with AVX2 + FMA this runs [`attention_head2`].
pub(crate) fn forward<T: Real>(
    shape: CoreShape,
    scale: T,
    (q, k, v): (&[T], &[T], &[T]),
    stats: &mut [T],
    mut probs: Option<&mut [T]>,
    ctx: &mut [T],
) {
    if attention_head2::try_forward(shape, scale, (q, k, v), stats, probs.as_deref_mut(), ctx) {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `forward_avx2` only requires that the CPU supports AVX2, checked just above.
        unsafe { forward_avx2(shape, scale, (q, k, v), stats, probs, ctx) };
        return;
    }
    forward_body(shape, scale, (q, k, v), stats, probs, ctx);
}

/// Backward: from `dctx [B*N, E]` writes `dq`, `dk`, `dv` (each `[B*N, E]`, overwritten).
/// The probabilities are read from `probs` when kept, else recomputed from `stats`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<T: Real>(
    shape: CoreShape,
    scale: T,
    (q, k, v): (&[T], &[T], &[T]),
    stats: &[T],
    probs: Option<&[T]>,
    dctx: &[T],
    (dq, dk, dv): (&mut [T], &mut [T], &mut [T]),
) {
    let grads = (&mut *dq, &mut *dk, &mut *dv);
    if attention_head2::try_backward(shape, scale, (q, k, v), stats, probs, dctx, grads) {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `backward_avx2` only requires that the CPU supports AVX2, checked just above.
        unsafe { backward_avx2(shape, scale, (q, k, v), stats, probs, dctx, (dq, dk, dv)) };
        return;
    }
    backward_body(shape, scale, (q, k, v), stats, probs, dctx, (dq, dk, dv));
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
/// # Safety
/// The CPU must support AVX2.
unsafe fn forward_avx2<T: Real>(
    shape: CoreShape,
    scale: T,
    qkv: (&[T], &[T], &[T]),
    stats: &mut [T],
    probs: Option<&mut [T]>,
    ctx: &mut [T],
) {
    forward_body(shape, scale, qkv, stats, probs, ctx);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
/// # Safety
/// The CPU must support AVX2.
unsafe fn backward_avx2<T: Real>(
    shape: CoreShape,
    scale: T,
    qkv: (&[T], &[T], &[T]),
    stats: &[T],
    probs: Option<&[T]>,
    dctx: &[T],
    grads: (&mut [T], &mut [T], &mut [T]),
) {
    backward_body(shape, scale, qkv, stats, probs, dctx, grads);
}

/// Copies the `dh` columns at `off` of rows `off + j*emb` (j < N) of `a` into head-major
/// `out [dh, N]`.
#[inline(always)]
pub(crate) fn head_major<T: Real>(a: &[T], off: usize, emb: usize, dh: usize, out: &mut [T]) {
    let items = out.len() / dh.max(1);
    for d in 0..dh {
        let dst = &mut out[d * items..(d + 1) * items];
        for (j, o) in dst.iter_mut().enumerate() {
            *o = a[off + j * emb + d];
        }
    }
}

/// Inverse of [`head_major`]: writes head-major `src [dh, N]` into the `dh` columns at `off`.
#[inline(always)]
fn scatter_head<T: Real>(src: &[T], off: usize, emb: usize, dh: usize, a: &mut [T]) {
    let items = src.len() / dh.max(1);
    for j in 0..items {
        for d in 0..dh {
            a[off + j * emb + d] = src[d * items + j];
        }
    }
}

/// `row[j] = sum_d (scale q_d) kt[d][j]`, returning the row maximum.
#[inline(always)]
pub(crate) fn scores_max<T: Real>(qi: &[T], kt: &[T], scale: T, row: &mut [T]) -> T {
    let n = row.len();
    if qi.len() == 2 {
        return scores_max2(qi[0] * scale, qi[1] * scale, &kt[..n], &kt[n..2 * n], row);
    }
    row.iter_mut().for_each(|r| *r = T::zero());
    for (d, &qd) in qi.iter().enumerate() {
        let a = qd * scale;
        for (r, &x) in row.iter_mut().zip(&kt[d * n..(d + 1) * n]) {
            *r += a * x;
        }
    }
    lane_max(row)
}

#[inline(always)]
fn lane_max<T: Real>(row: &[T]) -> T {
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    let mut m = [T::neg_infinity(); LANES];
    for c in chunks {
        for l in 0..LANES {
            m[l] = if c[l] > m[l] { c[l] } else { m[l] };
        }
    }
    let mut max = T::neg_infinity();
    for &s in m.iter().chain(tail) {
        max = if s > max { s } else { max };
    }
    max
}

/// Head dim 2: the scores (a plain element-wise pass, which the loop vectoriser handles
/// reliably), then their maximum over eight lanes.
#[inline(always)]
fn scores_max2<T: Real>(a0: T, a1: T, k0: &[T], k1: &[T], row: &mut [T]) -> T {
    for ((r, &x0), &x1) in row.iter_mut().zip(k0).zip(k1) {
        // Same expression as the generic path (0 + a0 k0 + a1 k1), so both agree bitwise.
        *r = (T::zero() + a0 * x0) + a1 * x1;
    }
    lane_max(row)
}

/// Head dim 2: `(sum_j e_j v0_j, sum_j e_j v1_j)`, two separate passes over the row (one fused
/// pass was measured slower: the loop vectoriser turned it into 4-wide code).
#[inline(always)]
fn context2<T: Real>(row: &[T], v0: &[T], v1: &[T]) -> (T, T) {
    (dot(row, v0), dot(row, v1))
}

#[inline(always)]
fn forward_body<T: Real>(
    shape: CoreShape,
    scale: T,
    (qs, ks, vs): (&[T], &[T], &[T]),
    stats: &mut [T],
    mut probs: Option<&mut [T]>,
    cs: &mut [T],
) {
    let CoreShape {
        batch,
        items,
        heads,
        dh,
    } = shape;
    let emb = shape.emb();
    let mut kt = vec![T::zero(); dh * items];
    let mut vt = vec![T::zero(); dh * items];
    let mut scratch = vec![T::zero(); items];
    for b in 0..batch {
        for h in 0..heads {
            let off = b * items * emb + h * dh;
            head_major(ks, off, emb, dh, &mut kt);
            head_major(vs, off, emb, dh, &mut vt);
            // The kept exponentials are computed in place in their final slot (the caller's
            // buffer, recycled across steps): one write per element, no zeroing pass.
            let mut block = probs
                .as_deref_mut()
                .map(|p| &mut p[(b * heads + h) * items * items..][..items * items]);
            for i in 0..items {
                let row: &mut [T] = match block.as_deref_mut() {
                    Some(bl) => &mut bl[i * items..(i + 1) * items],
                    None => &mut scratch,
                };
                let qi = &qs[off + i * emb..][..dh];
                let max = scores_max(qi, &kt, scale, row);
                let total = T::exp_shifted_sum(row, max);
                let stat = (b * heads + h) * items + i;
                stats[stat] = max;
                stats[batch * heads * items + stat] = total;
                let inv = T::one() / total;
                let ci = &mut cs[off + i * emb..][..dh];
                if dh == 2 {
                    let (c0, c1) = context2(row, &vt[..items], &vt[items..]);
                    ci[0] = c0 * inv;
                    ci[1] = c1 * inv;
                } else {
                    for (d, c) in ci.iter_mut().enumerate() {
                        *c = dot(row, &vt[d * items..(d + 1) * items]) * inv;
                    }
                }
            }
        }
    }
}

/// Head dim 2, first backward step over one row: `dp_j = c0 v0_j + c1 v1_j`,
/// `dv_d_j += c_d p_j`, returning `<p, dp>`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn dp_dv2<T: Real>(
    p: &[T],
    (c0, c1): (T, T),
    v0: &[T],
    v1: &[T],
    dv0: &mut [T],
    dv1: &mut [T],
    dp: &mut [T],
) -> T {
    for ((o, &x0), &x1) in dp.iter_mut().zip(v0).zip(v1) {
        *o = (T::zero() + c0 * x0) + c1 * x1;
    }
    for (g, &pj) in dv0.iter_mut().zip(p) {
        *g += c0 * pj;
    }
    for (g, &pj) in dv1.iter_mut().zip(p) {
        *g += c1 * pj;
    }
    dot(p, dp)
}

/// Head dim 2, second backward step: `ds_j = scale p_j (dp_j - weighted)` (in place of `dp`),
/// `dk_d_j += q_d ds_j`, returning `(sum_j ds_j k0_j, sum_j ds_j k1_j)` (the dQ row).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn ds_dk2<T: Real>(
    p: &[T],
    dp: &mut [T],
    weighted: T,
    scale: T,
    (q0, q1): (T, T),
    (k0, k1): (&[T], &[T]),
    dk0: &mut [T],
    dk1: &mut [T],
) -> (T, T) {
    for (d, &pj) in dp.iter_mut().zip(p) {
        *d = pj * (*d - weighted) * scale;
    }
    for (g, &ds) in dk0.iter_mut().zip(dp.iter()) {
        *g += q0 * ds;
    }
    for (g, &ds) in dk1.iter_mut().zip(dp.iter()) {
        *g += q1 * ds;
    }
    (dot(dp, k0), dot(dp, k1))
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn backward_body<T: Real>(
    shape: CoreShape,
    scale: T,
    (qs, ks, vs): (&[T], &[T], &[T]),
    stats: &[T],
    probs: Option<&[T]>,
    dcs: &[T],
    (dqs, dks, dvs): (&mut [T], &mut [T], &mut [T]),
) {
    let CoreShape {
        batch,
        items,
        heads,
        dh,
    } = shape;
    let emb = shape.emb();
    let n = items;
    let mut kt = vec![T::zero(); dh * n];
    let mut vt = vec![T::zero(); dh * n];
    let mut dkt = vec![T::zero(); dh * n];
    let mut dvt = vec![T::zero(); dh * n];
    let mut recomputed = vec![T::zero(); n];
    let mut dp = vec![T::zero(); n];
    for b in 0..batch {
        for h in 0..heads {
            let off = b * n * emb + h * dh;
            head_major(ks, off, emb, dh, &mut kt);
            head_major(vs, off, emb, dh, &mut vt);
            dkt.iter_mut()
                .chain(dvt.iter_mut())
                .for_each(|v| *v = T::zero());
            for i in 0..n {
                let qi = &qs[off + i * emb..][..dh];
                let dci = &dcs[off + i * emb..][..dh];
                let row = (b * heads + h) * n + i;
                let prob: &[T] = match probs {
                    Some(kept) => {
                        // Kept are the shifted exponentials; the forward divided its context
                        // sums by the row sum, and so does this product.
                        let inv = T::one() / stats[batch * heads * n + row];
                        for (p, &e) in recomputed.iter_mut().zip(&kept[row * n..(row + 1) * n]) {
                            *p = e * inv;
                        }
                        &recomputed
                    }
                    None => {
                        // Recompute the probabilities from the stored log-sum-exp.
                        scores_max(qi, &kt, scale, &mut recomputed);
                        let log_sum_exp = stats[row] + stats[batch * heads * n + row].ln();
                        T::exp_shifted_sum(&mut recomputed, log_sum_exp);
                        &recomputed
                    }
                };
                let dqi = &mut dqs[off + i * emb..][..dh];
                if dh == 2 {
                    let (v0, v1) = vt.split_at(n);
                    let (dv0, dv1) = dvt.split_at_mut(n);
                    let weighted = dp_dv2(prob, (dci[0], dci[1]), v0, v1, dv0, dv1, &mut dp);
                    let (dk0, dk1) = dkt.split_at_mut(n);
                    let (g0, g1) = ds_dk2(
                        prob,
                        &mut dp,
                        weighted,
                        scale,
                        (qi[0], qi[1]),
                        (&kt[..n], &kt[n..]),
                        dk0,
                        dk1,
                    );
                    dqi[0] = g0;
                    dqi[1] = g1;
                    continue;
                }
                // Any other head width: dP_ij = <dctx_i, v_j>; dV_j += P_ij dctx_i.
                dp.iter_mut().for_each(|d| *d = T::zero());
                for (d, &c) in dci.iter().enumerate() {
                    for (o, &x) in dp.iter_mut().zip(&vt[d * n..(d + 1) * n]) {
                        *o += c * x;
                    }
                    for (g, &p) in dvt[d * n..(d + 1) * n].iter_mut().zip(prob) {
                        *g += c * p;
                    }
                }
                // Softmax backward (dS = P (dP - <P, dP>)), scaled into Q and K.
                let weighted = dot(prob, &dp);
                for (d, &p) in dp.iter_mut().zip(prob) {
                    *d = p * (*d - weighted) * scale;
                }
                for (d, (a, &qd)) in dqi.iter_mut().zip(qi).enumerate() {
                    *a = dot(&dp, &kt[d * n..(d + 1) * n]);
                    for (g, &s) in dkt[d * n..(d + 1) * n].iter_mut().zip(&dp) {
                        *g += qd * s;
                    }
                }
            }
            scatter_head(&dkt, off, emb, dh, dks);
            scatter_head(&dvt, off, emb, dh, dvs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(seed: u64, len: usize) -> Vec<f32> {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        (0..len).map(|_| r.random_range(-2.0f32..2.0)).collect()
    }

    /// Outputs of one forward + backward: ctx, stats, probs, dq, dk, dv.
    type Outputs = [Vec<f32>; 6];

    fn run(shape: CoreShape, keep: bool, avx2: bool) -> Outputs {
        let rows = shape.batch * shape.items * shape.emb();
        let (q, k, v, dctx) = (
            random(1, rows),
            random(2, rows),
            random(3, rows),
            random(4, rows),
        );
        let scale = 1.0 / (shape.dh as f32).sqrt();
        let mut stats = vec![0.0; 2 * shape.batch * shape.heads * shape.items];
        let mut probs = if keep {
            vec![f32::NAN; shape.batch * shape.heads * shape.items * shape.items]
        } else {
            Vec::new()
        };
        let mut ctx = vec![0.0; rows];
        let kept = keep.then_some(&mut probs[..]);
        #[cfg(target_arch = "x86_64")]
        if avx2 {
            // SAFETY: callers pass `avx2` only after checking the CPU supports AVX2.
            unsafe { forward_avx2(shape, scale, (&q, &k, &v), &mut stats, kept, &mut ctx) };
        } else {
            forward_body(shape, scale, (&q, &k, &v), &mut stats, kept, &mut ctx);
        }
        #[cfg(not(target_arch = "x86_64"))]
        forward_body(shape, scale, (&q, &k, &v), &mut stats, kept, &mut ctx);
        let (mut dq, mut dk, mut dv) = (vec![0.0; rows], vec![0.0; rows], vec![0.0; rows]);
        let p = keep.then_some(&probs[..]);
        let grads = (&mut dq[..], &mut dk[..], &mut dv[..]);
        #[cfg(target_arch = "x86_64")]
        if avx2 {
            // SAFETY: as above.
            unsafe { backward_avx2(shape, scale, (&q, &k, &v), &stats, p, &dctx, grads) };
        } else {
            backward_body(shape, scale, (&q, &k, &v), &stats, p, &dctx, grads);
        }
        #[cfg(not(target_arch = "x86_64"))]
        backward_body(shape, scale, (&q, &k, &v), &stats, p, &dctx, grads);
        [ctx, stats, probs, dq, dk, dv]
    }

    /// Textbook attention in f64 (softmax of scaled scores, context, and the softmax backward
    /// dS = P (dP - rowsum(dP P)) with dP = dctx V^T), one (example, head) at a time.
    fn reference(shape: CoreShape) -> [Vec<f64>; 4] {
        reference_with_gain(shape, 1.0)
    }

    /// [`reference`] with the queries multiplied by `q_gain` (large gains give scores too wide
    /// for the one-pass softmax shift of `attention_head2`).
    fn reference_with_gain(shape: CoreShape, q_gain: f32) -> [Vec<f64>; 4] {
        let CoreShape {
            batch,
            items: n,
            heads,
            dh,
        } = shape;
        let emb = shape.emb();
        let rows = batch * n * emb;
        let f = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<_>>();
        let (q, k, v, dc) = (
            f(random(1, rows).into_iter().map(|x| x * q_gain).collect()),
            f(random(2, rows)),
            f(random(3, rows)),
            f(random(4, rows)),
        );
        let scale = 1.0 / (dh as f64).sqrt();
        let (mut ctx, mut dq, mut dk, mut dv) = (
            vec![0.0; rows],
            vec![0.0; rows],
            vec![0.0; rows],
            vec![0.0; rows],
        );
        let at = |b: usize, i: usize, h: usize, d: usize| (b * n + i) * emb + h * dh + d;
        for b in 0..batch {
            for h in 0..heads {
                for i in 0..n {
                    let s: Vec<f64> = (0..n)
                        .map(|j| {
                            scale
                                * (0..dh)
                                    .map(|d| q[at(b, i, h, d)] * k[at(b, j, h, d)])
                                    .sum::<f64>()
                        })
                        .collect();
                    let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
                    let z: f64 = e.iter().sum();
                    let p: Vec<f64> = e.iter().map(|x| x / z).collect();
                    let dp: Vec<f64> = (0..n)
                        .map(|j| {
                            (0..dh)
                                .map(|d| dc[at(b, i, h, d)] * v[at(b, j, h, d)])
                                .sum()
                        })
                        .collect();
                    let w: f64 = p.iter().zip(&dp).map(|(a, c)| a * c).sum();
                    for j in 0..n {
                        let ds = p[j] * (dp[j] - w) * scale;
                        for d in 0..dh {
                            ctx[at(b, i, h, d)] += p[j] * v[at(b, j, h, d)];
                            dv[at(b, j, h, d)] += p[j] * dc[at(b, i, h, d)];
                            dq[at(b, i, h, d)] += ds * k[at(b, j, h, d)];
                            dk[at(b, j, h, d)] += ds * q[at(b, i, h, d)];
                        }
                    }
                }
            }
        }
        [ctx, dq, dk, dv]
    }

    fn assert_close(name: &str, got: &[f32], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{name}: length");
        for (idx, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (f64::from(g) - w).abs() <= 2e-5 * (1.0 + w.abs()),
                "{name}[{idx}]: {g} vs reference {w}"
            );
        }
    }

    /// Head widths 1, 2 (the specialised path) and 4, N = 19 (two 8-lane chunks and a tail),
    /// probabilities kept and recomputed: the kernels match the textbook formulas.
    #[test]
    fn matches_textbook_attention_for_several_head_widths() {
        for dh in [1, 2, 4] {
            let shape = CoreShape {
                batch: 3,
                items: 19,
                heads: 8,
                dh,
            };
            let want = reference(shape);
            for keep in [true, false] {
                let got = run(shape, keep, false);
                let tag = format!("dh {dh} keep {keep}");
                assert_close(&format!("ctx {tag}"), &got[0], &want[0]);
                assert_close(&format!("dq {tag}"), &got[3], &want[1]);
                assert_close(&format!("dk {tag}"), &got[4], &want[2]);
                assert_close(&format!("dv {tag}"), &got[5], &want[3]);
                assert_eq!(got[2].len(), if keep { 3 * 8 * 19 * 19 } else { 0 });
            }
        }
    }

    /// Forward + backward through the dispatching entry points (for f32 and 2-wide heads on a
    /// CPU with AVX2 + FMA, the `attention_head2` kernels).
    fn run_dispatched(shape: CoreShape, keep: bool, q_gain: f32) -> Outputs {
        let rows = shape.batch * shape.items * shape.emb();
        let (q, k, v, dctx) = (
            random(1, rows)
                .into_iter()
                .map(|x| x * q_gain)
                .collect::<Vec<_>>(),
            random(2, rows),
            random(3, rows),
            random(4, rows),
        );
        let scale = 1.0 / (shape.dh as f32).sqrt();
        let mut stats = vec![0.0; 2 * shape.batch * shape.heads * shape.items];
        let count = shape.batch * shape.heads * shape.items * shape.items;
        let mut probs = vec![f32::NAN; if keep { count } else { 0 }];
        let mut ctx = vec![f32::NAN; rows];
        let kept = keep.then_some(&mut probs[..]);
        forward(shape, scale, (&q, &k, &v), &mut stats, kept, &mut ctx);
        let (mut dq, mut dk, mut dv) =
            (vec![f32::NAN; rows], vec![f32::NAN; rows], vec![0.0; rows]);
        let p = keep.then_some(&probs[..]);
        let grads = (&mut dq[..], &mut dk[..], &mut dv[..]);
        backward(shape, scale, (&q, &k, &v), &stats, p, &dctx, grads);
        [ctx, stats, probs, dq, dk, dv]
    }

    /// The production path for 2-wide heads matches the textbook formulas with N a multiple of
    /// eight (16, 64), with a tail (5, 19, 48 + 3) and below one register (5), with scores
    /// narrow enough for the one-pass shift (gain 1: |s| <= 5.7) and too wide for it (gain 12:
    /// up to 68, the exact row maximum); the kept exponentials and the recomputed ones give the
    /// same bits, and padded lanes change nothing.
    #[test]
    fn two_wide_heads_match_textbook_attention_kept_or_recomputed() {
        for (items, q_gain) in [5, 16, 19, 51, 64]
            .into_iter()
            .flat_map(|n| [(n, 1.0), (n, 12.0)])
        {
            let shape = CoreShape {
                batch: 2,
                items,
                heads: 8,
                dh: 2,
            };
            let want = reference_with_gain(shape, q_gain);
            let kept = run_dispatched(shape, true, q_gain);
            let recomputed = run_dispatched(shape, false, q_gain);
            for (got, tag) in [(&kept, "kept"), (&recomputed, "recomputed")] {
                let tag = format!("N {items} gain {q_gain} {tag}");
                assert_close(&format!("ctx {tag}"), &got[0], &want[0]);
                assert_close(&format!("dq {tag}"), &got[3], &want[1]);
                assert_close(&format!("dk {tag}"), &got[4], &want[2]);
                assert_close(&format!("dv {tag}"), &got[5], &want[3]);
            }
            assert!(kept[2]
                .iter()
                .all(|e| e.is_finite() && *e >= 0.0 && *e <= 1.0));
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            for slot in [0, 1, 3, 4, 5] {
                assert_eq!(
                    bits(&kept[slot]),
                    bits(&recomputed[slot]),
                    "N {items} slot {slot}"
                );
            }
        }
    }

    /// A NaN query propagates to its context row instead of being clamped away.
    #[test]
    fn nan_scores_propagate() {
        let shape = CoreShape {
            batch: 1,
            items: 9,
            heads: 8,
            dh: 2,
        };
        let rows = 9 * 16;
        let mut q = random(1, rows);
        q[16 * 3] = f32::NAN;
        let (k, v) = (random(2, rows), random(3, rows));
        let mut stats = vec![0.0; 2 * 8 * 9];
        let mut ctx = vec![0.0; rows];
        forward(shape, 0.5, (&q, &k, &v), &mut stats, None, &mut ctx);
        assert!(ctx[16 * 3].is_nan() && ctx[16 * 3 + 1].is_nan());
        assert!(ctx[16 * 4].is_finite());
    }

    /// The AVX2 build of the kernels gives the same bits as the baseline build (same
    /// operations in the same order), so results do not depend on the machine.
    #[test]
    fn avx2_and_baseline_builds_agree_bitwise() {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            for dh in [1, 2, 4] {
                let shape = CoreShape {
                    batch: 2,
                    items: 21,
                    heads: 8,
                    dh,
                };
                for keep in [true, false] {
                    let base = run(shape, keep, false);
                    let wide = run(shape, keep, true);
                    for (a, b) in base.iter().zip(&wide) {
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(a), bits(b), "dh {dh} keep {keep}");
                    }
                }
            }
            return;
        }
        eprintln!("no AVX2 on this CPU: only the baseline build exists to test");
    }
}
