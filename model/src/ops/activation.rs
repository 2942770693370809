//! Element-wise activations (ReLU, sigmoid) over arrays of any dimension.
//!
//! Backward passes take the forward OUTPUT `y` (enough for both functions), so callers keep
//! one array per activation instead of two.

use ndarray::{Array, ArrayView, ArrayViewMut, Dimension, Zip};

use super::Real;

/// `max(x, 0)`.
pub fn relu<T: Real, D: Dimension>(x: ArrayView<T, D>) -> Array<T, D> {
    x.mapv(relu_scalar)
}

/// ReLU in place.
pub fn relu_inplace<T: Real, D: Dimension>(mut x: ArrayViewMut<T, D>) {
    x.mapv_inplace(relu_scalar);
}

#[inline]
fn relu_scalar<T: Real>(v: T) -> T {
    if v > T::zero() {
        v
    } else {
        T::zero()
    }
}

/// ReLU backward from the forward output: `dx = dy` where `y > 0`, else 0.
///
/// # Panics
/// If `y` and `dy` differ in shape.
pub fn relu_backward<T: Real, D: Dimension>(
    y: ArrayView<T, D>,
    dy: ArrayView<T, D>,
) -> Array<T, D> {
    let mut dx = dy.to_owned();
    relu_backward_inplace(y, dx.view_mut());
    dx
}

/// ReLU backward in place: zeroes `dy` where the forward output `y` is not positive.
///
/// # Panics
/// If `y` and `dy` differ in shape.
pub fn relu_backward_inplace<T: Real, D: Dimension>(y: ArrayView<T, D>, dy: ArrayViewMut<T, D>) {
    Zip::from(dy).and(&y).for_each(|d, &y| {
        if y <= T::zero() {
            *d = T::zero();
        }
    });
}

/// Logistic sigmoid `1 / (1 + e^-x)`, evaluated without overflow for large |x|.
pub fn sigmoid<T: Real, D: Dimension>(x: ArrayView<T, D>) -> Array<T, D> {
    x.mapv(sigmoid_scalar)
}

/// Sigmoid in place.
pub fn sigmoid_inplace<T: Real, D: Dimension>(mut x: ArrayViewMut<T, D>) {
    x.mapv_inplace(sigmoid_scalar);
}

/// Stable scalar sigmoid: `exp` is only ever taken of a non-positive number.
#[inline]
pub fn sigmoid_scalar<T: Real>(v: T) -> T {
    if v >= T::zero() {
        T::one() / (T::one() + (-v).exp())
    } else {
        let e = v.exp();
        e / (T::one() + e)
    }
}

/// Sigmoid backward from the forward output: `dx = dy * y * (1 - y)`.
///
/// # Panics
/// If `y` and `dy` differ in shape.
pub fn sigmoid_backward<T: Real, D: Dimension>(
    y: ArrayView<T, D>,
    dy: ArrayView<T, D>,
) -> Array<T, D> {
    let mut dx = dy.to_owned();
    sigmoid_backward_inplace(y, dx.view_mut());
    dx
}

/// Sigmoid backward in place: `dy *= y * (1 - y)`.
///
/// # Panics
/// If `y` and `dy` differ in shape.
pub fn sigmoid_backward_inplace<T: Real, D: Dimension>(y: ArrayView<T, D>, dy: ArrayViewMut<T, D>) {
    Zip::from(dy)
        .and(&y)
        .for_each(|d, &y| *d = *d * y * (T::one() - y));
}
