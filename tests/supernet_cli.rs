//! `recpim supernet train` end to end (real binary, tiny budgets): a run paused mid-way, or
//! killed, and resumed writes the same bytes as an uninterrupted run, 1 and 2 threads agree,
//! bad flags exit 2 naming the flag, and `--no-operator-balancing` is recorded and must match
//! on `--resume`.

mod support;

use std::path::Path;
use std::process::{Command, Output};

const TINY: &[&str] = &[
    "supernet",
    "train",
    "--synthetic-rows",
    "1500",
    "--max-table-rows",
    "40",
    "--blocks",
    "1",
    "--steps",
    "6",
    "--batch",
    "64",
    "--seed",
    "3",
    "--quiet",
];

fn recpim(args: &[&str], extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recpim"))
        .args(args)
        .args(extra)
        .output()
        .expect("running recpim")
}

fn files(dir: &Path) -> Vec<Vec<u8>> {
    ["supernet.ckpt", "losses.csv", "summary.json"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).expect("output file"))
        .collect()
}

#[test]
fn paused_then_resumed_equals_uninterrupted_for_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    let parts = tmp.path().join("parts");
    let out = recpim(TINY, &["--out", whole.to_str().unwrap(), "--threads", "1"]);
    support::assert_ok(&out);

    let out = recpim(
        TINY,
        &[
            "--out",
            parts.to_str().unwrap(),
            "--threads",
            "2",
            "--stop-after-steps",
            "4",
        ],
    );
    support::assert_ok(&out);
    let paused = std::fs::read_to_string(parts.join("summary.json")).unwrap();
    assert!(
        paused.contains("\"steps_done\": 4") && paused.contains("\"paused\": true"),
        "{paused}"
    );

    let out = recpim(
        TINY,
        &[
            "--out",
            parts.to_str().unwrap(),
            "--threads",
            "2",
            "--resume",
        ],
    );
    support::assert_ok(&out);
    assert!(
        files(&whole) == files(&parts),
        "resumed run differs from the uninterrupted one"
    );
    let losses = std::fs::read_to_string(whole.join("losses.csv")).unwrap();
    assert_eq!(losses.lines().count(), 7, "{losses}");
}

#[test]
fn killed_then_resumed_equals_uninterrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, killed) = (tmp.path().join("whole"), tmp.path().join("killed"));
    // TINY with a longer run and a checkpoint every 2 steps, so a kill lands mid-run.
    let mut args: Vec<&str> = TINY.to_vec();
    let steps = args.iter().position(|a| *a == "--steps").unwrap() + 1;
    args[steps] = "60";
    args.extend(["--checkpoint-every", "2", "--threads", "1"]);
    let out = recpim(&args, &["--out", whole.to_str().unwrap()]);
    support::assert_ok(&out);

    let mut child = Command::new(env!("CARGO_BIN_EXE_recpim"))
        .args(&args)
        .args(["--out", killed.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("running recpim");
    let started = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if killed.join("supernet.ckpt").exists()
            || started.elapsed() > std::time::Duration::from_secs(60)
        {
            // SIGKILL: no chance to write anything more.
            child.kill().unwrap();
            child.wait().unwrap();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let out = recpim(&args, &["--out", killed.to_str().unwrap(), "--resume"]);
    support::assert_ok(&out);
    assert!(
        files(&whole) == files(&killed),
        "the killed and resumed run differs from the uninterrupted one"
    );
}

#[test]
fn bad_flags_exit_2_and_name_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("x");
    let out = recpim(
        TINY,
        &["--out", out_dir.to_str().unwrap(), "--strategy", "every-op"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--strategy every-op") && err.contains("single-op-any-conn"),
        "{err}"
    );

    let out = recpim(TINY, &["--out", out_dir.to_str().unwrap(), "--resume"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

/// A finished run's `summary.json` and the start of its checkpoint (the JSON header).
fn summary_and_checkpoint_header(dir: &std::path::Path) -> (String, String) {
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let ckpt = std::fs::read(dir.join("supernet.ckpt")).unwrap();
    let header = String::from_utf8_lossy(&ckpt[..ckpt.len().min(4096)]).to_string();
    (summary, header)
}

#[test]
fn no_operator_balancing_is_recorded_and_must_match_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, parts, balanced) = (
        tmp.path().join("whole"),
        tmp.path().join("parts"),
        tmp.path().join("balanced"),
    );
    let mut args: Vec<&str> = TINY.to_vec();
    args.push("--no-operator-balancing");
    let out = recpim(&args, &["--out", whole.to_str().unwrap()]);
    support::assert_ok(&out);
    let (summary, header) = summary_and_checkpoint_header(&whole);
    assert!(
        summary.contains("\"operator_balancing\": false"),
        "{summary}"
    );
    assert!(header.contains("\"operator_balancing\":false"), "{header}");

    // The default stays balanced, says so in the summary, and its checkpoint header has no
    // field (the bytes of checkpoints written before the switch existed).
    let out = recpim(TINY, &["--out", balanced.to_str().unwrap()]);
    assert!(out.status.success());
    let (summary, header) = summary_and_checkpoint_header(&balanced);
    assert!(
        summary.contains("\"operator_balancing\": true"),
        "{summary}"
    );
    assert!(!header.contains("operator_balancing"), "{header}");

    // Paused without balancing; resuming with balancing is refused (exit 2, naming the flag);
    // resuming with the same flags ends with the uninterrupted run's bytes.
    let out = recpim(
        &args,
        &["--out", parts.to_str().unwrap(), "--stop-after-steps", "3"],
    );
    assert!(out.status.success());
    let out = recpim(TINY, &["--out", parts.to_str().unwrap(), "--resume"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("operator-balancing") && err.contains("--no-operator-balancing"),
        "{err}"
    );
    let out = recpim(&args, &["--out", parts.to_str().unwrap(), "--resume"]);
    support::assert_ok(&out);
    assert!(
        files(&whole) == files(&parts),
        "resumed unbalanced run differs from the uninterrupted one"
    );
}
