//! End-to-end: `recpim trace gen` then `recpim recnmp` on the real binary.

use std::process::Command;

fn recpim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recpim"))
}

fn generate_trace(
    dir: &std::path::Path,
    name: &str,
    shape: &str,
    seed: &str,
) -> std::path::PathBuf {
    let out = dir.join(name);
    let status = recpim()
        .args([
            "trace",
            "gen",
            "--shape",
            shape,
            "--batches",
            "1",
            "--batch-size",
            "8",
        ])
        .args(["--seed", seed, "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

#[test]
fn trace_gen_is_deterministic_and_recnmp_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let first = generate_trace(dir.path(), "a.csv", "dcnv2", "5");
    let second = generate_trace(dir.path(), "b.csv", "dcnv2", "5");
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );

    let output = recpim()
        .args([
            "recnmp",
            "--ranks",
            "4",
            "--vector-bytes",
            "128",
            "--json",
            "--trace",
        ])
        .arg(&first)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ranks"], 4);
    assert_eq!(report["vector_bytes"], 128);
    assert_eq!(report["lookups"], 8 * 214);
    assert!(report["speedup"].as_f64().unwrap() > 1.0);
    assert!(report["nmp"]["energy"]["io_pj"].as_f64().unwrap() > 0.0);
    assert_eq!(
        report["rankcache"]["per_table"].as_array().unwrap().len(),
        26
    );

    let text = recpim()
        .args([
            "recnmp",
            "--no-table-aware",
            "--no-hot-entry",
            "--rankcache-kb",
            "0",
            "--trace",
        ])
        .arg(&first)
        .output()
        .unwrap();
    assert!(text.status.success());
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("speed-up"), "{stdout}");
    assert!(stdout.contains("table-aware false"), "{stdout}");

    let inspect = recpim()
        .args(["trace", "inspect", "--json", "--trace"])
        .arg(&first)
        .output()
        .unwrap();
    assert!(inspect.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(summary["sls_ops"], 8 * 26);
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let trace = generate_trace(dir.path(), "t.csv", "criteo", "1");
    let ranks = recpim()
        .args(["recnmp", "--ranks", "3", "--trace"])
        .arg(&trace)
        .output()
        .unwrap();
    assert_eq!(ranks.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&ranks.stderr).contains("topology.ranks"));

    let config = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/hwconfigs/baselines/recnmp.toml"
    ))
    .unwrap()
    .replace("io_pj_per_bit = 5.0", "io_pj_per_bit = -1.0");
    std::fs::write(&config, text).unwrap();
    let negative = recpim()
        .args(["recnmp", "--config"])
        .arg(&config)
        .arg("--trace")
        .arg(&trace)
        .output()
        .unwrap();
    assert_eq!(negative.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&negative.stderr);
    assert!(
        stderr.contains("channel.io_pj_per_bit") && stderr.contains("bad.toml"),
        "{stderr}"
    );

    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "batch,sample,table,row\n0,0,0,zz\n").unwrap();
    let parse = recpim()
        .args(["recnmp", "--trace"])
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(parse.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&parse.stderr).contains("line 2"));

    let shape = recpim()
        .args([
            "trace",
            "gen",
            "--shape",
            "movielens",
            "--batches",
            "1",
            "--batch-size",
            "1",
            "--out",
        ])
        .arg(dir.path().join("x.csv"))
        .output()
        .unwrap();
    assert_eq!(shape.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&shape.stderr).contains("unknown trace shape"));
}
