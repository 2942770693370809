//! Flat row-major integer matrices (the simulator crate has no ndarray) and the exact product.

use super::error::FunctionalError;

/// A signed integer matrix, row-major: `values[r * cols + c]`. Weights are `[out, in]`, one
/// output neuron per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntMatrix {
    rows: usize,
    cols: usize,
    values: Vec<i32>,
}

/// An unsigned integer matrix, row-major: `values[r * cols + c]`. Inputs are `[batch, in]`, one
/// input vector per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UintMatrix {
    rows: usize,
    cols: usize,
    values: Vec<u32>,
}

macro_rules! flat_matrix_impl {
    ($name:ident, $elem:ty) => {
        impl $name {
            /// Wraps `values` (row-major) as a `rows x cols` matrix; fails unless it holds
            /// exactly `rows * cols` values.
            pub fn new(
                rows: usize,
                cols: usize,
                values: Vec<$elem>,
            ) -> Result<Self, FunctionalError> {
                let expected = rows.checked_mul(cols);
                if expected != Some(values.len()) {
                    return Err(FunctionalError::ShapeMismatch {
                        what: stringify!($name),
                        expected: format!("{rows} x {cols} values"),
                        found: format!("{} values", values.len()),
                    });
                }
                Ok(Self { rows, cols, values })
            }

            /// Number of rows.
            pub fn rows(&self) -> usize {
                self.rows
            }

            /// Number of columns.
            pub fn cols(&self) -> usize {
                self.cols
            }

            /// All values, row-major.
            pub fn values(&self) -> &[$elem] {
                &self.values
            }

            /// Row `r` as a slice, or `None` past the last row.
            pub fn row(&self, r: usize) -> Option<&[$elem]> {
                if r < self.rows {
                    self.values.get(r * self.cols..(r + 1) * self.cols)
                } else {
                    None
                }
            }

            /// Gives back the row-major values.
            pub fn into_values(self) -> Vec<$elem> {
                self.values
            }
        }
    };
}

flat_matrix_impl!(IntMatrix, i32);
flat_matrix_impl!(UintMatrix, u32);

/// The exact integer product `Y = X W^T`: `[batch, out]` row-major, `Y[b][o] = sum_i W[o][i] X[b][i]`.
///
/// This is the reference the crossbar path must equal when its ADC is lossless.
pub fn exact_matmul(weights: &IntMatrix, inputs: &UintMatrix) -> Result<Vec<i64>, FunctionalError> {
    if weights.cols != inputs.cols {
        return Err(FunctionalError::ShapeMismatch {
            what: "inputs [batch, in] against weights [out, in]",
            expected: format!("{} input features", weights.cols),
            found: format!("{} input features", inputs.cols),
        });
    }
    let in_features = weights.cols;
    let mut outputs = vec![0_i64; inputs.rows * weights.rows];
    if in_features == 0 {
        return Ok(outputs);
    }
    for (x, y) in inputs
        .values
        .chunks_exact(in_features)
        .zip(outputs.chunks_exact_mut(weights.rows.max(1)))
    {
        for (w, out) in weights.values.chunks_exact(in_features).zip(y.iter_mut()) {
            *out = w
                .iter()
                .zip(x)
                .map(|(&w, &x)| i64::from(w) * i64::from(x))
                .sum();
        }
    }
    Ok(outputs)
}
