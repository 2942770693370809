//! `merge` on hand-written result files: co-design fronts keyed by config hash, order
//! independence, and the errors of files that do not belong together.

use std::path::{Path, PathBuf};

use recpim_search::sweep::merge::{default_objectives, merge_files};
use recpim_search::sweep::rows::read_table;
use recpim_search::SearchError;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// The shape of a co-design island's pareto.csv: no `point` column, a hardware log loss.
const HEADER: &str = "config_hash,seed,adc.bits,log_loss_ideal,log_loss_hw,latency_ns,energy_pj,area_mm2,edp_pj_ns\n";

#[test]
fn island_fronts_merge_by_config_hash_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "island0/pareto.csv",
        &format!("{HEADER}aaaa,1,6,0.45,0.46,100,900,1.0,90000\ncccc,1,7,0.44,0.44,120,1500,1.2,180000\n"),
    );
    let b = write(
        dir.path(),
        "island1/pareto.csv",
        // cccc again (found by both islands), and a dominated design dddd.
        &format!("{HEADER}cccc,2,7,0.44,0.44,120,1500,1.2,180000\nbbbb,2,5,0.47,0.50,90,800,0.9,72000\ndddd,2,5,0.47,0.51,95,950,1.0,90250\n"),
    );
    let out1 = dir.path().join("m1.csv");
    let out2 = dir.path().join("m2.csv");
    let outcome = merge_files(&[a.clone(), b.clone()], &out1, None).unwrap();
    merge_files(&[b, a], &out2, None).unwrap();
    assert_eq!(std::fs::read(&out1).unwrap(), std::fs::read(&out2).unwrap());
    assert_eq!(outcome.input_rows, 5);
    assert_eq!(outcome.rows, 4);
    assert_eq!(
        outcome.front.objectives,
        ["energy_pj", "log_loss_hw", "latency_ns"]
    );
    let merged = read_table(&out1).unwrap();
    let hashes: Vec<&str> = merged.records.iter().map(|(_, f)| f[0].as_str()).collect();
    assert_eq!(hashes, ["aaaa", "bbbb", "cccc", "dddd"]);
    // Of two rows with one hash the one sorting first (seed 1) is kept.
    assert_eq!(merged.records[2].1[1], "1");
    let front = read_table(&dir.path().join("m1.front.csv")).unwrap();
    let front_hashes: Vec<&str> = front.records.iter().map(|(_, f)| f[0].as_str()).collect();
    assert_eq!(
        front_hashes,
        ["aaaa", "bbbb", "cccc"],
        "dddd is dominated by bbbb"
    );
    assert!(dir.path().join("m1.svg").exists());
    // A directory is searched recursively for pareto.csv.
    let out3 = dir.path().join("m3.csv");
    merge_files(&[dir.path().to_path_buf()], &out3, None).unwrap();
    assert_eq!(std::fs::read(&out1).unwrap(), std::fs::read(&out3).unwrap());
}

#[test]
fn explicit_objectives_are_used_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.csv",
        &format!(
            "{HEADER}aaaa,1,6,0.45,0.46,100,900,1.0,90000\nbbbb,1,6,0.40,0.46,200,900,1.0,90000\n"
        ),
    );
    let out = dir.path().join("m.csv");
    let objectives = vec!["log_loss_ideal".to_string(), "latency_ns".to_string()];
    let outcome = merge_files(std::slice::from_ref(&a), &out, Some(&objectives)).unwrap();
    assert_eq!(outcome.front.front_rows, 2, "each wins one objective");
    let bad = vec!["latency_ns".to_string(), "power_mw".to_string()];
    let error = merge_files(&[a], &out, Some(&bad)).unwrap_err().to_string();
    assert!(error.contains("power_mw"), "{error}");
}

#[test]
fn mismatched_headers_name_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.csv",
        &format!("{HEADER}aaaa,1,6,0.45,0.46,100,900,1.0,90000\n"),
    );
    let b = write(
        dir.path(),
        "b.csv",
        "config_hash,seed,adc.bits,latency_ns,energy_pj,area_mm2\nbbbb,1,6,100,900,1.0\n",
    );
    let error = merge_files(&[a, b], &dir.path().join("m.csv"), None).unwrap_err();
    assert!(matches!(error, SearchError::SweepCsv { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("b.csv:1") && text.contains("a.csv"), "{text}");
}

#[test]
fn malformed_inputs_are_errors_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.csv");
    let no_hash = write(dir.path(), "n.csv", "seed,latency_ns,energy_pj\n1,2,3\n");
    let text = merge_files(&[no_hash], &out, None).unwrap_err().to_string();
    assert!(
        text.contains("n.csv:1") && text.contains("config_hash"),
        "{text}"
    );
    let short_row = write(
        dir.path(),
        "s.csv",
        &format!("{HEADER}aaaa,1,6,0.45,0.46,100,900,1.0,90000\nbbbb,1,6\n"),
    );
    let text = merge_files(&[short_row], &out, None)
        .unwrap_err()
        .to_string();
    assert!(text.contains("s.csv:3"), "{text}");
    let bad_number = write(
        dir.path(),
        "x.csv",
        &format!("{HEADER}aaaa,1,6,0.45,0.46,fast,900,1.0,90000\n"),
    );
    let text = merge_files(&[bad_number], &out, None)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("aaaa") && text.contains("latency_ns"),
        "{text}"
    );
    let bad_point = write(
        dir.path(),
        "p.csv",
        "point,config_hash,latency_ns,energy_pj,area_mm2\n-1,aaaa,1,2,3\n",
    );
    let text = merge_files(&[bad_point], &out, None)
        .unwrap_err()
        .to_string();
    assert!(text.contains("p.csv:2") && text.contains("point"), "{text}");
    let empty_dir = dir.path().join("empty");
    std::fs::create_dir_all(&empty_dir).unwrap();
    let text = merge_files(&[empty_dir], &out, None)
        .unwrap_err()
        .to_string();
    assert!(text.contains("nothing to merge"), "{text}");
    let missing = dir.path().join("missing.csv");
    let text = merge_files(&[missing], &out, None).unwrap_err().to_string();
    assert!(text.contains("missing.csv"), "{text}");
}

#[test]
fn default_objectives_follow_the_header() {
    let header = |cols: &str| cols.split(',').map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        default_objectives(&header(
            "point,config_hash,latency_ns,energy_pj,area_mm2,error"
        )),
        Some(vec![
            "latency_ns".into(),
            "energy_pj".into(),
            "area_mm2".into()
        ])
    );
    assert_eq!(
        default_objectives(&header("config_hash,log_loss,energy_pj")),
        Some(vec!["energy_pj".into(), "log_loss".into()])
    );
    assert_eq!(default_objectives(&header("config_hash,latency_ns")), None);
}
