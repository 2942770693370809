//! Standard-layout copies of `[B, N, E]` activations.
//!
//! The dense-to-sparse merger hands item slices of a wider tensor to the item-axis operators;
//! their kernels want contiguous rows. ndarray's `as_standard_layout` copies a strided array
//! element by element through a generic iterator (about a nanosecond per element, 2-3% of a
//! Criteo-Full step); here each example's block of rows (contiguous in an item slice), or else
//! each embedding row, is one `memcpy`.

use ndarray::{Array3, ArrayView3, CowArray, Ix3};

/// `x` itself when it is in standard layout, else a standard-layout copy made row by row when
/// its last axis is contiguous (any other layout falls back to ndarray's element-wise copy).
pub(crate) fn standard_items<T: Copy>(x: ArrayView3<'_, T>) -> CowArray<'_, T, Ix3> {
    if x.is_standard_layout() {
        return CowArray::from(x);
    }
    let dim = x.dim();
    // Each embedding row is contiguous when the last axis has unit stride.
    if x.strides()[2] != 1 && dim.2 > 1 {
        return CowArray::from(x.as_standard_layout().into_owned());
    }
    let mut out = Vec::with_capacity(x.len());
    for xb in x.outer_iter() {
        // An item slice of a wider tensor keeps each example's rows adjacent: one copy each.
        if let Some(s) = xb.as_slice() {
            out.extend_from_slice(s);
            continue;
        }
        for row in xb.rows() {
            if let Some(s) = row.as_slice() {
                out.extend_from_slice(s);
            }
        }
    }
    match Array3::from_shape_vec(dim, out) {
        Ok(a) => CowArray::from(a),
        // Unreachable: every row was contiguous, so `out` holds exactly `x.len()` values.
        Err(_) => CowArray::from(x.as_standard_layout().into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::s;

    #[test]
    fn copies_equal_ndarrays_standard_layout() {
        let wide = Array3::from_shape_fn((3, 9, 4), |(b, n, e)| (b * 100 + n * 10 + e) as f32);
        // An item slice (rows contiguous), a reversed-items view, and a strided-embedding view.
        let views = [
            wide.slice(s![.., 2..7, ..]),
            wide.slice(s![.., ..;-1, ..]),
            wide.slice(s![.., .., ..;2]),
        ];
        for (i, v) in views.into_iter().enumerate() {
            let copy = standard_items(v);
            assert!(copy.is_standard_layout(), "view {i}");
            assert_eq!(copy.view(), v, "view {i}");
            assert_eq!(
                copy.to_owned(),
                v.as_standard_layout().to_owned(),
                "view {i}"
            );
        }
        // Already standard: borrowed, no copy.
        let copy = standard_items(wide.view());
        assert!(copy.is_view());
        assert_eq!(copy.as_ptr(), wide.as_ptr());
    }
}
