//! Binary cross-entropy on logits (PyTorch's `BCEWithLogitsLoss`, mean reduction).

use ndarray::{Array1, ArrayView1, Zip};

use super::Real;

/// Mean binary cross-entropy of `sigmoid(logits)` against `labels` in [0, 1], and its gradient
/// with respect to the logits (`(sigmoid(z) - y) / batch`).
///
/// Stable for any logit: `loss = max(z, 0) - z y + ln(1 + e^-|z|)` never exponentiates a positive
/// number. An empty batch has loss 0 and an empty gradient.
///
/// # Panics
/// If `logits` and `labels` differ in length.
pub fn bce_with_logits<T: Real>(logits: ArrayView1<T>, labels: ArrayView1<T>) -> (T, Array1<T>) {
    assert_eq!(
        logits.len(),
        labels.len(),
        "bce_with_logits: {} logits vs {} labels",
        logits.len(),
        labels.len()
    );
    let n = logits.len();
    if n == 0 {
        return (T::zero(), Array1::zeros(0));
    }
    let inv_n = T::one() / T::from_usize(n).unwrap_or_else(T::one);
    let mut total = T::zero();
    let mut grad = Array1::zeros(n);
    Zip::from(&mut grad)
        .and(&logits)
        .and(&labels)
        .for_each(|g, &z, &y| {
            let e = (-z.abs()).exp();
            total += z.max(T::zero()) - z * y + e.ln_1p();
            // sigmoid(z) from the same exponential: 1/(1+e) for z >= 0, e/(1+e) otherwise.
            let p = if z >= T::zero() {
                T::one() / (T::one() + e)
            } else {
                e / (T::one() + e)
            };
            *g = (p - y) * inv_n;
        });
    (total * inv_n, grad)
}
