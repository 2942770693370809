//! Shared helpers of the quant_* and hardware_* tests: a tiny genotype, its schema and batches
//! with a learnable signal.

#![allow(dead_code)]

use ndarray::{Array1, Array2};
use recpim_model::genotype::{Genotype, MacroChoice, MicroChoice};
use recpim_model::{Batch, DataSchema};

/// A 2-block genotype over every operator kind the quantizer sees (FC, dot product, FM, merger).
pub fn tiny_genotype(use_layernorm: u8) -> Genotype {
    Genotype {
        micro: vec![
            MicroChoice {
                active_nodes: vec![1, 2],
                dense_in_dims: 32,
                sparse_in_dims: 16,
                dense_sparse_interact: 1,
                deep_fm: 1,
            },
            MicroChoice {
                active_nodes: vec![0, 2],
                dense_in_dims: 16,
                sparse_in_dims: 16,
                dense_sparse_interact: 0,
                deep_fm: 0,
            },
        ],
        macro_: vec![
            MacroChoice {
                dense_idx: vec![0],
                sparse_idx: vec![0],
                dense_left_idx: vec![0],
                dense_right_idx: vec![0],
            },
            MacroChoice {
                dense_idx: vec![1, 0],
                sparse_idx: vec![1],
                dense_left_idx: vec![1],
                dense_right_idx: vec![0],
            },
        ],
        num_blocks: 2,
        use_layernorm,
        config: "autoctr".to_string(),
        test_loss: None,
    }
}

/// 4 dense features, 3 small tables.
pub fn schema() -> DataSchema {
    DataSchema {
        n_dense: 4,
        table_rows: vec![30, 50, 7],
    }
}

/// Labels with a learnable signal: click when dense feature 0 plus a field's parity is high.
pub fn batch(rows: usize, seed: u64) -> Batch {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64) / f64::from(1u32 << 31)
    };
    let dense = Array2::from_shape_fn((rows, 4), |_| next() as f32);
    let s = schema();
    let sparse = Array2::from_shape_fn((rows, 3), |(_, f)| {
        ((next() * s.table_rows[f] as f64) as u32).min(s.table_rows[f] as u32 - 1)
    });
    let labels = Array1::from_shape_fn(rows, |r| {
        let score = dense[[r, 0]] as f64 + if sparse[[r, 1]] % 2 == 0 { 0.6 } else { 0.0 };
        if score > 0.8 {
            1.0
        } else {
            0.0
        }
    });
    Batch {
        dense,
        sparse,
        labels,
    }
}
