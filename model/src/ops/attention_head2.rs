//! The attention core for NASRec's 2-wide heads (E = 16, 8 heads) in vector intrinsics, f32:
//! sixteen lanes with AVX-512F, else eight with AVX2 + FMA (one kernel body, [`lane_kernels`],
//! compiled at both widths over [`super::simd_lanes`]).
//!
//! A score is only two multiply-adds, so the cost is the softmax: per (example, head, query row)
//! the N scores are produced and consumed one vector of keys at a time in ONE pass (scores,
//! exponentials, their sum and both context sums), shifting by the Cauchy-Schwarz bound
//! `|q| max_j |k_j|` instead of the row maximum whenever that bound is small enough to be safe
//! (the softmax is the same for any shift; the exact maximum needs a second pass). The portable
//! core ([`super::attention_core`]) needs six passes. The backward recomputes or reloads the
//! row's exponentials and runs two fused passes (dP, dV, the weighted sum; then dS, dK, dQ).
//!
//! Keys are padded to a multiple of the vector width: padded keys and values are zero and the
//! padded lanes' exponentials are masked to exactly zero, so they change no sum. Kept
//! exponentials use the caller's unpadded `[B, heads, N, N]` layout (masked loads and stores on
//! the last vector of a row).
//!
//! Results differ from the portable core by float reassociation and FMA rounding only (a few ulp;
//! tested against the f64 textbook formulas), and are the same bits for any thread count. They do
//! depend on the CPU: the two widths compute the same exponentials but add a row's lanes in
//! different orders, as the matrixmultiply GEMMs already depend on AVX2 + FMA.

use super::attention_core::CoreShape;
use super::kernels::{as_f32, as_f32_mut};
#[cfg(target_arch = "x86_64")]
use super::simd_lanes::v8;
use super::Real;

/// Largest `|q| scale max_j |k_j|` for which the forward shifts a softmax row by that bound
/// instead of its exact maximum: the smallest exponential is then `e^-60`, far from f32's
/// underflow at `e^-87`.
const SHIFT_BOUND_MAX: f32 = 30.0;

/// The kernel width this CPU runs, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    Lanes8,
    Lanes16,
}

