//! Dense parameters of a network: every tensor is a 2-D array (vectors are stored as one column,
//! `[n, 1]`, so that a vector's entries are its rows), addressed by a stable key. Each tensor also
//! knows where its rows and columns sit inside the supernet's max-width tensor of the same key, so a
//! standalone network can be cut out of a supernet and its gradients written back.

use crate::ops::{self, Real};
use ndarray::{s, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// How a parameter tensor is initialised (nasrec-spec §1 "Init").
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// `xavier_uniform_` over the allocated `[fan_in, fan_out]` shape (Linear weights).
    XavierUniform,
    /// `xavier_uniform_` with the bound of a larger tensor whose `fan_in + fan_out` is given (the
    /// attention's Q/K/V thirds of PyTorch's packed `[3E, E]` in-projection: 4E).
    XavierUniformFans(usize),
    /// All zeros (biases, LayerNorm shifts).
    Zeros,
    /// Every entry the same value (LayerNorm gains: 1, or 0.17 inside the transformer).
    Constant(f64),
}

/// A run of consecutive rows of a compact tensor and where they sit in the max-width tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRun {
    /// First row in the compact (subnet / standalone) tensor.
    pub compact_start: usize,
    /// First row in the supernet's max-width tensor.
    pub max_start: usize,
    /// Number of rows.
    pub len: usize,
}

/// Everything about one dense parameter tensor except its values.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// Stable name, e.g. `b3.linear2d.w`; the supernet shares weights between subnets by this key.
    pub key: String,
    /// Initialiser.
    pub init: Init,
    /// `(rows, cols)` of this network's tensor.
    pub shape: (usize, usize),
    /// `(rows, cols)` of the supernet's max-width tensor of the same key.
    pub max_shape: (usize, usize),
    /// Compact rows -> max-width rows; columns always map to the leading columns.
    pub row_runs: Vec<RowRun>,
    /// True for matrices (weight decay applies), false for vectors (biases, LayerNorm).
    pub is_matrix: bool,
}

impl ParamSpec {
    /// Number of scalars in this network's tensor.
    pub fn numel(&self) -> usize {
        self.shape.0 * self.shape.1
    }
}

/// FNV-1a of a key: a seed stream per parameter that does not depend on the order of creation.
pub(crate) fn key_hash(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Converts an f64 constant into the network's scalar type.
pub(crate) fn real<T: Real>(v: f64) -> T {
    T::from_f64(v).unwrap_or_else(T::zero)
}

/// A seeded tensor of `shape` initialised per `init` (xavier bounds use `shape` itself).
pub(crate) fn init_tensor<T: Real>(
    init: Init,
    shape: (usize, usize),
    seed: u64,
    key: &str,
) -> Array2<T> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ key_hash(key));
    match init {
        Init::Zeros => Array2::zeros(shape),
        Init::Constant(v) => Array2::from_elem(shape, real(v)),
        Init::XavierUniform => ops::init::xavier_uniform(&mut rng, shape.0, shape.1),
        Init::XavierUniformFans(fan_sum) => {
            ops::init::xavier_uniform_with_fans(&mut rng, shape, fan_sum)
        }
    }
}

/// Fewest rows an embedding table is initialised as if it had (in `init_embedding`'s variance).
pub const EMBEDDING_INIT_MIN_ROWS: usize = 1024;

/// Seeded initial embedding table of `rows x dim`: `N(0, 2 / (max(rows, EMBEDDING_INIT_MIN_ROWS) +
/// dim))`.
///
/// Decision (differs from nasrec-spec §1 "Init", which uses `xavier_normal_` over `[rows, dim]`,
/// std `sqrt(2 / (rows + dim))`): the reference trains on full Criteo/Avazu/KDD tables, where
/// most of the sparse input comes from tables of 10^3..10^7 rows (std 0.0005..0.04). On small
/// tables (Frappe's fields have 2..4082 values; synthetic and capped tables are small too) xavier
/// gives up to 0.33, and without LayerNorm the products of embeddings (FM without the 1/2 factor,
/// dot products) amplify that block after block. Flooring the row count keeps the reference's init
/// bit for bit wherever its data regime applies (tables of at least `EMBEDDING_INIT_MIN_ROWS`
/// rows) and bounds the std by `sqrt(2 / (1024 + dim))` ~= 0.044 below it.
pub(crate) fn init_embedding<T: Real>(rows: usize, dim: usize, seed: u64, key: &str) -> Array2<T> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ key_hash(key));
    let table: Array2<T> = ops::init::xavier_normal(&mut rng, rows, dim);
    if rows >= EMBEDDING_INIT_MIN_ROWS {
        return table;
    }
    // Same standard-normal draws, scaled from xavier's std to the floored one.
    let shrink = ((rows + dim) as f64 / (EMBEDDING_INIT_MIN_ROWS + dim) as f64).sqrt();
    let shrink: T = real(shrink);
    table.mapv(|v| v * shrink)
}
/// Copies the compact tensor's share out of a max-width tensor.
pub(crate) fn gather_slice<T: Real>(spec: &ParamSpec, max: &Array2<T>, out: &mut Array2<T>) {
    let cols = spec.shape.1;
    for run in &spec.row_runs {
        out.slice_mut(s![run.compact_start..run.compact_start + run.len, ..cols])
            .assign(&max.slice(s![run.max_start..run.max_start + run.len, ..cols]));
    }
}

/// Writes a compact tensor back into its share of a max-width tensor.
pub(crate) fn scatter_slice<T: Real>(spec: &ParamSpec, compact: &Array2<T>, max: &mut Array2<T>) {
    let cols = spec.shape.1;
    for run in &spec.row_runs {
        max.slice_mut(s![run.max_start..run.max_start + run.len, ..cols])
            .assign(&compact.slice(s![run.compact_start..run.compact_start + run.len, ..cols]));
    }
}
