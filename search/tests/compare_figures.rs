//! `recpim compare` figures: ratios are the figures' quotients, per-class figures add up to the
//! end-to-end ones, the per-class split follows the run's timeline, and both sides of a
//! comparison serve the same embedding lookups.

use recpim_search::compare::lookups::resolve;
use recpim_search::compare::{
    attribute_by_class, compare, Baseline, CompareSettings, Comparison, DesignFigures, DesignRole,
    Figures, LookupSource, OpClass, Scope,
};
use recpim_sim::trace::{generate, TraceShape, TraceSpec};
use recpim_sim::{Breakdown, EngineKind, HwConfig, LayerReport, Op, Report, Workload};
use std::path::PathBuf;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

/// The shipped NASRec-sized workload: gather, MVM, digital and elementwise ops, batch 16.
fn workload() -> Workload {
    Workload::load(&repo("hwconfigs/workloads/nasrec-7block.toml")).unwrap()
}

fn design(file: &str) -> (String, String, HwConfig) {
    let hw = HwConfig::load(&repo(file)).unwrap();
    (hw.name().to_string(), file.to_string(), hw)
}

fn baselines(names: &[&str]) -> Vec<Baseline> {
    names
        .iter()
        .map(|name| Baseline::from_name(name).unwrap())
        .collect()
}

fn full_comparison() -> Comparison {
    compare(
        "nasrec-7block",
        &workload(),
        &[
            design("hwconfigs/default.toml"),
            design("hwconfigs/neurosim-32nm.toml"),
        ],
        &baselines(&["recnmp", "cpu", "isaac-handcrafted", "rerec-like"]),
        &CompareSettings::builtin().unwrap(),
    )
    .unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300)
}

fn scope_figures(d: &DesignFigures, scope: Scope) -> &Figures {
    match scope {
        Scope::Class(class) => d.class(class).unwrap(),
        Scope::EndToEnd => &d.end_to_end,
    }
}

#[test]
fn ratios_are_baseline_over_design_for_every_pair_and_scope() {
    let c = full_comparison();
    let designs: Vec<&DesignFigures> = c
        .designs
        .iter()
        .filter(|d| d.role == DesignRole::Design)
        .collect();
    let bases: Vec<&DesignFigures> = c
        .designs
        .iter()
        .filter(|d| d.role == DesignRole::Baseline)
        .collect();
    assert_eq!((designs.len(), bases.len()), (2, 4));
    // Four classes and end to end, for every design and baseline.
    assert_eq!(c.ratios.len(), 2 * 4 * 5);
    for r in &c.ratios {
        let d = designs.iter().find(|d| d.name == r.design).unwrap();
        let b = bases.iter().find(|b| b.name == r.baseline).unwrap();
        let (df, bf) = (scope_figures(d, r.scope), scope_figures(b, r.scope));
        assert!(close(r.speedup, bf.latency_ns / df.latency_ns), "{r:?}");
        assert!(close(r.energy_ratio, bf.energy_pj / df.energy_pj), "{r:?}");
        assert!(close(r.edp_ratio, bf.edp_pj_ns() / df.edp_pj_ns()), "{r:?}");
        assert!(close(r.edp_ratio, r.speedup * r.energy_ratio), "{r:?}");
        assert!(r.speedup.is_finite() && r.speedup > 0.0, "{r:?}");
    }
}

