//! `recpim codesign` end to end with the real binary and tiny budgets: every front row
//! reproduces through `recpim simulate`, no front design is dominated, the result is the same
//! bytes with 1 and 2 threads, a stopped or killed run resumed equals the uninterrupted run, and bad input
//! exits 2 naming what was wrong.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;
use support::{assert_ok, csv_rows as rows};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn recpim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recpim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the recpim binary runs")
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A run small enough for a test: 1,000 synthetic rows, 4 supernet steps, 4 + 2x2 designs.
fn tiny_run(out: &Path, extra: &[&str]) -> Output {
    let args = tiny_run_args(out, extra);
    recpim(&args)
}

/// The arguments of [`tiny_run`].
fn tiny_run_args<'a>(out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "codesign",
        "--out",
        out.to_str().expect("utf-8 temp path"),
        "--synthetic-rows",
        "1000",
        "--supernet-steps",
        "4",
        "--batch",
        "64",
        "--population",
        "4",
        "--children",
        "2",
        "--generations",
        "2",
        "--val-examples",
        "32",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    args
}

fn objectives(row: &std::collections::HashMap<String, String>) -> [f64; 4] {
    let get = |k: &str| row[k].parse::<f64>().expect("numeric cell");
    [
        get("log_loss_hardware"),
        get("energy_pj"),
        get("latency_ns"),
        get("area_mm2"),
    ]
}

fn dominates(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

#[test]
fn front_reproduces_through_simulate_and_is_non_dominated() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = tiny_run(&out, &[]);
    assert_ok(&output);
    for file in [
        "pareto.csv",
        "history.csv",
        "pareto.svg",
        "report.md",
        "run.json",
    ] {
        assert!(out.join(file).exists(), "{file} missing");
    }
    let front = rows(&out.join("pareto.csv"));
    let history = rows(&out.join("history.csv"));
    assert!(!front.is_empty());
    assert_eq!(
        history.len(),
        4 + 2 * 2,
        "population + children x generations"
    );
    let report = text(&out.join("report.md"));
    assert!(report.contains("isaac-handcrafted") && report.contains("recnmp"));

    // No evaluated design dominates a front design, and every non-dominated one is on the front.
    for f in &front {
        let fo = objectives(f);
        assert!(!history.iter().any(|h| dominates(&objectives(h), &fo)));
    }
    let on_front: Vec<&String> = front.iter().map(|f| &f["config_hash"]).collect();
    for h in &history {
        let ho = objectives(h);
        if !history.iter().any(|o| dominates(&objectives(o), &ho)) {
            assert!(
                on_front.contains(&&h["config_hash"]),
                "{} is missing",
                h["config_hash"]
            );
        }
    }

    // Every front row's latency, energy and area come back exactly from `recpim simulate` with
    // the files and flags the report gives.
    for f in &front {
        let d = out.join(&f["design_dir"]);
        let arg = |name: &str| d.join(name).to_str().unwrap().to_string();
        let (genotype, bits, hw) = (arg("genotype.json"), arg("bits.json"), arg("hw.toml"));
        let sim = recpim(&[
            "simulate",
            "--genotype",
            &genotype,
            "--bits",
            &bits,
            "--hw",
            &hw,
            "--shape",
            "criteo",
            "--engine",
            "analytic",
            "--layernorm",
            "--json",
        ]);
        assert_ok(&sim);
        let json: serde_json::Value = serde_json::from_slice(&sim.stdout).unwrap();
        for key in ["latency_ns", "energy_pj", "area_mm2"] {
            let csv_value: f64 = f[key].parse().unwrap();
            assert_eq!(
                json[key].as_f64(),
                Some(csv_value),
                "{key} of {}",
                f["config_hash"]
            );
        }
        assert_eq!(json["hw_hash"].as_str(), Some(f["hw_config_hash"].as_str()));
        assert!(
            report.contains(&format!("designs/{}", f["config_hash"])) || front.len() > 3,
            "report names the design"
        );
    }
}

fn same_files(a: &Path, b: &Path) {
    for file in ["pareto.csv", "history.csv", "evolution.json"] {
        assert_eq!(
            text(&a.join(file)),
            text(&b.join(file)),
            "{file} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn same_bytes_with_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    assert_ok(&tiny_run(&one, &["--threads", "1", "--no-baselines"]));
    assert_ok(&tiny_run(&two, &["--threads", "2", "--no-baselines"]));
    same_files(&one, &two);
}

#[test]
fn stopped_and_resumed_run_equals_the_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, parts) = (dir.path().join("whole"), dir.path().join("parts"));
    assert_ok(&tiny_run(&whole, &["--no-baselines"]));
    // Stopping after generation 1 leaves the checkpoints a kill after that generation leaves.
    let stopped = tiny_run(&parts, &["--no-baselines", "--stop-after-generations", "1"]);
    assert_ok(&stopped);
    assert!(String::from_utf8_lossy(&stopped.stdout).contains("--resume"));
    assert!(!parts.join("pareto.csv").exists());
    assert_ok(&tiny_run(&parts, &["--no-baselines", "--resume"]));
    same_files(&whole, &parts);
    // Resuming with another budget is refused instead of silently mixing runs.
    let changed = tiny_run(&parts, &["--no-baselines", "--resume", "--seed", "5"]);
    assert_eq!(changed.status.code(), Some(2));
}

