//! The analytic engine equals the cycle-level engine (latency, every energy bucket, every
//! layer figure) on random valid configs and workloads; the figures are finite and positive;
//! the monotone facts of the hardware model hold; the cycle engine's trace never puts two
//! events on one resource at once.

use proptest::prelude::*;
use recpim_sim::conventions::Polarity;
use recpim_sim::hwconfig::raw::RawHwConfig;
use recpim_sim::hwconfig::{presets, EmbeddingStorage, SliceLayout};
use recpim_sim::{
    simulate_analytic, simulate_cycle, DigitalKind, ElementwiseKind, HwConfig, Op, Report,
    TraceEvent, TraceSink, Workload,
};
use std::collections::HashMap;
use std::path::PathBuf;

fn base_raw() -> RawHwConfig {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../hwconfigs/default.toml"
    ));
    HwConfig::load(&path).unwrap().to_raw()
}

#[derive(Debug, Clone)]
struct HwKnobs {
    rows: u32,
    cols: u32,
    active_fraction: f64,
    cell_bits: u32,
    differential: bool,
    dac_bits: u32,
    dac_fraction: f64,
    adc_fraction: f64,
    sample_and_hold: bool,
    pe_overlap: bool,
    across_inputs: bool,
    across_layers: bool,
    per_slice: bool,
    replication: u32,
    crossbars_per_pe: u32,
    pes_per_tile: u32,
    block_bytes: u32,
    buffer_kib: u64,
    cycle_override: Option<f64>,
    reram_embedding: bool,
    dac_ns: f64,
    read_ns: f64,
    adc_ns: f64,
    clock_mhz: f64,
}

fn hw_knobs() -> impl Strategy<Value = HwKnobs> {
    (
        (
            8u32..=300,
            8u32..=300,
            0.01f64..=1.0,
            1u32..=4,
            any::<bool>(),
            1u32..=4,
            0.01f64..=1.0,
        ),
        (
            0.01f64..=1.0,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        (
            1u32..=3,
            1u32..=16,
            1u32..=8,
            prop::sample::select(vec![8u32, 16, 32, 64]),
            4u64..=256,
        ),
        (
            prop::option::of(0.1f64..30.0),
            any::<bool>(),
            0.0f64..5.0,
            0.3f64..120.0,
            0.1f64..20.0,
            50.0f64..2000.0,
        ),
    )
        .prop_map(|(a, b, c, d)| HwKnobs {
            rows: a.0,
            cols: a.1,
            active_fraction: a.2,
            cell_bits: a.3,
            differential: a.4,
            dac_bits: a.5,
            dac_fraction: a.6,
            adc_fraction: b.0,
            sample_and_hold: b.1,
            pe_overlap: b.2,
            across_inputs: b.3,
            across_layers: b.4,
            per_slice: b.5,
            replication: c.0,
            crossbars_per_pe: c.1,
            pes_per_tile: c.2,
            block_bytes: c.3,
            buffer_kib: c.4,
            cycle_override: d.0,
            reram_embedding: d.1,
            dac_ns: d.2,
            read_ns: d.3,
            adc_ns: d.4,
            clock_mhz: d.5,
        })
}

fn scaled(total: u32, fraction: f64) -> u32 {
    ((f64::from(total) * fraction).ceil() as u32).clamp(1, total)
}

fn build_hw(k: &HwKnobs) -> HwConfig {
    let mut raw = base_raw();
    raw.crossbar.rows = k.rows;
    raw.crossbar.cols = k.cols;
    raw.crossbar.active_rows = scaled(k.rows, k.active_fraction);
    raw.crossbar.polarity = if k.differential {
        Polarity::Differential
    } else {
        Polarity::OffsetColumn
    };
    raw.device.cell_bits = k.cell_bits;
    raw.device.read_latency_ns = k.read_ns;
    raw.dac.bits = Some(k.dac_bits);
    raw.dac.per_crossbar = scaled(k.rows, k.dac_fraction);
    raw.dac.latency_ns = Some(k.dac_ns);
    raw.adc.per_crossbar = scaled(k.cols, k.adc_fraction);
    raw.adc.conversion_ns = Some(k.adc_ns);
    raw.adc.sample_and_hold = k.sample_and_hold;
    raw.adc.leakage_mw = 0.01;
    raw.pipeline.pe_overlap = k.pe_overlap;
    raw.pipeline.across_inputs = k.across_inputs;
    raw.pipeline.across_layers = k.across_layers;
    raw.mapping.slice_layout = if k.per_slice {
        SliceLayout::PerSlice
    } else {
        SliceLayout::Packed
    };
    raw.mapping.replication = k.replication;
    raw.hierarchy.crossbars_per_pe = k.crossbars_per_pe;
    raw.hierarchy.pes_per_tile = k.pes_per_tile;
    raw.buffers.input.block_bytes = k.block_bytes;
    raw.buffers.input.size_bytes = k.buffer_kib * 1024;
    raw.buffers.input.cycle_ns = k.cycle_override;
    raw.buffers.output.block_bytes = k.block_bytes;
    raw.clock.digital_mhz = k.clock_mhz;
    if k.reram_embedding {
        raw.embedding.storage = EmbeddingStorage::Reram;
        raw.embedding.reram_sense_energy_pj_per_bit = Some(0.0016);
        raw.embedding.reram_sense_latency_ns = Some(1.3);
        raw.embedding.reram_parallel_reads = Some(7);
    }
    HwConfig::check(raw, "<proptest>").unwrap()
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u64..=600, 1u64..=300, 1u32..=9, 1u32..=9, 1u64..=3).prop_map(
            |(rows, cols, weight_bits, input_bits, count)| Op::Mvm {
                name: "mvm".into(),
                rows,
                cols,
                weight_bits,
                input_bits,
                count,
            }
        ),
        1 => (1u64..=30, 1u64..=5000, 1u64..=64, 1u64..=40, 1u32..=32).prop_map(
            |(tables, rows, dim, lookups, element_bits)| Op::Gather {
                name: "gather".into(),
                tables,
                rows,
                dim,
                lookups,
                element_bits,
            }
        ),
        1 => (1u64..=100_000).prop_map(|macs| Op::Digital {
            name: "dot".into(),
            kind: DigitalKind::DotProduct,
            macs,
        }),
        1 => (1u64..=10_000).prop_map(|elements| Op::Elementwise {
            name: "add".into(),
            kind: ElementwiseKind::Add,
            elements,
        }),
    ]
}

