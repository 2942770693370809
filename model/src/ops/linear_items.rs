//! Linear layer along the item axis of a 3D activation (NASRec's "embedded FC": the `linear-3d`
//! node, the transformer's item projection and the dot product's operator-balancing projection):
//! `y[b,m,e] = sum_n x[b,n,e] w[n,m] + b[m]`, `x [B,N,E]`, `w [N,M]` (`[in, out]` as in
//! [`super::linear`]), `y [B,M,E]`.
//!
//! For NASRec's width E = 16 (and any E of [`FAST_EMB`]) the products run in the register-blocked
//! kernels of this file on contiguous rows: a row of E values is two AVX2 registers, so four
//! output rows accumulate in eight registers while the N input rows stream past, and nothing is
//! packed. Per example these products are tiny (`[M,N] x [N,E]`), and a general GEMM spent as
//! long packing them as multiplying (BENCHMARKS.md, "Training speed"). The weight gradient is
//! one pass over the batch: `dW[n,:] += x[b,n,e] dy_b^T[e,:]` with `dy_b` transposed once per
//! example, so each `dW` row stays in registers over the E steps. Operands that are not in
//! standard layout are copied into it first (the dense-to-sparse merger's item slices: one
//! copy costs far less than a packed GEMM per example); other widths use one matrixmultiply
//! GEMM per example.
//!
//! The kernels are compiled for the x86-64 baseline and with AVX2 enabled, chosen at run time;
//! both execute the same operations in the same order (no FMA contraction), so they agree
//! bitwise. Summation order over the input rows is fixed, so results do not depend on threads.

use ndarray::linalg::general_mat_mul;
use ndarray::{
    Array3, ArrayView1, ArrayView2, ArrayView3, ArrayViewMut1, ArrayViewMut2, ArrayViewMut3,
};

use super::Real;

/// The embedding width the register-blocked kernels are built for (NASRec's E).
pub const FAST_EMB: usize = 16;

/// Output rows computed together in [`product_rows`] (4 rows x E = 16 is eight AVX2 registers).
const ROW_BLOCK: usize = 4;

/// `out[o, :] (+)= sum_i a[i * outs + o] * input[i, :]` for one example: `a [I, O]` row-major,
/// `input [I, E]`, `out [O, E]`, all contiguous, E = `FAST_EMB`. With `bias`, `out` starts from
/// it; else from zero, or from `out` itself when `accumulate`.
#[inline(always)]
fn product_rows<T: Real>(
    a: &[T],
    outs: usize,
    input: &[T],
    out: &mut [T],
    bias: Option<&[T]>,
    accumulate: bool,
) {
    const E: usize = FAST_EMB;
    let ins = input.len() / E;
    let mut o0 = 0;
    while o0 < outs {
        let rows = ROW_BLOCK.min(outs - o0);
        let mut acc = [[T::zero(); E]; ROW_BLOCK];
        if let Some(b) = bias {
            for (r, acc_r) in acc.iter_mut().enumerate().take(rows) {
                acc_r.iter_mut().for_each(|v| *v = b[o0 + r]);
            }
        }
        if rows == ROW_BLOCK {
            for (i, chunk) in input.chunks_exact(E).enumerate() {
                let Ok(x) = <&[T; E]>::try_from(chunk) else {
                    continue;
                };
                let w = &a[i * outs + o0..i * outs + o0 + ROW_BLOCK];
                for r in 0..ROW_BLOCK {
                    let wr = w[r];
                    for e in 0..E {
                        acc[r][e] += wr * x[e];
                    }
                }
            }
        } else {
            for i in 0..ins {
                let x = &input[i * E..(i + 1) * E];
                for (r, acc_r) in acc.iter_mut().enumerate().take(rows) {
                    let wr = a[i * outs + o0 + r];
                    for (v, &xe) in acc_r.iter_mut().zip(x) {
                        *v += wr * xe;
                    }
                }
            }
        }
        for (r, acc_r) in acc.iter().enumerate().take(rows) {
            let dst = &mut out[(o0 + r) * E..(o0 + r + 1) * E];
            if accumulate && bias.is_none() {
                dst.iter_mut().zip(acc_r).for_each(|(d, &v)| *d += v);
            } else {
                dst.copy_from_slice(acc_r);
            }
        }
        o0 += rows;
    }
}

