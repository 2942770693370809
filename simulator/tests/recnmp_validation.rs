//! RecNMP's published trends (Ke et al., ISCA 2020, baselines.md §1.1-1.2) in our model:
//! speed-up grows with the rank count, is of the order of the paper's 9.8x on pooled lookups at
//! 8 ranks with all optimisations, shrinks at pooling 1, and the energy saving comes from I/O.

use recpim_sim::recnmp::config::Placement;
use recpim_sim::recnmp::{simulate, RawRecnmpConfig, RecnmpConfig, RecnmpError, RecnmpReport};
use recpim_sim::trace::{generate, Lookup, LookupTrace, TraceShape, TraceSpec};

/// The paper's RM models use fp32 vectors of 64-256 B (baselines.md §1.2); 256 B = d 64.
const POOLED_VECTOR_BYTES: u32 = 256;

fn dcnv2_trace() -> LookupTrace {
    generate(&TraceSpec::new(TraceShape::Dcnv2, 1, 32, 11)).unwrap()
}

fn config_with(edit: impl FnOnce(&mut RawRecnmpConfig)) -> RecnmpConfig {
    let mut raw = RawRecnmpConfig::builtin().unwrap();
    edit(&mut raw);
    raw.check().unwrap()
}

fn at_ranks(trace: &LookupTrace, ranks: u32, vector_bytes: u32) -> RecnmpReport {
    simulate(
        &config_with(|raw| raw.topology.ranks = ranks),
        trace,
        vector_bytes,
    )
    .unwrap()
}

#[test]
fn pooled_speedup_grows_with_ranks_and_is_of_the_papers_order_at_8() {
    // RM-like pooling (baselines.md §1.2: tens to about 100 lookups per op) on the Criteo tables.
    let mut spec = TraceSpec::new(TraceShape::Criteo, 1, 8, 11);
    spec.pooling_override = Some(80);
    let trace = generate(&spec).unwrap();
    let speedups: Vec<f64> = [2, 4, 8]
        .iter()
        .map(|&ranks| at_ranks(&trace, ranks, POOLED_VECTOR_BYTES).speedup)
        .collect();
    eprintln!("pooling 80, 256 B vectors: speed-up at 2/4/8 ranks = {speedups:?}");
    assert!(
        speedups[0] < speedups[1] && speedups[1] < speedups[2],
        "{speedups:?}"
    );
    // Paper: up to 9.8x at 8 ranks with RankCache, table-aware scheduling and profiling.
    assert!((4.0..=20.0).contains(&speedups[2]), "{speedups:?}");
}

#[test]
fn dcnv2_multi_hot_speedup_is_of_the_papers_order_at_8_ranks() {
    let trace = dcnv2_trace();
    let speedups: Vec<f64> = [2, 4, 8]
        .iter()
        .map(|&ranks| at_ranks(&trace, ranks, POOLED_VECTOR_BYTES).speedup)
        .collect();
    eprintln!("DCNv2 multi-hot, 256 B vectors: speed-up at 2/4/8 ranks = {speedups:?}");
    assert!(speedups[0] < speedups[1], "{speedups:?}");
    // Table 20 (pooling 100 of 214) sits on one DIMM, so 8 ranks gain little over 4.
    assert!(speedups[2] >= 0.95 * speedups[1], "{speedups:?}");
    assert!((4.0..=15.0).contains(&speedups[2]), "{speedups:?}");
}

#[test]
fn one_hot_lookups_gain_little_or_nothing() {
    // Criteo is one-hot (pooling 1, baselines.md §4.2): every lookup's vector still crosses the
    // channel, plus its instruction, so NMP cannot beat the host by much.
    let trace = generate(&TraceSpec::new(TraceShape::Criteo, 1, 256, 11)).unwrap();
    let one_hot = at_ranks(&trace, 8, POOLED_VECTOR_BYTES);
    let pooled = at_ranks(&dcnv2_trace(), 8, POOLED_VECTOR_BYTES);
    eprintln!(
        "one-hot speed-up {:.2}, pooled {:.2}",
        one_hot.speedup, pooled.speedup
    );
    assert!(one_hot.speedup < 1.5, "{}", one_hot.speedup);
    assert!(one_hot.speedup * 3.0 < pooled.speedup);
    assert_eq!(one_hot.result_vectors, one_hot.sls_ops);
}

