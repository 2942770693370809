//! The attention core for NASRec's 2-wide heads (E = 16, 8 heads) in AVX2 + FMA intrinsics, f32.
//!
//! A score is only two multiply-adds, so the cost is the softmax: per (example, head, query row)
//! the N scores are produced and consumed eight keys per register in ONE pass (scores,
//! exponentials, their sum and both context sums), shifting by the Cauchy-Schwarz bound
//! `|q| max_j |k_j|` instead of the row maximum whenever that bound is small enough to be safe
//! (the softmax is the same for any shift; the exact maximum needs a second pass). The portable
//! core ([`super::attention_core`]) needs six passes. The backward recomputes or reloads the
//! row's exponentials and runs two fused passes (dP, dV, the weighted sum; then dS, dK, dQ).
//!
//! Keys are padded to a multiple of eight: padded keys and values are zero and the padded lanes'
//! exponentials are masked to exactly zero, so they change no sum. Kept exponentials use the
//! caller's unpadded `[B, heads, N, N]` layout (masked loads and stores on the last chunk).
//!
//! Results differ from the portable core by float reassociation and FMA rounding only (a few ulp;
//! tested against the f64 textbook formulas), and are the same bits for any thread count. They do
//! depend on the CPU having AVX2 + FMA, as the matrixmultiply GEMMs already do.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::attention_core::CoreShape;
use super::kernels::{as_f32, as_f32_mut};
use super::Real;

/// Largest `|q| scale max_j |k_j|` for which the forward shifts a softmax row by that bound
/// instead of its exact maximum: the smallest exponential is then `e^-60`, far from f32's
/// underflow at `e^-87`.
const SHIFT_BOUND_MAX: f32 = 30.0;

/// True when this CPU can run the kernels of this module.
fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs the forward of [`super::attention_core::forward`] here when it applies (2-wide heads,
/// `T` = f32, a CPU with AVX2 + FMA) and returns true; otherwise does nothing and returns false.
/// `probs`, when given, receives each row's shifted exponentials `exp(s - shift)`, not yet
/// divided by the row sum.
pub(crate) fn try_forward<T: Real>(
    shape: CoreShape,
    scale: T,
    (q, k, v): (&[T], &[T], &[T]),
    stats: &mut [T],
    probs: Option<&mut [T]>,
    ctx: &mut [T],
) -> bool {
    if shape.dh != 2 || !available() {
        return false;
    }
    let (Some(q), Some(k), Some(v), Some(stats), Some(ctx)) = (
        as_f32(q),
        as_f32(k),
        as_f32(v),
        as_f32_mut(stats),
        as_f32_mut(ctx),
    ) else {
        return false;
    };
    let probs = probs.and_then(as_f32_mut);
    check_lengths(
        shape,
        (q, k, v),
        stats.len(),
        probs.as_deref().map(<[f32]>::len),
    );
    assert_eq!(ctx.len(), rows_len(shape), "attention_head2: ctx length");
    let scale = scale.to_f32().unwrap_or(f32::NAN);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are present (`available`); lengths checked above.
    unsafe {
        forward_avx2(shape, scale, (q, k, v), stats, probs, ctx)
    };
    true
}

/// Runs the backward of [`super::attention_core::backward`] here when it applies (as
/// [`try_forward`]) and returns true. `probs` must be what [`try_forward`] kept (the shifted
/// exponentials) or `None` to recompute them from `stats`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn try_backward<T: Real>(
    shape: CoreShape,
    scale: T,
    (q, k, v): (&[T], &[T], &[T]),
    stats: &[T],
    probs: Option<&[T]>,
    dctx: &[T],
    (dq, dk, dv): (&mut [T], &mut [T], &mut [T]),
) -> bool {
    if shape.dh != 2 || !available() {
        return false;
    }
    let (Some(q), Some(k), Some(v), Some(stats), Some(dctx)) =
        (as_f32(q), as_f32(k), as_f32(v), as_f32(stats), as_f32(dctx))
    else {
        return false;
    };
    let (Some(dq), Some(dk), Some(dv)) = (as_f32_mut(dq), as_f32_mut(dk), as_f32_mut(dv)) else {
        return false;
    };
    let probs = probs.and_then(as_f32);
    check_lengths(shape, (q, k, v), stats.len(), probs.map(<[f32]>::len));
    let rows = rows_len(shape);
    assert!(
        dctx.len() == rows && dq.len() == rows && dk.len() == rows && dv.len() == rows,
        "attention_head2: gradient lengths"
    );
    let scale = scale.to_f32().unwrap_or(f32::NAN);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX2 and FMA are present (`available`); lengths checked above.
    unsafe {
        backward_avx2(shape, scale, (q, k, v), stats, probs, dctx, (dq, dk, dv))
    };
    true
}

