//! End-to-end: `recpim compare` on the real binary, on the reference genotypes and shipped
//! presets, with generated and given lookups, and on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;
use support::{assert_ok, csv_rows};

fn recpim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recpim"))
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The NASRec reference genotypes (read in place, never copied into the repo).
const GENOTYPES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/nasrec_genotypes"
);

fn genotype(file: &str) -> PathBuf {
    Path::new(GENOTYPES).join(file)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const DESIGNS: [&str; 3] = [
    "hwconfigs/default.toml",
    "hwconfigs/neurosim-32nm.toml",
    "hwconfigs/isaac.toml",
];
const BASELINES: [&str; 5] = [
    "recnmp",
    "cpu",
    "isaac-handcrafted",
    "rerec-like",
    "mnsim-default",
];

#[test]
fn every_reference_genotype_compares_on_the_shipped_presets() {
    let dir = tempfile::tempdir().unwrap();
    for (file, shape) in [
        ("ea_criteo_kaggle_xlarge_best_1shot.json", "criteo"),
        ("ea_criteo_kaggle_autoctr_best_1shot.json", "criteo"),
        ("ea_avazu_kaggle_xlarge_best_1shot.json", "avazu"),
        ("ea_avazu_kaggle_autoctr_best_1shot.json", "avazu"),
        ("ea_kdd_kaggle_xlarge_best_1shot.json", "kdd"),
        ("ea_kdd_kaggle_autoctr_best_1shot.json", "kdd"),
    ] {
        let out = dir.path().join(file);
        let mut command = recpim();
        command
            .args(["compare", "--shape", shape, "--batch", "4", "--genotype"])
            .arg(genotype(file));
        for design in DESIGNS {
            command.arg("--hw").arg(repo(design));
        }
        for baseline in BASELINES {
            command.args(["--baseline", baseline]);
        }
        let output = command.arg("--out").arg(&out).output().unwrap();
        assert_ok(&output);
        // The model keeps 22 Avazu and 8 KDD tables, the published lists 23 and 10: those
        // lookups come from the model's own tables, and the user is told.
        let noted = stderr(&output).contains("generating the lookups from the model's own tables");
        assert_eq!(noted, shape != "criteo", "{file}: {}", stderr(&output));
        let markdown = String::from_utf8(output.stdout).unwrap();
        for section in [
            "## End to end",
            "## Ratios per operator class",
            "## Energy split",
            "## Assumptions",
        ] {
            assert!(markdown.contains(section), "{file}: {section} missing");
        }
        assert_eq!(
            std::fs::read_to_string(out.join("compare.md")).unwrap(),
            markdown,
            "{file}"
        );

        let figures = csv_rows(&out.join("figures.csv"));
        // Every design and baseline: its classes and end to end; 8 of them.
        let end_to_end: Vec<_> = figures
            .iter()
            .filter(|r| r["scope"] == "end-to-end")
            .collect();
        assert_eq!(end_to_end.len(), DESIGNS.len() + BASELINES.len(), "{file}");
        for row in &figures {
            let latency: f64 = row["latency_ns"].parse().unwrap();
            let energy: f64 = row["energy_pj"].parse().unwrap();
            assert!(latency > 0.0 && energy > 0.0, "{file}: {row:?}");
            let dram = matches!(row["design"].as_str(), "recnmp" | "cpu");
            assert_eq!(row["area_mm2"].is_empty(), dram, "{file}: {row:?}");
        }
        let ratios = csv_rows(&out.join("ratios.csv"));
        let e2e_ratios = ratios.iter().filter(|r| r["scope"] == "end-to-end").count();
        assert_eq!(e2e_ratios, DESIGNS.len() * BASELINES.len(), "{file}");
        for row in &ratios {
            for key in ["speedup", "energy_ratio", "edp_ratio"] {
                let value: f64 = row[key].parse().unwrap();
                assert!(value.is_finite() && value > 0.0, "{file}: {row:?}");
            }
        }
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).unwrap())
                .unwrap();
        assert_eq!(json["designs"].as_array().unwrap().len(), 8, "{file}");
    }
}

#[test]
fn json_has_the_comparison_fields() {
    let output = recpim()
        .args(["compare", "--json", "--batch", "2", "--genotype"])
        .arg(genotype("ea_criteo_kaggle_autoctr_best_1shot.json"))
        .arg("--hw")
        .arg(repo("hwconfigs/default.toml"))
        .output()
        .unwrap();
    assert_ok(&output);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for key in [
        "workload",
        "lookups",
        "designs",
        "ratios",
        "assumptions",
        "recnmp",
    ] {
        assert!(!json[key].is_null(), "{key} missing");
    }
    // The default baselines are recnmp and isaac-handcrafted.
    let names: Vec<&str> = json["designs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["recpim-default-32nm", "recnmp", "isaac-handcrafted"]
    );
    let design = &json["designs"][0];
    for key in [
        "role",
        "source",
        "config_hash",
        "per_class",
        "end_to_end",
        "energy_split",
    ] {
        assert!(!design[key].is_null(), "design {key} missing");
    }
    for key in ["latency_ns", "energy_pj", "area_mm2"] {
        assert!(design["end_to_end"][key].is_f64(), "end_to_end {key}");
    }
    let ratio = &json["ratios"][0];
    for key in [
        "design",
        "baseline",
        "scope",
        "speedup",
        "energy_ratio",
        "edp_ratio",
    ] {
        assert!(!ratio[key].is_null(), "ratio {key} missing");
    }
    let assumption = &json["assumptions"][0];
    for key in ["key", "value", "unit", "detail", "source"] {
        assert!(assumption[key].is_string(), "assumption {key} missing");
    }
    // Batch 2 x 26 one-hot Criteo tables on both sides.
    assert_eq!(json["recnmp"]["lookups"], 52);
}