#[test]
fn energy_saving_comes_from_channel_io() {
    let report = at_ranks(&dcnv2_trace(), 8, POOLED_VECTOR_BYTES);
    let (nmp, host) = (&report.nmp.energy, &report.host.energy);
    eprintln!("RecNMP energy {nmp:?}\nhost energy {host:?}");
    // Only pooled results and 79-bit instructions cross the channel.
    assert!(
        nmp.io_pj * 3.0 < host.io_pj,
        "{} vs {}",
        nmp.io_pj,
        host.io_pj
    );
    // RankCache hits remove DRAM reads and activations.
    assert!(report.rankcache.hit_rate > 0.1);
    assert!(report.nmp.read_bursts < report.host.read_bursts);
    assert!(nmp.act_pre_pj < host.act_pre_pj);
    assert!(nmp.rankcache_pj > 0.0 && host.rankcache_pj == 0.0);
    assert!(report.energy_ratio > 1.5, "{}", report.energy_ratio);
    let sum = nmp.act_pre_pj
        + nmp.read_pj
        + nmp.refresh_pj
        + nmp.background_pj
        + nmp.io_pj
        + nmp.rankcache_pj
        + nmp.adder_pj;
    assert!((sum - nmp.total_pj).abs() <= 1e-9 * sum);
    // Host I/O = every lookup's vector: lookups x 256 B x 8 bit x 5 pJ/bit.
    let expected_host_io = report.lookups as f64 * 256.0 * 8.0 * 5.0;
    assert!((host.io_pj - expected_host_io).abs() < 1e-6 * expected_host_io);
}

#[test]
fn same_trace_and_config_give_identical_reports() {
    let first = at_ranks(&dcnv2_trace(), 4, 64);
    let second = at_ranks(&dcnv2_trace(), 4, 64);
    assert_eq!(
        serde_json::to_string(&first).unwrap(),
        serde_json::to_string(&second).unwrap()
    );
}

#[test]
fn placements_coincide_on_a_single_dimm() {
    let trace = dcnv2_trace();
    let interleaved = simulate(
        &config_with(|raw| {
            raw.topology.ranks = 2;
            raw.topology.placement = Placement::RankInterleaved;
        }),
        &trace,
        64,
    )
    .unwrap();
    let per_dimm = at_ranks(&trace, 2, 64);
    // Same traffic; only the table order inside the DIMM (hence DRAM rows) differs.
    assert_eq!(interleaved.result_vectors, interleaved.sls_ops);
    assert_eq!(per_dimm.result_vectors, per_dimm.sls_ops);
    assert_eq!(interleaved.rankcache.hits, per_dimm.rankcache.hits);
    let ratio = interleaved.nmp.latency_ns / per_dimm.nmp.latency_ns;
    assert!((ratio - 1.0).abs() < 0.02, "{ratio}");
    // With several DIMMs, rank interleaving returns one partial per DIMM an op touches.
    let eight = simulate(
        &config_with(|raw| raw.topology.placement = Placement::RankInterleaved),
        &trace,
        64,
    )
    .unwrap();
    assert!(eight.result_vectors > eight.sls_ops);
    assert_eq!(at_ranks(&trace, 8, 64).result_vectors, eight.sls_ops);
}

#[test]
fn rankcache_switches_behave() {
    let trace = dcnv2_trace();
    let all_on = at_ranks(&trace, 8, 64);
    let no_profiling = simulate(
        &config_with(|raw| raw.nmp.hot_entry_profiling = false),
        &trace,
        64,
    )
    .unwrap();
    // Profiling inserts only rows used more than once in the batch.
    assert!(all_on.rankcache.inserts < no_profiling.rankcache.inserts);
    let no_cache = simulate(&config_with(|raw| raw.nmp.rankcache_kb = 0), &trace, 64).unwrap();
    assert_eq!(no_cache.rankcache.hits, 0);
    assert_eq!(no_cache.nmp.energy.rankcache_pj, 0.0);
    assert_eq!(no_cache.nmp.read_bursts, no_cache.host.read_bursts);
    // Without profiling every row competes for the cache, so capacity matters.
    let sized = |size_kb| {
        simulate(
            &config_with(|raw| {
                raw.nmp.rankcache_kb = size_kb;
                raw.nmp.hot_entry_profiling = false;
            }),
            &trace,
            64,
        )
        .unwrap()
        .rankcache
        .hit_rate
    };
    let (small, large) = (sized(8), sized(1024));
    eprintln!("hit rate 8 KiB {small:.3}, 1 MiB {large:.3}");
    assert!(small < large, "{small} vs {large}");
    let no_table_aware =
        simulate(&config_with(|raw| raw.nmp.table_aware = false), &trace, 64).unwrap();
    assert!(!no_table_aware.table_aware);
    assert_eq!(no_table_aware.lookups, all_on.lookups);
    // Per-table hit rates add up to the total.
    let hits: u64 = all_on.rankcache.per_table.iter().map(|t| t.hits).sum();
    assert_eq!(hits, all_on.rankcache.hits);
}

