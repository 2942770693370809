//! End-to-end tests of `recpim train` (the real binary).

use std::path::Path;
use std::process::{Command, Output};

fn recpim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recpim"))
        .args(args)
        .output()
        .expect("the recpim binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// metrics.json without its one timing figure (throughput depends on the machine's load).
fn metrics_without_timing(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("metrics.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let object = value.as_object_mut().unwrap();
    assert!(
        object
            .remove("train_samples_per_s")
            .unwrap()
            .as_f64()
            .unwrap()
            > 0.0
    );
    value
}

const SMALL: [&str; 9] = [
    "train",
    "--synthetic-rows",
    "3000",
    "--batch",
    "64",
    "--epochs",
    "2",
    "--quiet",
    "--model",
];

#[test]
fn success_writes_metrics_json_with_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = recpim(&[&SMALL[..], &["lr", "--out", out, "--json"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(printed, written);
    for key in [
        "val_logloss",
        "val_auc",
        "test_logloss",
        "test_auc",
        "train_samples_per_s",
        "steps",
        "params_dense",
        "params_embedding",
        "bayes_logloss",
        "best_epoch",
        "malformed_rows",
    ] {
        assert!(
            written.get(key).is_some_and(|v| !v.is_null()),
            "{key} missing in {written}"
        );
    }
    // 80% of 3000 rows in batches of 64: 38 steps per epoch, 2 epochs.
    assert_eq!(written["train_rows"], 2400);
    assert_eq!(written["steps"], 76);
    // Logistic regression beats the coin and cannot beat the Bayes limit by much.
    let test = written["test_logloss"].as_f64().unwrap();
    let bayes = written["bayes_logloss"].as_f64().unwrap();
    assert!(
        test < std::f64::consts::LN_2 && test > bayes - 0.05,
        "{test} vs {bayes}"
    );
    for file in ["model.state", "encoder.json", "checkpoint.bin"] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }
}

#[test]
fn one_and_two_threads_give_the_same_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for (dir, threads) in [(&a, "1"), (&b, "2")] {
        let out = dir.path().to_str().unwrap();
        let o = recpim(&[&SMALL[..], &["dlrm", "--out", out, "--threads", threads]].concat());
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(
        metrics_without_timing(a.path()),
        metrics_without_timing(b.path())
    );
    let state = |d: &Path| std::fs::read(d.join("model.state")).unwrap();
    assert_eq!(state(a.path()), state(b.path()));
}

#[test]
fn pause_and_resume_equals_an_uninterrupted_run() {
    let straight = tempfile::tempdir().unwrap();
    let paused = tempfile::tempdir().unwrap();
    let base = [&SMALL[..], &["dnn", "--checkpoint-every", "10"]].concat();
    let o = recpim(&[&base[..], &["--out", straight.path().to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let out = paused.path().to_str().unwrap();
    // Pause in the middle of the first epoch (38 steps per epoch).
    let o = recpim(&[&base[..], &["--out", out, "--stop-after-steps", "25"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!paused.path().join("metrics.json").exists());
    let o = recpim(&[&base[..], &["--out", out, "--resume"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        metrics_without_timing(straight.path()),
        metrics_without_timing(paused.path())
    );
    let state = |d: &Path| std::fs::read(d.join("model.state")).unwrap();
    assert_eq!(state(straight.path()), state(paused.path()));
}

#[test]
fn resume_with_other_arguments_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = recpim(&[&SMALL[..], &["lr", "--out", out, "--stop-after-steps", "5"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let o = recpim(
        &[
            &SMALL[..],
            &["lr", "--out", out, "--resume", "--lr", "0.05"],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("different run"), "{}", stderr(&o));
}

#[test]
fn a_bad_genotype_exits_2_naming_the_block_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad_genotype.json");
    // Block 2 reads index 5, the output of later block 4.
    let text = concat!(
        r#"{"micro": ["#,
        r#"{"active_nodes": [0, 2], "dense_in_dims": 64, "sparse_in_dims": 16, "dense_sparse_interact": 0, "deep_fm": 0}, "#,
        r#"{"active_nodes": [0, 2], "dense_in_dims": 64, "sparse_in_dims": 16, "dense_sparse_interact": 0, "deep_fm": 0}, "#,
        r#"{"active_nodes": [0, 2], "dense_in_dims": 64, "sparse_in_dims": 16, "dense_sparse_interact": 0, "deep_fm": 0}], "#,
        r#""macro": ["#,
        r#"{"dense_idx": [0], "sparse_idx": [0], "dense_left_idx": [0], "dense_right_idx": [0]}, "#,
        r#"{"dense_idx": [1], "sparse_idx": [0], "dense_left_idx": [0], "dense_right_idx": [0]}, "#,
        r#"{"dense_idx": [5], "sparse_idx": [0], "dense_left_idx": [0], "dense_right_idx": [0]}], "#,
        r#""num_blocks": 3, "use_layernorm": 0, "config": "autoctr"}"#
    );
    std::fs::write(&path, text).unwrap();
    let out = dir.path().join("out");
    let o = recpim(&[
        "train",
        "--genotype",
        path.to_str().unwrap(),
        "--synthetic-rows",
        "500",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for part in ["bad_genotype.json", "block 2", "\"dense_idx\"", "index 5"] {
        assert!(err.contains(part), "{err:?} should name {part:?}");
    }
}

#[test]
fn a_bad_row_in_strict_mode_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tiny.libsvm");
    let mut text = String::new();
    for i in 0..40 {
        if i == 6 {
            text.push_str("1 3:1 notanumber 9:1\n");
        } else {
            text.push_str(&format!(
                "{} {}:1 {}:1 {}:1\n",
                i % 2,
                i % 5,
                10 + i % 7,
                20 + i % 3
            ));
        }
    }
    std::fs::write(&data, text).unwrap();
    let out = dir.path().join("out");
    let common = [
        "train",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "libsvm",
        "--model",
        "lr",
        "--quiet",
    ];
    let o = recpim(&[&common[..], &["--strict", "--out", out.to_str().unwrap()]].concat());
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("tiny.libsvm:7"),
        "{err:?} should name tiny.libsvm:7"
    );
    // Lenient mode skips and counts it.
    let o = recpim(
        &[
            &common[..],
            &["--out", out.to_str().unwrap(), "--batch", "8"],
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["malformed_rows"], 1);
    assert!(metrics["bayes_logloss"].is_null());
}

#[test]
fn bad_flags_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for args in [
        vec!["train", "--model", "xgboost", "--out", out],
        vec!["train", "--data", "x.txt", "--out", out],
        vec![
            "train",
            "--epochs",
            "0",
            "--synthetic-rows",
            "200",
            "--model",
            "lr",
            "--out",
            out,
        ],
        vec!["train", "--threads", "0", "--out", out],
        vec![
            "train",
            "--data",
            "/nonexistent/file.tsv",
            "--format",
            "criteo",
            "--out",
            out,
        ],
    ] {
        let o = recpim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty());
    }
}

#[test]
fn a_reference_genotype_trains_on_the_synthetic_data() {
    let genotype = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/nasrec_genotypes/ea_criteo_kaggle_autoctr_best_1shot.json"
    );
    if !Path::new(genotype).is_file() {
        eprintln!("skipping: {genotype} is absent");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = recpim(&[
        "train",
        "--genotype",
        genotype,
        "--synthetic-rows",
        "600",
        "--batch",
        "64",
        "--epochs",
        "1",
        "--quiet",
        "--json",
        "--out",
        out,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        m["model"]
            .as_str()
            .unwrap()
            .starts_with("genotype:autoctr:"),
        "{m}"
    );
    assert_eq!(m["steps"], 8); // 480 train rows / 64
    assert!(m["params_dense"].as_u64().unwrap() > 100_000);
    assert!(m["test_logloss"].as_f64().unwrap().is_finite());
}

/// Writes a synthetic Criteo file of 3000 rows cut into train (2400), val (300) and test (300)
/// files in `dir` (one generating model, so all three share a distribution).
fn streamed_files(dir: &Path) -> [String; 3] {
    let all = dir.join("all.txt");
    let o = recpim(&[
        "data",
        "synth",
        "--rows",
        "3000",
        "--seed",
        "5",
        "--out",
        all.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&all).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3000);
    let mut paths = Vec::new();
    for (name, part) in [
        ("train.txt", &lines[..2400]),
        ("val.txt", &lines[2400..2700]),
        ("test.txt", &lines[2700..]),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, part.join("\n") + "\n").unwrap();
        paths.push(path.to_str().unwrap().to_string());
    }
    [paths[0].clone(), paths[1].clone(), paths[2].clone()]
}

/// `recpim train --stream` arguments on the files of `streamed_files`.
fn stream_args(files: &[String; 3], out: &str) -> Vec<String> {
    [
        "train",
        "--data",
        &files[0],
        "--format",
        "criteo",
        "--stream",
        "--shuffle-buffer",
        "500",
        "--val-data",
        &files[1],
        "--test-data",
        &files[2],
        "--batch",
        "64",
        "--epochs",
        "2",
        "--patience",
        "5",
        "--quiet",
        "--model",
        "dlrm",
        "--out",
        out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn recpim_owned(args: &[String]) -> Output {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    recpim(&refs)
}

#[test]
fn streaming_gives_the_same_bytes_with_one_and_two_threads() {
    let data = tempfile::tempdir().unwrap();
    let files = streamed_files(data.path());
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for (dir, threads) in [(&a, "1"), (&b, "2")] {
        let mut args = stream_args(&files, dir.path().to_str().unwrap());
        args.extend(["--threads".to_string(), threads.to_string()]);
        let o = recpim_owned(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let metrics = metrics_without_timing(a.path());
    assert_eq!(metrics, metrics_without_timing(b.path()));
    let state = |d: &Path| std::fs::read(d.join("model.state")).unwrap();
    assert_eq!(state(a.path()), state(b.path()));
    // The whole training file is training data (not split): 2400 rows in batches of 64 is 38
    // steps per epoch; validation and test come from their own files.
    assert_eq!(metrics["train_rows"], 2400);
    assert_eq!(metrics["val_rows"], 300);
    assert_eq!(metrics["test_rows"], 300);
    assert_eq!(metrics["steps"], 76);
    let test = metrics["test_logloss"].as_f64().unwrap();
    assert!(test.is_finite() && test < 1.0, "{test}");
}

#[test]
fn streaming_pause_and_resume_equals_an_uninterrupted_run() {
    let data = tempfile::tempdir().unwrap();
    let files = streamed_files(data.path());
    let straight = tempfile::tempdir().unwrap();
    let o = recpim_owned(&stream_args(&files, straight.path().to_str().unwrap()));
    assert!(o.status.success(), "{}", stderr(&o));
    let paused = tempfile::tempdir().unwrap();
    let out = paused.path().to_str().unwrap();
    // Pause in the middle of the second epoch (38 steps per epoch).
    let mut args = stream_args(&files, out);
    args.extend(["--stop-after-steps".to_string(), "50".to_string()]);
    let o = recpim_owned(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!paused.path().join("metrics.json").exists());
    let mut args = stream_args(&files, out);
    args.push("--resume".to_string());
    let o = recpim_owned(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        metrics_without_timing(straight.path()),
        metrics_without_timing(paused.path())
    );
    let state = |d: &Path| std::fs::read(d.join("model.state")).unwrap();
    assert_eq!(state(straight.path()), state(paused.path()));
    // A resume with another shuffle buffer is another run.
    let mut args = stream_args(&files, out);
    let at = args.iter().position(|a| a == "500").unwrap();
    args[at] = "100".to_string();
    args.push("--resume".to_string());
    let o = recpim_owned(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("different run"), "{}", stderr(&o));
}

#[test]
fn stream_flag_errors_name_the_missing_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let file = dir.path().join("train.txt");
    std::fs::write(&file, "").unwrap();
    let file = file.to_str().unwrap();
    for (args, expected) in [
        (
            vec!["train", "--stream", "--out", out],
            "--stream needs --data",
        ),
        (
            vec![
                "train", "--stream", "--data", file, "--format", "criteo", "--out", out,
            ],
            "--stream needs --val-data",
        ),
        (
            vec![
                "train",
                "--data",
                file,
                "--format",
                "criteo",
                "--val-data",
                file,
                "--out",
                out,
            ],
            "--val-data is only used with --stream",
        ),
        (
            vec![
                "train",
                "--stream",
                "--data",
                file,
                "--format",
                "criteo",
                "--val-data",
                file,
                "--shuffle-buffer",
                "0",
                "--out",
                out,
            ],
            "--shuffle-buffer 0",
        ),
    ] {
        let o = recpim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(expected), "{args:?}: {}", stderr(&o));
    }
}
