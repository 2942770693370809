//! Fully connected layer on 2D activations: `y = x W + b` with `W` stored `[in, out]`.
//!
//! The `[in, out]` layout lets a weight-sharing supernet pass the leading block
//! `w.slice(s![..in, ..out])` of its max-width matrix; all products go through ndarray's
//! `general_mat_mul` (matrixmultiply), which takes strided views without copying.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};

use super::Real;

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
    general_mat_mul(T::one(), &x.t(), &dy, T::one(), &mut dw);
    if let Some(mut db) = db {
        assert_eq!(
            db.len(),
            dy.ncols(),
            "linear backward: bias gradient has {} entries for {} outputs",
            db.len(),
            dy.ncols()
        );
        for row in dy.axis_iter(Axis(0)) {
            db += &row;
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
    let beta = if accumulate { T::one() } else { T::zero() };
    general_mat_mul(T::one(), &dy, &w.t(), beta, &mut dx);
}