/// `out_b = A^T input_b` (+ bias, or `+=` when `accumulate`) for every example of a batch:
/// `a [I, O]`, `input [B, I, E]`, `out [B, O, E]`, contiguous.
#[inline(always)]
fn product_batch_body<T: Real>(
    a: &[T],
    outs: usize,
    input: &[T],
    out: &mut [T],
    bias: Option<&[T]>,
    accumulate: bool,
) {
    let ins = a.len() / outs.max(1);
    let in_len = ins * FAST_EMB;
    let out_len = outs * FAST_EMB;
    if in_len == 0 || out_len == 0 {
        return;
    }
    for (xb, yb) in input
        .chunks_exact(in_len)
        .zip(out.chunks_exact_mut(out_len))
    {
        product_rows(a, outs, xb, yb, bias, accumulate);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
/// # Safety
/// The CPU must support AVX2.
unsafe fn product_batch_avx2<T: Real>(
    a: &[T],
    outs: usize,
    input: &[T],
    out: &mut [T],
    bias: Option<&[T]>,
    accumulate: bool,
) {
    product_batch_body(a, outs, input, out, bias, accumulate);
}

/// Runtime dispatch of [`product_batch_body`].
fn product_batch<T: Real>(
    a: &[T],
    outs: usize,
    input: &[T],
    out: &mut [T],
    bias: Option<&[T]>,
    accumulate: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `product_batch_avx2` only requires AVX2, checked just above.
        unsafe { product_batch_avx2(a, outs, input, out, bias, accumulate) };
        return;
    }
    product_batch_body(a, outs, input, out, bias, accumulate);
}

/// Columns of `dW` accumulated together in [`weight_grad_body`] (two AVX2 registers in f32).
const COL_BLOCK: usize = 16;

/// `acc[r][j] = sum_e xs[r][e] dyt[e * stride + j]` for two `dW` rows at once over one block
/// of [`COL_BLOCK`] columns (`dyt` starts at the block).
#[inline(always)]
fn weight_block2<T: Real>(xs: [&[T]; 2], dyt: &[T], stride: usize) -> [[T; COL_BLOCK]; 2] {
    let mut acc = [[T::zero(); COL_BLOCK]; 2];
    for e in 0..FAST_EMB {
        let Ok(d) = <&[T; COL_BLOCK]>::try_from(&dyt[e * stride..e * stride + COL_BLOCK]) else {
            continue;
        };
        let (s0, s1) = (xs[0][e], xs[1][e]);
        for j in 0..COL_BLOCK {
            acc[0][j] += s0 * d[j];
            acc[1][j] += s1 * d[j];
        }
    }
    acc
}

/// `dw [N, M] += sum_b x_b dy_b^T` (`x [B, N, E]`, `dy [B, M, E]`, contiguous; `dw` row-major
/// and contiguous): per example, `dy_b` is transposed to `[E, M']` once, `M'` being `M` rounded
/// up to whole blocks of [`COL_BLOCK`] columns with zeros; then pairs of `dW` rows accumulate
/// `sum_e x[b,n,e] dyt[e, block]` over the blocks in registers and add them to `dW` once per
/// example (the last block only its real columns), so a width like 39 runs no scalar tail.
#[inline(always)]
fn weight_grad_body<T: Real>(x: &[T], dy: &[T], items: usize, outs: usize, dw: &mut [T]) {
    const E: usize = FAST_EMB;
    let (x_len, dy_len) = (items * E, outs * E);
    if x_len == 0 || dy_len == 0 {
        return;
    }
    let stride = outs.div_ceil(COL_BLOCK) * COL_BLOCK;
    let mut dyt = vec![T::zero(); E * stride];
    let mut add_rows = |acc: &[[T; COL_BLOCK]], n: usize, m0: usize| {
        let cols = COL_BLOCK.min(outs - m0);
        for (r, acc_r) in acc.iter().enumerate() {
            let row = (n + r) * outs + m0;
            for (g, &a) in dw[row..row + cols].iter_mut().zip(acc_r) {
                *g += a;
            }
        }
    };
    for (xb, dyb) in x.chunks_exact(x_len).zip(dy.chunks_exact(dy_len)) {
        for (m, dym) in dyb.chunks_exact(E).enumerate() {
            for (e, &v) in dym.iter().enumerate() {
                dyt[e * stride + m] = v;
            }
        }
        let mut n = 0;
        while n + 2 <= items {
            let xs = [&xb[n * E..(n + 1) * E], &xb[(n + 1) * E..(n + 2) * E]];
            for m0 in (0..outs).step_by(COL_BLOCK) {
                add_rows(&weight_block2(xs, &dyt[m0..], stride), n, m0);
            }
            n += 2;
        }
        if n < items {
            // An odd last row: paired with itself, its second result dropped.
            let xn = &xb[n * E..(n + 1) * E];
            for m0 in (0..outs).step_by(COL_BLOCK) {
                add_rows(&weight_block2([xn, xn], &dyt[m0..], stride)[..1], n, m0);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
/// # Safety
/// The CPU must support AVX2.
unsafe fn weight_grad_avx2<T: Real>(x: &[T], dy: &[T], items: usize, outs: usize, dw: &mut [T]) {
    weight_grad_body(x, dy, items, outs, dw);
}

/// Runtime dispatch of [`weight_grad_body`].
fn weight_grad<T: Real>(x: &[T], dy: &[T], items: usize, outs: usize, dw: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `weight_grad_avx2` only requires AVX2, checked just above.
        unsafe { weight_grad_avx2(x, dy, items, outs, dw) };
        return;
    }
    weight_grad_body(x, dy, items, outs, dw);
}

/// A contiguous row-major copy of `w` (`[in, out]`), or of its transpose.
fn dense_copy<T: Real>(w: &ArrayView2<T>, transpose: bool) -> Vec<T> {
    if transpose {
        w.t().iter().copied().collect()
    } else {
        w.iter().copied().collect()
    }
}

/// Forward pass: `x [B, N, E]`, `w [N, M]`, optional `b [M]` -> `[B, M, E]`.
///
/// # Panics
/// If the shapes do not agree.
pub fn forward<T: Real>(x: ArrayView3<T>, w: ArrayView2<T>, b: Option<ArrayView1<T>>) -> Array3<T> {
    let (batch, _, emb) = x.dim();
    let mut y = Array3::zeros((batch, w.ncols(), emb));
    forward_into(x, w, b, y.view_mut());
    y
}

/// [`forward`] into a preallocated `y [B, M, E]` (overwritten).
///
/// # Panics
/// If the shapes do not agree.
pub fn forward_into<T: Real>(
    x: ArrayView3<T>,
    w: ArrayView2<T>,
    b: Option<ArrayView1<T>>,
    mut y: ArrayViewMut3<T>,
) {
    let (batch, items, emb) = x.dim();
    assert_eq!(
        items,
        w.nrows(),
        "linear_items: input has {items} items but the weight has {} rows",
        w.nrows()
    );
    assert_eq!(
        y.dim(),
        (batch, w.ncols(), emb),
        "linear_items: output is {:?}, expected {:?}",
        y.dim(),
        (batch, w.ncols(), emb)
    );
    if let Some(b) = &b {
        assert_eq!(
            b.len(),
            w.ncols(),
            "linear_items: bias has {} entries for {} outputs",
            b.len(),
            w.ncols()
        );
    }
    if emb == FAST_EMB {
        // A strided input (e.g. an item slice of a wider tensor) is copied once: far cheaper
        // than one packed GEMM per example.
        let x = x.as_standard_layout();
        if let (Some(xs), Some(ys)) = (x.as_slice(), y.as_slice_mut()) {
            let bias: Option<Vec<T>> = b.as_ref().map(|b| b.iter().copied().collect());
            product_batch(
                &dense_copy(&w, false),
                w.ncols(),
                xs,
                ys,
                bias.as_deref(),
                false,
            );
            return;
        }
    }
    let wt = w.t();
    for (xb, mut yb) in x.outer_iter().zip(y.outer_iter_mut()) {
        general_mat_mul(T::one(), &wt, &xb, T::zero(), &mut yb);
        if let Some(b) = &b {
            for (mut row, &bm) in yb.rows_mut().into_iter().zip(b.iter()) {
                row.mapv_inplace(|v| v + bm);
            }
        }
    }
}

/// `y += ` the item-axis product of `x` and `w` (no bias) into an existing `y [B, M, E]`: the
/// embedded FC over an item-axis concatenation of inputs, one input (and its block of rows of
/// `w`) at a time.
///
/// # Panics
/// If the shapes do not agree.
pub fn forward_add_into<T: Real>(x: ArrayView3<T>, w: ArrayView2<T>, mut y: ArrayViewMut3<T>) {
    let (batch, items, emb) = x.dim();
    assert_eq!(
        items,
        w.nrows(),
        "linear_items: input has {items} items but the weight has {} rows",
        w.nrows()
    );
    assert_eq!(
        y.dim(),
        (batch, w.ncols(), emb),
        "linear_items: output is {:?}, expected {:?}",
        y.dim(),
        (batch, w.ncols(), emb)
    );
    if emb == FAST_EMB {
        let x = x.as_standard_layout();
        if let (Some(xs), Some(ys)) = (x.as_slice(), y.as_slice_mut()) {
            product_batch(&dense_copy(&w, false), w.ncols(), xs, ys, None, true);
            return;
        }
    }
    let wt = w.t();
    for (xb, mut yb) in x.outer_iter().zip(y.outer_iter_mut()) {
        general_mat_mul(T::one(), &wt, &xb, T::one(), &mut yb);
    }
}

/// Backward pass from the forward input: accumulates `dw[n,m] += sum_{b,e} x[b,n,e] dy[b,m,e]`
/// and `db[m] += sum_{b,e} dy[b,m,e]`; returns `dx [B, N, E]`.
///
/// # Panics
/// If the shapes do not agree.
pub fn backward<T: Real>(
    x: ArrayView3<T>,
    w: ArrayView2<T>,
    dy: ArrayView3<T>,
    mut dw: ArrayViewMut2<T>,
    db: Option<ArrayViewMut1<T>>,
) -> Array3<T> {
    let (batch, items, emb) = x.dim();
    let outs = w.ncols();
    assert_eq!(
        items,
        w.nrows(),
        "linear_items backward: input has {items} items but the weight has {} rows",
        w.nrows()
    );
    assert_eq!(
        dy.dim(),
        (batch, outs, emb),
        "linear_items backward: dy is {:?}, expected {:?}",
        dy.dim(),
        (batch, outs, emb)
    );
    assert_eq!(
        dw.dim(),
        w.dim(),
        "linear_items backward: dw is {:?}, weight {:?}",
        dw.dim(),
        w.dim()
    );
    let mut dx = Array3::zeros((batch, items, emb));
    let (x_std, dy_std) = if emb == FAST_EMB {
        (Some(x.as_standard_layout()), Some(dy.as_standard_layout()))
    } else {
        (None, None)
    };
    let fast = x_std
        .as_ref()
        .and_then(|x| x.as_slice())
        .zip(dy_std.as_ref().and_then(|d| d.as_slice()));
    if let (Some((xs, dys)), Some(dxs)) = (fast, dx.as_slice_mut()) {
        // dx_b = W dy_b: the forward kernel with the transposed weight ([M, N] row-major).
        product_batch(&dense_copy(&w, true), items, dys, dxs, None, false);
        match dw.as_slice_mut() {
            Some(dws) => weight_grad(xs, dys, items, outs, dws),
            None => {
                let mut acc = vec![T::zero(); items * outs];
                weight_grad(xs, dys, items, outs, &mut acc);
                dw.iter_mut().zip(&acc).for_each(|(g, &a)| *g += a);
            }
        }
    } else {
        for ((xb, dyb), mut dxb) in x.outer_iter().zip(dy.outer_iter()).zip(dx.outer_iter_mut()) {
            general_mat_mul(T::one(), &xb, &dyb.t(), T::one(), &mut dw);
            general_mat_mul(T::one(), &w, &dyb, T::zero(), &mut dxb);
        }
    }
    if let Some(mut db) = db {
        assert_eq!(
            db.len(),
            outs,
            "linear_items backward: bias gradient has {} entries for {outs} outputs",
            db.len()
        );
        for dyb in dy.outer_iter() {
            for (d, row) in db.iter_mut().zip(dyb.rows()) {
                *d += row.sum();
            }
        }
    }
    dx
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(seed: u64, len: usize) -> Vec<f32> {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        (0..len).map(|_| r.random_range(-2.0f32..2.0)).collect()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The AVX2 build of both kernels gives the baseline build's bits (same operations in the
    /// same order), for shapes with partial row and column blocks (N = 7, M = 21 = 16 + 5).
    #[test]
    fn avx2_and_baseline_builds_agree_bitwise() {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            let (batch, items, outs) = (3, 7, 21);
            let a = random(1, items * outs);
            let input = random(2, batch * items * FAST_EMB);
            let bias = random(3, outs);
            let start = random(4, batch * outs * FAST_EMB);
            for (b, acc) in [(Some(&bias[..]), false), (None, false), (None, true)] {
                let mut base = start.clone();
                let mut wide = start.clone();
                product_batch_body(&a, outs, &input, &mut base, b, acc);
                // SAFETY: AVX2 was detected just above.
                unsafe { product_batch_avx2(&a, outs, &input, &mut wide, b, acc) };
                assert_eq!(
                    bits(&base),
                    bits(&wide),
                    "bias {} accumulate {acc}",
                    b.is_some()
                );
            }
            let dy = random(5, batch * outs * FAST_EMB);
            let mut base = random(6, items * outs);
            let mut wide = base.clone();
            weight_grad_body(&input, &dy, items, outs, &mut base);
            // SAFETY: as above.
            unsafe { weight_grad_avx2(&input, &dy, items, outs, &mut wide) };
            assert_eq!(bits(&base), bits(&wide), "weight gradient");
            return;
        }
        eprintln!("no AVX2 on this CPU: only the baseline build exists to test");
    }

    /// An item slice of a wider tensor (strided, as the dense-to-sparse merger passes it) takes
    /// the fast path through a copy and gives exactly what its contiguous copy gives.
    #[test]
    fn strided_items_equal_their_contiguous_copy() {
        let wide = ndarray::Array3::from_shape_vec((3, 9, FAST_EMB), random(7, 3 * 9 * FAST_EMB))
            .unwrap_or_else(|e| panic!("{e}"));
        let x = wide.slice(ndarray::s![.., 2..8, ..]);
        assert!(!x.is_standard_layout());
        let owned = x.to_owned();
        let w = Array2::from_shape_vec((6, 5), random(8, 30)).unwrap_or_else(|e| panic!("{e}"));
        let b = ndarray::Array1::from(random(9, 5));
        let strided = forward(x, w.view(), Some(b.view()));
        let contiguous = forward(owned.view(), w.view(), Some(b.view()));
        assert_eq!(strided, contiguous);
        let dy = ndarray::Array3::from_shape_vec((3, 5, FAST_EMB), random(10, 3 * 5 * FAST_EMB))
            .unwrap_or_else(|e| panic!("{e}"));
        let (mut dw1, mut dw2) = (Array2::zeros((6, 5)), Array2::zeros((6, 5)));
        let dx1 = backward(x, w.view(), dy.view(), dw1.view_mut(), None);
        let dx2 = backward(owned.view(), w.view(), dy.view(), dw2.view_mut(), None);
        assert_eq!((dx1, dw1), (dx2, dw2));
    }

    /// The kernels against the definition, in f64, with every block shape (N odd, M with a
    /// partial column block and a partial row block).
    #[test]
    fn kernels_match_the_definition() {
        let mut r = ChaCha8Rng::seed_from_u64(9);
        for (items, outs) in [(1, 1), (5, 3), (7, 21), (8, 32), (2, 48)] {
            let batch = 2;
            let e = FAST_EMB;
            let w = Array2::from_shape_fn((items, outs), |_| r.random_range(-1.0f64..1.0));
            let x: Vec<f64> = (0..batch * items * e)
                .map(|_| r.random_range(-1.0..1.0))
                .collect();
            let dy: Vec<f64> = (0..batch * outs * e)
                .map(|_| r.random_range(-1.0..1.0))
                .collect();
            let mut y = vec![f64::NAN; batch * outs * e];
            product_batch(&dense_copy(&w.view(), false), outs, &x, &mut y, None, false);
            let mut dw = vec![0.5; items * outs];
            weight_grad(&x, &dy, items, outs, &mut dw);
            for b in 0..batch {
                for m in 0..outs {
                    for k in 0..e {
                        let want: f64 = (0..items)
                            .map(|n| w[[n, m]] * x[(b * items + n) * e + k])
                            .sum();
                        let got = y[(b * outs + m) * e + k];
                        assert!(
                            (got - want).abs() < 1e-12,
                            "y {items}x{outs}: {got} vs {want}"
                        );
                    }
                }
            }
            for n in 0..items {
                for m in 0..outs {
                    let want: f64 = 0.5
                        + (0..batch)
                            .flat_map(|b| (0..e).map(move |k| (b, k)))
                            .map(|(b, k)| x[(b * items + n) * e + k] * dy[(b * outs + m) * e + k])
                            .sum::<f64>();
                    let got = dw[n * outs + m];
                    assert!(
                        (got - want).abs() < 1e-12,
                        "dw {items}x{outs}: {got} vs {want}"
                    );
                }
            }
        }
    }
}
