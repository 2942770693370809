//! RecNMP against the host (the `recnmp` and `cpu` baselines) through `compare`: RecNMP's
//! published trends hold on the embedding class (baselines.md §1.1-1.2): the speed-up grows with
//! the rank count on pooled lookups and shrinks at pooling 1, and the energy split shows where
//! the saving comes from.

use recpim_search::compare::{
    compare, Baseline, CompareSettings, Comparison, LookupSource, OpClass,
};
use recpim_sim::recnmp::RawRecnmpConfig;
use recpim_sim::trace::{generate, LookupTrace, TraceShape, TraceSpec};
use recpim_sim::Workload;

/// 26 Criteo-sized tables with d = 64 (FP32: 256 B vectors, the paper's RM vector size), plus
/// one FC so the host side is exercised too.
fn workload() -> Workload {
    Workload::from_toml_str(
        "[[op]]\nkind = \"gather\"\nname = \"emb\"\ntables = 26\nrows = 1000\ndim = 64\nlookups = 8\nelement_bits = 32\n\
         [[op]]\nkind = \"mvm\"\nname = \"fc\"\nrows = 64\ncols = 64\nweight_bits = 8\ninput_bits = 8\ncount = 8\n",
        "criteo-d64",
    )
    .unwrap()
}

fn criteo_trace(pooling: Option<u32>) -> LookupTrace {
    let mut spec = TraceSpec::new(TraceShape::Criteo, 1, 8, 11);
    spec.pooling_override = pooling;
    generate(&spec).unwrap()
}

fn at_ranks(trace: &LookupTrace, ranks: u32) -> Comparison {
    let mut raw = RawRecnmpConfig::builtin().unwrap();
    raw.topology.ranks = ranks;
    let settings = CompareSettings {
        recnmp: raw.check().unwrap(),
        lookups: LookupSource::Trace {
            trace: trace.clone(),
            origin: "generated".to_string(),
        },
        ..CompareSettings::builtin().unwrap()
    };
    let baselines = [
        Baseline::from_name("recnmp").unwrap(),
        Baseline::from_name("cpu").unwrap(),
    ];
    compare("criteo-d64", &workload(), &[], &baselines, &settings).unwrap()
}

/// cpu embedding latency / recnmp embedding latency, read from the comparison's figures.
fn embedding_speedup(c: &Comparison) -> f64 {
    let latency = |name: &str| {
        c.designs
            .iter()
            .find(|d| d.name == name)
            .and_then(|d| d.class(OpClass::Embedding))
            .unwrap()
            .latency_ns
    };
    latency("cpu") / latency("recnmp")
}

#[test]
fn pooled_speedup_grows_with_ranks_and_one_hot_gains_little() {
    let pooled = criteo_trace(Some(80));
    let runs: Vec<Comparison> = [2, 4, 8].iter().map(|&r| at_ranks(&pooled, r)).collect();
    let speedups: Vec<f64> = runs.iter().map(embedding_speedup).collect();
    eprintln!("pooling 80, 256 B: embedding speed-up at 2/4/8 ranks = {speedups:?}");
    assert!(
        speedups[0] < speedups[1] && speedups[1] < speedups[2],
        "{speedups:?}"
    );
    // The paper's 9.8x at 8 ranks with all optimisations: the same order.
    assert!((4.0..=20.0).contains(&speedups[2]), "{speedups:?}");
    for (c, s) in runs.iter().zip(&speedups) {
        // The comparison's figures are the RecNMP model's own.
        let report = c.recnmp.as_ref().unwrap();
        assert!(
            (report.speedup - s).abs() <= 1e-9 * s,
            "{} vs {s}",
            report.speedup
        );
    }

    let one_hot = embedding_speedup(&at_ranks(&criteo_trace(None), 8));
    eprintln!("pooling 1: embedding speed-up at 8 ranks = {one_hot}");
    assert!(one_hot < 1.5 && one_hot < speedups[2] / 3.0, "{one_hot}");
}

#[test]
fn the_energy_split_shows_where_the_saving_comes_from() {
    let c = at_ranks(&criteo_trace(Some(80)), 8);
    let split = |design: &str| {
        c.designs
            .iter()
            .find(|d| d.name == design)
            .unwrap()
            .energy_split
            .clone()
    };
    let (nmp, host) = (split("recnmp"), split("cpu"));
    let saved = |component: &str| {
        let part = |parts: &[recpim_search::compare::EnergyPart]| {
            parts
                .iter()
                .find(|p| p.component == component)
                .unwrap()
                .energy_pj
        };
        part(&host) - part(&nmp)
    };
    let embedding = |design: &str| {
        c.designs
            .iter()
            .find(|d| d.name == design)
            .and_then(|d| d.class(OpClass::Embedding))
            .unwrap()
            .energy_pj
    };
    let total_saved = embedding("cpu") - embedding("recnmp");
    assert!(total_saved > 0.0, "RecNMP saves energy on pooled lookups");
    // Standby energy scales with the run time, which rank parallelism cuts most; then fewer
    // bits on the channel and fewer DRAM reads (RankCache hits).
    let background = saved("dram background") + saved("dram refresh");
    assert!(
        background > 0.5 * total_saved,
        "{background} of {total_saved}"
    );
    assert!(saved("channel io") > 0.0 && saved("dram read") > 0.0);
    assert!(saved("rankcache") < 0.0, "only RecNMP has a RankCache");
    // Both DRAM baselines run the FC on the same host CPU.
    assert_eq!(saved("host cpu"), 0.0);
    let mlp = |design: &str| {
        *c.designs
            .iter()
            .find(|d| d.name == design)
            .and_then(|d| d.class(OpClass::Mlp))
            .unwrap()
    };
    assert_eq!(mlp("cpu"), mlp("recnmp"));
}