fn workload_strategy() -> impl Strategy<Value = Workload> {
    prop::collection::vec(op_strategy(), 1..6).prop_map(|ops| Workload { ops })
}

fn assert_reports_equal(a: &Report, c: &Report) {
    assert_eq!(a.latency_ns, c.latency_ns, "latency");
    assert_eq!(
        a.energy_breakdown_pj, c.energy_breakdown_pj,
        "energy buckets"
    );
    assert_eq!(a.energy_pj, c.energy_pj);
    assert_eq!(a.area_breakdown_mm2, c.area_breakdown_mm2);
    assert_eq!(a.crossbars, c.crossbars);
    assert_eq!(a.layers, c.layers, "layers");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn analytic_equals_cycle(knobs in hw_knobs(), workload in workload_strategy()) {
        let hw = build_hw(&knobs);
        let analytic = simulate_analytic(&hw, &workload).unwrap();
        let cycle = simulate_cycle(&hw, &workload, None).unwrap();
        assert_reports_equal(&analytic, &cycle);
        // Finite, positive figures.
        prop_assert!(analytic.latency_ns.is_finite() && analytic.latency_ns > 0.0);
        prop_assert!(analytic.energy_pj.is_finite() && analytic.energy_pj > 0.0);
        prop_assert!(analytic.area_mm2.is_finite() && analytic.area_mm2 > 0.0);
        for (_, v) in analytic.energy_breakdown_pj.entries() {
            prop_assert!(v.is_finite() && v >= 0.0);
        }
        for layer in &analytic.layers {
            prop_assert!(layer.latency_ns > 0.0 && layer.end_ns <= analytic.latency_ns);
            prop_assert!(layer.utilisation >= 0.0 && layer.utilisation <= 1.0);
        }
    }

    /// A larger count never lowers latency (or energy).
    #[test]
    fn larger_count_never_lowers_latency(knobs in hw_knobs(), rows in 1u64..400, cols in 1u64..200, count in 1u64..5) {
        let hw = build_hw(&knobs);
        let run = |count| {
            let w = Workload { ops: vec![Op::Mvm { name: "fc".into(), rows, cols, weight_bits: 8, input_bits: 8, count }] };
            simulate_analytic(&hw, &w).unwrap()
        };
        let small = run(count);
        let large = run(count + 1);
        prop_assert!(large.latency_ns >= small.latency_ns);
        prop_assert!(large.energy_breakdown_pj.adc >= small.energy_breakdown_pj.adc);
    }

    /// More crossbar rows never needs more row blocks (or more crossbars per copy).
    #[test]
    fn more_crossbar_rows_never_needs_more_row_blocks(knobs in hw_knobs(), rows in 1u64..2000, extra in 1u32..200) {
        let small = build_hw(&knobs);
        let mut bigger_knobs = knobs.clone();
        bigger_knobs.rows = knobs.rows + extra;
        bigger_knobs.active_fraction = 1.0;
        bigger_knobs.dac_fraction = 1.0;
        let big = build_hw(&bigger_knobs);
        let a = recpim_sim::mapping::map_mvm(&small, rows, 64, 8, 8);
        let b = recpim_sim::mapping::map_mvm(&big, rows, 64, 8, 8);
        prop_assert!(b.row_blocks <= a.row_blocks);
        prop_assert!(b.crossbars_per_replica <= a.crossbars_per_replica);
    }

    /// More active word lines never lengthen the compute stage.
    #[test]
    fn more_active_rows_never_lengthen_compute(knobs in hw_knobs(), rows in 1u64..600) {
        let mut low = knobs.clone();
        low.active_fraction = knobs.active_fraction / 2.0;
        let mut high = knobs.clone();
        high.active_fraction = 1.0;
        high.dac_fraction = 1.0;
        low.dac_fraction = 1.0;
        let w = Workload { ops: vec![Op::Mvm { name: "fc".into(), rows, cols: 100, weight_bits: 8, input_bits: 8, count: 1 }] };
        let a = simulate_analytic(&build_hw(&low), &w).unwrap();
        let b = simulate_analytic(&build_hw(&high), &w).unwrap();
        prop_assert!(b.layers[0].compute_latency_ns <= a.layers[0].compute_latency_ns);
    }
}

