//! End-to-end: `recpim data synth`, `recpim data split`, `recpim data inspect` on the real binary.

use std::path::Path;
use std::process::{Command, Output};

fn recpim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recpim"))
        .args(args)
        .output()
        .expect("recpim runs")
}

fn ok(args: &[&str]) -> String {
    let out = recpim(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn synth_is_deterministic_and_reports_the_bayes_logloss() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.tsv");
    let b = dir.path().join("b.tsv");
    let json = ok(&[
        "data",
        "synth",
        "--shape",
        "criteo",
        "--rows",
        "3000",
        "--seed",
        "4",
        "--out",
        s(&a),
        "--json",
    ]);
    ok(&[
        "data",
        "synth",
        "--shape",
        "criteo",
        "--rows",
        "3000",
        "--seed",
        "4",
        "--out",
        s(&b),
    ]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(
        std::fs::read(dir.path().join("a.tsv.true_p")).unwrap(),
        std::fs::read(dir.path().join("b.tsv.true_p")).unwrap()
    );
    let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(summary["rows"], 3000);
    let bayes = summary["bayes_logloss"].as_f64().unwrap();
    let constant = summary["constant_logloss"].as_f64().unwrap();
    assert!(bayes < constant, "{bayes} vs {constant}");
    assert_eq!(std::fs::read_to_string(&a).unwrap().lines().count(), 3000);
}

#[test]
fn split_writes_stratified_parts_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("k.txt");
    ok(&[
        "data",
        "synth",
        "--shape",
        "kdd",
        "--rows",
        "2000",
        "--seed",
        "1",
        "--out",
        s(&data),
    ]);
    let out1 = dir.path().join("o1");
    let out2 = dir.path().join("o2");
    let json = ok(&[
        "data",
        "split",
        "--data",
        s(&data),
        "--format",
        "kdd",
        "--out",
        s(&out1),
        "--json",
    ]);
    ok(&[
        "data",
        "split",
        "--data",
        s(&data),
        "--format",
        "kdd",
        "--out",
        s(&out2),
    ]);
    let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
    let text = std::fs::read_to_string(&data).unwrap();
    let positives = text.lines().filter(|l| l.starts_with('1')).count() as f64;
    let mut rows = 0;
    for (part, fraction) in summary["parts"]
        .as_array()
        .unwrap()
        .iter()
        .zip([0.8, 0.1, 0.1])
    {
        let name = format!("{}.txt", part["name"].as_str().unwrap());
        let bytes = std::fs::read(out1.join(&name)).unwrap();
        assert_eq!(
            bytes,
            std::fs::read(out2.join(&name)).unwrap(),
            "{name}: deterministic"
        );
        assert!((part["positives"].as_f64().unwrap() - positives * fraction).abs() <= 1.0);
        rows += String::from_utf8(bytes).unwrap().lines().count();
    }
    assert_eq!(rows, 2000);
    let other = dir.path().join("o3");
    ok(&[
        "data",
        "split",
        "--data",
        s(&data),
        "--format",
        "kdd",
        "--out",
        s(&other),
        "--seed",
        "9",
        "--fractions",
        "0.9,0.1",
    ]);
    assert!(
        other.join("train.txt").exists()
            && other.join("val.txt").exists()
            && !other.join("test.txt").exists()
    );
}

#[test]
fn inspect_prints_schema_and_saves_the_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("a.csv");
    ok(&[
        "data",
        "synth",
        "--shape",
        "avazu",
        "--rows",
        "1000",
        "--out",
        s(&data),
    ]);
    let encoder = dir.path().join("enc.json");
    let json = ok(&[
        "data",
        "inspect",
        "--data",
        s(&data),
        "--format",
        "avazu",
        "--json",
        "--encoder-out",
        s(&encoder),
    ]);
    let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(summary["rows"], 1000);
    assert_eq!(summary["n_dense"], 1);
    assert_eq!(summary["table_rows"].as_array().unwrap().len(), 22);
    assert!(encoder.exists());
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = recpim(&[
        "data",
        "split",
        "--data",
        "/nonexistent/x.tsv",
        "--format",
        "criteo",
        "--out",
        s(dir.path()),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.tsv"));

    let out = recpim(&[
        "data", "split", "--data", "x", "--format", "parquet", "--out", "y",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("criteo-csv"));

    let bad = dir.path().join("bad.libsvm");
    std::fs::write(&bad, "1 1:1\n0 1:1\n7 2:1\n").unwrap();
    let out = recpim(&[
        "data",
        "split",
        "--data",
        s(&bad),
        "--format",
        "libsvm",
        "--out",
        s(&dir.path().join("o")),
        "--strict",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.libsvm:3:") && stderr.contains("label"),
        "{stderr}"
    );

    let out = recpim(&[
        "data",
        "split",
        "--data",
        s(&bad),
        "--format",
        "libsvm",
        "--out",
        "o",
        "--fractions",
        "0.5,0.6",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("summing to 1"));

    let out = recpim(&[
        "data",
        "synth",
        "--shape",
        "movielens",
        "--rows",
        "10",
        "--out",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
}