fn config_error(edit: impl FnOnce(&mut String)) -> RecnmpError {
    let mut text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../hwconfigs/baselines/recnmp.toml"
    ))
    .unwrap();
    edit(&mut text);
    match RawRecnmpConfig::from_toml_str(&text, "test.toml") {
        Err(error) => error,
        Ok(raw) => raw.check().unwrap_err(),
    }
}

#[test]
fn bad_configs_give_clear_errors() {
    let unknown =
        config_error(|t| *t = t.replace("[channel]\n", "[channel]\nio_pj_per_byte = 1\n"));
    assert!(unknown.to_string().contains("io_pj_per_byte"), "{unknown}");
    assert!(unknown.to_string().contains("test.toml"), "{unknown}");
    let ranks = config_error(|t| *t = t.replace("ranks = 8", "ranks = 3"));
    assert!(
        matches!(
            &ranks,
            RecnmpError::ConfigValue {
                key: "topology.ranks",
                ..
            }
        ),
        "{ranks}"
    );
    assert!(ranks.to_string().contains("2, 4 or 8"));
    let negative = config_error(|t| *t = t.replace("io_pj_per_bit = 5.0", "io_pj_per_bit = -5.0"));
    assert!(
        matches!(
            &negative,
            RecnmpError::ConfigValue {
                key: "channel.io_pj_per_bit",
                ..
            }
        ),
        "{negative}"
    );
    let adder = config_error(|t| *t = t.replace("fp32_add_pj = 0.9", "fp32_add_pj = -0.9"));
    assert!(matches!(
        &adder,
        RecnmpError::ConfigValue {
            key: "nmp.fp32_add_pj",
            ..
        }
    ));
    let cache = config_error(|t| *t = t.replace("rankcache_kb = 128", "rankcache_kb = 100"));
    assert!(cache.to_string().contains("CACTI"), "{cache}");
    let trc = config_error(|t| *t = t.replace("trc_cycles = 55", "trc_cycles = 40"));
    assert!(matches!(
        &trc,
        RecnmpError::ConfigValue {
            key: "dram.trc_cycles",
            ..
        }
    ));
    let syntax = config_error(|t| *t = t.replace("ranks = 8", "ranks = \"eight\""));
    assert!(
        matches!(&syntax, RecnmpError::ConfigSyntax { .. }),
        "{syntax}"
    );
}

#[test]
fn bad_runs_give_clear_errors() {
    let config = RecnmpConfig::builtin().unwrap();
    let trace = dcnv2_trace();
    assert!(matches!(
        simulate(&config, &trace, 100),
        Err(RecnmpError::InvalidOption {
            name: "vector_bytes",
            ..
        })
    ));
    let outside = LookupTrace {
        table_rows: vec![10],
        lookups: vec![Lookup {
            batch: 0,
            sample: 0,
            table: 0,
            row: 10,
        }],
    };
    assert!(matches!(
        simulate(&config, &outside, 64),
        Err(RecnmpError::LookupOutOfRange { row: 10, .. })
    ));
    let empty = LookupTrace {
        table_rows: vec![10],
        lookups: vec![],
    };
    assert!(matches!(
        simulate(&config, &empty, 64),
        Err(RecnmpError::EmptyTrace)
    ));
    // The crate-level error wraps ours.
    let wrapped: recpim_sim::SimError = RecnmpError::EmptyTrace.into();
    assert!(wrapped.to_string().contains("empty"), "{wrapped}");
}
