//! Lookups simulated per second: RecNMP plus the host baseline on a DCNv2 multi-hot trace,
//! and trace generation.

use divan::counter::ItemsCount;
use divan::Bencher;
use recpim_sim::recnmp::{simulate, RawRecnmpConfig};
use recpim_sim::trace::{generate, TraceShape, TraceSpec};

fn main() {
    divan::main();
}

/// One batch of 32 DCNv2 samples = 6,848 lookups, both designs simulated.
#[divan::bench(args = [2, 8])]
fn recnmp_and_host_dcnv2(bencher: Bencher, ranks: u32) {
    let trace = generate(&TraceSpec::new(TraceShape::Dcnv2, 1, 32, 1)).unwrap();
    let mut raw = RawRecnmpConfig::builtin().unwrap();
    raw.topology.ranks = ranks;
    let config = raw.check().unwrap();
    bencher
        .counter(ItemsCount::new(trace.lookups.len()))
        .bench(|| simulate(&config, divan::black_box(&trace), 64).unwrap());
}

/// Generating the same 6,848-lookup trace (Zipf sampling + id permutation).
#[divan::bench]
fn generate_dcnv2(bencher: Bencher) {
    let spec = TraceSpec::new(TraceShape::Dcnv2, 1, 32, 1);
    bencher
        .counter(ItemsCount::new(32usize * 214))
        .bench(|| generate(divan::black_box(&spec)).unwrap());
}
