//! Adagrad as PyTorch implements it (lr decay 0, initial accumulator 0):
//! `sum += g^2; p -= lr * g / (sqrt(sum) + eps)` (nasrec-spec §3: eps 1e-2).

use ndarray::ArrayViewMut2;

/// Sum of squares of `g`, accumulated in f64 (for the global norm).
pub fn squared_norm(g: &[f32]) -> f64 {
    g.iter().map(|&x| f64::from(x) * f64::from(x)).sum()
}

/// The factor `clip_grad_norm_` multiplies every gradient by: `min(1, max_norm / (norm + 1e-6))`.
/// A non-finite or infinite `max_norm` disables clipping.
pub fn clip_coefficient(norm: f64, max_norm: f32) -> f32 {
    if !max_norm.is_finite() {
        return 1.0;
    }
    let c = f64::from(max_norm) / (norm + 1e-6);
    if c < 1.0 {
        c as f32
    } else {
        1.0
    }
}

/// One Adagrad step on a dense tensor: `g = scale * grad + 2 * weight_decay * p` (the L2 term
/// `wd * ||p||^2` of the reference), then the update. All three slices have the same length.
pub fn adagrad_dense(
    param: &mut [f32],
    grad: &[f32],
    accum: &mut [f32],
    lr: f32,
    eps: f32,
    scale: f32,
    weight_decay: f32,
) {
    let step = (lr, eps, scale, 2.0 * weight_decay);
    for ((p, &g), a) in param.iter_mut().zip(grad).zip(accum.iter_mut()) {
        update(p, a, g, step);
    }
}

/// One element's update, `(lr, eps, scale, 2 * weight_decay)` as `step` (inlined, so the slice
/// loop of [`adagrad_dense`] still vectorises).
#[inline(always)]
fn update(p: &mut f32, a: &mut f32, g: f32, (lr, eps, scale, decay): (f32, f32, f32, f32)) {
    let g = scale * g + decay * *p;
    *a += g * g;
    *p -= lr * g / (a.sqrt() + eps);
}

/// Adagrad on the given rows of an embedding table only (`(row, gradient)` pairs; rows distinct
/// and inside the table, as the sparse gradient merged them).
pub fn adagrad_rows<'a>(
    mut table: ArrayViewMut2<f32>,
    mut accum: ArrayViewMut2<f32>,
    rows: impl Iterator<Item = (u32, &'a [f32])>,
    lr: f32,
    eps: f32,
    scale: f32,
    weight_decay: f32,
) {
    let step = (lr, eps, scale, 2.0 * weight_decay);
    for (r, g) in rows {
        let r = r as usize;
        let mut p = table.row_mut(r);
        let mut a = accum.row_mut(r);
        if let (Some(p), Some(a)) = (p.as_slice_mut(), a.as_slice_mut()) {
            // Contiguous rows (tables in standard layout): the slice loop vectorises.
            adagrad_dense(p, g, a, lr, eps, scale, weight_decay);
            continue;
        }
        for ((p, a), &g) in p.iter_mut().zip(a.iter_mut()).zip(g.iter()) {
            update(p, a, g, step);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ShapeBuilder};

    /// Contiguous rows (the vectorised slice path) and strided rows (a table stored in Fortran
    /// order) give the same bits, and only the listed rows change.
    #[test]
    fn row_updates_agree_across_layouts_and_touch_only_their_rows() {
        let values = |r: usize, c: usize| (r * 7 + c) as f32 * 0.01 - 0.2;
        let table = Array2::from_shape_fn((5, 19), |(r, c)| values(r, c));
        let accum = Array2::from_shape_fn((5, 19), |(r, c)| values(c, r).abs());
        let g1: Vec<f32> = (0..19).map(|c| c as f32 * 0.1 - 0.9).collect();
        let g3: Vec<f32> = (0..19).map(|c| 0.5 - c as f32 * 0.05).collect();
        let rows = [(1u32, &g1[..]), (3, &g3[..])];
        let (mut t_c, mut a_c) = (table.clone(), accum.clone());
        adagrad_rows(
            t_c.view_mut(),
            a_c.view_mut(),
            rows.into_iter(),
            0.1,
            1e-2,
            0.7,
            1e-3,
        );
        let mut t_f = Array2::zeros((5, 19).f());
        t_f.assign(&table);
        let mut a_f = Array2::zeros((5, 19).f());
        a_f.assign(&accum);
        assert!(
            t_f.row(1).as_slice().is_none(),
            "Fortran-order rows are strided"
        );
        adagrad_rows(
            t_f.view_mut(),
            a_f.view_mut(),
            rows.into_iter(),
            0.1,
            1e-2,
            0.7,
            1e-3,
        );
        let bits = |a: &Array2<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&t_c), bits(&t_f));
        assert_eq!(bits(&a_c), bits(&a_f));
        for r in [0, 2, 4] {
            assert_eq!(t_c.row(r), table.row(r));
            assert_eq!(a_c.row(r), accum.row(r));
        }
        assert_ne!(t_c.row(1), table.row(1));
        // One element by the formula: g = scale g + 2 wd p; a += g^2; p -= lr g / (sqrt(a) + eps).
        let (p0, a0, g0) = (table[[3, 4]], accum[[3, 4]], g3[4]);
        let g = 0.7 * g0 + 2.0 * 1e-3 * p0;
        let a = a0 + g * g;
        assert_eq!(a_c[[3, 4]], a);
        assert_eq!(t_c[[3, 4]], p0 - 0.1 * g / (a.sqrt() + 1e-2));
    }
}