fn width() -> Option<Width> {
    #[cfg(target_arch = "x86_64")]
    {
        use super::simd_lanes::{v16, v8};
        if v16::available() {
            return Some(Width::Lanes16);
        }
        if v8::available() {
            return Some(Width::Lanes8);
        }
    }
    None
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
    let Some(width) = width().filter(|_| shape.dh == 2) else {
        return false;
    };
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
    // SAFETY: `width` found the CPU features of the chosen kernel; lengths checked above.
    unsafe {
        match width {
            Width::Lanes16 => avx512::forward(shape, scale, (q, k, v), stats, probs, ctx),
            Width::Lanes8 => avx2::forward(shape, scale, (q, k, v), stats, probs, ctx),
        }
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
    let Some(width) = width().filter(|_| shape.dh == 2) else {
        return false;
    };
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
    let (qkv, grads) = ((q, k, v), (dq, dk, dv));
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `width` found the CPU features of the chosen kernel; lengths checked above.
    unsafe {
        match width {
            Width::Lanes16 => avx512::backward(shape, scale, qkv, stats, probs, dctx, grads),
            Width::Lanes8 => avx2::backward(shape, scale, qkv, stats, probs, dctx, grads),
        }
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

/// Per-call geometry for vectors of `lanes`: keys padded to `padded = lanes * chunks`, the last
/// chunk holding `tail_lanes` real keys; the head-major scratch rows it sizes (`[E, padded]`:
/// one example's keys, values or their gradients, zero-padded).
struct Geometry {
    padded: usize,
    chunks: usize,
    tail_lanes: usize,
    heads: usize,
    /// `E = heads * 2`.
    emb: usize,
    /// Softmax rows of the call, `B * heads * N` (the offset of the sums in `stats`).
    row_count: usize,
}

impl Geometry {
    /// The geometry of one call, or `None` when its rows have no keys (nothing to compute).
    fn for_call(shape: CoreShape, lanes: usize) -> Option<Self> {
        if shape.items == 0 {
            return None;
        }
        let chunks = shape.items.div_ceil(lanes);
        let padded = chunks * lanes;
        Some(Geometry {
            padded,
            chunks,
            tail_lanes: shape.items + lanes - padded,
            heads: shape.heads,
            emb: shape.heads * shape.dh,
            row_count: shape.batch * shape.heads * shape.items,
        })
    }

    /// Zeroed head-major rows `[E, padded]` for one example.
    fn head_rows(&self) -> Vec<f32> {
        vec![0.0; self.emb * self.padded]
    }

    /// Where head `h` of example `b` keeps its rows.
    fn head(&self, b: usize, h: usize, items: usize) -> HeadAt {
        HeadAt {
            b,
            h,
            items,
            heads: self.heads,
            row_count: self.row_count,
        }
    }

    /// Transposes example `b`'s `[N, E]` rows of `src` into `dst [E, padded]` (padding stays 0).
    ///
    /// # Safety
    /// The CPU must have AVX2 + FMA (every kernel using a `Geometry` does).
    #[cfg(target_arch = "x86_64")]
    unsafe fn transpose_in(&self, src: &[f32], b: usize, items: usize, dst: &mut [f32]) {
        let block = &src[b * items * self.emb..(b + 1) * items * self.emb];
        v8::transpose(block, self.emb, (items, self.emb), dst, self.padded);
    }

    /// Writes `src [E, padded]` back as example `b`'s `[N, E]` rows of `dst`.
    ///
    /// # Safety
    /// As [`Geometry::transpose_in`].
    #[cfg(target_arch = "x86_64")]
    unsafe fn transpose_out(&self, src: &[f32], b: usize, items: usize, dst: &mut [f32]) {
        let block = &mut dst[b * items * self.emb..(b + 1) * items * self.emb];
        v8::transpose(src, self.padded, (self.emb, items), block, self.emb);
    }
}

/// Where one (example `b`, head `h`) pair's rows live: query row `i`'s two values in the
/// `[B*N, E]` arrays and its softmax row in the `[B, heads, N]` statistics.
#[derive(Debug, Clone, Copy)]
struct HeadAt {
    b: usize,
    h: usize,
    items: usize,
    heads: usize,
    row_count: usize,
}

impl HeadAt {
    /// Offset of query row `i`'s first value of this head in a `[B*N, E]` array.
    fn value_at(&self, i: usize) -> usize {
        (self.b * self.items + i) * 2 * self.heads + 2 * self.h
    }

    /// Index of query row `i`'s softmax row (its shift; `row_count +` it is its sum).
    fn stat(&self, i: usize) -> usize {
        (self.b * self.heads + self.h) * self.items + i
    }
}

/// Degree-5 polynomial for `e^r` on `r` in [-ln 2 / 2, ln 2 / 2], lowest order first: `1 + r q(r)`
/// with `q` interpolating `(e^r - 1) / r` at the five Chebyshev nodes, rounded to f32. The constant
/// term is exactly 1, so a row's maximum (shifted to 0) gets exactly 1. Maximum relative error
/// 2.1e-7 (under two f32 ulp); the degree-6 polynomial's 2.0e-8 cost one more multiply-add per
/// vector for no difference a softmax (a sum and a division) can show.
const EXP_POLY: [f32; 6] = [
    1.0,
    1.0,
    0.499_993_7,
    0.166_665_78,
    0.041_875_646,
    0.008_363_173,
];

/// The kernels, written once against the names of a [`super::simd_lanes`] width module brought
/// into scope by the invoking module; `$features` are the target features they are compiled for.
macro_rules! lane_kernels {
    ($features:literal) => {
        use super::{CoreShape, Geometry, HeadAt, EXP_POLY, SHIFT_BOUND_MAX};

        /// `e^x` lane-wise ([`exp_unclamped`] on inputs clamped to [-87, 88]).
        #[target_feature(enable = $features)]
        #[inline]
        pub(super) unsafe fn exp(x: V) -> V {
            // Operand order keeps NaN: max/min return their second operand when either is NaN.
            exp_unclamped(min(splat(88.0), max(splat(-87.0), x)))
        }

        /// `e^x` for `x` in [-87, 88]: `n = round(x log2 e)` by adding `1.5 * 2^23 + 127` in
        /// the same multiply-add (the sum's low mantissa bits are then `n + 127`, which shifted
        /// into the exponent field make `2^n`), `r = x - n ln 2` in one multiply-add,
        /// [`EXP_POLY`] of `r`. One reduction step instead of Cody-Waite's two: ln 2 rounded to
        /// f32 is off by 1.9e-9, which moves `r` by `1.9e-9 |n|`, above f32's half ulp only for
        /// `|n| > 31` (`x < -21.5`), where a shifted softmax term is below 5e-10 of the row
        /// maximum; `e^x` there is still within 2.4e-7 relative.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn exp_unclamped(x: V) -> V {
            const ROUND_AND_BIAS: f32 = 12_582_912.0 + 127.0;
            let t = fmadd(x, splat(std::f32::consts::LOG2_E), splat(ROUND_AND_BIAS));
            let n = sub(t, splat(ROUND_AND_BIAS));
            let r = fnmadd(n, splat(std::f32::consts::LN_2), x);
            let mut p = splat(EXP_POLY[5]);
            for &c in EXP_POLY[..5].iter().rev() {
                p = fmadd(p, r, splat(c));
            }
            mul(p, shift_into_exponent(t))
        }

        /// The scores of one query row against a vector of the head's keys: `a0 k0 + a1 k1`
        /// (a = scaled query).
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn scores(a0: V, a1: V, k0: *const f32, k1: *const f32) -> V {
            fmadd(a1, load(k1), mul(a0, load(k0)))
        }

        /// A row's scores minus its softmax shift, `(a0 k0 + a1 k1) - shift` (the forward and
        /// the backward's recomputation use this one form, so they agree bitwise; subtracting
        /// after the score keeps the row maximum's exponential exactly 1 when the shift is that
        /// maximum).
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn shifted_scores((a0, a1): (V, V), shift: V, k0: *const f32, k1: *const f32) -> V {
            sub(scores(a0, a1, k0, k1), shift)
        }

        /// One softmax row of the forward: the shifted exponentials of the row's scores (stored
        /// to `kept` when `KEEP`, the last vector spilling into the next row when `may_spill`;
        /// clamped to exp's range when `CLAMP`), their sum and both context sums. The two
        /// choices are constants so that the loop carries no per-chunk branches.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn forward_row<const CLAMP: bool, const KEEP: bool>(
            a: (V, V),
            shift: f32,
            (k0, k1, v0, v1): (*const f32, *const f32, *const f32, *const f32),
            (chunks, tail): (usize, Tail),
            (kept, may_spill): (*mut f32, bool),
        ) -> (V, V, V) {
            let shift = splat(shift);
            let (mut sum, mut c0, mut c1) = (zero(), zero(), zero());
            for c in 0..chunks - 1 {
                let at = LANES * c;
                let x = shifted_scores(a, shift, k0.add(at), k1.add(at));
                let e = if CLAMP { exp(x) } else { exp_unclamped(x) };
                sum = add(sum, e);
                c0 = fmadd(e, load(v0.add(at)), c0);
                c1 = fmadd(e, load(v1.add(at)), c1);
                if KEEP {
                    store(kept.add(at), e);
                }
            }
            // The last chunk: padded lanes masked to exactly zero.
            let at = LANES * (chunks - 1);
            let x = shifted_scores(a, shift, k0.add(at), k1.add(at));
            let e = if CLAMP { exp(x) } else { exp_unclamped(x) };
            let e = keep_tail(e, tail);
            sum = add(sum, e);
            c0 = fmadd(e, load(v0.add(at)), c0);
            c1 = fmadd(e, load(v1.add(at)), c1);
            if KEEP {
                store_tail(kept.add(at), tail, e, may_spill);
            }
            (sum, c0, c1)
        }

        /// Writes one forward row's shift, sum and context from its lane accumulators.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn finish_row(
            ((sum, c0, c1), stat, out_at, shift): ((V, V, V), usize, usize, f32),
            row_count: usize,
            stats: &mut [f32],
            ctx: &mut [f32],
        ) {
            let (total, c0, c1) = hsum3(sum, c0, c1);
            stats[stat] = shift;
            stats[row_count + stat] = total;
            let inv = 1.0 / total;
            let out = &mut ctx[out_at..][..2];
            out[0] = c0 * inv;
            out[1] = c1 * inv;
        }

        #[target_feature(enable = $features)]
        pub(super) unsafe fn forward(
            shape: CoreShape,
            scale: f32,
            (qs, ks, vs): (&[f32], &[f32], &[f32]),
            stats: &mut [f32],
            mut probs: Option<&mut [f32]>,
            ctx: &mut [f32],
        ) {
            let (batch, n, heads) = (shape.batch, shape.items, shape.heads);
            let Some(s) = Geometry::for_call(shape, LANES) else {
                return;
            };
            let (padded, chunks, row_count) = (s.padded, s.chunks, s.row_count);
            let tail = tail_mask(s.tail_lanes);
            let neg_inf = splat(f32::NEG_INFINITY);
            let (mut kt, mut vt) = (s.head_rows(), s.head_rows());
            for b in 0..batch {
                s.transpose_in(ks, b, n, &mut kt);
                s.transpose_in(vs, b, n, &mut vt);
                for h in 0..heads {
                    let k0 = kt[2 * h * padded..].as_ptr();
                    let k1 = kt[(2 * h + 1) * padded..].as_ptr();
                    let v0 = vt[2 * h * padded..].as_ptr();
                    let v1 = vt[(2 * h + 1) * padded..].as_ptr();
                    let key_norm_max = kt[2 * h * padded..][..n]
                        .iter()
                        .zip(&kt[(2 * h + 1) * padded..][..n])
                        .map(|(x0, x1)| (x0 * x0 + x1 * x1).sqrt())
                        .fold(0.0f32, f32::max);
                    let at = s.head(b, h, n);
                    let mut pending = None;
                    for i in 0..n {
                        let q = &qs[at.value_at(i)..][..2];
                        let (q0, q1) = (q[0] * scale, q[1] * scale);
                        let (a0, a1) = (splat(q0), splat(q1));
                        let stat = at.stat(i);
                        let kept = probs.as_deref_mut().map(|p| p[stat * n..].as_mut_ptr());
                        // The softmax shift: |s_j| <= |a| max_j |k_j| (Cauchy-Schwarz) bounds
                        // every score, so that bound is a safe shift as long as it is small
                        // enough that no exponential of `s - bound >= -2 bound` underflows;
                        // then one pass suffices. Otherwise (or with a NaN/inf) the exact row
                        // maximum, from a first pass.
                        let bound = (q0 * q0 + q1 * q1).sqrt() * key_norm_max;
                        let (shift, unclamped) = if bound <= SHIFT_BOUND_MAX {
                            (bound, true)
                        } else {
                            let mut vmax = neg_inf;
                            for c in 0..chunks {
                                let at = LANES * c;
                                let mut sc = scores(a0, a1, k0.add(at), k1.add(at));
                                if c + 1 == chunks {
                                    sc = fill_outside_tail(sc, tail, neg_inf);
                                }
                                vmax = max(vmax, sc);
                            }
                            (hmax(vmax), false)
                        };
                        // Rows are written in order, so a row's last vector may spill into the
                        // next row (which overwrites it) unless it is the buffer's last row.
                        let may_spill = stat + 1 < row_count;
                        let dst = (kept.unwrap_or(std::ptr::null_mut()), may_spill);
                        let (a, geometry, row) = ((a0, a1), (k0, k1, v0, v1), (chunks, tail));
                        let (sum, c0, c1) = match (unclamped, kept.is_some()) {
                            (true, true) => {
                                forward_row::<false, true>(a, shift, geometry, row, dst)
                            }
                            (true, false) => {
                                forward_row::<false, false>(a, shift, geometry, row, dst)
                            }
                            (false, true) => {
                                forward_row::<true, true>(a, shift, geometry, row, dst)
                            }
                            (false, false) => {
                                forward_row::<true, false>(a, shift, geometry, row, dst)
                            }
                        };
                        // The previous row's reductions come after this row's loop in
                        // program order: by then its sums are long complete, so their
                        // latency no longer holds back the next row.
                        if let Some(done) =
                            pending.replace(((sum, c0, c1), stat, at.value_at(i), shift))
                        {
                            finish_row(done, row_count, stats, ctx);
                        }
                    }
                    if let Some(done) = pending.take() {
                        finish_row(done, row_count, stats, ctx);
                    }
                }
            }
        }

        /// One head of one example in the backward: where its rows live, the score scale, the
        /// last vector's lanes, its head-major key/value rows and gradient rows `[padded]`.
        #[derive(Clone, Copy)]
        struct HeadCall {
            at: HeadAt,
            scale: f32,
            tail: Tail,
            keys_values: [*const f32; 4],
            grads: [*mut f32; 4],
        }

        /// The backward of one head's rows from kept exponentials, with the head's dK and dV
        /// (`CHUNKS` vectors per key row each) held in registers across its rows and dP
        /// recomputed in pass B instead of stored: the row-to-row read-modify-writes of the
        /// memory path wait on store-to-load forwarding, which at 64-byte vectors stalls. The
        /// same operations in the same order as the memory path, so the same bits. `kt`/`vt`
        /// rows are the head's keys and values (`[padded]` each), `dkt`/`dvt` receive its
        /// gradients (overwritten).
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn backward_head_in_registers<const CHUNKS: usize>(
            head: &HeadCall,
            (qs, dcs, stats, kept): (&[f32], &[f32], &[f32], &[f32]),
            dqs: &mut [f32],
        ) {
            let HeadCall {
                at,
                scale,
                tail,
                keys_values: [k0, k1, v0, v1],
                grads: [dk0, dk1, dv0, dv1],
            } = *head;
            let (mut dk, mut dv) = ([[zero(); CHUNKS]; 2], [[zero(); CHUNKS]; 2]);
            let n = at.items;
            for i in 0..n {
                let row_at = at.value_at(i);
                let (q0, q1) = (qs[row_at], qs[row_at + 1]);
                let (dc0, dc1) = (dcs[row_at], dcs[row_at + 1]);
                let stat = at.stat(i);
                let inv = 1.0 / stats[at.row_count + stat];
                let src = kept[stat * n..].as_ptr();
                let e_at = |c: usize| {
                    if c + 1 == CHUNKS {
                        load_tail(src.add(LANES * c), tail)
                    } else {
                        load(src.add(LANES * c))
                    }
                };
                let (vdc0, vdc1) = (splat(dc0), splat(dc1));
                let dp_at = |c: usize| {
                    fmadd(
                        vdc1,
                        load(v1.add(LANES * c)),
                        mul(vdc0, load(v0.add(LANES * c))),
                    )
                };
                let (gv0, gv1) = (splat(dc0 * inv), splat(dc1 * inv));
                let mut weighted = zero();
                let (mut e, mut dp) = ([zero(); CHUNKS], [zero(); CHUNKS]);
                for c in 0..CHUNKS {
                    (e[c], dp[c]) = (e_at(c), dp_at(c));
                    dv[0][c] = fmadd(gv0, e[c], dv[0][c]);
                    dv[1][c] = fmadd(gv1, e[c], dv[1][c]);
                    weighted = fmadd(e[c], dp[c], weighted);
                }
                let weighted = splat(hsum(weighted) * inv);
                let factor = scale * inv;
                let (vq0, vq1) = (splat(q0 * factor), splat(q1 * factor));
                let (mut g0, mut g1) = (zero(), zero());
                for c in 0..CHUNKS {
                    let ds = mul(e[c], sub(dp[c], weighted));
                    dk[0][c] = fmadd(vq0, ds, dk[0][c]);
                    dk[1][c] = fmadd(vq1, ds, dk[1][c]);
                    g0 = fmadd(ds, load(k0.add(LANES * c)), g0);
                    g1 = fmadd(ds, load(k1.add(LANES * c)), g1);
                }
                dqs[row_at] = hsum(g0) * factor;
                dqs[row_at + 1] = hsum(g1) * factor;
            }
            for c in 0..CHUNKS {
                store(dk0.add(LANES * c), dk[0][c]);
                store(dk1.add(LANES * c), dk[1][c]);
                store(dv0.add(LANES * c), dv[0][c]);
                store(dv1.add(LANES * c), dv[1][c]);
            }
        }

        #[target_feature(enable = $features)]
        #[allow(clippy::too_many_arguments)]
        pub(super) unsafe fn backward(
            shape: CoreShape,
            scale: f32,
            (qs, ks, vs): (&[f32], &[f32], &[f32]),
            stats: &[f32],
            probs: Option<&[f32]>,
            dcs: &[f32],
            (dqs, dks, dvs): (&mut [f32], &mut [f32], &mut [f32]),
        ) {
            let (batch, n, heads) = (shape.batch, shape.items, shape.heads);
            let Some(s) = Geometry::for_call(shape, LANES) else {
                return;
            };
            let (padded, chunks, row_count) = (s.padded, s.chunks, s.row_count);
            let tail = tail_mask(s.tail_lanes);
            let (mut kt, mut vt) = (s.head_rows(), s.head_rows());
            let (mut dkt, mut dvt) = (s.head_rows(), s.head_rows());
            // Rows short enough for a head's dK and dV to stay in registers, from kept
            // exponentials: `backward_head_in_registers`. The memory path needs one row of
            // exponentials and of dP as scratch.
            let in_registers = probs.is_some() && chunks <= REGISTER_CHUNKS;
            let scratch_len = if in_registers { 0 } else { padded };
            let (mut erow, mut dprow) = (vec![0.0f32; scratch_len], vec![0.0f32; scratch_len]);
            for b in 0..batch {
                s.transpose_in(ks, b, n, &mut kt);
                s.transpose_in(vs, b, n, &mut vt);
                // The register path writes each head's gradients whole; the memory path adds.
                if !in_registers {
                    dkt.iter_mut().chain(dvt.iter_mut()).for_each(|g| *g = 0.0);
                }
                for h in 0..heads {
                    let k0 = kt[2 * h * padded..].as_ptr();
                    let k1 = kt[(2 * h + 1) * padded..].as_ptr();
                    let v0 = vt[2 * h * padded..].as_ptr();
                    let v1 = vt[(2 * h + 1) * padded..].as_ptr();
                    let dk0 = dkt[2 * h * padded..].as_mut_ptr();
                    let dk1 = dkt[(2 * h + 1) * padded..].as_mut_ptr();
                    let dv0 = dvt[2 * h * padded..].as_mut_ptr();
                    let dv1 = dvt[(2 * h + 1) * padded..].as_mut_ptr();
                    let at = s.head(b, h, n);
                    if let Some(kept) = probs.filter(|_| in_registers) {
                        let head = HeadCall {
                            at,
                            scale,
                            tail,
                            keys_values: [k0, k1, v0, v1],
                            grads: [dk0, dk1, dv0, dv1],
                        };
                        let rows = (qs, dcs, stats, kept);
                        match chunks {
                            1 => backward_head_in_registers::<1>(&head, rows, dqs),
                            2 => backward_head_in_registers::<2>(&head, rows, dqs),
                            3 => backward_head_in_registers::<3>(&head, rows, dqs),
                            _ => backward_head_in_registers::<4>(&head, rows, dqs),
                        }
                        continue;
                    }
                    for i in 0..n {
                        let row_at = at.value_at(i);
                        let (q0, q1) = (qs[row_at], qs[row_at + 1]);
                        let (dc0, dc1) = (dcs[row_at], dcs[row_at + 1]);
                        let stat = at.stat(i);
                        let inv = 1.0 / stats[row_count + stat];
                        let shift = splat(stats[stat]);
                        let (a0, a1) = (splat(q0 * scale), splat(q1 * scale));
                        let kept = probs.map(|p| p[stat * n..].as_ptr());
                        let (erow, dprow) = (erow.as_mut_ptr(), dprow.as_mut_ptr());
                        // The row's exponentials `e` are used as they are (P = e / sum): the
                        // 1 / sum goes into per-row constants instead of a multiply per element.
                        let (vdc0, vdc1) = (splat(dc0), splat(dc1));
                        let (gv0, gv1) = (splat(dc0 * inv), splat(dc1 * inv));
                        // Pass A: e (reloaded, or recomputed exactly as the forward made it and
                        // kept for pass B), dP = dctx V^T, dV += P^T dctx = e (dctx / sum), and
                        // <e, dP>.
                        let mut weighted = zero();
                        for c in 0..chunks {
                            let (at, last) = (LANES * c, c + 1 == chunks);
                            let e = match kept {
                                Some(src) if last => load_tail(src.add(at), tail),
                                Some(src) => load(src.add(at)),
                                None => {
                                    let x = shifted_scores((a0, a1), shift, k0.add(at), k1.add(at));
                                    let e = exp(x);
                                    let e = if last { keep_tail(e, tail) } else { e };
                                    store(erow.add(at), e);
                                    e
                                }
                            };
                            let dp = fmadd(vdc1, load(v1.add(at)), mul(vdc0, load(v0.add(at))));
                            store(dprow.add(at), dp);
                            let g0 = dv0.add(at);
                            store(g0, fmadd(gv0, e, load(g0)));
                            let g1 = dv1.add(at);
                            store(g1, fmadd(gv1, e, load(g1)));
                            weighted = fmadd(e, dp, weighted);
                        }
                        // <P, dP> = <e, dP> / sum.
                        let weighted = splat(hsum(weighted) * inv);
                        // Pass B: dS = scale P (dP - <P, dP>) = (scale / sum) e (dP - <P, dP>),
                        // the factor in the constants: dK += dS^T q, dq = dS K.
                        let factor = scale * inv;
                        let (vq0, vq1) = (splat(q0 * factor), splat(q1 * factor));
                        let (mut g0, mut g1) = (zero(), zero());
                        for c in 0..chunks {
                            let at = LANES * c;
                            let e = match kept {
                                Some(src) if c + 1 == chunks => load_tail(src.add(at), tail),
                                Some(src) => load(src.add(at)),
                                None => load(erow.add(at)),
                            };
                            let dp = load(dprow.add(at));
                            let ds = mul(e, sub(dp, weighted));
                            let d0 = dk0.add(at);
                            store(d0, fmadd(vq0, ds, load(d0)));
                            let d1 = dk1.add(at);
                            store(d1, fmadd(vq1, ds, load(d1)));
                            g0 = fmadd(ds, load(k0.add(at)), g0);
                            g1 = fmadd(ds, load(k1.add(at)), g1);
                        }
                        dqs[row_at] = hsum(g0) * factor;
                        dqs[row_at + 1] = hsum(g1) * factor;
                    }
                }
                s.transpose_out(&dkt, b, n, dks);
                s.transpose_out(&dvt, b, n, dvs);
            }
        }
    };
}

