//! End-to-end tests of `recpim sweep` and `recpim merge` with the real binary: a sweep killed
//! mid-run and resumed gives the bytes of an uninterrupted one; 1 and 2 threads agree; shards
//! chosen by flag, SLURM and Kubernetes variables merge into the unsharded result; bad spaces
//! and bad merges exit 2 naming the file and the key.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SHARD_VARS: [&str; 6] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_STEP",
    "JOB_COMPLETION_INDEX",
    "RECPIM_SHARDS",
];

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

/// `recpim` with no shard variables inherited from the machine running the tests.
fn recpim() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_recpim"));
    for var in SHARD_VARS {
        command.env_remove(var);
    }
    command
}

fn run_ok(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn run_fails(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A space over the NASRec 7-block workload in `dir`.
fn write_space(dir: &Path, keys: &str) -> PathBuf {
    let path = dir.join("space.toml");
    let text = format!(
        "base_hw = {:?}\nworkloads = [{:?}]\n[keys]\n{keys}",
        repo("hwconfigs/default.toml"),
        repo("hwconfigs/workloads/nasrec-7block.toml"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// 8 x 5 x 4 x 10 x 3 = 4,800 points: long enough to be killed mid-run.
const BIG: &str = "\"adc.bits\" = [4, 5, 6, 7, 8, 9, 10, 11]\n\"crossbar.rows+crossbar.cols+dac.per_crossbar\" = [32, 64, 128, 256, 512]\n\"device.cell_bits\" = [1, 2, 3, 4]\n\"crossbar.active_rows\" = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]\n\"adc.per_crossbar\" = [2, 8, 32]\n";

/// 3 x 2 x 2 = 12 points.
const SMALL: &str = "\"adc.bits\" = [5, 6, 7]\n\"crossbar.active_rows\" = [16, 32]\n\"workload.weight_bits\" = [4, 8]\n";

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn journal_rows(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count().saturating_sub(1))
        .unwrap_or(0)
}

/// Starts a sweep, waits until its journal holds at least one chunk, and kills it. Returns
/// false when the sweep finished before it could be killed.
fn start_and_kill(space: &Path, out: &Path, resume: bool) -> bool {
    let mut command = recpim();
    command
        .args(["sweep", &space.display().to_string(), "--out"])
        .arg(out)
        .args(["--threads", "1", "--chunk-points", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if resume {
        command.arg("--resume");
    }
    let already = journal_rows(&out.join("journal.csv"));
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            return false;
        }
        if journal_rows(&out.join("journal.csv")) > already
            || started.elapsed() > Duration::from_secs(60)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    !out.join("rows.csv").exists()
}

#[test]
fn a_killed_sweep_resumes_to_the_bytes_of_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let space = write_space(dir.path(), BIG);
    let whole = dir.path().join("whole");
    run_ok(
        recpim()
            .args(["sweep", &space.display().to_string(), "--out"])
            .arg(&whole)
            .args(["--threads", "2"]),
    );
    let killed = dir.path().join("killed");
    // Kill it twice: during the first run and during the first resume.
    assert!(
        start_and_kill(&space, &killed, false),
        "the sweep ended before the kill"
    );
    let after_first = journal_rows(&killed.join("journal.csv"));
    assert!(after_first > 0 && after_first < 4800, "{after_first}");
    assert!(
        start_and_kill(&space, &killed, true),
        "the resume ended before the kill"
    );
    assert!(journal_rows(&killed.join("journal.csv")) >= after_first);
    let output = run_ok(
        recpim()
            .args(["sweep", &space.display().to_string(), "--out"])
            .arg(&killed)
            .args(["--threads", "2", "--resume"]),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("resumed from the journal"), "{stdout}");
    for name in ["journal.csv", "rows.csv", "rows.front.csv", "rows.svg"] {
        assert_eq!(
            bytes(&killed.join(name)),
            bytes(&whole.join(name)),
            "{name}"
        );
    }
}

#[test]
fn one_and_two_threads_write_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let space = write_space(dir.path(), SMALL);
    for (name, threads) in [("t1", "1"), ("t2", "2")] {
        run_ok(
            recpim()
                .args(["sweep", &space.display().to_string(), "--out"])
                .arg(dir.path().join(name))
                .args(["--threads", threads, "--chunk-points", "5"]),
        );
    }
    for name in ["rows.csv", "rows.front.csv", "rows.svg"] {
        assert_eq!(
            bytes(&dir.path().join("t1").join(name)),
            bytes(&dir.path().join("t2").join(name)),
            "{name}"
        );
    }
    let rows = String::from_utf8(bytes(&dir.path().join("t1/rows.csv"))).unwrap();
    assert_eq!(rows.lines().count(), 13);
}

#[test]
fn shards_from_flags_slurm_and_kubernetes_merge_into_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let space = write_space(dir.path(), SMALL);
    let space_arg = space.display().to_string();
    let whole = dir.path().join("whole");
    run_ok(recpim().args(["sweep", &space_arg, "--out"]).arg(&whole));
    let sharded = dir.path().join("sharded");
    // Shard 0 by flag, shard 1 as SLURM task 2 of a 1-based array, shard 2 as a Kubernetes index.
    run_ok(
        recpim()
            .args(["sweep", &space_arg, "--out"])
            .arg(&sharded)
            .args(["--shard", "0/3"]),
    );
    run_ok(
        recpim()
            .args(["sweep", &space_arg, "--out"])
            .arg(&sharded)
            .env("SLURM_ARRAY_TASK_ID", "2")
            .env("SLURM_ARRAY_TASK_MIN", "1")
            .env("SLURM_ARRAY_TASK_COUNT", "3"),
    );
    run_ok(
        recpim()
            .args(["sweep", &space_arg, "--out"])
            .arg(&sharded)
            .env("JOB_COMPLETION_INDEX", "2")
            .args(["--shards", "3"]),
    );
    for i in 0..3 {
        assert!(sharded
            .join(format!("shard-{i:04}-of-0003/rows.csv"))
            .exists());
    }
    let merged = dir.path().join("merged.csv");
    let output = run_ok(
        recpim()
            .arg("merge")
            .arg(&sharded)
            .arg("--out")
            .arg(&merged),
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("3 files"));
    assert_eq!(bytes(&merged), bytes(&whole.join("rows.csv")));
    assert_eq!(
        bytes(&dir.path().join("merged.front.csv")),
        bytes(&whole.join("rows.front.csv"))
    );
    assert!(dir.path().join("merged.svg").exists());
}

#[test]
fn bad_space_files_exit_2_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    for (keys, key, what) in [
        ("\"adc.bitz\" = [5]\n", "adc.bitz", "unknown field"),
        ("\"adc.bits\" = []\n", "adc.bits", "empty list"),
        ("\"adc.bits\" = [\"six\"]\n", "adc.bits", "six"),
        ("\"crossbar.rows\" = [true]\n", "crossbar.rows", "true"),
    ] {
        let space = write_space(dir.path(), keys);
        let stderr = run_fails(
            recpim()
                .args(["sweep", &space.display().to_string(), "--out"])
                .arg(dir.path().join("never")),
        );
        assert!(
            stderr.contains("space.toml:4") && stderr.contains(key) && stderr.contains(what),
            "{keys}: {stderr}"
        );
        assert!(!dir.path().join("never").exists(), "nothing is written");
    }
    let stderr = run_fails(recpim().args([
        "sweep",
        &repo("hwconfigs/sweeps/default.toml"),
        "--shard",
        "3/3",
    ]));
    assert!(
        stderr.contains("--shard") && stderr.contains("0..=2"),
        "{stderr}"
    );
    let stderr = run_fails(recpim().args(["sweep", "/nonexistent/space.toml"]));
    assert!(stderr.contains("/nonexistent/space.toml"), "{stderr}");
}

#[test]
fn an_existing_sweep_is_not_overwritten_and_bad_merges_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let space = write_space(dir.path(), SMALL);
    let out = dir.path().join("out");
    let sweep = |extra: &[&str]| {
        let mut command = recpim();
        command
            .args(["sweep", &space.display().to_string(), "--out"])
            .arg(&out)
            .args(extra);
        command
    };
    run_ok(&mut sweep(&[]));
    let stderr = run_fails(&mut sweep(&[]));
    assert!(stderr.contains("--resume"), "{stderr}");
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "config_hash,latency_ns,energy_pj\nabc,1,2\n").unwrap();
    let stderr = run_fails(
        recpim()
            .arg("merge")
            .arg(out.join("rows.csv"))
            .arg(&other)
            .arg("--out")
            .arg(dir.path().join("m.csv")),
    );
    assert!(
        stderr.contains("other.csv:1") && stderr.contains("header"),
        "{stderr}"
    );
}