#[test]
fn killed_and_resumed_run_equals_the_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, killed) = (dir.path().join("whole"), dir.path().join("killed"));
    let budget = ["--no-baselines", "--threads", "1"];
    assert_ok(&tiny_run(&whole, &budget));
    // Kill the process (SIGKILL, no chance to clean up) once its first evolution checkpoint
    // is on disk, i.e. somewhere inside the generations.
    let mut child = Command::new(env!("CARGO_BIN_EXE_recpim"))
        .args(tiny_run_args(&killed, &budget))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the recpim binary starts");
    let started = std::time::Instant::now();
    let finished_first = loop {
        if child.try_wait().unwrap().is_some() {
            break true;
        }
        if killed.join("evolution.json").exists()
            || started.elapsed() > std::time::Duration::from_secs(120)
        {
            child.kill().unwrap();
            child.wait().unwrap();
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    if !finished_first {
        assert!(!killed.join("pareto.csv").exists(), "killed before the end");
    }
    let mut resume = budget.to_vec();
    resume.push("--resume");
    assert_ok(&tiny_run(&killed, &resume));
    same_files(&whole, &killed);
}

#[test]
fn migrants_from_another_island_seed_the_initial_population() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("island-0"), dir.path().join("island-1"));
    assert_ok(&tiny_run(&first, &["--no-baselines", "--island", "0"]));
    let migrants = first.to_str().unwrap();
    assert_ok(&tiny_run(
        &second,
        &["--no-baselines", "--island", "1", "--migrants", migrants],
    ));
    let front: std::collections::HashSet<String> = rows(&first.join("pareto.csv"))
        .into_iter()
        .map(|r| r["config_hash"].clone())
        .collect();
    let initial: Vec<String> = rows(&second.join("history.csv"))
        .into_iter()
        .filter(|r| r["generation"] == "0")
        .map(|r| r["config_hash"].clone())
        .collect();
    let arrived = initial.iter().filter(|h| front.contains(*h)).count();
    assert_eq!(
        arrived,
        front.len().min(4),
        "front {front:?}, initial {initial:?}"
    );
    assert!(text(&second.join("report.md")).contains("migration:"));
    // A directory that is not a co-design run is refused, naming the flag and the directory.
    let bad = tiny_run(
        &dir.path().join("island-2"),
        &["--no-baselines", "--migrants", dir.path().to_str().unwrap()],
    );
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("--migrants") && err.contains("evolution.json"),
        "{err}"
    );
}

#[test]
fn bad_input_exits_2_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let space = dir.path().join("space.toml");
    let base = repo("hwconfigs/default.toml");
    std::fs::write(
        &space,
        format!(
            "name = \"t\"\nbase_hwconfig = {:?}\n[architecture]\nspace = \"small\"\nbits = [8]\n\
             [hardware]\nadc.bitz = [5]\n",
            base.to_str().unwrap()
        ),
    )
    .unwrap();
    let out = dir.path().join("run");
    let output = tiny_run(&out, &["--space", space.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("space.toml") && stderr.contains("adc.bitz"),
        "{stderr}"
    );

    let output = tiny_run(&out, &["--max-area-mm2=-1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--max-area-mm2"));

    // A missing space file: named, with the system's reason once (not once per error layer).
    let missing = dir.path().join("absent.toml");
    let output = tiny_run(&out, &["--space", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("absent.toml"), "{stderr}");
    assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}");
}

#[test]
fn area_limit_keeps_infeasible_designs_off_the_front() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    assert_ok(&tiny_run(&out, &["--no-baselines", "--max-area-mm2", "20"]));
    let front = rows(&out.join("pareto.csv"));
    for row in &front {
        assert!(row["area_mm2"].parse::<f64>().unwrap() <= 20.0);
        assert_eq!(row["constraint_violation"], "0");
    }
    // Violations are the relative excess over the limit.
    for row in rows(&out.join("history.csv")) {
        let area: f64 = row["area_mm2"].parse().unwrap();
        let violation: f64 = row["constraint_violation"].parse().unwrap();
        assert!((violation - (area / 20.0 - 1.0).max(0.0)).abs() < 1e-12);
    }
}