/// More ADC bits never lower ADC energy under one preset rule (NeuroSim fit; ISAAC table).
#[test]
fn more_adc_bits_never_lower_adc_energy() {
    let mut previous = 0.0;
    for bits in 1..=16 {
        let e = presets::adc_preset("neurosim-32nm-sar", Some(bits))
            .unwrap()
            .energy_pj;
        assert!(e > previous);
        previous = e;
    }
    let mut previous = 0.0;
    for bits in [4, 5, 6, 7, 8, 9, 10] {
        let e = presets::adc_preset(&format!("isaac-{bits}"), None)
            .unwrap()
            .energy_pj;
        assert!(e > previous);
        previous = e;
    }
    // And through a simulation: same layer, the NeuroSim fit at 5 and at 8 bits.
    let w = Workload {
        ops: vec![Op::Mvm {
            name: "fc".into(),
            rows: 300,
            cols: 100,
            weight_bits: 8,
            input_bits: 8,
            count: 2,
        }],
    };
    let energy_at = |bits| {
        let mut raw = base_raw();
        raw.adc.preset = Some("neurosim-32nm-sar".into());
        raw.adc.bits = Some(bits);
        raw.adc.conversion_ns = None;
        raw.adc.energy_pj = None;
        let hw = HwConfig::check(raw, "<t>").unwrap();
        simulate_analytic(&hw, &w).unwrap().energy_breakdown_pj.adc
    };
    assert!(energy_at(8) > energy_at(5));
}

