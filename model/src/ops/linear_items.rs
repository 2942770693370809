//! Linear layer along the item axis of a 3D activation (NASRec's "embedded FC": the `linear-3d`
//! node, the transformer's item projection and the dot product's operator-balancing projection):
//! `y[b,m,e] = sum_n x[b,n,e] w[n,m] + b[m]`, `x [B,N,E]`, `w [N,M]` (`[in, out]` as in
//! [`super::linear`]), `y [B,M,E]`.
//!
//! Computed as one small GEMM per example (`y_b = W^T x_b`, `[M,N] x [N,E]`) writing straight
//! into the output: matrixmultiply takes the transposed and sliced views without copying. The
//! alternative of permuting `x` to `[B*E, N]` for a single large GEMM was measured 1.2x (wall)
//! to 4x (CPU time) slower at B=256, N=64, M=48, E=16: the two permuting copies cost more than
//! the GEMM saves (BENCHMARKS.md, "Model operators").

use ndarray::linalg::general_mat_mul;
use ndarray::{
    Array3, ArrayView1, ArrayView2, ArrayView3, ArrayViewMut1, ArrayViewMut2, ArrayViewMut3,
};

use super::Real;

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
    for ((xb, dyb), mut dxb) in x.outer_iter().zip(dy.outer_iter()).zip(dx.outer_iter_mut()) {
        general_mat_mul(T::one(), &xb, &dyb.t(), T::one(), &mut dw);
        general_mat_mul(T::one(), &w, &dyb, T::zero(), &mut dxb);
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
