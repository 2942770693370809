//! Parameter initialisers as in the NASRec reference (nasrec-spec §1 "Init"): xavier-uniform
//! Linear weights with zero biases, xavier-normal embeddings, LayerNorm gain 1 and bias 0 except
//! the transformer's two residual LayerNorms, whose gain starts at 0.17 (`LN_INIT`).

use ndarray::{Array1, Array2};
use rand::Rng;
use rand_distr::{Distribution, Normal};

use super::{cst, Real};

/// Initial gain of the transformer encoder's two residual LayerNorms (reference `LN_INIT`).
pub const TRANSFORMER_LN_GAIN: f64 = 0.17;

/// LayerNorm epsilon (PyTorch's default).
pub const LN_EPS: f64 = 1e-5;

/// Xavier (Glorot) uniform `[fan_in, fan_out]` matrix: `U(-a, a)`, `a = sqrt(6 / (fan_in + fan_out))`.
/// The bound is symmetric in the fans, so it equals PyTorch's for its `[out, in]` layout.
pub fn xavier_uniform<T: Real, R: Rng + ?Sized>(
    rng: &mut R,
    fan_in: usize,
    fan_out: usize,
) -> Array2<T> {
    xavier_uniform_with_fans(rng, (fan_in, fan_out), fan_in + fan_out)
}

/// Xavier uniform `shape` matrix whose bound uses `fan_sum = fan_in + fan_out` of a larger
/// tensor it is part of (e.g. one third of PyTorch's packed `[3E, E]` attention in-projection).
pub fn xavier_uniform_with_fans<T: Real, R: Rng + ?Sized>(
    rng: &mut R,
    shape: (usize, usize),
    fan_sum: usize,
) -> Array2<T> {
    if fan_sum == 0 {
        return Array2::zeros(shape);
    }
    let bound = (6.0 / fan_sum as f64).sqrt();
    Array2::from_shape_simple_fn(shape, || cst(rng.random_range(-bound..bound)))
}

/// Xavier (Glorot) normal `[rows, cols]` matrix: `N(0, 2 / (rows + cols))`. For an embedding
/// table `[table_rows, dim]` this matches PyTorch's `xavier_normal_` on `nn.Embedding.weight`.
pub fn xavier_normal<T: Real, R: Rng + ?Sized>(rng: &mut R, rows: usize, cols: usize) -> Array2<T> {
    let std = if rows + cols == 0 {
        0.0
    } else {
        (2.0 / (rows + cols) as f64).sqrt()
    };
    match Normal::new(0.0, std) {
        Ok(normal) => Array2::from_shape_simple_fn((rows, cols), || cst(normal.sample(rng))),
        // Only reachable for a non-finite std, which the arithmetic above cannot produce.
        Err(_) => Array2::zeros((rows, cols)),
    }
}

/// LayerNorm parameters over `n` features: gain `gain` (1.0 by default, 0.17 for the
/// transformer), bias 0.
pub fn layernorm_params<T: Real>(n: usize, gain: f64) -> (Array1<T>, Array1<T>) {
    (Array1::from_elem(n, cst(gain)), Array1::zeros(n))
}