#[test]
fn a_trace_csv_is_served_by_every_design() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.csv");
    let status = recpim()
        .args([
            "trace",
            "gen",
            "--shape",
            "criteo",
            "--batches",
            "1",
            "--batch-size",
            "3",
            "--pooling",
            "4",
            "--seed",
            "7",
            "--out",
        ])
        .arg(&trace)
        .status()
        .unwrap();
    assert!(status.success());
    let output = recpim()
        .args(["compare", "--json", "--ranks", "4", "--trace"])
        .arg(&trace)
        .arg("--workload")
        .arg(repo("hwconfigs/workloads/nasrec-7block.toml"))
        .arg("--hw")
        .arg(repo("hwconfigs/default.toml"))
        .args(["--baseline", "recnmp", "--baseline", "rerec-like"])
        .output()
        .unwrap();
    assert_ok(&output);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["lookups"].as_str().unwrap().contains("trace.csv"));
    assert_eq!(json["recnmp"]["lookups"], 26 * 3 * 4);
    assert_eq!(json["recnmp"]["ranks"], 4);
}

/// Runs `recpim compare` with `args` and returns (exit code, stderr).
fn fails(args: &[&str]) -> (Option<i32>, String) {
    let output = recpim().arg("compare").args(args).output().unwrap();
    let text = stderr(&output);
    assert!(!output.status.success(), "{args:?} succeeded");
    assert!(!text.contains("panicked"), "{args:?} panicked: {text}");
    (output.status.code(), text)
}

#[test]
fn bad_input_exits_2_naming_the_flag_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let malformed = dir.path().join("malformed.toml");
    std::fs::write(&malformed, "name = \"x\"\n[crossbar\n").unwrap();
    let bad_recnmp = dir.path().join("recnmp-bad.toml");
    let recnmp = std::fs::read_to_string(repo("hwconfigs/baselines/recnmp.toml")).unwrap();
    std::fs::write(&bad_recnmp, recnmp.replace("[nmp]", "[nmpp]")).unwrap();
    let bad_trace = dir.path().join("bad-trace.csv");
    std::fs::write(&bad_trace, "not,a,trace\n1,2\n").unwrap();
    let missing = dir.path().join("missing.toml");

    let default = repo("hwconfigs/default.toml");
    let default = default.to_str().unwrap();
    let workload = repo("hwconfigs/workloads/nasrec-7block.toml");
    let workload = workload.to_str().unwrap();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec![
                "--workload",
                workload,
                "--hw",
                default,
                "--baseline",
                "nope",
            ],
            vec!["--baseline nope", "unknown baseline"],
        ),
        (
            vec!["--workload", workload, "--hw", missing.to_str().unwrap()],
            vec!["missing.toml"],
        ),
        (
            vec!["--workload", workload, "--hw", malformed.to_str().unwrap()],
            vec!["malformed.toml"],
        ),
        (
            vec![
                "--workload",
                workload,
                "--hw",
                default,
                "--baseline",
                malformed.to_str().unwrap(),
            ],
            vec!["malformed.toml"],
        ),
        (
            vec![
                "--workload",
                workload,
                "--hw",
                default,
                "--recnmp-config",
                bad_recnmp.to_str().unwrap(),
            ],
            vec!["recnmp-bad.toml"],
        ),
        (
            vec![
                "--workload",
                workload,
                "--hw",
                default,
                "--trace",
                bad_trace.to_str().unwrap(),
            ],
            vec!["bad-trace.csv"],
        ),
        (
            vec!["--workload", missing.to_str().unwrap(), "--hw", default],
            vec!["missing.toml"],
        ),
        (
            vec!["--genotype", missing.to_str().unwrap(), "--hw", default],
            vec!["missing.toml"],
        ),
        (
            vec!["--workload", workload, "--hw", default, "--ranks", "3"],
            vec!["--ranks 3"],
        ),
        (
            vec![
                "--workload",
                workload,
                "--hw",
                default,
                "--host-power-mw",
                "0",
            ],
            vec!["--host-power-mw"],
        ),
        (vec!["--hw", default], vec!["--workload", "--genotype"]),
    ];
    for (args, needles) in cases {
        let (code, text) = fails(&args);
        assert_eq!(code, Some(2), "{args:?}: {text}");
        for needle in needles {
            assert!(text.contains(needle), "{args:?}: `{needle}` not in {text}");
        }
    }
    // clap rejects a missing --hw before the command runs (also exit 2).
    let (code, text) = fails(&["--workload", workload]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--hw"), "{text}");
}

#[test]
fn an_existing_out_is_not_clobbered_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("compare.md"), "earlier run\n").unwrap();
    let (code, text) = fails(&[
        "--workload",
        repo("hwconfigs/workloads/nasrec-7block.toml")
            .to_str()
            .unwrap(),
        "--hw",
        repo("hwconfigs/default.toml").to_str().unwrap(),
        "--baseline",
        "nope",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{text}");
    assert_eq!(
        std::fs::read_to_string(out.join("compare.md")).unwrap(),
        "earlier run\n"
    );
    let entries: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert_eq!(entries.len(), 1, "nothing else was written");

    // --out naming an existing file is an error that leaves the file alone.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "keep").unwrap();
    let (code, text) = fails(&[
        "--workload",
        repo("hwconfigs/workloads/nasrec-7block.toml")
            .to_str()
            .unwrap(),
        "--hw",
        repo("hwconfigs/default.toml").to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("a-file"), "{text}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
}
