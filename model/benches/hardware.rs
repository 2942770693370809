//! Cost of the hardware co-design inner loop (issue 5): mapping a genotype to a simulator
//! workload (+ analytic simulation), the quantized-ideal inference pass and the ADC-aware
//! (hardware-functional) evaluation of a validation sample, for the Criteo-Small and -Full
//! genotypes at 8-bit weights and activations on hwconfigs/default.toml, 10,000-row tables.

use divan::Bencher;
use recpim_model::hardware::{evaluate_hardware, map_genotype, MapOptions};
use recpim_model::net::ModelOptions;
use recpim_model::quant::{quantized_log_loss, BitAssignment, QuantConfig};

mod bench_support;
use bench_support::{batch, genotype, model, schema};

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
