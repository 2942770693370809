//! Speed of the two engines on the shipped NASRec-sized workload (7 blocks, 31 ops, batch 16)
//! and on the MNSIM golden layer, over the shipped presets.

use recpim_sim::{simulate_analytic, simulate_cycle, HwConfig, Workload};
use std::path::PathBuf;

fn main() {
    divan::main();
}

fn load(hw: &str, workload: &str) -> (HwConfig, Workload) {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../hwconfigs"));
    let hw = HwConfig::load(&root.join(hw)).expect("shipped preset");
    let workload =
        Workload::load(&root.join("workloads").join(workload)).expect("shipped workload");
    (hw, workload)
}

const PRESETS: &[&str] = &["default.toml", "mnsim-default.toml", "isaac.toml"];

#[divan::bench(args = PRESETS)]
fn analytic_nasrec_7block(bencher: divan::Bencher, preset: &str) {
    let (hw, workload) = load(preset, "nasrec-7block.toml");
    bencher.bench_local(|| simulate_analytic(divan::black_box(&hw), divan::black_box(&workload)));
}

#[divan::bench(args = PRESETS)]
fn cycle_nasrec_7block(bencher: divan::Bencher, preset: &str) {
    let (hw, workload) = load(preset, "nasrec-7block.toml");
    bencher
        .bench_local(|| simulate_cycle(divan::black_box(&hw), divan::black_box(&workload), None));
}

#[divan::bench]
fn analytic_mnsim_fc784x256(bencher: divan::Bencher) {
    let (hw, workload) = load("mnsim-default.toml", "mnsim-fc784x256.toml");
    bencher.bench_local(|| simulate_analytic(divan::black_box(&hw), divan::black_box(&workload)));
}

#[divan::bench]
fn load_and_check_hwconfig(bencher: divan::Bencher) {
    let root = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../hwconfigs/default.toml"
    ));
    let text = std::fs::read_to_string(root).expect("shipped preset");
    bencher.bench_local(|| HwConfig::from_toml_str(divan::black_box(&text), "default.toml"));
}
