//! The sweep runner: same bytes whatever the threads, chunking, kill points and shard split;
//! rows that agree with the simulator; skipped combinations; deduplicated random samples.

use std::path::{Path, PathBuf};

use recpim_search::sweep::merge::merge_files;
use recpim_search::sweep::rows::{read_table, CsvTable};
use recpim_search::sweep::runner::{JOURNAL_FILE, MANIFEST_FILE};
use recpim_search::sweep::{
    run_sweep, NamedWorkload, Shard, SweepEngine, SweepJob, SweepOutcome, SweepSpace,
};
use recpim_search::SearchError;
use recpim_sim::hwconfig::{apply_overrides, HwOverride};
use recpim_sim::{simulate_analytic, Workload};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// 3 ADC resolutions x 3 word-line counts (256 > the 128 rows: skipped) x 2 cell sizes x
/// 2 weight bitwidths = 36 points over the MNSIM FC layer.
const GRID: &str = "[keys]\n\"adc.bits\" = [5, 6, 7]\n\"crossbar.active_rows\" = [16, 32, 256]\n\"device.cell_bits\" = [1, 2]\n\"workload.weight_bits\" = [4, 8]\n";

fn write_space(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("space.toml");
    let text = format!(
        "base_hw = {:?}\n{body}",
        repo("hwconfigs/default.toml").display().to_string()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn workloads() -> Vec<NamedWorkload> {
    vec![NamedWorkload::load(&repo("hwconfigs/workloads/mnsim-fc784x256.toml"), "fc").unwrap()]
}

fn run(
    space: &SweepSpace,
    out: &Path,
    shard: Shard,
    threads: usize,
    chunk: usize,
    resume: bool,
) -> recpim_search::Result<SweepOutcome> {
    let workloads = workloads();
    let job = SweepJob {
        space,
        workloads: &workloads,
        engine: SweepEngine::Analytic,
        shard,
        out_dir: out.to_path_buf(),
        resume,
        threads,
        chunk_points: chunk,
        accuracy: None,
    };
    run_sweep(&job, &mut |_, _| {})
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn thread_count_and_chunking_do_not_change_a_byte() {
    let dir = tempfile::tempdir().unwrap();
    let space = SweepSpace::load(&write_space(dir.path(), GRID)).unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let outcome = run(&space, &a, Shard::WHOLE, 1, 256, false).unwrap();
    run(&space, &b, Shard::WHOLE, 2, 5, false).unwrap();
    assert_eq!(outcome.total_points, 36);
    assert_eq!(outcome.rows, 36);
    assert_eq!(
        outcome.skipped, 12,
        "active_rows = 256 exceeds the 128 rows"
    );
    for name in [
        "journal.csv",
        "rows.csv",
        "rows.front.csv",
        "rows.svg",
        "manifest.json",
    ] {
        assert_eq!(bytes(&a.join(name)), bytes(&b.join(name)), "{name}");
    }
}

#[test]
fn rows_match_the_simulator_and_skipped_rows_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let space = SweepSpace::load(&write_space(dir.path(), GRID)).unwrap();
    let out = dir.path().join("out");
    run(&space, &out, Shard::WHOLE, 2, 8, false).unwrap();
    let table = read_table(&out.join("rows.csv")).unwrap();
    let col = |name: &str| table.column(name).unwrap();
    assert_eq!(
        table.header,
        [
            "point",
            "config_hash",
            "hw_hash",
            "seed",
            "engine",
            "workload",
            "adc.bits",
            "crossbar.active_rows",
            "device.cell_bits",
            "workload.weight_bits",
            "latency_ns",
            "energy_pj",
            "area_mm2",
            "edp_pj_ns",
            "crossbars",
            "error"
        ]
    );
    let base = std::fs::read_to_string(repo("hwconfigs/default.toml")).unwrap();
    let workload = Workload::load(&repo("hwconfigs/workloads/mnsim-fc784x256.toml")).unwrap();
    for (k, (_, fields)) in table.records.iter().enumerate() {
        assert_eq!(fields[col("point")], k.to_string());
        let int = |name: &str| fields[col(name)].parse::<i64>().unwrap();
        let hw = apply_overrides(
            &base,
            "default.toml",
            &[
                HwOverride::new("adc.bits", int("adc.bits")),
                HwOverride::new("crossbar.active_rows", int("crossbar.active_rows")),
                HwOverride::new("device.cell_bits", int("device.cell_bits")),
            ],
        );
        if int("crossbar.active_rows") == 256 {
            assert!(hw.is_err());
            assert!(
                fields[col("error")].contains("crossbar.active_rows"),
                "{fields:?}"
            );
            assert_eq!(fields[col("latency_ns")], "");
            assert_eq!(fields[col("hw_hash")], "");
            continue;
        }
        let hw = hw.unwrap();
        let mut w = workload.clone();
        for op in &mut w.ops {
            if let recpim_sim::Op::Mvm { weight_bits, .. } = op {
                *weight_bits = int("workload.weight_bits") as u32;
            }
        }
        let report = simulate_analytic(&hw, &w).unwrap();
        let float = |name: &str| fields[col(name)].parse::<f64>().unwrap();
        assert_eq!(fields[col("error")], "");
        assert_eq!(fields[col("hw_hash")], hw.config_hash());
        assert_eq!(float("latency_ns"), report.latency_ns);
        assert_eq!(float("energy_pj"), report.energy_pj);
        assert_eq!(float("area_mm2"), report.area_mm2);
        assert_eq!(float("edp_pj_ns"), report.latency_ns * report.energy_pj);
        assert_eq!(int("crossbars") as u64, report.crossbars);
    }
    // Every config hash is distinct (the weight bitwidth is part of it).
    let hashes: std::collections::BTreeSet<&String> = table
        .records
        .iter()
        .map(|(_, f)| &f[col("config_hash")])
        .collect();
    assert_eq!(hashes.len(), 36);
}

fn objectives(table: &CsvTable, fields: &[String]) -> Option<[f64; 3]> {
    let v = |name: &str| fields[table.column(name).unwrap()].parse::<f64>().ok();
    Some([v("latency_ns")?, v("energy_pj")?, v("area_mm2")?])
}

fn dominates(a: &[f64; 3], b: &[f64; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

#[test]
fn the_front_is_exactly_the_non_dominated_rows() {
    let dir = tempfile::tempdir().unwrap();
    let space = SweepSpace::load(&write_space(dir.path(), GRID)).unwrap();
    let out = dir.path().join("out");
    let outcome = run(&space, &out, Shard::WHOLE, 2, 256, false).unwrap();
    let rows = read_table(&out.join("rows.csv")).unwrap();
    let front = read_table(&out.join("rows.front.csv")).unwrap();
    assert_eq!(outcome.front.front_rows, front.records.len());
    assert_eq!(outcome.front.evaluated_rows, 24);
    let all: Vec<[f64; 3]> = rows
        .records
        .iter()
        .filter_map(|(_, f)| objectives(&rows, f))
        .collect();
    let on_front: Vec<[f64; 3]> = front
        .records
        .iter()
        .map(|(_, f)| objectives(&front, f).unwrap())
        .collect();
    assert!(!on_front.is_empty() && on_front.len() < all.len());
    for p in &all {
        let in_front = on_front.contains(p);
        let dominated = all.iter().any(|q| dominates(q, p));
        assert_eq!(in_front, !dominated, "{p:?}");
    }
    let svg = std::fs::read_to_string(out.join("rows.svg")).unwrap();
    assert_eq!(svg.matches("<circle").count(), 24);
}

#[test]
fn resume_after_a_cut_journal_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let space = SweepSpace::load(&write_space(dir.path(), GRID)).unwrap();
    let full = dir.path().join("full");
    run(&space, &full, Shard::WHOLE, 2, 7, false).unwrap();
    let journal = bytes(&full.join(JOURNAL_FILE));
    let manifest = bytes(&full.join(MANIFEST_FILE));
    // Kill points: inside the header, right after it, mid-row, at a row boundary, at the end.
    let header_end = journal.iter().position(|&b| b == b'\n').unwrap() + 1;
    let row_end = header_end
        + journal[header_end..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
        + 1;
    let cuts = [
        header_end,
        header_end + 10,
        row_end,
        journal.len() / 2,
        journal.len() - 3,
        journal.len(),
    ];
    for (i, cut) in cuts.into_iter().enumerate() {
        let out = dir.path().join(format!("cut{i}"));
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(MANIFEST_FILE), &manifest).unwrap();
        std::fs::write(out.join(JOURNAL_FILE), &journal[..cut]).unwrap();
        let outcome = run(&space, &out, Shard::WHOLE, 1, 4, true).unwrap();
        assert!(outcome.resumed_points < 36 || cut == journal.len());
        assert_eq!(outcome.resumed_points + outcome.evaluated_points, 36);
        for name in [JOURNAL_FILE, "rows.csv", "rows.front.csv", "rows.svg"] {
            assert_eq!(
                bytes(&out.join(name)),
                bytes(&full.join(name)),
                "cut {cut}: {name}"
            );
        }
    }
}

#[test]
fn an_existing_sweep_needs_resume_and_the_same_space() {
    let dir = tempfile::tempdir().unwrap();
    let space = SweepSpace::load(&write_space(dir.path(), GRID)).unwrap();
    let out = dir.path().join("out");
    run(&space, &out, Shard::WHOLE, 1, 256, false).unwrap();
    let error = run(&space, &out, Shard::WHOLE, 1, 256, false).unwrap_err();
    assert!(
        matches!(error, SearchError::SweepOutput { .. }) && error.to_string().contains("--resume"),
        "{error}"
    );
    // Resuming a finished sweep evaluates nothing and changes nothing.
    let before = bytes(&out.join("rows.csv"));
    let outcome = run(&space, &out, Shard::WHOLE, 2, 256, true).unwrap();
    assert_eq!(outcome.evaluated_points, 0);
    assert_eq!(bytes(&out.join("rows.csv")), before);
    // Another space in the same directory is refused.
    let other_dir = tempfile::tempdir().unwrap();
    let other = SweepSpace::load(&write_space(
        other_dir.path(),
        &GRID.replace("[5, 6, 7]", "[5, 6]"),
    ))
    .unwrap();
    let error = run(&other, &out, Shard::WHOLE, 1, 256, true).unwrap_err();
    assert!(error.to_string().contains("differs"), "{error}");
    // So is another shard.
    let error = run(&space, &out, Shard::new(0, 2, "t").unwrap(), 1, 256, true).unwrap_err();
    assert!(error.to_string().contains("shard"), "{error}");
}

#[test]
fn merging_all_shards_equals_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let space = SweepSpace::load(&write_space(dir.path(), GRID)).unwrap();
    let whole = dir.path().join("whole");
    run(&space, &whole, Shard::WHOLE, 2, 256, false).unwrap();
    let shards = dir.path().join("shards");
    for index in 0..3 {
        let shard = Shard::new(index, 3, "t").unwrap();
        run(&space, &shards.join(shard.dir_name()), shard, 1, 5, false).unwrap();
    }
    let merged = dir.path().join("merged.csv");
    let outcome = merge_files(std::slice::from_ref(&shards), &merged, None).unwrap();
    assert_eq!(outcome.inputs.len(), 3);
    assert_eq!(outcome.rows, 36);
    assert_eq!(bytes(&merged), bytes(&whole.join("rows.csv")));
    assert_eq!(
        bytes(&dir.path().join("merged.front.csv")),
        bytes(&whole.join("rows.front.csv"))
    );
    // Merging the shards again with the unsharded result drops every duplicate.
    let again = dir.path().join("again.csv");
    let outcome = merge_files(&[whole.join("rows.csv"), shards], &again, None).unwrap();
    assert_eq!(outcome.input_rows, 72);
    assert_eq!(bytes(&again), bytes(&whole.join("rows.csv")));
}

#[test]
fn random_samples_keep_the_first_point_of_a_repeated_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let body = "mode = \"random\"\nsamples = 40\nseed = 3\n[keys]\n\"adc.bits\" = [5, 6]\n\"device.cell_bits\" = [1, 2]\n";
    let space = SweepSpace::load(&write_space(dir.path(), body)).unwrap();
    let out = dir.path().join("out");
    let outcome = run(&space, &out, Shard::WHOLE, 2, 6, false).unwrap();
    assert_eq!(outcome.total_points, 40);
    assert_eq!(outcome.rows, 4, "2 x 2 distinct configurations");
    let journal = read_table(&out.join(JOURNAL_FILE)).unwrap();
    let rows = read_table(&out.join("rows.csv")).unwrap();
    assert_eq!(journal.records.len(), 40);
    for (_, fields) in &rows.records {
        // The kept row is the first journal row with its hash, and its seed is the space's.
        let first = journal
            .records
            .iter()
            .find(|(_, f)| f[1] == fields[1])
            .unwrap();
        assert_eq!(&first.1, fields);
        assert_eq!(fields[3], "3");
    }
    // Sharded random sampling merges to the same rows.
    let shards = dir.path().join("shards");
    for index in 0..4 {
        let shard = Shard::new(index, 4, "t").unwrap();
        run(&space, &shards.join(shard.dir_name()), shard, 1, 3, false).unwrap();
    }
    let merged = dir.path().join("m.csv");
    merge_files(&[shards], &merged, None).unwrap();
    assert_eq!(bytes(&merged), bytes(&out.join("rows.csv")));
}
