//! Small slice kernels shared by the fused operators. Floating-point sums are not reassociated
//! by the compiler, so [`dot`] keeps eight partial sums explicitly to let it vectorise.

use super::Real;

/// Lanes of the partial sums in [`dot`].
pub(crate) const LANES: usize = 8;

/// `sum_i a[i] b[i]` over the common length, with eight interleaved partial sums.
#[inline(always)]
pub(crate) fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [T::zero(); LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = T::zero();
    for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    let mut s = T::zero();
    for v in acc {
        s += v;
    }
    s + tail
}
