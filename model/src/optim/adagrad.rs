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
    let decay = 2.0 * weight_decay;
    for ((p, &g), a) in param.iter_mut().zip(grad).zip(accum.iter_mut()) {
        let g = scale * g + decay * *p;
        *a += g * g;
        *p -= lr * g / (a.sqrt() + eps);
    }
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
    let decay = 2.0 * weight_decay;
    for (r, g) in rows {
        let r = r as usize;
        let mut p = table.row_mut(r);
        let mut a = accum.row_mut(r);
        for ((p, a), &g) in p.iter_mut().zip(a.iter_mut()).zip(g.iter()) {
            let g = scale * g + decay * *p;
            *a += g * g;
            *p -= lr * g / (a.sqrt() + eps);
        }
    }
}