fn rows_len(shape: CoreShape) -> usize {
    shape.batch * shape.items * shape.heads * shape.dh
}

fn check_lengths(
    shape: CoreShape,
    (q, k, v): (&[f32], &[f32], &[f32]),
    stats_len: usize,
    probs_len: Option<usize>,
) {
    let rows = rows_len(shape);
    assert!(
        q.len() == rows && k.len() == rows && v.len() == rows,
        "attention_head2: q/k/v lengths"
    );
    let row_count = shape.batch * shape.heads * shape.items;
    assert_eq!(stats_len, 2 * row_count, "attention_head2: stats length");
    if let Some(len) = probs_len {
        assert_eq!(
            len,
            row_count * shape.items,
            "attention_head2: probs length"
        );
    }
}

/// Per-call geometry and scratch: keys padded to `n8 = 8 * chunks`, the last chunk holding
/// `tail_lanes` real keys; head-major keys and values of one example (`[E, n8]`, zero-padded),
/// their gradients, and one row of scores / probabilities / dP.
#[cfg(target_arch = "x86_64")]
struct Scratch {
    n8: usize,
    chunks: usize,
    tail_lanes: usize,
    /// `E = heads * 2`.
    emb: usize,
    /// Softmax rows of the call, `B * heads * N` (the offset of the sums in `stats`).
    row_count: usize,
    kt: Vec<f32>,
    vt: Vec<f32>,
    dkt: Vec<f32>,
    dvt: Vec<f32>,
    row: Vec<f32>,
    drow: Vec<f32>,
}

#[cfg(target_arch = "x86_64")]
impl Scratch {
    fn new(shape: CoreShape) -> Self {
        let chunks = shape.items.div_ceil(8);
        let n8 = chunks * 8;
        let emb = shape.heads * shape.dh;
        Scratch {
            n8,
            chunks,
            tail_lanes: (shape.items + 8).saturating_sub(n8),
            emb,
            row_count: shape.batch * shape.heads * shape.items,
            kt: vec![0.0; emb * n8],
            vt: vec![0.0; emb * n8],
            dkt: vec![0.0; emb * n8],
            dvt: vec![0.0; emb * n8],
            row: vec![0.0; n8],
            drow: vec![0.0; n8],
        }
    }

    /// Transposes example `b`'s `[N, E]` rows of `src` into `dst [E, n8]` (padding stays zero).
    fn transpose_in(&self, src: &[f32], b: usize, items: usize, emb: usize, dst: &mut [f32]) {
        let block = &src[b * items * emb..(b + 1) * items * emb];
        for (j, row) in block.chunks_exact(emb).enumerate() {
            for (d, &x) in row.iter().enumerate() {
                dst[d * self.n8 + j] = x;
            }
        }
    }

    /// Writes `src [E, n8]` back as example `b`'s `[N, E]` rows of `dst`.
    fn transpose_out(&self, src: &[f32], b: usize, items: usize, emb: usize, dst: &mut [f32]) {
        let block = &mut dst[b * items * emb..(b + 1) * items * emb];
        for (j, row) in block.chunks_exact_mut(emb).enumerate() {
            for (d, x) in row.iter_mut().enumerate() {
                *x = src[d * self.n8 + j];
            }
        }
    }
}

/// Lanes `< rem` set (all lanes when `rem == 8`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn lane_mask(rem: usize) -> __m256i {
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(rem as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55)))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn hmax(v: __m256) -> f32 {
    let s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_max_ss(s, _mm_shuffle_ps(s, s, 0x55)))
}

/// Eight lanes of `e^x` ([`exp8_unclamped`] on inputs clamped to [-87, 88]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp8(x: __m256) -> __m256 {
    // Operand order keeps NaN: max/min return their second operand when either is NaN.
    let x = _mm256_min_ps(
        _mm256_set1_ps(88.0),
        _mm256_max_ps(_mm256_set1_ps(-87.0), x),
    );
    exp8_unclamped(x)
}

