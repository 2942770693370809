//! Shared set-up of the model benches: the Criteo shape, the reference genotypes and batches.

#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_model::genotype::Genotype;
use recpim_model::net::{build_nasrec, ModelOptions, NetModel};
use recpim_model::{Batch, DataSchema};

pub const TABLE_ROWS: usize = 10_000;

/// The Criteo shape (13 dense, 26 tables) with 10,000-row tables.
pub fn schema() -> DataSchema {
    DataSchema {
        n_dense: 13,
        table_rows: vec![TABLE_ROWS; 26],
    }
}

/// A reference Criteo genotype (`autoctr` = Small, `xlarge` = Full) read from ../shared/data.
pub fn genotype(space: &str) -> Genotype {
    let path = format!(
        "{}/../../shared/data/nasrec_genotypes/ea_criteo_kaggle_{space}_best_1shot.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A seeded random batch of the Criteo shape (25% positives).
pub fn batch(rows: usize, seed: u64) -> Batch {
    let s = schema();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Batch {
        dense: ndarray::Array2::from_shape_simple_fn((rows, s.n_dense), || {
            rng.random_range(0.0..5.0f32)
        }),
        sparse: ndarray::Array2::from_shape_simple_fn((rows, s.n_sparse()), || {
            rng.random_range(0..TABLE_ROWS as u32)
        }),
        labels: ndarray::Array1::from_shape_simple_fn(rows, || {
            if rng.random_bool(0.25) {
                1.0
            } else {
                0.0
            }
        }),
    }
}

/// The standalone model of a reference genotype, seed 0.
pub fn model(space: &str) -> NetModel {
    build_nasrec(&genotype(space), &schema(), &ModelOptions::default(), 0)
        .unwrap_or_else(|e| panic!("{e}"))
}