/// The kernels at eight lanes (AVX2 + FMA).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::super::simd_lanes::v8::*;
    lane_kernels!("avx2,fma");
}

/// The kernels at sixteen lanes (AVX-512F).
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::super::simd_lanes::v16::*;
    lane_kernels!("avx512f,avx2,fma");
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::super::simd_lanes::{v16, v8};
    use super::*;

    /// `e^x` of one lane at each width this CPU has (8 lanes first).
    fn exp_at_widths(x: f32) -> Vec<f32> {
        let mut out = Vec::new();
        if v8::available() {
            let mut lanes = [0.0f32; 8];
            // SAFETY: AVX2 + FMA present (checked); `lanes` holds eight floats.
            unsafe { v8::store(lanes.as_mut_ptr(), avx2::exp(v8::splat(x))) };
            out.push(lanes[0]);
        }
        if v16::available() {
            let mut lanes = [0.0f32; 16];
            // SAFETY: AVX-512F present (checked); `lanes` holds sixteen floats.
            unsafe { v16::store(lanes.as_mut_ptr(), avx512::exp(v16::splat(x))) };
            out.push(lanes[15]);
        }
        out
    }

    /// The vector exponential against f64 `exp`: within 3e-7 relative (2.6e-7 measured) where
    /// a shifted softmax term matters (`x` in [-21.5, 0]), within 6e-7 over the whole clamped
    /// range (the single-step reduction's ln 2 rounding adds up to 2.4e-7; 4.8e-7 measured),
    /// exactly 1 at 0, NaN stays NaN, and both widths give the same bits.
    #[test]
    fn exponential_matches_f64_exp() {
        if exp_at_widths(0.0).is_empty() {
            eprintln!("no AVX2 + FMA on this CPU: the kernels are not used");
            return;
        }
        let mut worst = (0.0f64, 0.0f64);
        for i in 0..=350_000 {
            let x = -87.0 + 175.0 * i as f32 / 350_000.0;
            let want = f64::from(x).exp();
            let got = exp_at_widths(x);
            assert!(
                got.iter().all(|g| g.to_bits() == got[0].to_bits()),
                "widths differ at {x}: {got:?}"
            );
            let rel = ((f64::from(got[0]) - want) / want).abs();
            let w = if (-21.5..=0.0).contains(&x) {
                &mut worst.0
            } else {
                &mut worst.1
            };
            *w = w.max(rel);
        }
        assert!(worst.0 < 3e-7, "softmax range: {:.3e}", worst.0);
        assert!(worst.1 < 6e-7, "whole range: {:.3e}", worst.1);
        assert!(exp_at_widths(0.0).iter().all(|&e| e == 1.0));
        assert!(exp_at_widths(f32::NAN).iter().all(|e| e.is_nan()));
    }

    /// Everything one call writes, at one width; `recomputed` are the gradients of a backward
    /// without the kept exponentials.
    struct CoreRun {
        stats: Vec<f32>,
        probs: Vec<f32>,
        ctx: Vec<f32>,
        grads: [Vec<f32>; 3],
        recomputed: [Vec<f32>; 3],
    }

    fn run_at(width: Width, shape: CoreShape, scale: f32, inputs: &[Vec<f32>; 4]) -> CoreRun {
        let [q, k, v, dctx] = inputs;
        let rows = shape.batch * shape.heads * shape.items;
        let mut stats = vec![0.0; 2 * rows];
        let mut probs = vec![f32::NAN; rows * shape.items];
        let mut ctx = vec![0.0; q.len()];
        let zeros = || [vec![0.0; q.len()], vec![0.0; q.len()], vec![0.0; q.len()]];
        let (mut grads, mut recomputed) = (zeros(), zeros());
        let [dq, dk, dv] = &mut grads;
        let [rq, rk, rv] = &mut recomputed;
        let qkv = (&q[..], &k[..], &v[..]);
        // SAFETY: the caller checked the width's CPU features; lengths are the kernels'.
        unsafe {
            match width {
                Width::Lanes8 => {
                    avx2::forward(shape, scale, qkv, &mut stats, Some(&mut probs), &mut ctx);
                    avx2::backward(shape, scale, qkv, &stats, Some(&probs), dctx, (dq, dk, dv));
                    avx2::backward(shape, scale, qkv, &stats, None, dctx, (rq, rk, rv));
                }
                Width::Lanes16 => {
                    avx512::forward(shape, scale, qkv, &mut stats, Some(&mut probs), &mut ctx);
                    avx512::backward(shape, scale, qkv, &stats, Some(&probs), dctx, (dq, dk, dv));
                    avx512::backward(shape, scale, qkv, &stats, None, dctx, (rq, rk, rv));
                }
            }
        }
        CoreRun {
            stats,
            probs,
            ctx,
            grads,
            recomputed,
        }
    }

    /// The 8- and 16-lane kernels on rows whose lengths leave partial last vectors at both widths
    /// (13, 21), fill them (64), exceed the 16-lane register path (80), and at a scale that sends
    /// rows through the exact-maximum pass: the kept exponentials and shifts are the same bits
    /// (same operations lane for lane, no spilled lane left behind), the row sums, context and
    /// gradients agree to float reassociation, the kept exponentials are the scores'
    /// `exp(s - shift)`, and at each width a backward that recomputes the exponentials gives the
    /// bits of one that reads them kept (memory path against register path at 16 lanes).
    #[test]
    fn eight_and_sixteen_lane_kernels_agree() {
        if !v16::available() {
            eprintln!("no AVX-512F on this CPU: only the 8-lane kernels run here");
            return;
        }
        for (items, scale) in [(13, 0.7), (21, 0.7), (64, 0.7), (80, 0.7), (21, 40.0)] {
            let shape = CoreShape {
                batch: 3,
                items,
                heads: 8,
                dh: 2,
            };
            let len = shape.batch * items * 16;
            let inputs: [Vec<f32>; 4] = std::array::from_fn(|t| {
                (0..len)
                    .map(|i| ((i * 7919 + t * 104_729) % 2003) as f32 / 1001.0 - 1.0)
                    .collect()
            });
            let a = run_at(Width::Lanes8, shape, scale, &inputs);
            let b = run_at(Width::Lanes16, shape, scale, &inputs);
            let rows = shape.batch * shape.heads * items;
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a.probs), bits(&b.probs), "kept, N = {items}");
            assert_eq!(bits(&a.stats[..rows]), bits(&b.stats[..rows]), "shifts");
            // dQ and dK carry the factor `scale` on sums of terms that cancel in peaked rows,
            // so their reassociation differences grow with it.
            let close = |x: &[f32], y: &[f32], what: &str| {
                let gain = if what == "dq" || what == "dk" {
                    scale.max(1.0)
                } else {
                    1.0
                };
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    assert!(
                        (p - q).abs() <= 2e-6 * gain * (1.0 + p.abs()),
                        "{what}[{i}], N = {items}, scale {scale}: {p} vs {q}"
                    );
                }
            };
            close(&a.stats[rows..], &b.stats[rows..], "sums");
            close(&a.ctx, &b.ctx, "ctx");
            for (g, name) in [(0, "dq"), (1, "dk"), (2, "dv")] {
                close(&a.grads[g], &b.grads[g], name);
                for run in [&a, &b] {
                    assert_eq!(
                        bits(&run.grads[g]),
                        bits(&run.recomputed[g]),
                        "{name} recomputed"
                    );
                }
            }
            // Spot-check the kept values against their definition (last row of the call).
            let (bi, h, i) = (shape.batch - 1, 7, items - 1);
            let row = (bi * shape.heads + h) * items + i;
            let [q, k, _, _] = &inputs;
            for j in 0..items {
                let (qa, ka) = ((bi * items + i) * 16 + 2 * h, (bi * items + j) * 16 + 2 * h);
                let s = f64::from(q[qa] * scale) * f64::from(k[ka])
                    + f64::from(q[qa + 1] * scale) * f64::from(k[ka + 1]);
                let want = (s - f64::from(b.stats[row])).exp();
                let got = f64::from(b.probs[row * items + j]);
                assert!(
                    (got - want).abs() <= 1e-5 * want.max(1e-3),
                    "e[{j}]: {got} vs {want}"
                );
            }
        }
    }
}
