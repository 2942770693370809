//! Pairwise dot-product interaction: the strict lower triangle of `T T^T` per example
//! (NASRec's dot-product node, `tril_indices(offset=-1)`, no self-interaction).
//!
//! Output order is row-major over the strict lower triangle: (1,0), (2,0), (2,1), (3,0), ...
//!
//! Both passes are one small GEMM per example through matrixmultiply (`T T^T` forward,
//! `(D + D^T) T` backward with D the lower-triangular gradient). That computes the full P x P
//! Gram matrix, twice the multiply-adds of the triangle alone, yet runs faster than the direct
//! loops over pairs (BENCHMARKS.md, "Model operators").

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, Array3, ArrayView2, ArrayView3};

use super::Real;

/// Number of strict-lower-triangle entries for `p` items: `p (p - 1) / 2`.
pub fn tril_len(p: usize) -> usize {
    p * p.saturating_sub(1) / 2
}

/// `t [B, P, E] -> z [B, P(P-1)/2]` with `z[b, k(i,j)] = <t[b,i,:], t[b,j,:]>` for `i > j`.
pub fn forward<T: Real>(t: ArrayView3<T>) -> Array2<T> {
    let (batch, p, _) = t.dim();
    let mut z = Array2::zeros((batch, tril_len(p)));
    let mut gram = Array2::zeros((p, p));
    for (tb, mut zb) in t.outer_iter().zip(z.rows_mut()) {
        general_mat_mul(T::one(), &tb, &tb.t(), T::zero(), &mut gram);
        // Row i of the triangle, pairs (i, 0..i), is contiguous in the output.
        let gs = gram.as_slice().expect("a fresh array is contiguous");
        let zs = zb
            .as_slice_mut()
            .expect("rows of a fresh array are contiguous");
        for i in 1..p {
            zs[tril_len(i)..tril_len(i) + i].copy_from_slice(&gs[i * p..i * p + i]);
        }
    }
    z
}

/// Backward from the forward input: `dt[i] += dz_ij t[j]`, `dt[j] += dz_ij t[i]` for `i > j`,
/// i.e. `dT = (D + D^T) T` per example.
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
    let mut dt = Array3::zeros((batch, p, emb));
    // Symmetric gradient matrix; its diagonal stays zero (no self-interaction).
    let mut sym = Array2::zeros((p, p));
    for ((tb, dzb), mut dtb) in t.outer_iter().zip(dz.rows()).zip(dt.outer_iter_mut()) {
        let mut k = 0;
        for i in 1..p {
            for j in 0..i {
                let g = dzb[k];
                k += 1;
                sym[[i, j]] = g;
                sym[[j, i]] = g;
            }
        }
        general_mat_mul(T::one(), &sym, &tb, T::zero(), &mut dtb);
    }
    dt
}
