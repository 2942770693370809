//! End-to-end tests of `recpim simulate` through the real binary.

use std::path::PathBuf;
use std::process::{Command, Output};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn simulate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recpim"))
        .arg("simulate")
        .args(args)
        .output()
        .expect("the recpim binary runs")
}

fn path_arg(path: &std::path::Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn json_report_has_the_documented_fields_and_matches_the_library() {
    let hw = repo("hwconfigs/mnsim-default.toml");
    let workload = repo("hwconfigs/workloads/mnsim-fc784x256.toml");
    for engine in ["cycle", "analytic"] {
        let out = simulate(&[
            "--hw",
            path_arg(&hw),
            "--workload",
            path_arg(&workload),
            "--engine",
            engine,
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
        for key in ["latency_ns", "energy_pj", "area_mm2", "crossbars"] {
            assert!(json[key].is_number(), "{key}");
        }
        for bucket in [
            "dac",
            "crossbar",
            "adc",
            "shift_add",
            "buffer",
            "interconnect",
            "digital",
            "gather",
            "leakage",
        ] {
            assert!(json["energy_breakdown_pj"][bucket].is_number(), "{bucket}");
            assert!(json["area_breakdown_mm2"][bucket].is_number(), "{bucket}");
        }
        let layer = &json["layers"][0];
        assert_eq!(layer["name"], "fc784x256");
        // MNSIM 2.0 golden compute latency (pim-components.md §1.7).
        assert_eq!(layer["compute_latency_ns"].as_f64(), Some(509.76));
        assert_eq!(layer["crossbars"].as_u64(), Some(64));
        assert!(layer["utilisation"].is_number() && layer["latency_ns"].is_number());
        assert!(layer["energy_pj"].is_number());

        let lib_hw = recpim_sim::HwConfig::load(&hw).unwrap();
        let lib_workload = recpim_sim::Workload::load(&workload).unwrap();
        let expected = recpim_sim::simulate_analytic(&lib_hw, &lib_workload).unwrap();
        assert_eq!(json["latency_ns"].as_f64(), Some(expected.latency_ns));
        assert_eq!(json["energy_pj"].as_f64(), Some(expected.energy_pj));
        assert_eq!(json["area_mm2"].as_f64(), Some(expected.area_mm2));
    }
}

#[test]
fn table_output_and_trace_file() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.csv");
    let out = simulate(&[
        "--hw",
        path_arg(&repo("hwconfigs/default.toml")),
        "--workload",
        path_arg(&repo("hwconfigs/workloads/nasrec-7block.toml")),
        "--trace",
        path_arg(&trace),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("latency") && text.contains("block6_efc"),
        "{text}"
    );
    let csv = std::fs::read_to_string(&trace).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("op_index,op_name,replica,job,resource,shape,multiplicity,step,start_ns,end_ns")
    );
    assert!(csv.contains(",adc,") && csv.contains(",storage,") && csv.contains(",digital_units,"));
    assert!(lines.count() > 1000);
}

#[test]
fn bad_hwconfig_exits_2_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(repo("hwconfigs/mnsim-default.toml"))
        .unwrap()
        .replace("rows = 256 ", "rows = 0 ");
    std::fs::write(&bad, text).unwrap();
    let out = simulate(&[
        "--hw",
        path_arg(&bad),
        "--workload",
        path_arg(&repo("hwconfigs/workloads/mnsim-fc784x256.toml")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml")
            && stderr.contains("crossbar.rows")
            && stderr.contains("1..=4096"),
        "{stderr}"
    );
}

#[test]
fn unknown_key_and_missing_files_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("typo.toml");
    let text = std::fs::read_to_string(repo("hwconfigs/default.toml"))
        .unwrap()
        .replace("digital_mhz = 1000", "digital_mhz = 1000\nturbo = true");
    std::fs::write(&bad, text).unwrap();
    let workload = repo("hwconfigs/workloads/mnsim-fc784x256.toml");
    let out = simulate(&["--hw", path_arg(&bad), "--workload", path_arg(&workload)]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("typo.toml") && stderr.contains("turbo"),
        "{stderr}"
    );

    let missing = dir.path().join("nope.toml");
    let out = simulate(&[
        "--hw",
        path_arg(&missing),
        "--workload",
        path_arg(&workload),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.toml"));

    let out = simulate(&["--hw", path_arg(&repo("hwconfigs/default.toml"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--workload"));
}

#[test]
fn bad_workload_and_trace_with_analytic_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("w.json");
    std::fs::write(
        &bad,
        r#"{"op": [{"kind": "mvm", "name": "x", "rows": 8, "cols": 0, "weight_bits": 8, "input_bits": 8, "count": 1}]}"#,
    )
    .unwrap();
    let hw = repo("hwconfigs/default.toml");
    let out = simulate(&["--hw", path_arg(&hw), "--workload", path_arg(&bad)]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("w.json") && stderr.contains("op[0].cols"),
        "{stderr}"
    );

    let workload = repo("hwconfigs/workloads/mnsim-fc784x256.toml");
    let trace = dir.path().join("t.csv");
    let out = simulate(&[
        "--hw",
        path_arg(&hw),
        "--workload",
        path_arg(&workload),
        "--engine",
        "analytic",
        "--trace",
        path_arg(&trace),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unmappable_workload_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    std::fs::write(
        &big,
        "[[op]]\nkind = \"mvm\"\nname = \"giant\"\nrows = 1000000\ncols = 8192\nweight_bits = 16\ninput_bits = 16\ncount = 1\n",
    )
    .unwrap();
    let out = simulate(&[
        "--hw",
        path_arg(&repo("hwconfigs/isaac.toml")),
        "--workload",
        path_arg(&big),
        "--engine",
        "analytic",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("giant") && stderr.contains("hierarchy.tiles"),
        "{stderr}"
    );
}
