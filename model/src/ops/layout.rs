//! Standard-layout copies of `[B, N, E]` activations, and their per-example blocks read in place.
//!
//! The dense-to-sparse merger hands item slices of a wider tensor to the item-axis operators;
//! their kernels want contiguous rows. ndarray's `as_standard_layout` copies a strided array
//! element by element through a generic iterator (about a nanosecond per element, 2-3% of a
//! Criteo-Full step); here each example's block of rows (contiguous in an item slice), or else
//! each embedding row, is one `memcpy`.

use std::borrow::Cow;

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis, CowArray, Ix3};

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

/// `[B, sum N_i, E]` from the `[B, N_i, E]` inputs, in standard layout. (ndarray's
/// `concatenate` appends along the item axis, which leaves the items outermost in memory:
/// every item-axis consumer then had to copy its input back to standard layout.)
///
/// # Panics
/// If the inputs differ in batch or embedding width.
pub(crate) fn concat_items<T: Copy + num_traits::Zero>(inputs: &[ArrayView3<'_, T>]) -> Array3<T> {
    let (batch, emb) = inputs.first().map_or((0, 0), |x| (x.dim().0, x.dim().2));
    assert!(
        inputs
            .iter()
            .all(|x| x.dim().0 == batch && x.dim().2 == emb),
        "concat: inputs differ in batch or embedding width"
    );
    let items: usize = inputs.iter().map(|x| x.dim().1).sum();
    let mut out = Vec::with_capacity(batch * items * emb);
    for b in 0..batch {
        for x in inputs {
            let xb = x.index_axis(Axis(0), b);
            match xb.as_slice() {
                Some(block) => out.extend_from_slice(block),
                None => out.extend(xb.iter().copied()),
            }
        }
    }
    Array3::from_shape_vec((batch, items, emb), out)
        .unwrap_or_else(|_| Array3::zeros((batch, items, emb)))
}

/// `[B, sum K_i]` from the `[B, K_i]` inputs, in standard layout: [`concat_items`] of the
/// inputs as `[B, K_i, 1]`.
///
/// # Panics
/// If the inputs differ in batch size.
pub(crate) fn concat_features<T: Copy + num_traits::Zero>(
    inputs: &[ArrayView2<'_, T>],
) -> Array2<T> {
    let as_items: Vec<ArrayView3<'_, T>> = inputs
        .iter()
        .map(|x| x.view().insert_axis(Axis(2)))
        .collect();
    concat_items(&as_items).remove_axis(Axis(2))
}

/// The examples of `x [B, N, E]` as contiguous `[N, E]` blocks for the item-axis kernels: read
/// in place when every example's rows are adjacent (standard layout, or an item slice of a
/// wider tensor, as the dense-to-sparse merger hands out), else from one [`standard_items`]
/// copy.
pub(crate) struct ExampleBlocks<'a, T> {
    in_place: Option<Vec<&'a [T]>>,
    copy: Option<Array3<T>>,
    block_len: usize,
}

impl<'a, T: Copy> ExampleBlocks<'a, T> {
    pub(crate) fn new(x: ArrayView3<'a, T>) -> Self {
        let (_, items, emb) = x.dim();
        let in_place: Option<Vec<&'a [T]>> = x.into_outer_iter().map(|xb| xb.to_slice()).collect();
        let copy = match in_place {
            Some(_) => None,
            None => Some(standard_items(x).into_owned()),
        };
        ExampleBlocks {
            in_place,
            copy,
            block_len: items * emb,
        }
    }

    /// One slice of `N * E` values per example, in example order.
    pub(crate) fn blocks(&self) -> Cow<'_, [&[T]]> {
        if let Some(blocks) = &self.in_place {
            return Cow::Borrowed(blocks.as_slice());
        }
        let (examples, data) = match &self.copy {
            Some(a) => (a.dim().0, a.as_slice().unwrap_or(&[])),
            None => (0, &[][..]),
        };
        if self.block_len == 0 {
            let empty: &[T] = &[];
            return Cow::Owned(vec![empty; examples]);
        }
        Cow::Owned(data.chunks_exact(self.block_len).collect())
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
        // Example blocks: in place for the item slice (pointing into `wide`), copied for the
        // reversed items, equal to the standard-layout examples either way.
        for (v, in_place) in [
            (wide.slice(s![.., 2..7, ..]), true),
            (wide.slice(s![.., ..;-1, ..]), false),
        ] {
            let examples = ExampleBlocks::new(v);
            let blocks = examples.blocks();
            assert_eq!(blocks.len(), 3);
            for (b, block) in blocks.iter().enumerate() {
                let want: Vec<f32> = v.index_axis(ndarray::Axis(0), b).iter().copied().collect();
                assert_eq!(block.to_vec(), want, "example {b}");
                assert_eq!(examples.in_place.is_some(), in_place);
            }
            if in_place {
                assert_eq!(
                    blocks[1].as_ptr(),
                    v.index_axis(ndarray::Axis(0), 1).as_ptr()
                );
            }
        }
        // Concatenations: standard layout, equal to ndarray's, strided inputs included.
        let other = Array3::from_shape_fn((3, 2, 4), |(b, n, e)| -((b * 10 + n * 3 + e) as f32));
        let parts = [
            wide.slice(s![.., 2..5, ..]),
            other.view(),
            wide.slice(s![.., ..;-2, ..]),
        ];
        let joined = concat_items(&parts);
        assert!(joined.is_standard_layout());
        assert_eq!(
            joined,
            ndarray::concatenate(ndarray::Axis(1), &parts).unwrap_or_else(|e| panic!("{e}"))
        );
        let flat = wide.index_axis(ndarray::Axis(2), 1);
        let flat_parts = [
            flat.slice(s![.., 1..4]),
            other.index_axis(ndarray::Axis(1), 0),
            wide.index_axis(ndarray::Axis(1), 3),
        ];
        let joined = concat_features(&flat_parts);
        assert!(joined.is_standard_layout());
        assert_eq!(
            joined,
            ndarray::concatenate(ndarray::Axis(1), &flat_parts).unwrap_or_else(|e| panic!("{e}"))
        );
        // Already standard: borrowed, no copy.
        let copy = standard_items(wide.view());
        assert!(copy.is_view());
        assert_eq!(copy.as_ptr(), wide.as_ptr());
    }
}
