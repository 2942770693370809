//! End-to-end tests of `recpim prune` (the real binary) on small synthetic data.

use std::process::{Command, Output};

fn recpim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recpim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the recpim binary runs")
}

const GENOTYPE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/nasrec_genotypes/ea_criteo_kaggle_autoctr_best_1shot.json"
);

#[test]
fn prune_writes_table_models_and_a_smaller_workload() {
    if !std::path::Path::new(GENOTYPE).exists() {
        eprintln!("skipping: {GENOTYPE} not found");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = recpim(&[
        "prune",
        "--genotype",
        GENOTYPE,
        "--synthetic-rows",
        "1500",
        "--iterations",
        "1",
        "--batch",
        "128",
        "--mask-hidden",
        "4",
        "--out",
        out,
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = std::fs::read_to_string(dir.path().join("table.md")).unwrap();
    assert!(
        table.contains("| mask | 0 |") && table.contains("| mask | 1 |"),
        "{table}"
    );
    assert!(table.contains("| magnitude | 1 |"), "{table}");
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("rows.json")).unwrap())
            .unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for pair in rows.chunks(2) {
        assert_eq!(pair[0]["macs_kept_percent"], 100.0);
        assert!(pair[1]["macs"].as_u64() < pair[0]["macs"].as_u64());
    }
    let hw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("hardware.json")).unwrap())
            .unwrap();
    let hw = hw.as_array().unwrap();
    assert_eq!(hw.len(), 3);
    for pruned in &hw[1..] {
        assert!(pruned["macs"].as_u64() < hw[0]["macs"].as_u64());
        assert!(pruned["energy_pj"].as_f64() < hw[0]["energy_pj"].as_f64());
        assert!(pruned["crossbars"].as_u64() <= hw[0]["crossbars"].as_u64());
    }
    for method in ["mask", "magnitude"] {
        let d = dir.path().join(method);
        assert!(
            std::fs::metadata(d.join("pruned_model.state"))
                .unwrap()
                .len()
                > 0
        );
        assert!(std::fs::read_to_string(d.join("workload.toml"))
            .unwrap()
            .contains("mvm"));
        let mask: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("neuron_mask.json")).unwrap())
                .unwrap();
        assert!(!mask["layers"].as_array().unwrap().is_empty());
    }
}

#[test]
fn bad_flags_exit_2_naming_the_problem() {
    let o = recpim(&[
        "prune",
        "--genotype",
        "/nonexistent.json",
        "--iterations",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent.json"));
    let o = recpim(&[
        "prune",
        "--genotype",
        GENOTYPE,
        "--iterations",
        "1",
        "--fraction",
        "1.5",
        "--hw",
        "hwconfigs/default.toml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("fraction"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = recpim(&["prune", "--genotype", GENOTYPE]);
    assert_eq!(o.status.code(), Some(2));
}