#[test]
fn per_class_figures_and_energy_split_add_up_to_end_to_end() {
    let c = full_comparison();
    for d in &c.designs {
        let classes: Vec<OpClass> = d.per_class.iter().map(|p| p.class).collect();
        assert_eq!(classes, OpClass::ALL.to_vec(), "{}", d.name);
        let latency: f64 = d.per_class.iter().map(|p| p.figures.latency_ns).sum();
        let energy: f64 = d.per_class.iter().map(|p| p.figures.energy_pj).sum();
        assert!(
            close(latency, d.end_to_end.latency_ns),
            "{}: {latency} vs {}",
            d.name,
            d.end_to_end.latency_ns
        );
        assert!(close(energy, d.end_to_end.energy_pj), "{}", d.name);
        let split: f64 = d.energy_split.iter().map(|p| p.energy_pj).sum();
        assert!(close(split, d.end_to_end.energy_pj), "{}", d.name);
        for p in &d.per_class {
            // One chip serves every class of a ReRAM design; the DRAM baselines have no area.
            assert_eq!(p.figures.area_mm2, d.end_to_end.area_mm2, "{}", d.name);
            assert!(p.figures.latency_ns > 0.0 && p.figures.energy_pj > 0.0);
        }
    }
    // The DRAM baselines' non-embedding classes run on the same host CPU, so their energy is
    // the host's power times their time.
    let recnmp = c.designs.iter().find(|d| d.name == "recnmp").unwrap();
    let mlp = recnmp.class(OpClass::Mlp).unwrap();
    assert!(close(mlp.energy_pj, 7300.0 * mlp.latency_ns));
}

#[test]
fn reram_per_class_figures_come_from_the_end_to_end_run() {
    let hw = HwConfig::load(&repo("hwconfigs/default.toml")).unwrap();
    let w = workload();
    let report = recpim_sim::simulate_analytic(&hw, &w).unwrap();
    let c = compare(
        "w",
        &w,
        &[design("hwconfigs/default.toml")],
        &[],
        &CompareSettings::builtin().unwrap(),
    )
    .unwrap();
    let d = &c.designs[0];
    assert_eq!(d.end_to_end.latency_ns, report.latency_ns);
    assert_eq!(d.end_to_end.energy_pj, report.energy_pj);
    assert_eq!(d.end_to_end.area_mm2, Some(report.area_mm2));
    // Dynamic energy per class is its ops' energy; the rest is leakage over its time.
    let leakage_mw = report.energy_breakdown_pj.leakage / report.latency_ns;
    for p in &d.per_class {
        let dynamic: f64 = w
            .ops
            .iter()
            .zip(&report.layers)
            .filter(|(op, _)| OpClass::of(op) == p.class)
            .map(|(_, layer)| layer.energy_pj)
            .sum();
        assert!(close(
            p.figures.energy_pj,
            dynamic + leakage_mw * p.figures.latency_ns
        ));
    }
}

fn layer(name: &str, kind: &str, start_ns: f64, end_ns: f64, energy_pj: f64) -> LayerReport {
    LayerReport {
        name: name.to_string(),
        kind: kind.to_string(),
        start_ns,
        end_ns,
        latency_ns: end_ns - start_ns,
        compute_latency_ns: end_ns - start_ns,
        energy_pj,
        energy_breakdown_pj: Breakdown::default(),
        crossbars: 0,
        utilisation: 0.0,
    }
}

#[test]
fn overlapping_ops_share_time_and_idle_time_goes_to_the_next_op() {
    let w = Workload::from_toml_str(
        "[[op]]\nkind = \"mvm\"\nname = \"a\"\nrows = 8\ncols = 8\nweight_bits = 8\ninput_bits = 8\ncount = 1\n\
         [[op]]\nkind = \"elementwise\"\nname = \"b\"\nfunction = \"relu\"\nelements = 8\n\
         [[op]]\nkind = \"mvm\"\nname = \"c\"\nrows = 8\ncols = 8\nweight_bits = 8\ninput_bits = 8\ncount = 1\n",
        "synthetic",
    )
    .unwrap();
    // a: 0-10, b: 5-15 (overlaps a), idle 15-20, c: 20-30. Leakage 2 mW over 30 ns = 60 pJ.
    let report = Report {
        engine: EngineKind::Analytic,
        hw_name: "synthetic".to_string(),
        hw_hash: String::new(),
        latency_ns: 30.0,
        energy_pj: 100.0 + 60.0,
        area_mm2: 1.5,
        crossbars: 2,
        tiles: 1,
        energy_breakdown_pj: Breakdown {
            leakage: 60.0,
            ..Breakdown::default()
        },
        area_breakdown_mm2: Breakdown::default(),
        layers: vec![
            layer("a", "mvm", 0.0, 10.0, 40.0),
            layer("b", "elementwise", 5.0, 15.0, 20.0),
            layer("c", "mvm", 20.0, 30.0, 40.0),
        ],
    };
    let split = attribute_by_class(&report, &w).unwrap();
    assert_eq!(split.len(), 2);
    let (mlp, elementwise) = (&split[0], &split[1]);
    assert_eq!(mlp.0, OpClass::Mlp);
    assert_eq!(elementwise.0, OpClass::Elementwise);
    // mlp: 0-5 alone, half of 5-10, idle 15-20 (waiting for c), 20-30 = 22.5 ns.
    assert!(close(mlp.1.latency_ns, 22.5), "{:?}", mlp.1);
    assert!(close(elementwise.1.latency_ns, 7.5), "{:?}", elementwise.1);
    assert!(close(mlp.1.energy_pj, 80.0 + 2.0 * 22.5));
    assert!(close(elementwise.1.energy_pj, 20.0 + 2.0 * 7.5));
    assert_eq!(mlp.1.area_mm2, Some(1.5));

    // A report that does not belong to the workload is an error, not a panic.
    let mut short = report.clone();
    short.layers.pop();
    let error = attribute_by_class(&short, &w).unwrap_err().to_string();
    assert!(error.contains("2 layers for 3 ops"), "{error}");
}

