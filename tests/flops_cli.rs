//! End-to-end tests of `recpim flops` (the real binary).

use std::process::{Command, Output};

fn recpim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recpim"))
        .args(args)
        .output()
        .expect("the recpim binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const GENOTYPES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/nasrec_genotypes"
);

#[test]
fn dlrm_json_matches_the_hand_count() {
    let o = recpim(&["flops", "--model", "dlrm", "--shape", "criteo", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    // bottom 13-512-256-64-16, interaction 27x27x16, top 367-512-256-1 (model/tests/flops_counts.rs).
    let bottom = 13 * 512 + 512 * 256 + 256 * 64 + 64 * 16;
    let top = 367 * 512 + 512 * 256 + 256;
    assert_eq!(v["total_macs"], bottom + 27 * 27 * 16 + top);
    assert_eq!(v["shape"], "criteo");
    let ops = v["operators"].as_array().unwrap();
    let sum: u64 = ops.iter().map(|o| o["macs"].as_u64().unwrap()).sum();
    assert_eq!(v["total_macs"].as_u64().unwrap(), sum);
    assert!(v["embedding_params"].as_u64().unwrap() > 0);
}

#[test]
fn shipped_genotype_markdown_per_operator() {
    let path = format!("{GENOTYPES}/ea_criteo_kaggle_autoctr_best_1shot.json");
    if !std::path::Path::new(&path).exists() {
        eprintln!("skipping: {path} not found");
        return;
    }
    let o = recpim(&["flops", "--genotype", &path, "--layers"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = stdout(&o);
    // 2,208,064 multiply-adds (model/tests/flops_counts.rs; the reference reports 2.20M).
    assert!(text.contains("2208064 (2.2081 M)"), "{text}");
    assert!(text.contains("| head |"), "{text}");
    assert!(text.contains("| b0.linear-2d |"), "{text}");
    assert!(text.contains("| node | layer | kind |"), "{text}");
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let o = recpim(&["flops", "--model", "resnet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("allowed are lr, fm, dnn, deepfm, dlrm"));
    let o = recpim(&["flops", "--genotype", "/nonexistent/g.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/g.json"));
    let o = recpim(&["flops"]);
    assert_eq!(o.status.code(), Some(2));
}
