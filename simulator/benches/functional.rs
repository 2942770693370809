//! Functional crossbar MVM throughput against a plain integer matmul of the same shape.
//!
//! Layer: 256 x 256 weights (8-bit, signed), batch 256 of 8-bit inputs, crossbars of 128 x 128
//! with 2-bit cells, differential polarity, all 128 word lines active, 1-bit DAC. The lossless
//! setting has a 9-bit ADC (128 x 1 x 3 = 384); the lossy one a 4-bit full-range ADC.
//! Inputs are half zero (as after a ReLU), weights uniform; both from a fixed seed.

use divan::Bencher;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_sim::conventions::{AdcRange, Polarity};
use recpim_sim::functional::{exact_matmul, BitSlicing, IntMatrix, SlicedWeights, UintMatrix};

const OUT: usize = 256;
const IN: usize = 256;
const BATCH: usize = 256;

fn main() {
    divan::main();
}

fn layer() -> (IntMatrix, UintMatrix) {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let w: Vec<i32> = (0..OUT * IN)
        .map(|_| rng.random_range(-127..=127))
        .collect();
    let x: Vec<u32> = (0..BATCH * IN)
        .map(|_| {
            if rng.random_bool(0.5) {
                0
            } else {
                rng.random_range(1..=255)
            }
        })
        .collect();
    (
        IntMatrix::new(OUT, IN, w).expect("shape"),
        UintMatrix::new(BATCH, IN, x).expect("shape"),
    )
}

fn slicing(adc_bits: u32) -> BitSlicing {
    BitSlicing {
        crossbar_rows: 128,
        crossbar_cols: 128,
        cell_bits: 2,
        polarity: Polarity::Differential,
        active_rows: 128,
        dac_bits: 1,
        adc_bits,
        adc_range: AdcRange::Full,
    }
}

/// The reference: a plain i64 integer matmul of the same shape.
#[divan::bench]
fn exact_integer_matmul(bencher: Bencher) {
    let (w, x) = layer();
    bencher.bench(|| exact_matmul(divan::black_box(&w), divan::black_box(&x)));
}

/// Functional MVM, weights already sliced (the model's per-batch cost), lossless 9-bit ADC.
#[divan::bench]
fn crossbar_mvm_lossless_adc(bencher: Bencher) {
    let (w, x) = layer();
    let sliced = SlicedWeights::new(&slicing(9), &w, 8).expect("valid");
    bencher.bench(|| sliced.mvm_batch(divan::black_box(&x), 8));
}

/// Functional MVM, weights already sliced, 4-bit full-range ADC.
#[divan::bench]
fn crossbar_mvm_4bit_adc(bencher: Bencher) {
    let (w, x) = layer();
    let sliced = SlicedWeights::new(&slicing(4), &w, 8).expect("valid");
    bencher.bench(|| sliced.mvm_batch(divan::black_box(&x), 8));
}

/// Slicing the weights onto cells (once per layer).
#[divan::bench]
fn slice_weights(bencher: Bencher) {
    let (w, _) = layer();
    let s = slicing(9);
    bencher.bench(|| SlicedWeights::new(&s, divan::black_box(&w), 8));
}
