//! Factorization machine over the item axis (NASRec's `FactorizationMachine3D`):
//! `y[b,e] = (sum_n x[b,n,e])^2 - sum_n x[b,n,e]^2`. There is NO 1/2 factor, as in the
//! reference (nasrec-spec §1 block internals, §6.9).

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis};

use super::{cst, Real};

/// `[B, N, E] -> [B, E]`.
pub fn forward<T: Real>(x: ArrayView3<T>) -> Array2<T> {
    let (batch, _, emb) = x.dim();
    let mut y = Array2::zeros((batch, emb));
    for (xb, mut yb) in x.outer_iter().zip(y.rows_mut()) {
        let mut sum = vec![T::zero(); emb];
        let mut sq = vec![T::zero(); emb];
        for row in xb.rows() {
            for ((s, q), &v) in sum.iter_mut().zip(sq.iter_mut()).zip(row.iter()) {
                *s += v;
                *q += v * v;
            }
        }
        for ((y, &s), &q) in yb.iter_mut().zip(sum.iter()).zip(sq.iter()) {
            *y = s * s - q;
        }
    }
    y
}

/// Backward from the forward input: `dx[b,n,e] = 2 dy[b,e] (sum_n' x[b,n',e] - x[b,n,e])`.
///
/// # Panics
/// If `dy` is not `[B, E]` for `x [B, N, E]`.
pub fn backward<T: Real>(x: ArrayView3<T>, dy: ArrayView2<T>) -> Array3<T> {
    let (batch, _, emb) = x.dim();
    assert_eq!(
        dy.dim(),
        (batch, emb),
        "fm backward: dy is {:?} for input {:?}",
        dy.dim(),
        x.dim()
    );
    let two = cst::<T>(2.0);
    let mut dx = Array3::zeros(x.raw_dim());
    let mut sum = vec![T::zero(); emb];
    for ((xb, dyb), mut dxb) in x.outer_iter().zip(dy.rows()).zip(dx.outer_iter_mut()) {
        sum.iter_mut()
            .zip(xb.sum_axis(Axis(0)).iter())
            .for_each(|(s, &v)| *s = v);
        for (xr, mut dr) in xb.rows().into_iter().zip(dxb.rows_mut()) {
            for (((d, &v), &s), &g) in dr.iter_mut().zip(xr.iter()).zip(sum.iter()).zip(dyb.iter())
            {
                *d = two * g * (s - v);
            }
        }
    }
    dx
}