/// Per-resource occupancy: no two events overlap on one resource of one shape/copy.
#[derive(Default)]
struct OverlapCheck {
    last_end: HashMap<(usize, u64, &'static str, usize), u128>,
    events: usize,
}

impl TraceSink for OverlapCheck {
    fn record(&mut self, e: &TraceEvent<'_>) -> Result<(), recpim_sim::SimError> {
        self.events += 1;
        assert!(e.end_fs >= e.start_fs);
        let key = (e.op_index, e.replica, e.resource, e.shape);
        let last = self.last_end.entry(key).or_insert(0);
        assert!(
            e.start_fs >= *last,
            "{key:?} starts at {} before {}",
            e.start_fs,
            *last
        );
        *last = e.end_fs;
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn trace_never_double_books_a_resource(knobs in hw_knobs(), workload in workload_strategy()) {
        let hw = build_hw(&knobs);
        let mut check = OverlapCheck::default();
        let traced = simulate_cycle(&hw, &workload, Some(&mut check)).unwrap();
        let untraced = simulate_cycle(&hw, &workload, None).unwrap();
        prop_assert!(check.events > 0);
        prop_assert_eq!(traced, untraced);
    }
}

/// The pipelining switches only ever shorten latency, never change energy of dynamic events.
#[test]
fn pipelining_shortens_latency_and_keeps_dynamic_energy() {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../hwconfigs/workloads/nasrec-7block.toml"
    ));
    let w = Workload::load(&path).unwrap();
    let piped = HwConfig::check(base_raw(), "<t>").unwrap();
    let mut raw = base_raw();
    raw.pipeline.pe_overlap = false;
    raw.pipeline.across_inputs = false;
    raw.pipeline.across_layers = false;
    let serial = HwConfig::check(raw, "<t>").unwrap();
    let a = simulate_cycle(&piped, &w, None).unwrap();
    let b = simulate_cycle(&serial, &w, None).unwrap();
    assert!(a.latency_ns < b.latency_ns);
    assert_eq!(a.energy_breakdown_pj.adc, b.energy_breakdown_pj.adc);
    assert_eq!(
        a.energy_breakdown_pj.crossbar,
        b.energy_breakdown_pj.crossbar
    );
    assert!(a.energy_breakdown_pj.leakage < b.energy_breakdown_pj.leakage);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Arbitrary (also invalid) values never panic: `check` rejects them or both engines run.
    #[test]
    fn arbitrary_values_never_panic(
        rows in 0u32..5000,
        cols in 0u32..5000,
        active in 0u32..5000,
        cell_bits in 0u32..10,
        dac_per in 0u32..600,
        adc_per in 0u32..600,
        adc_bits in 0u32..20,
        energy in -0.1f64..1.0,
        latency in -1.0f64..50.0,
        size in 0u64..1_100_000,
        block in prop::sample::select(vec![0u32, 8, 12, 16, 64]),
        tiles in prop::option::of(0u32..4),
        replication in 0u32..5,
        op_rows in 0u64..3000,
        op_cols in 0u64..3000,
        bits in 0u32..18,
        count in 0u64..3,
    ) {
        let mut raw = base_raw();
        raw.crossbar.rows = rows;
        raw.crossbar.cols = cols;
        raw.crossbar.active_rows = active;
        raw.device.cell_bits = cell_bits;
        raw.dac.per_crossbar = dac_per;
        raw.adc.per_crossbar = adc_per;
        raw.adc.bits = Some(adc_bits);
        raw.adc.energy_pj = Some(energy);
        raw.dac.latency_ns = Some(latency);
        raw.buffers.input.size_bytes = size;
        raw.buffers.input.block_bytes = block;
        raw.hierarchy.tiles = tiles;
        raw.mapping.replication = replication;
        let workload = Workload {
            ops: vec![Op::Mvm {
                name: "x".into(),
                rows: op_rows,
                cols: op_cols,
                weight_bits: bits,
                input_bits: bits,
                count,
            }],
        };
        if let Ok(hw) = HwConfig::check(raw, "<arbitrary>") {
            let analytic = simulate_analytic(&hw, &workload);
            let cycle = simulate_cycle(&hw, &workload, None);
            prop_assert_eq!(analytic.is_ok(), cycle.is_ok());
            if let (Ok(a), Ok(c)) = (analytic, cycle) {
                assert_reports_equal(&a, &c);
            }
        }
    }
}