/// Lookups per table of the resolved workload's gather ops.
fn gather_lookups(w: &Workload) -> Vec<u64> {
    let mut per_table = Vec::new();
    for op in &w.ops {
        if let Op::Gather {
            tables, lookups, ..
        } = op
        {
            per_table.extend(std::iter::repeat_n(*lookups, *tables as usize));
        }
    }
    per_table
}

#[test]
fn both_sides_serve_the_same_lookups() {
    let w = workload();
    let mut pooled = TraceSpec::new(TraceShape::Criteo, 1, 4, 3);
    pooled.pooling_override = Some(5);
    let sources = [
        LookupSource::Workload { seed: 1 },
        LookupSource::Shape {
            shape: TraceShape::Criteo,
            seed: 2,
        },
        LookupSource::Trace {
            trace: generate(&pooled).unwrap(),
            origin: "pooled.csv".to_string(),
        },
    ];
    for source in sources {
        let resolved = resolve(&w, &source).unwrap();
        let trace = resolved.trace.as_ref().unwrap();
        let mut per_table = vec![0u64; trace.table_rows.len()];
        for lookup in &trace.lookups {
            per_table[lookup.table as usize] += 1;
        }
        assert_eq!(
            gather_lookups(&resolved.workload),
            per_table,
            "{}",
            source.describe()
        );
        // And the comparison's RecNMP run saw exactly those lookups.
        let settings = CompareSettings {
            lookups: source.clone(),
            ..CompareSettings::builtin().unwrap()
        };
        let c = compare("w", &w, &[], &baselines(&["recnmp"]), &settings).unwrap();
        let report = c.recnmp.as_ref().unwrap();
        assert_eq!(report.lookups, per_table.iter().sum::<u64>());
        assert_eq!(c.lookups, source.describe());
    }
    // The workload's own gathers: 26 tables x 16 samples, one lookup each (pooling 1).
    let resolved = resolve(&w, &LookupSource::Workload { seed: 1 }).unwrap();
    assert_eq!(resolved.trace.unwrap().lookups.len(), 26 * 16);
}

#[test]
fn a_workload_without_lookups_needs_no_trace() {
    let w = Workload {
        ops: workload()
            .ops
            .into_iter()
            .filter(|op| !matches!(op, Op::Gather { .. }))
            .collect(),
    };
    let c = compare(
        "no gathers",
        &w,
        &[design("hwconfigs/default.toml")],
        &baselines(&["recnmp", "isaac-handcrafted"]),
        &CompareSettings::builtin().unwrap(),
    )
    .unwrap();
    assert!(c.recnmp.is_none());
    assert!(c
        .designs
        .iter()
        .all(|d| d.class(OpClass::Embedding).is_none()));
    assert!(!c.assumptions.iter().any(|a| a.key == "embedding_lookups"));
}
