//! The assumptions of `recpim compare`: every baseline used brings its assumptions, and the
//! table in hwconfigs/baselines/README.md names every assumption the code emits, with the value
//! the shipped settings use.

use recpim_search::compare::{
    compare, Assumption, Baseline, CompareSettings, LookupSource, BASELINE_NAMES,
};
use recpim_sim::{HwConfig, Workload};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn workload() -> Workload {
    Workload::load(&repo("hwconfigs/workloads/nasrec-7block.toml")).unwrap()
}

/// The shipped ReRAM design presets (the baselines' presets come with `--baseline`).
const DESIGN_PRESETS: [&str; 4] = [
    "hwconfigs/default.toml",
    "hwconfigs/isaac.toml",
    "hwconfigs/neurosim-32nm.toml",
    "hwconfigs/mnsim-default.toml",
];

fn designs(files: &[&str]) -> Vec<(String, String, HwConfig)> {
    files
        .iter()
        .map(|file| {
            let hw = HwConfig::load(&repo(file)).unwrap();
            (format!("{} design", hw.name()), file.to_string(), hw)
        })
        .collect()
}

fn assumptions_with(
    design_files: &[&str],
    baseline_names: &[&str],
    lookups: LookupSource,
) -> Vec<Assumption> {
    let baselines: Vec<Baseline> = baseline_names
        .iter()
        .map(|name| Baseline::from_name(name).unwrap())
        .collect();
    let settings = CompareSettings {
        lookups,
        ..CompareSettings::builtin().unwrap()
    };
    compare(
        "w",
        &workload(),
        &designs(design_files),
        &baselines,
        &settings,
    )
    .unwrap()
    .assumptions
}

fn keys(rows: &[Assumption]) -> Vec<&str> {
    rows.iter().map(|a| a.key.as_str()).collect()
}

const DRAM_KEYS: [&str; 8] = [
    "recnmp_scope",
    "host_macs_per_ns",
    "host_power_mw",
    "io_pj_per_bit",
    "rankcache_kb",
    "hot_entry_profiling",
    "table_aware",
    "recnmp_element_bits",
];

#[test]
fn every_baseline_brings_its_assumptions() {
    let workload_lookups = LookupSource::Workload { seed: 1 };
    for name in BASELINE_NAMES {
        let rows = assumptions_with(
            &["hwconfigs/default.toml"],
            &[name],
            workload_lookups.clone(),
        );
        let keys = keys(&rows);
        for common in [
            "operator_classes",
            "per_class_split",
            "ratio_convention",
            "embedding_lookups",
            "embedding_storage.recpim-default-32nm design",
        ] {
            assert!(
                keys.contains(&common),
                "{name}: {common} missing in {keys:?}"
            );
        }
        let dram = matches!(name, "recnmp" | "cpu");
        for key in DRAM_KEYS {
            assert_eq!(keys.contains(&key), dram, "{name}: {key}");
        }
        if !dram {
            assert!(keys.contains(&"reram_baselines"), "{name}");
            assert!(
                keys.contains(&format!("embedding_storage.{name}").as_str()),
                "{name}: {keys:?}"
            );
        }
        for row in &rows {
            assert!(
                !row.value.is_empty() && !row.unit.is_empty() && !row.source.is_empty(),
                "{row:?}"
            );
        }
    }
    // A given trace has no generator parameters to assume.
    let trace = recpim_sim::trace::generate(&recpim_sim::trace::TraceSpec::new(
        recpim_sim::trace::TraceShape::Criteo,
        1,
        2,
        1,
    ))
    .unwrap();
    let rows = assumptions_with(
        &[],
        &["recnmp"],
        LookupSource::Trace {
            trace,
            origin: "t.csv".to_string(),
        },
    );
    let keys = keys(&rows);
    assert!(!keys.contains(&"zipf_alpha"), "{keys:?}");
    let lookups = rows.iter().find(|a| a.key == "embedding_lookups").unwrap();
    assert!(lookups.detail.contains("t.csv"), "{lookups:?}");
}

/// (key, value) rows of the README's "Assumptions of `recpim compare`" table.
fn readme_table() -> BTreeMap<String, String> {
    let path = repo("hwconfigs/baselines/README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text
        .find("## Assumptions of `recpim compare`")
        .expect("the README has an assumptions section");
    let mut rows = BTreeMap::new();
    for line in text[start..].lines().skip(1) {
        if line.starts_with("## ") {
            break;
        }
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let cells: Vec<&str> = rest.split('|').map(str::trim).collect();
        assert!(cells.len() >= 5, "README row with too few cells: {line}");
        let key = cells[0].trim_end_matches('`').to_string();
        assert!(
            rows.insert(key.clone(), cells[1].to_string()).is_none(),
            "README lists {key} twice"
        );
    }
    rows
}

/// A README value of `(per run)` marks a value that depends on the inputs.
const PER_RUN: &str = "(per run)";

#[test]
fn readme_table_names_every_assumption_with_its_shipped_value() {
    let readme = readme_table();
    // Every baseline, every shipped design preset, generated lookups: every row the code has.
    let rows = assumptions_with(
        &DESIGN_PRESETS,
        &BASELINE_NAMES,
        LookupSource::Workload { seed: 1 },
    );
    let mut emitted = Vec::new();
    for row in &rows {
        // Design presets are named "<hwconfig name> design" here; the README names the preset.
        let key = row.key.trim_end_matches(" design").to_string();
        let value = readme.get(&key).unwrap_or_else(|| {
            panic!("hwconfigs/baselines/README.md does not list `{key}` ({row:?})")
        });
        if value != PER_RUN {
            assert_eq!(value, &row.value, "README value of `{key}`");
        }
        emitted.push(key);
    }
    for key in readme.keys() {
        assert!(
            emitted.contains(key),
            "the README lists `{key}` but the code never emits it"
        );
    }
}
