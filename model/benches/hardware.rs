//! Cost of the hardware co-design inner loop (issue 5): mapping a genotype to a simulator
//! workload (+ analytic simulation), the quantized-ideal inference pass and the ADC-aware
//! (hardware-functional) evaluation of a validation sample, for the Criteo-Small and -Full
//! genotypes at 8-bit weights and activations on hwconfigs/default.toml, 10,000-row tables.

use divan::Bencher;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_model::genotype::Genotype;
use recpim_model::hardware::{evaluate_hardware, map_genotype, MapOptions};
use recpim_model::net::{build_nasrec, ModelOptions, NetModel};
use recpim_model::quant::{quantized_log_loss, BitAssignment, QuantConfig};
use recpim_model::{Batch, DataSchema};

const TABLE_ROWS: usize = 10_000;

fn schema() -> DataSchema {
    DataSchema {
        n_dense: 13,
        table_rows: vec![TABLE_ROWS; 26],
    }
}

fn genotype(space: &str) -> Genotype {
    let path = format!(
        "{}/../../shared/data/nasrec_genotypes/ea_criteo_kaggle_{space}_best_1shot.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn batch(rows: usize, seed: u64) -> Batch {
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

fn model(space: &str) -> NetModel {
    build_nasrec(&genotype(space), &schema(), &ModelOptions::default(), 0)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn hw() -> recpim_sim::HwConfig {
    let path = format!("{}/../hwconfigs/default.toml", env!("CARGO_MANIFEST_DIR"));
    recpim_sim::HwConfig::load(path.as_ref()).unwrap_or_else(|e| panic!("{e}"))
}

fn main() {
    divan::main();
}

const SPACES: [&str; 2] = ["autoctr", "xlarge"];

/// Genotype -> Workload, then the analytic engine (what a search does per candidate).
#[divan::bench(args = SPACES)]
fn map_and_simulate(bencher: Bencher, space: &str) {
    let g = genotype(space);
    let hw = hw();
    let s = schema();
    bencher.bench(|| {
        let mapped = map_genotype(
            &g,
            &s,
            &ModelOptions::default(),
            None,
            &MapOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        recpim_sim::simulate_analytic(&hw, &mapped.workload).unwrap_or_else(|e| panic!("{e}"))
    });
}

/// Quantized-ideal log loss of 512 validation examples.
#[divan::bench(args = SPACES)]
fn quantized_ideal_512(bencher: Bencher, space: &str) {
    let m = model(space);
    let cfg = QuantConfig::new(
        BitAssignment::uniform_8(&genotype(space)).unwrap_or_else(|e| panic!("{e}")),
    );
    let b = batch(512, 1);
    bencher.bench(|| quantized_log_loss(m.network(), &cfg, &b).unwrap_or_else(|e| panic!("{e}")));
}

/// Quantized-ideal plus hardware-functional log loss of 512 validation examples (every MVM
/// through the functional crossbar model of hwconfigs/default.toml).
#[divan::bench(args = SPACES)]
fn hardware_functional_512(bencher: Bencher, space: &str) {
    let m = model(space);
    let cfg = QuantConfig::new(
        BitAssignment::uniform_8(&genotype(space)).unwrap_or_else(|e| panic!("{e}")),
    );
    let b = batch(512, 1);
    let hw = hw();
    bencher.bench(|| {
        evaluate_hardware(m.network(), &cfg, &hw, &b, 512).unwrap_or_else(|e| panic!("{e}"))
    });
}