/// The reference NASRec genotype beside the checkout.
fn reference_genotype(name: &str) -> String {
    repo(&format!("../shared/data/nasrec_genotypes/{name}"))
}

/// A space of 3 ADC widths on the default hwconfig: 10 and 7 bits are lossless there (32 rows x
/// 1-bit DAC x 3 cell levels = 96), 3 bits is not.
fn write_adc_space(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("adc.toml");
    let text = format!(
        "base_hw = {:?}\n[keys]\n\"adc.bits\" = [10, 7, 3]\n{extra}",
        repo("hwconfigs/default.toml"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn column(rows: &str, name: &str) -> Vec<String> {
    let mut lines = rows.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let c = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    lines
        .map(|l| l.split(',').nth(c).unwrap().to_string())
        .collect()
}

#[test]
fn a_sweep_with_a_trained_model_adds_ideal_and_hardware_log_losses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data.txt");
    run_ok(
        recpim()
            .args(["data", "synth", "--shape", "criteo", "--rows", "3000"])
            .args(["--seed", "1", "--out"])
            .arg(&data),
    );
    let genotype = reference_genotype("ea_criteo_kaggle_autoctr_best_1shot.json");
    let trained = d.join("trained");
    run_ok(
        recpim()
            .args(["train", "--data"])
            .arg(&data)
            .args(["--format", "criteo", "--genotype", &genotype])
            .args(["--epochs", "1", "--lr", "0.01", "--quiet", "--out"])
            .arg(&trained),
    );
    let space = write_adc_space(d, "");
    let sweep = |out: &Path, val_examples: &str, extra: &[&str]| {
        let mut command = recpim();
        command
            .args([
                "sweep",
                &space.display().to_string(),
                "--genotype",
                &genotype,
            ])
            .arg("--trained")
            .arg(&trained)
            .arg("--data")
            .arg(&data)
            .args([
                "--format",
                "criteo",
                "--val-examples",
                val_examples,
                "--quiet",
                "--out",
            ])
            .arg(out)
            .args(extra);
        command
    };
    for (name, threads) in [("t1", "1"), ("t2", "2")] {
        run_ok(&mut sweep(&d.join(name), "128", &["--threads", threads]));
    }
    for name in [
        "journal.csv",
        "rows.csv",
        "rows.front.csv",
        "rows.svg",
        "manifest.json",
    ] {
        assert_eq!(
            bytes(&d.join("t1").join(name)),
            bytes(&d.join("t2").join(name)),
            "{name}"
        );
    }
    let rows = String::from_utf8(bytes(&d.join("t1/rows.csv"))).unwrap();
    assert!(
        rows.lines()
            .next()
            .unwrap()
            .ends_with(",crossbars,log_loss_ideal,log_loss_hardware,error"),
        "{rows}"
    );
    let number = |v: &String| v.parse::<f64>().unwrap_or_else(|e| panic!("{v}: {e}"));
    let ideal: Vec<f64> = column(&rows, "log_loss_ideal").iter().map(number).collect();
    let hardware: Vec<f64> = column(&rows, "log_loss_hardware")
        .iter()
        .map(number)
        .collect();
    assert_eq!(column(&rows, "adc.bits"), ["10", "7", "3"]);
    // The model learnt something (below a coin's log 2) and the ideal figure ignores the ADC.
    assert!(
        ideal[0] < 0.69 && ideal.iter().all(|&l| l == ideal[0]),
        "{ideal:?}"
    );
    // Lossless ADCs: the same figure up to float rounding. The ideal pass accumulates the
    // fake-quantized products in f32, the hardware pass gets exact integer sums and rescales
    // them; where the f32 error moves a value across a rounding boundary of the next layer's
    // activation quantizer, that activation's code differs by one step. Seen: 5.3e-6 and
    // 1.25e-4 with two summation orders of the item-axis kernels, against 1e21 for the 3-bit ADC.
    for lossless in [0, 1] {
        assert!(
            (hardware[lossless] - ideal[lossless]).abs() < 1e-3,
            "{ideal:?} {hardware:?}"
        );
    }
    assert!(hardware[2] > ideal[2] + 1e-3, "{ideal:?} {hardware:?}");
    let manifest = String::from_utf8(bytes(&d.join("t1/manifest.json"))).unwrap();
    assert!(manifest.contains("\"val_examples\": 128"), "{manifest}");

    // Shards share the header and merge into the unsharded rows.
    let sharded = d.join("sharded");
    for shard in ["0/2", "1/2"] {
        run_ok(&mut sweep(&sharded, "128", &["--shard", shard]));
    }
    let merged = d.join("merged.csv");
    run_ok(
        recpim()
            .arg("merge")
            .arg(&sharded)
            .arg("--out")
            .arg(&merged),
    );
    assert_eq!(bytes(&merged), bytes(&d.join("t1/rows.csv")));
    assert_eq!(
        bytes(&d.join("merged.front.csv")),
        bytes(&d.join("t1/rows.front.csv"))
    );

    // --resume refuses another accuracy setup; another genotype than the trained one is refused.
    let err = run_fails(&mut sweep(&d.join("t1"), "64", &["--resume"]));
    assert!(err.contains("accuracy settings"), "{err}");
    let other = reference_genotype("ea_criteo_kaggle_xlarge_best_1shot.json");
    let err = run_fails(
        recpim()
            .args(["sweep", &space.display().to_string(), "--genotype", &other])
            .arg("--trained")
            .arg(&trained)
            .arg("--data")
            .arg(&data)
            .args(["--format", "criteo", "--out"])
            .arg(d.join("other")),
    );
    assert!(
        err.contains("--genotype") && err.contains("trained"),
        "{err}"
    );
}

#[test]
fn accuracy_flags_that_would_make_the_numbers_lie_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let genotype = reference_genotype("ea_criteo_kaggle_autoctr_best_1shot.json");
    let space = write_adc_space(d, "");
    let bits_dir = d.join("bits");
    std::fs::create_dir(&bits_dir).unwrap();
    let bits_space = write_adc_space(&bits_dir, "\"workload.weight_bits\" = [4, 8]\n");
    let space = space.display().to_string();
    let base = |space: &str| {
        let mut command = recpim();
        command.args(["sweep", space, "--genotype", &genotype, "--out"]);
        command.arg(d.join("out"));
        command
    };
    let bits_space = bits_space.display().to_string();
    let cases: [(&[&str], &str, &str); 5] = [
        (&["--trained", "T", "--data", "F"], &space, "--format"),
        (&["--trained", "T", "--format", "criteo"], &space, "--data"),
        (
            &["--trained", "T", "--data", "F", "--format", "criteo"],
            &bits_space,
            "workload.weight_bits",
        ),
        (
            &[
                "--trained",
                "T",
                "--data",
                "F",
                "--format",
                "criteo",
                "--backend",
                "plugin:/x.so",
            ],
            &space,
            "--backend",
        ),
        (&["--data", "F", "--format", "criteo"], &space, "--trained"),
    ];
    for (args, space, flag) in cases {
        let err = run_fails(base(space).args(args));
        assert!(err.contains(flag), "{args:?}: {err}");
    }
    let err = run_fails(
        recpim()
            .args([
                "sweep",
                &space,
                "--trained",
                "T",
                "--data",
                "F",
                "--format",
                "criteo",
            ])
            .args([
                "--workload",
                &repo("hwconfigs/workloads/nasrec-7block.toml"),
            ]),
    );
    assert!(err.contains("--workload"), "{err}");
    assert!(!d.join("out").exists());
}