/// Degree-5 polynomial for `e^r` on `r` in [-ln 2 / 2, ln 2 / 2], lowest order first: `1 + r q(r)`
/// with `q` interpolating `(e^r - 1) / r` at the five Chebyshev nodes, rounded to f32. The constant
/// term is exactly 1, so a row's maximum (shifted to 0) gets exactly 1. Maximum relative error
/// 2.1e-7 (under two f32 ulp); the degree-6 polynomial's 2.0e-8 cost one more multiply-add per
/// eight exponentials for no difference a softmax (a sum and a division) can show.
#[cfg(target_arch = "x86_64")]
const EXP_POLY: [f32; 6] = [
    1.0,
    1.0,
    0.499_993_7,
    0.166_665_78,
    0.041_875_646,
    0.008_363_173,
];

/// `e^x` for `x` in [-87, 88]: `n = round(x log2 e)` by adding `1.5 * 2^23 + 127` in the same
/// multiply-add (the sum's low mantissa bits are then `n + 127`, which shifted into the exponent
/// field make `2^n`), `r = x - n ln 2` in one multiply-add, [`EXP_POLY`] of `r`. One reduction step
/// instead of Cody-Waite's two: ln 2 rounded to f32 is off by 1.9e-9, which moves `r` by
/// `1.9e-9 |n|`, above f32's half ulp only for `|n| > 31` (`x < -21.5`), where a shifted softmax
/// term is below 5e-10 of the row maximum; `e^x` there is still within 2.4e-7 relative.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn exp8_unclamped(x: __m256) -> __m256 {
    const ROUND_AND_BIAS: f32 = 12_582_912.0 + 127.0;
    let t = _mm256_fmadd_ps(
        x,
        _mm256_set1_ps(std::f32::consts::LOG2_E),
        _mm256_set1_ps(ROUND_AND_BIAS),
    );
    let n = _mm256_sub_ps(t, _mm256_set1_ps(ROUND_AND_BIAS));
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(std::f32::consts::LN_2), x);
    let mut p = _mm256_set1_ps(EXP_POLY[5]);
    for &c in EXP_POLY[..5].iter().rev() {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    }
    _mm256_mul_ps(
        p,
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23)),
    )
}

/// [`exp8`] for inputs known to lie in [-87, 88] (no clamping; the single-pass softmax's
/// `s - bound` lies in [-2 SHIFT_BOUND_MAX, 0] up to rounding).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn exp8_in_range(x: __m256) -> __m256 {
    exp8_unclamped(x)
}

/// The scores of one query row against the head's keys: `a0 k0 + a1 k1` (a = scaled query).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn scores8(a0: __m256, a1: __m256, k0: *const f32, k1: *const f32) -> __m256 {
    _mm256_fmadd_ps(
        a1,
        _mm256_loadu_ps(k1),
        _mm256_mul_ps(a0, _mm256_loadu_ps(k0)),
    )
}

/// A row's scores minus its softmax shift, `(a0 k0 + a1 k1) - shift` (the forward and the
/// backward's recomputation use this one form, so they agree bitwise; subtracting after the
/// score keeps the row maximum's exponential exactly 1 when the shift is that maximum).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn shifted_scores8(
    (a0, a1): (__m256, __m256),
    shift: __m256,
    k0: *const f32,
    k1: *const f32,
) -> __m256 {
    _mm256_sub_ps(scores8(a0, a1, k0, k1), shift)
}

