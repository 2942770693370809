//! Fully connected layer on 2D activations: `y = x W + b` with `W` stored `[in, out]`.
//!
//! The `[in, out]` layout lets a weight-sharing supernet pass the leading block
//! `w.slice(s![..in, ..out])` of its max-width matrix; all products go through ndarray's
//! `general_mat_mul` (matrixmultiply), which takes strided views without copying.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};

use super::Real;

/// Output width of the register-blocked fast path: the attention layer's 16 x 16 projections
/// (Q, K, V, O and the FFN), where matrixmultiply spends as long packing as multiplying.
pub const FAST_OUT: usize = 16;

/// Rows computed together in [`narrow_rows_body`] (4 rows x 16 outputs: eight AVX2 registers).
const ROW_BLOCK: usize = 4;

/// `y[r, :] = (bias or 0) + sum_i x[r, i] w[i, :]` for `w [I, 16]` row-major, `x [R, I]` and
/// `y [R, 16]` contiguous; with `accumulate`, `y[r, :] +=` the product instead.
#[inline(always)]
fn narrow_rows_body<T: Real>(x: &[T], w: &[T], bias: Option<&[T]>, y: &mut [T], accumulate: bool) {
    const O: usize = FAST_OUT;
    let ins = w.len() / O;
    if ins == 0 {
        for row in y.chunks_exact_mut(O) {
            if !accumulate {
                match bias {
                    Some(b) => row.copy_from_slice(&b[..O]),
                    None => row.iter_mut().for_each(|v| *v = T::zero()),
                }
            }
        }
        return;
    }
    let mut start = [T::zero(); O];
    if let Some(b) = bias {
        start.copy_from_slice(&b[..O]);
    }
    let mut xr = x.chunks_exact(ins * ROW_BLOCK);
    let mut yr = y.chunks_exact_mut(O * ROW_BLOCK);
    for (xb, yb) in (&mut xr).zip(&mut yr) {
        let mut acc = [start; ROW_BLOCK];
        // The block's rows zipped with the weight rows: no index arithmetic, no bounds checks.
        let (x01, x23) = xb.split_at(2 * ins);
        let (x0, x1) = x01.split_at(ins);
        let (x2, x3) = x23.split_at(ins);
        let rows = x0.iter().zip(x1).zip(x2.iter().zip(x3));
        for (wc, ((&s0, &s1), (&s2, &s3))) in w.chunks_exact(O).zip(rows) {
            let Ok(wi) = <&[T; O]>::try_from(wc) else {
                continue;
            };
            for (r, s) in [s0, s1, s2, s3].into_iter().enumerate() {
                for o in 0..O {
                    acc[r][o] += s * wi[o];
                }
            }
        }
        for (dst, a) in yb.chunks_exact_mut(O).zip(&acc) {
            if accumulate {
                dst.iter_mut().zip(a).for_each(|(d, &v)| *d += v);
            } else {
                dst.copy_from_slice(a);
            }
        }
    }
    for (xrow, dst) in xr
        .remainder()
        .chunks_exact(ins)
        .zip(yr.into_remainder().chunks_exact_mut(O))
    {
        let mut acc = start;
        for (&s, wi) in xrow.iter().zip(w.chunks_exact(O)) {
            for (a, &v) in acc.iter_mut().zip(wi) {
                *a += s * v;
            }
        }
        if accumulate {
            dst.iter_mut().zip(&acc).for_each(|(d, &v)| *d += v);
        } else {
            dst.copy_from_slice(&acc);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
/// # Safety
/// The CPU must support AVX2.
unsafe fn narrow_rows_avx2<T: Real>(
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    y: &mut [T],
    accumulate: bool,
) {
    narrow_rows_body(x, w, bias, y, accumulate);
}

/// Runtime dispatch of [`narrow_rows_body`] (both builds give the same bits).
fn narrow_rows<T: Real>(x: &[T], w: &[T], bias: Option<&[T]>, y: &mut [T], accumulate: bool) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `narrow_rows_avx2` only requires AVX2, checked just above.
        unsafe { narrow_rows_avx2(x, w, bias, y, accumulate) };
        return;
    }
    narrow_rows_body(x, w, bias, y, accumulate);
}

/// `dw` rows accumulated together in [`narrow_weight_grad_body`] (twelve AVX2 registers).
const GRAD_ROW_BLOCK: usize = 6;

/// `dw[i0 + k, :] += sum_r x[r, i0 + k] dy[r, :]` for `k < K`: `K` rows of `dw` accumulate in
/// registers over every row of the batch, then are added to `dw` once. `K` is a constant so
/// the loop over the batch carries no branches on the block's size.
#[inline(always)]
fn narrow_weight_grad_rows<T: Real, const K: usize>(x: &[T], dy: &[T], i0: usize, dw: &mut [T]) {
    const O: usize = FAST_OUT;
    let ins = dw.len() / O;
    let mut acc = [[T::zero(); O]; K];
    for (xr, dc) in x.chunks_exact(ins).zip(dy.chunks_exact(O)) {
        let (Ok(d), Ok(xs)) = (
            <&[T; O]>::try_from(dc),
            <&[T; K]>::try_from(&xr[i0..i0 + K]),
        ) else {
            continue;
        };
        for (acc_k, &s) in acc.iter_mut().zip(xs) {
            for o in 0..O {
                acc_k[o] += s * d[o];
            }
        }
    }
    for (k, acc_k) in acc.iter().enumerate() {
        let row = &mut dw[(i0 + k) * O..(i0 + k + 1) * O];
        row.iter_mut().zip(acc_k).for_each(|(g, &a)| *g += a);
    }
}

/// `dw[i, :] += sum_r x[r, i] dy[r, :]` for `x [R, I]`, `dy [R, 16]`, `dw [I, 16]`, all
/// contiguous, in blocks of [`GRAD_ROW_BLOCK`] `dw` rows (smaller at the end). matrixmultiply
/// spends most of this product packing the tall, narrow operands.
#[inline(always)]
fn narrow_weight_grad_body<T: Real>(x: &[T], dy: &[T], dw: &mut [T]) {
    let ins = dw.len() / FAST_OUT;
    let mut i0 = 0;
    while i0 < ins {
        let block = GRAD_ROW_BLOCK.min(ins - i0);
        match block {
            6 => narrow_weight_grad_rows::<T, 6>(x, dy, i0, dw),
            5 => narrow_weight_grad_rows::<T, 5>(x, dy, i0, dw),
            4 => narrow_weight_grad_rows::<T, 4>(x, dy, i0, dw),
            3 => narrow_weight_grad_rows::<T, 3>(x, dy, i0, dw),
            2 => narrow_weight_grad_rows::<T, 2>(x, dy, i0, dw),
            _ => narrow_weight_grad_rows::<T, 1>(x, dy, i0, dw),
        }
        i0 += block;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
/// # Safety
/// The CPU must support AVX2.
unsafe fn narrow_weight_grad_avx2<T: Real>(x: &[T], dy: &[T], dw: &mut [T]) {
    narrow_weight_grad_body(x, dy, dw);
}

/// `dw += x^T dy` through [`narrow_weight_grad_body`] when `dy` has [`FAST_OUT`] columns and
/// every operand is contiguous; returns false (nothing done) otherwise.
fn try_narrow_weight_grad<T: Real>(
    x: &ArrayView2<T>,
    dy: &ArrayView2<T>,
    dw: &mut ArrayViewMut2<T>,
) -> bool {
    if dy.ncols() != FAST_OUT || dw.ncols() != FAST_OUT || dw.nrows() != x.ncols() {
        return false;
    }
    let (Some(xs), Some(ds), Some(gs)) = (x.as_slice(), dy.as_slice(), dw.as_slice_mut()) else {
        return false;
    };
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `narrow_weight_grad_avx2` only requires AVX2, checked just above.
        unsafe { narrow_weight_grad_avx2(xs, ds, gs) };
        return true;
    }
    narrow_weight_grad_body(xs, ds, gs);
    true
}

/// `y (+)= x w (+ b)` through [`narrow_rows`] when `w` has [`FAST_OUT`] columns and at most
/// [`FAST_OUT`] rows and `x`, `y` are contiguous; returns false (nothing done) otherwise.
fn try_narrow<T: Real>(
    x: &ArrayView2<T>,
    w: &ArrayView2<T>,
    b: Option<&ArrayView1<T>>,
    y: &mut ArrayViewMut2<T>,
    accumulate: bool,
) -> bool {
    if w.ncols() != FAST_OUT
        || w.nrows() > FAST_OUT
        || y.ncols() != FAST_OUT
        || x.ncols() != w.nrows()
        || x.nrows() != y.nrows()
    {
        return false;
    }
    let (Some(xs), Some(ys)) = (x.as_slice(), y.as_slice_mut()) else {
        return false;
    };
    let ws: Vec<T> = w.iter().copied().collect();
    let bs: Option<Vec<T>> = b.map(|b| b.iter().copied().collect());
    narrow_rows(xs, &ws, bs.as_deref(), ys, accumulate);
    true
}

fn check_shapes<T>(x: &ArrayView2<T>, w: &ArrayView2<T>, b: Option<&ArrayView1<T>>) {
    assert_eq!(
        x.ncols(),
        w.nrows(),
        "linear: input has {} features but the weight has {} rows",
        x.ncols(),
        w.nrows()
    );
    if let Some(b) = b {
        assert_eq!(
            b.len(),
            w.ncols(),
            "linear: bias has {} entries for {} outputs",
            b.len(),
            w.ncols()
        );
    }
}

/// Forward pass: `x [batch, in]`, `w [in, out]`, optional `b [out]` -> `y [batch, out]`.
///
/// # Panics
/// If the shapes do not agree.
pub fn forward<T: Real>(x: ArrayView2<T>, w: ArrayView2<T>, b: Option<ArrayView1<T>>) -> Array2<T> {
    let mut y = Array2::zeros((x.nrows(), w.ncols()));
    forward_into(x, w, b, y.view_mut());
    y
}

/// Forward pass into a preallocated `y [batch, out]` (overwritten).
///
/// # Panics
/// If the shapes do not agree.
pub fn forward_into<T: Real>(
    x: ArrayView2<T>,
    w: ArrayView2<T>,
    b: Option<ArrayView1<T>>,
    mut y: ArrayViewMut2<T>,
) {
    check_shapes(&x, &w, b.as_ref());
    if try_narrow(&x, &w, b.as_ref(), &mut y, false) {
        return;
    }
    general_mat_mul(T::one(), &x, &w, T::zero(), &mut y);
    if let Some(b) = b {
        y += &b;
    }
}

/// `y += x W` (no bias) into an existing `y [batch, out]`: a Linear over a feature-axis
/// concatenation of inputs is the sum of one such product per input and its block of rows of
/// `W`, without materialising the concatenation.
///
/// # Panics
/// If the shapes do not agree.
pub fn forward_add_into<T: Real>(x: ArrayView2<T>, w: ArrayView2<T>, mut y: ArrayViewMut2<T>) {
    check_shapes(&x, &w, None);
    if try_narrow(&x, &w, None, &mut y, true) {
        return;
    }
    general_mat_mul(T::one(), &x, &w, T::one(), &mut y);
}

/// Backward pass. Accumulates `dw += x^T dy` and `db += sum_rows(dy)`; returns `dx = dy W^T`.
///
/// # Panics
/// If the shapes do not agree.
pub fn backward<T: Real>(
    x: ArrayView2<T>,
    w: ArrayView2<T>,
    dy: ArrayView2<T>,
    dw: ArrayViewMut2<T>,
    db: Option<ArrayViewMut1<T>>,
) -> Array2<T> {
    backward_params(x, dy, dw, db);
    let mut dx = Array2::zeros((dy.nrows(), w.nrows()));
    backward_input_into(w, dy, dx.view_mut(), false);
    dx
}

/// The parameter half of the backward pass: `dw += x^T dy`, `db += sum_rows(dy)`.
/// Use it alone when the input needs no gradient (e.g. the raw dense features).
///
/// # Panics
/// If the shapes do not agree.
pub fn backward_params<T: Real>(
    x: ArrayView2<T>,
    dy: ArrayView2<T>,
    mut dw: ArrayViewMut2<T>,
    db: Option<ArrayViewMut1<T>>,
) {
    assert_eq!(
        x.nrows(),
        dy.nrows(),
        "linear backward: {} input rows vs {} gradient rows",
        x.nrows(),
        dy.nrows()
    );
    assert_eq!(
        dw.dim(),
        (x.ncols(), dy.ncols()),
        "linear backward: weight gradient is {:?}, expected ({}, {})",
        dw.dim(),
        x.ncols(),
        dy.ncols()
    );
    if !try_narrow_weight_grad(&x, &dy, &mut dw) {
        general_mat_mul(T::one(), &x.t(), &dy, T::one(), &mut dw);
    }
    if let Some(mut db) = db {
        assert_eq!(
            db.len(),
            dy.ncols(),
            "linear backward: bias gradient has {} entries for {} outputs",
            db.len(),
            dy.ncols()
        );
        match (dy.as_slice(), db.as_slice_mut()) {
            // Contiguous rows (attention's [B*N, 16] gradients): plain slices, same order.
            (Some(rows), Some(acc)) if !acc.is_empty() => {
                for row in rows.chunks_exact(acc.len()) {
                    acc.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
                }
            }
            _ => {
                for row in dy.axis_iter(Axis(0)) {
                    db += &row;
                }
            }
        }
    }
}

/// The input half of the backward pass into a preallocated `dx [batch, in]`:
/// `dx = dy W^T`, or `dx += dy W^T` when `accumulate` is true (for inputs that feed several ops).
///
/// # Panics
/// If the shapes do not agree.
pub fn backward_input_into<T: Real>(
    w: ArrayView2<T>,
    dy: ArrayView2<T>,
    mut dx: ArrayViewMut2<T>,
    accumulate: bool,
) {
    if try_narrow(&dy, &w.t(), None, &mut dx, accumulate) {
        return;
    }
    let beta = if accumulate { T::one() } else { T::zero() };
    general_mat_mul(T::one(), &dy, &w.t(), beta, &mut dx);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(seed: u64, shape: (usize, usize)) -> Array2<f32> {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_fn(shape, |_| r.random_range(-2.0f32..2.0))
    }

    /// The 16-wide fast path agrees with matrixmultiply up to rounding (rows 4k + 3 exercise
    /// the remainder), for plain, bias, accumulating and transposed-weight calls, and its AVX2
    /// build gives the baseline build's bits.
    #[test]
    fn narrow_path_matches_gemm_and_both_builds_agree() {
        for ins in [1, 7, 16] {
            let x = random(1, (11, ins));
            let w = random(2, (ins, FAST_OUT));
            let b = random(3, (1, FAST_OUT)).row(0).to_owned();
            let start = random(4, (11, FAST_OUT));
            let mut want = start.clone();
            general_mat_mul(1.0, &x, &w, 1.0, &mut want);
            let mut got = start.clone();
            forward_add_into(x.view(), w.view(), got.view_mut());
            let mut with_bias = Array2::zeros((11, FAST_OUT));
            forward_into(x.view(), w.view(), Some(b.view()), with_bias.view_mut());
            let mut want_bias = Array2::zeros((11, FAST_OUT));
            general_mat_mul(1.0, &x, &w, 0.0, &mut want_bias);
            want_bias += &b;
            for (a, e) in got
                .iter()
                .zip(&want)
                .chain(with_bias.iter().zip(&want_bias))
            {
                assert!((a - e).abs() < 1e-4, "ins {ins}: {a} vs {e}");
            }
            // dw += x^T dy (the 16-wide weight-gradient kernel; 4k + 3 input rows).
            let dy = random(6, (11, FAST_OUT));
            let start_dw = random(7, (ins, FAST_OUT));
            let mut dw = start_dw.clone();
            let mut want_dw = dw.clone();
            general_mat_mul(1.0, &x.t(), &dy, 1.0, &mut want_dw);
            backward_params(x.view(), dy.view(), dw.view_mut(), None);
            for (a, e) in dw.iter().zip(&want_dw) {
                assert!((a - e).abs() < 1e-4, "dw ins {ins}: {a} vs {e}");
            }
            // dx = dy W^T with W [16, ins] seen transposed.
            if ins == FAST_OUT {
                let dy = random(5, (11, FAST_OUT));
                let mut dx = Array2::zeros((11, FAST_OUT));
                backward_input_into(w.view(), dy.view(), dx.view_mut(), false);
                let mut want_dx = Array2::zeros((11, FAST_OUT));
                general_mat_mul(1.0, &dy, &w.t(), 0.0, &mut want_dx);
                for (a, e) in dx.iter().zip(&want_dx) {
                    assert!((a - e).abs() < 1e-4, "dx: {a} vs {e}");
                }
            }
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                let (xs, ws) = (x.as_slice().unwrap_or(&[]), w.as_slice().unwrap_or(&[]));
                let bs = b.as_slice();
                let mut base = start.clone();
                let mut wide = start.clone();
                narrow_rows_body(xs, ws, bs, base.as_slice_mut().unwrap_or(&mut []), true);
                // SAFETY: AVX2 was detected just above.
                unsafe {
                    narrow_rows_avx2(xs, ws, bs, wide.as_slice_mut().unwrap_or(&mut []), true)
                };
                let bits = |a: &Array2<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&base), bits(&wide), "ins {ins}");
                let ds = dy.as_slice().unwrap_or(&[]);
                let (mut g_base, mut g_wide) = (start_dw.clone(), start_dw.clone());
                narrow_weight_grad_body(xs, ds, g_base.as_slice_mut().unwrap_or(&mut []));
                // SAFETY: AVX2 was detected just above.
                unsafe {
                    narrow_weight_grad_avx2(xs, ds, g_wide.as_slice_mut().unwrap_or(&mut []))
                };
                assert_eq!(bits(&g_base), bits(&g_wide), "dw ins {ins}");
            }
        }
    }
}
