//! The learned mask of one weight matrix (the seed paper's §6.2): a 2-layer MLP over the weight,
//! `M = sigmoid(W2 ReLU(W1 W))`, applied as `M ⊙ W`.
//!
//! With `W` stored `[in, out]` (rows = inputs), `W1` is `[hidden, in]` and `W2` is `[in, hidden]`:
//! the MLP reads each output neuron's column of weights and gives that column's mask, so `M` has
//! `W`'s shape. Forward and backward are written by hand (checked by finite differences in f64).

use crate::net::params::key_hash;
use crate::ops::{self, Real};
use ndarray::{Array2, ArrayView2, Zip};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The two weight matrices of one mask MLP.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskMlp<T> {
    /// `[hidden, in]`.
    pub w1: Array2<T>,
    /// `[in, hidden]`.
    pub w2: Array2<T>,
}

/// What the backward pass needs from the forward pass.
#[derive(Debug, Clone)]
pub struct MaskCache<T> {
    /// `U = W1 W`, `[hidden, out]`.
    pub pre: Array2<T>,
    /// `A = ReLU(U)`.
    pub hidden: Array2<T>,
    /// `M = sigmoid(W2 A)`, `[in, out]`.
    pub mask: Array2<T>,
}

/// Gradients of a loss through `M ⊙ W` with respect to the mask MLP's inputs.
#[derive(Debug, Clone)]
pub struct MaskGrads<T> {
    /// Through the mask only (the direct `dL/d(M ⊙ W) ⊙ M` term is the caller's).
    pub w_via_mask: Array2<T>,
    /// `dL/dW1`.
    pub w1: Array2<T>,
    /// `dL/dW2`.
    pub w2: Array2<T>,
}

impl<T: Real> MaskMlp<T> {
    /// Seeded xavier-uniform initial MLP for a weight of `rows` inputs (`key` gives each
    /// weight its own stream).
    pub fn init(rows: usize, hidden: usize, seed: u64, key: &str) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ key_hash(key) ^ 0x6d61_736b);
        // xavier_uniform(fan_in, fan_out) returns [fan_in, fan_out]; W1 maps in -> hidden.
        let w1t: Array2<T> = ops::init::xavier_uniform(&mut rng, rows, hidden);
        let w2t: Array2<T> = ops::init::xavier_uniform(&mut rng, hidden, rows);
        MaskMlp {
            w1: w1t.reversed_axes().as_standard_layout().into_owned(),
            w2: w2t.reversed_axes().as_standard_layout().into_owned(),
        }
    }

    /// `M = sigmoid(W2 ReLU(W1 W))` with its cache.
    pub fn forward(&self, w: ArrayView2<'_, T>) -> MaskCache<T> {
        let pre = self.w1.dot(&w);
        let hidden = ops::activation::relu(pre.view());
        let z = self.w2.dot(&hidden);
        let mask = ops::activation::sigmoid(z.view());
        MaskCache { pre, hidden, mask }
    }

    /// Backward from `d_mask = dL/dM` to `W` (through the MLP), `W1` and `W2`.
    pub fn backward(
        &self,
        cache: &MaskCache<T>,
        w: ArrayView2<'_, T>,
        d_mask: ArrayView2<'_, T>,
    ) -> MaskGrads<T> {
        // dZ = dM * M (1 - M)
        let mut dz = d_mask.to_owned();
        Zip::from(&mut dz)
            .and(&cache.mask)
            .for_each(|d, &m| *d = *d * m * (T::one() - m));
        let w2 = dz.dot(&cache.hidden.t());
        let mut du = self.w2.t().dot(&dz);
        Zip::from(&mut du).and(&cache.pre).for_each(|d, &u| {
            if u <= T::zero() {
                *d = T::zero();
            }
        });
        let w1 = du.dot(&w.t());
        let w_via_mask = self.w1.t().dot(&du);
        MaskGrads { w_via_mask, w1, w2 }
    }
}
