//! Linear layer along the item axis of a 3D activation (NASRec's "embedded FC": the `linear-3d`
//! node, the transformer's item projection and the dot product's operator-balancing projection):
//! `y[b,m,e] = sum_n x[b,n,e] w[n,m] + b[m]`, `x [B,N,E]`, `w [N,M]` (`[in, out]` as in
//! [`super::linear`]), `y [B,M,E]`.
//!
//! Computed as ONE GEMM: `x` is permuted to `[B*E, N]`, multiplied by `w`, and the `[B*E, M]`
//! result permuted back; the two permuting copies cost O(B(N+M)E) against the GEMM's O(BNME).

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, Array3, ArrayView1, ArrayView2, ArrayView3, ArrayViewMut1, ArrayViewMut2};

use super::Real;

/// `[B, N, E]` -> `[B*E, N]` (standard layout copy).
fn items_last<T: Real>(x: &ArrayView3<T>) -> Array2<T> {
    let (batch, items, emb) = x.dim();
    let permuted = x.view().permuted_axes([0, 2, 1]);
    let mut out = Array2::zeros((batch * emb, items));
    for (mut o, xb) in out
        .exact_chunks_mut((emb, items))
        .into_iter()
        .zip(permuted.outer_iter())
    {
        o.assign(&xb);
    }
    out
}

/// `[B*E, M]` -> `[B, M, E]` (standard layout copy).
fn items_middle<T: Real>(y: &Array2<T>, batch: usize, emb: usize) -> Array3<T> {
    let m = y.ncols();
    let mut out = Array3::zeros((batch, m, emb));
    for (mut ob, yb) in out.outer_iter_mut().zip(y.exact_chunks((emb, m))) {
        ob.assign(&yb.t());
    }
    out
}

/// Forward pass: `x [B, N, E]`, `w [N, M]`, optional `b [M]` -> `[B, M, E]`.
///
/// # Panics
/// If the shapes do not agree.
pub fn forward<T: Real>(x: ArrayView3<T>, w: ArrayView2<T>, b: Option<ArrayView1<T>>) -> Array3<T> {
    let (batch, items, emb) = x.dim();
    assert_eq!(
        items,
        w.nrows(),
        "linear_items: input has {items} items but the weight has {} rows",
        w.nrows()
    );
    let xp = items_last(&x);
    let mut yp = Array2::zeros((batch * emb, w.ncols()));
    general_mat_mul(T::one(), &xp, &w, T::zero(), &mut yp);
    if let Some(b) = b {
        assert_eq!(
            b.len(),
            w.ncols(),
            "linear_items: bias has {} entries for {} outputs",
            b.len(),
            w.ncols()
        );
        yp += &b;
    }
    items_middle(&yp, batch, emb)
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
    let xp = items_last(&x);
    let dyp = items_last(&dy);
    general_mat_mul(T::one(), &xp.t(), &dyp, T::one(), &mut dw);
    if let Some(mut db) = db {
        assert_eq!(
            db.len(),
            outs,
            "linear_items backward: bias gradient has {} entries for {outs} outputs",
            db.len()
        );
        for row in dyp.rows() {
            db += &row;
        }
    }
    let mut dxp = Array2::zeros((batch * emb, items));
    general_mat_mul(T::one(), &dyp, &w.t(), T::zero(), &mut dxp);
    items_middle(&dxp, batch, emb)
}
