//! Pairwise dot-product interaction: the strict lower triangle of `T T^T` per example
//! (NASRec's dot-product node, `tril_indices(offset=-1)`, no self-interaction).
//!
//! Output order is row-major over the strict lower triangle: (1,0), (2,0), (2,1), (3,0), ...

use ndarray::{Array2, Array3, ArrayView2, ArrayView3};

use super::kernels::axpy;
use super::Real;

/// Number of strict-lower-triangle entries for `p` items: `p (p - 1) / 2`.
pub fn tril_len(p: usize) -> usize {
    p * p.saturating_sub(1) / 2
}

/// `t [B, P, E] -> z [B, P(P-1)/2]` with `z[b, k(i,j)] = <t[b,i,:], t[b,j,:]>` for `i > j`.
///
/// Row i of the triangle (pairs (i, 0..i)) is contiguous in the output, so it is computed as
/// `sum_e t[i,e] * T^T[e, 0..i]` (axpy over j, which vectorises) from an item-major copy.
pub fn forward<T: Real>(t: ArrayView3<T>) -> Array2<T> {
    let (batch, p, emb) = t.dim();
    let mut z = Array2::zeros((batch, tril_len(p)));
    let mut tt = vec![T::zero(); emb * p];
    for (tb, mut zb) in t.outer_iter().zip(z.rows_mut()) {
        for ((j, e), &v) in tb.indexed_iter() {
            tt[e * p + j] = v;
        }
        let zs = zb.as_slice_mut().unwrap_or(&mut []);
        for i in 1..p {
            let zrow = &mut zs[tril_len(i)..tril_len(i) + i];
            for e in 0..emb {
                axpy(tt[e * p + i], &tt[e * p..e * p + i], zrow);
            }
        }
    }
    z
}

/// Backward from the forward input: `dt[i] += dz_ij t[j]`, `dt[j] += dz_ij t[i]`.
///
/// # Panics
/// If `dz` is not `[B, P(P-1)/2]` for `t [B, P, E]`.
pub fn backward<T: Real>(t: ArrayView3<T>, dz: ArrayView2<T>) -> Array3<T> {
    let (batch, p, emb) = t.dim();
    assert_eq!(
        dz.dim(),
        (batch, tril_len(p)),
        "interaction backward: dz is {:?} for input {:?}",
        dz.dim(),
        t.dim()
    );
    let t = t.as_standard_layout();
    let flat = t.as_slice().unwrap_or(&[]);
    let mut dt = Array3::zeros((batch, p, emb));
    let dflat = dt.as_slice_mut().unwrap_or(&mut []);
    for (b, dzb) in dz.rows().into_iter().enumerate() {
        let tb = &flat[b * p * emb..(b + 1) * p * emb];
        let db = &mut dflat[b * p * emb..(b + 1) * p * emb];
        let mut k = 0;
        for i in 1..p {
            let (lower, upper) = db.split_at_mut(i * emb);
            let dti = &mut upper[..emb];
            let ti = &tb[i * emb..(i + 1) * emb];
            for j in 0..i {
                let g = dzb[k];
                k += 1;
                let tj = &tb[j * emb..(j + 1) * emb];
                let dtj = &mut lower[j * emb..(j + 1) * emb];
                axpy(g, tj, dti);
                axpy(g, ti, dtj);
            }
        }
    }
    dt
}
