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