/// One softmax row of the forward: the shifted exponentials of the row's scores (stored to
/// `kept` when `KEEP`; clamped to exp's range when `CLAMP`), their sum and both context sums.
/// The two choices are constants so that the loop carries no per-chunk branches.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn forward_row<const CLAMP: bool, const KEEP: bool>(
    a: (__m256, __m256),
    shift: f32,
    (k0, k1, v0, v1): (*const f32, *const f32, *const f32, *const f32),
    (chunks, tail): (usize, __m256i),
    kept: *mut f32,
) -> (__m256, __m256, __m256) {
    let shift = _mm256_set1_ps(shift);
    let (mut sum, mut c0, mut c1) = (
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
    );
    for c in 0..chunks - 1 {
        let x = shifted_scores8(a, shift, k0.add(8 * c), k1.add(8 * c));
        let e = if CLAMP { exp8(x) } else { exp8_in_range(x) };
        sum = _mm256_add_ps(sum, e);
        c0 = _mm256_fmadd_ps(e, _mm256_loadu_ps(v0.add(8 * c)), c0);
        c1 = _mm256_fmadd_ps(e, _mm256_loadu_ps(v1.add(8 * c)), c1);
        if KEEP {
            _mm256_storeu_ps(kept.add(8 * c), e);
        }
    }
    // The last chunk: padded lanes masked to exactly zero.
    let c = chunks - 1;
    let x = shifted_scores8(a, shift, k0.add(8 * c), k1.add(8 * c));
    let e = if CLAMP { exp8(x) } else { exp8_in_range(x) };
    let e = _mm256_and_ps(e, _mm256_castsi256_ps(tail));
    sum = _mm256_add_ps(sum, e);
    c0 = _mm256_fmadd_ps(e, _mm256_loadu_ps(v0.add(8 * c)), c0);
    c1 = _mm256_fmadd_ps(e, _mm256_loadu_ps(v1.add(8 * c)), c1);
    if KEEP {
        _mm256_maskstore_ps(kept.add(8 * c), tail, e);
    }
    (sum, c0, c1)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn forward_avx2(
    shape: CoreShape,
    scale: f32,
    (qs, ks, vs): (&[f32], &[f32], &[f32]),
    stats: &mut [f32],
    mut probs: Option<&mut [f32]>,
    ctx: &mut [f32],
) {
    let CoreShape {
        batch,
        items: n,
        heads,
        ..
    } = shape;
    let mut s = Scratch::new(shape);
    let (n8, chunks, emb, row_count) = (s.n8, s.chunks, s.emb, s.row_count);
    if chunks == 0 {
        return;
    }
    let tail = lane_mask(s.tail_lanes);
    let neg_inf = _mm256_set1_ps(f32::NEG_INFINITY);
    let mut kt = std::mem::take(&mut s.kt);
    let mut vt = std::mem::take(&mut s.vt);
    for b in 0..batch {
        s.transpose_in(ks, b, n, emb, &mut kt);
        s.transpose_in(vs, b, n, emb, &mut vt);
        for h in 0..heads {
            let k0 = kt[2 * h * n8..].as_ptr();
            let k1 = kt[(2 * h + 1) * n8..].as_ptr();
            let v0 = vt[2 * h * n8..].as_ptr();
            let v1 = vt[(2 * h + 1) * n8..].as_ptr();
            let key_norm_max = kt[2 * h * n8..][..n]
                .iter()
                .zip(&kt[(2 * h + 1) * n8..][..n])
                .map(|(x0, x1)| (x0 * x0 + x1 * x1).sqrt())
                .fold(0.0f32, f32::max);
            for i in 0..n {
                let q = &qs[(b * n + i) * emb + 2 * h..][..2];
                let (q0, q1) = (q[0] * scale, q[1] * scale);
                let (a0, a1) = (_mm256_set1_ps(q0), _mm256_set1_ps(q1));
                let stat = (b * heads + h) * n + i;
                let kept = probs.as_deref_mut().map(|p| p[stat * n..].as_mut_ptr());
                // The softmax shift: |s_j| <= |a| max_j |k_j| (Cauchy-Schwarz) bounds every
                // score, so that bound is a safe shift as long as it is small enough that no
                // exponential of `s - bound >= -2 bound` underflows; then one pass suffices.
                // Otherwise (or with a NaN/inf) the exact row maximum, from a first pass.
                let bound = (q0 * q0 + q1 * q1).sqrt() * key_norm_max;
                let (shift, unclamped) = if bound <= SHIFT_BOUND_MAX {
                    (bound, true)
                } else {
                    let mut vmax = neg_inf;
                    for c in 0..chunks {
                        let mut sc = scores8(a0, a1, k0.add(8 * c), k1.add(8 * c));
                        if c + 1 == chunks {
                            sc = _mm256_blendv_ps(neg_inf, sc, _mm256_castsi256_ps(tail));
                        }
                        vmax = _mm256_max_ps(vmax, sc);
                    }
                    (hmax(vmax), false)
                };
                // Exponentials, their sum and both context sums; kept exponentials stored.
                let a = (a0, a1);
                let geometry = (k0, k1, v0, v1);
                let (dst, row) = (kept.unwrap_or(std::ptr::null_mut()), (chunks, tail));
                let (sum, c0, c1) = match (unclamped, kept.is_some()) {
                    (true, true) => forward_row::<false, true>(a, shift, geometry, row, dst),
                    (true, false) => forward_row::<false, false>(a, shift, geometry, row, dst),
                    (false, true) => forward_row::<true, true>(a, shift, geometry, row, dst),
                    (false, false) => forward_row::<true, false>(a, shift, geometry, row, dst),
                };
                let total = hsum(sum);
                stats[stat] = shift;
                stats[row_count + stat] = total;
                let inv = 1.0 / total;
                let out = &mut ctx[(b * n + i) * emb + 2 * h..][..2];
                out[0] = hsum(c0) * inv;
                out[1] = hsum(c1) * inv;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn backward_avx2(
    shape: CoreShape,
    scale: f32,
    (qs, ks, vs): (&[f32], &[f32], &[f32]),
    stats: &[f32],
    probs: Option<&[f32]>,
    dcs: &[f32],
    (dqs, dks, dvs): (&mut [f32], &mut [f32], &mut [f32]),
) {
    let CoreShape {
        batch,
        items: n,
        heads,
        ..
    } = shape;
    let mut s = Scratch::new(shape);
    let (n8, chunks, emb, row_count) = (s.n8, s.chunks, s.emb, s.row_count);
    if chunks == 0 {
        return;
    }
    let tail = lane_mask(s.tail_lanes);
    let tail_ps = _mm256_castsi256_ps(tail);
    let (mut kt, mut vt) = (std::mem::take(&mut s.kt), std::mem::take(&mut s.vt));
    let (mut dkt, mut dvt) = (std::mem::take(&mut s.dkt), std::mem::take(&mut s.dvt));
    for b in 0..batch {
        s.transpose_in(ks, b, n, emb, &mut kt);
        s.transpose_in(vs, b, n, emb, &mut vt);
        dkt.iter_mut().chain(dvt.iter_mut()).for_each(|g| *g = 0.0);
        for h in 0..heads {
            let k0 = kt[2 * h * n8..].as_ptr();
            let k1 = kt[(2 * h + 1) * n8..].as_ptr();
            let v0 = vt[2 * h * n8..].as_ptr();
            let v1 = vt[(2 * h + 1) * n8..].as_ptr();
            let dk0 = dkt[2 * h * n8..].as_mut_ptr();
            let dk1 = dkt[(2 * h + 1) * n8..].as_mut_ptr();
            let dv0 = dvt[2 * h * n8..].as_mut_ptr();
            let dv1 = dvt[(2 * h + 1) * n8..].as_mut_ptr();
            for i in 0..n {
                let at = (b * n + i) * emb + 2 * h;
                let (q0, q1) = (qs[at], qs[at + 1]);
                let (dc0, dc1) = (dcs[at], dcs[at + 1]);
                let stat = (b * heads + h) * n + i;
                let inv = 1.0 / stats[row_count + stat];
                let shift = _mm256_set1_ps(stats[stat]);
                let (a0, a1) = (_mm256_set1_ps(q0 * scale), _mm256_set1_ps(q1 * scale));
                let kept = probs.map(|p| p[stat * n..].as_ptr());
                let (erow, dprow) = (s.row.as_mut_ptr(), s.drow.as_mut_ptr());
                // The row's exponentials `e` are used as they are (P = e / sum): the 1 / sum
                // goes into per-row constants instead of a multiply per element.
                let (vdc0, vdc1) = (_mm256_set1_ps(dc0), _mm256_set1_ps(dc1));
                let (gv0, gv1) = (_mm256_set1_ps(dc0 * inv), _mm256_set1_ps(dc1 * inv));
                // Pass A: e (reloaded, or recomputed exactly as the forward made it and kept
                // for pass B), dP = dctx V^T, dV += P^T dctx = e (dctx / sum), and <e, dP>.
                let mut weighted = _mm256_setzero_ps();
                for c in 0..chunks {
                    let last = c + 1 == chunks;
                    let e = match kept {
                        Some(src) if last => _mm256_maskload_ps(src.add(8 * c), tail),
                        Some(src) => _mm256_loadu_ps(src.add(8 * c)),
                        None => {
                            let x = shifted_scores8((a0, a1), shift, k0.add(8 * c), k1.add(8 * c));
                            let e = exp8(x);
                            let e = if last { _mm256_and_ps(e, tail_ps) } else { e };
                            _mm256_storeu_ps(erow.add(8 * c), e);
                            e
                        }
                    };
                    let dp = _mm256_fmadd_ps(
                        vdc1,
                        _mm256_loadu_ps(v1.add(8 * c)),
                        _mm256_mul_ps(vdc0, _mm256_loadu_ps(v0.add(8 * c))),
                    );
                    _mm256_storeu_ps(dprow.add(8 * c), dp);
                    let g0 = dv0.add(8 * c);
                    _mm256_storeu_ps(g0, _mm256_fmadd_ps(gv0, e, _mm256_loadu_ps(g0)));
                    let g1 = dv1.add(8 * c);
                    _mm256_storeu_ps(g1, _mm256_fmadd_ps(gv1, e, _mm256_loadu_ps(g1)));
                    weighted = _mm256_fmadd_ps(e, dp, weighted);
                }
                // <P, dP> = <e, dP> / sum.
                let weighted = _mm256_set1_ps(hsum(weighted) * inv);
                // Pass B: dS = scale P (dP - <P, dP>) = (scale / sum) e (dP - <P, dP>), the
                // factor in the constants: dK += dS^T q, dq = dS K.
                let factor = scale * inv;
                let (vq0, vq1) = (_mm256_set1_ps(q0 * factor), _mm256_set1_ps(q1 * factor));
                let (mut g0, mut g1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
                for c in 0..chunks {
                    let e = match kept {
                        Some(src) if c + 1 == chunks => _mm256_maskload_ps(src.add(8 * c), tail),
                        Some(src) => _mm256_loadu_ps(src.add(8 * c)),
                        None => _mm256_loadu_ps(erow.add(8 * c)),
                    };
                    let dp = _mm256_loadu_ps(dprow.add(8 * c));
                    let ds = _mm256_mul_ps(e, _mm256_sub_ps(dp, weighted));
                    let d0 = dk0.add(8 * c);
                    _mm256_storeu_ps(d0, _mm256_fmadd_ps(vq0, ds, _mm256_loadu_ps(d0)));
                    let d1 = dk1.add(8 * c);
                    _mm256_storeu_ps(d1, _mm256_fmadd_ps(vq1, ds, _mm256_loadu_ps(d1)));
                    g0 = _mm256_fmadd_ps(ds, _mm256_loadu_ps(k0.add(8 * c)), g0);
                    g1 = _mm256_fmadd_ps(ds, _mm256_loadu_ps(k1.add(8 * c)), g1);
                }
                dqs[at] = hsum(g0) * factor;
                dqs[at + 1] = hsum(g1) * factor;
            }
        }
        s.transpose_out(&dkt, b, n, emb, dks);
        s.transpose_out(&dvt, b, n, emb, dvs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector exponential against f64 `exp`: within 3e-7 relative (2.6e-7 measured) where
    /// a shifted softmax term matters (`x` in [-21.5, 0]), within 6e-7 over the whole clamped
    /// range (the single-step reduction's ln 2 rounding adds up to 2.4e-7; 4.8e-7 measured),
    /// exactly 1 at 0, and NaN stays NaN.
    #[test]
    fn exponential_matches_f64_exp() {
        #[cfg(target_arch = "x86_64")]
        if available() {
            let eval = |x: f32| -> f32 {
                let mut out = [0.0f32; 8];
                // SAFETY: AVX2 and FMA are present (`available`); `out` holds eight lanes.
                unsafe { _mm256_storeu_ps(out.as_mut_ptr(), exp8(_mm256_set1_ps(x))) };
                out[0]
            };
            let mut worst = (0.0f64, 0.0f64);
            for i in 0..=350_000 {
                let x = -87.0 + 175.0 * i as f32 / 350_000.0;
                let want = f64::from(x).exp();
                let rel = ((f64::from(eval(x)) - want) / want).abs();
                let slot = if (-21.5..=0.0).contains(&x) { 0 } else { 1 };
                let w = if slot == 0 {
                    &mut worst.0
                } else {
                    &mut worst.1
                };
                *w = w.max(rel);
            }
            assert!(worst.0 < 3e-7, "softmax range: {:.3e}", worst.0);
            assert!(worst.1 < 6e-7, "whole range: {:.3e}", worst.1);
            assert_eq!(eval(0.0), 1.0);
            assert!(eval(f32::NAN).is_nan());
            return;
        }
        eprintln!("no AVX2 + FMA on this CPU: the kernel is not used");
    }
}
