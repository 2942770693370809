//! `recpim search` end to end (real binary, tiny budgets): the outputs exist and agree with each
//! other (history CSV, best genotype in the reference JSON, top-k table), a search paused after a
//! generation and resumed writes the same bytes as an uninterrupted one, a supernet trained
//! on other data is refused, and the supernet's operator-balancing setting is used (a
//! contradicting `--no-operator-balancing` is refused).

mod support;

use std::path::Path;
use std::process::{Command, Output};

fn recpim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recpim"))
        .args(args)
        .output()
        .expect("running recpim")
}

const DATA: &[&str] = &["--synthetic-rows", "1500", "--max-table-rows", "40"];

fn search(supernet: &Path, out: &Path, extra: &[&str]) -> Output {
    search_on(DATA, supernet, out, extra)
}

fn search_on(data: &[&str], supernet: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["search"];
    args.extend_from_slice(data);
    args.extend_from_slice(&[
        "--supernet",
        supernet.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--population",
        "4",
        "--sample",
        "2",
        "--children",
        "2",
        "--generations",
        "3",
        "--mutations-start",
        "2",
        "--finetune-steps",
        "2",
        "--finetune-batch",
        "64",
        "--val-batches",
        "1",
        "--val-batch",
        "100",
        "--top-k",
        "2",
        "--retrain-batch",
        "128",
        "--quiet",
    ]);
    args.extend_from_slice(extra);
    recpim(&args)
}

#[test]
fn search_writes_consistent_outputs_and_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let sn = tmp.path().join("sn");
    train_supernet(&sn, &[]);
    let ckpt = sn.join("supernet.ckpt");

    let whole = tmp.path().join("whole");
    support::assert_ok(&search(&ckpt, &whole, &["--threads", "1"]));
    let history = std::fs::read_to_string(whole.join("history.csv")).unwrap();
    let mut lines = history.lines();
    assert_eq!(
        lines.next(),
        Some("generation,id,parent,genotype_hash,val_logloss,flops,mutations")
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    // 4 initial + 3 generations x 2 children (duplicates would be dropped; none expected here).
    assert_eq!(rows.len(), 10, "{history}");
    let best_hash = rows
        .iter()
        .min_by(|a, b| {
            a[4].parse::<f64>()
                .unwrap()
                .total_cmp(&b[4].parse::<f64>().unwrap())
        })
        .unwrap()[3]
        .clone();
    let topk = std::fs::read_to_string(whole.join("topk.csv")).unwrap();
    assert_eq!(topk.lines().count(), 3, "{topk}");
    assert!(topk.lines().nth(1).unwrap().contains(&best_hash), "{topk}");
    let genotype = recpim_genotype(&whole.join("best_genotype.json"));
    assert!(
        topk.contains(&genotype.0),
        "final pick {} not in {topk}",
        genotype.0
    );
    assert!(genotype.1.contains("\"test_loss\""));
    let summary = std::fs::read_to_string(whole.join("summary.json")).unwrap();
    assert!(
        summary.contains(&format!("\"supernet_best_hash\": \"{best_hash}\"")),
        "{summary}"
    );

    // Paused after the initial population + 1 generation, then resumed on 2 threads.
    let parts = tmp.path().join("parts");
    support::assert_ok(&search(
        &ckpt,
        &parts,
        &["--threads", "2", "--stop-after-generations", "1"],
    ));
    assert!(!parts.join("best_genotype.json").exists());
    support::assert_ok(&search(&ckpt, &parts, &["--threads", "2", "--resume"]));
    for f in [
        "history.csv",
        "topk.csv",
        "best_genotype.json",
        "summary.json",
        "evolution_state.json",
    ] {
        assert!(
            std::fs::read(whole.join(f)).unwrap() == std::fs::read(parts.join(f)).unwrap(),
            "{f} differs after resume"
        );
    }

    // A supernet of other data (other table sizes) is refused, naming the flag.
    let other = search_on(
        &["--synthetic-rows", "1500", "--max-table-rows", "30"],
        &ckpt,
        &tmp.path().join("other"),
        &[],
    );
    assert_eq!(other.status.code(), Some(2));
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(
        err.contains("--supernet") && err.contains("schema"),
        "{err}"
    );
}

/// (architecture hash recomputed by the binary's format: read via serde_json, hash from topk), raw text.
fn recpim_genotype(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["num_blocks"], 2);
    assert_eq!(value["config"], "autoctr");
    assert_eq!(value["micro"].as_array().unwrap().len(), 2);
    // The summary names the final pick's hash; the top-k table must contain it.
    let summary = std::fs::read_to_string(path.with_file_name("summary.json")).unwrap();
    let s: serde_json::Value = serde_json::from_str(&summary).unwrap();
    (s["final_hash"].as_str().unwrap().to_string(), text)
}

/// A tiny supernet (2 blocks, 4 steps of 64) on [`DATA`] into `out`.
fn train_supernet(out: &Path, extra: &[&str]) {
    let mut args = vec!["supernet", "train"];
    args.extend_from_slice(DATA);
    args.extend_from_slice(&[
        "--blocks",
        "2",
        "--steps",
        "4",
        "--batch",
        "64",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    args.extend_from_slice(extra);
    support::assert_ok(&recpim(&args));
}

#[test]
fn search_uses_the_supernets_operator_balancing() {
    let tmp = tempfile::tempdir().unwrap();
    let (unbalanced, balanced) = (tmp.path().join("unbalanced"), tmp.path().join("balanced"));
    train_supernet(&unbalanced, &["--no-operator-balancing"]);
    train_supernet(&balanced, &[]);

    // An unbalanced supernet searched with the flag: scored and retrained unbalanced.
    let with_flag = tmp.path().join("with_flag");
    support::assert_ok(&search(
        &unbalanced.join("supernet.ckpt"),
        &with_flag,
        &["--no-operator-balancing"],
    ));
    let summary = std::fs::read_to_string(with_flag.join("summary.json")).unwrap();
    assert!(
        summary.contains("\"operator_balancing\": false"),
        "{summary}"
    );
    let report = std::fs::read_to_string(with_flag.join("report.md")).unwrap();
    assert!(report.contains("no operator balancing"), "{report}");

    // Without the flag the checkpoint's setting still applies: the same results.
    let without_flag = tmp.path().join("without_flag");
    support::assert_ok(&search(
        &unbalanced.join("supernet.ckpt"),
        &without_flag,
        &[],
    ));
    for f in ["history.csv", "topk.csv", "summary.json"] {
        assert!(
            std::fs::read(with_flag.join(f)).unwrap()
                == std::fs::read(without_flag.join(f)).unwrap(),
            "{f} differs"
        );
    }

    // The flag against a balanced supernet is a clear error naming it.
    let refused = search(
        &balanced.join("supernet.ckpt"),
        &tmp.path().join("refused"),
        &["--no-operator-balancing"],
    );
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("--no-operator-balancing") && err.contains("trained with"),
        "{err}"
    );
    let summary = {
        let out = tmp.path().join("balanced_search");
        support::assert_ok(&search(&balanced.join("supernet.ckpt"), &out, &[]));
        std::fs::read_to_string(out.join("summary.json")).unwrap()
    };
    assert!(
        summary.contains("\"operator_balancing\": true"),
        "{summary}"
    );
}
