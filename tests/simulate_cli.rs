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

// ---- genotype mode (`--genotype`, `--bits`, `--shape`, `--write-workload`) ----

fn genotype_file(name: &str) -> Option<PathBuf> {
    let path = repo("../shared/data/nasrec_genotypes").join(name);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("skipping: {} is absent", path.display());
        None
    }
}

#[test]
fn genotype_mode_matches_the_library_mapping_and_lists_placements() {
    let Some(genotype) = genotype_file("ea_criteo_kaggle_autoctr_best_1shot.json") else {
        return;
    };
    let hw = repo("hwconfigs/default.toml");
    let out = simulate(&[
        "--genotype",
        path_arg(&genotype),
        "--hw",
        path_arg(&hw),
        "--engine",
        "analytic",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let g = recpim_model::genotype::Genotype::read_file(&genotype).unwrap();
    let mapped = recpim_model::hardware::map_genotype(
        &g,
        &recpim_model::hardware::schema_for_shape(recpim_model::data::SyntheticShape::Criteo),
        &recpim_model::net::ModelOptions::default(),
        None,
        &recpim_model::hardware::MapOptions::default(),
    )
    .unwrap();
    let lib_hw = recpim_sim::HwConfig::load(&hw).unwrap();
    let expected = recpim_sim::simulate_analytic(&lib_hw, &mapped.workload).unwrap();
    assert_eq!(json["latency_ns"].as_f64(), Some(expected.latency_ns));
    assert_eq!(json["energy_pj"].as_f64(), Some(expected.energy_pj));
    assert_eq!(json["area_mm2"].as_f64(), Some(expected.area_mm2));
    let placements = json["placements"].as_array().expect("placements");
    assert_eq!(placements.len(), mapped.workload.ops.len());
    assert_eq!(placements[0]["placement"], "memory-dram");
    assert_eq!(placements[0]["name"], "embedding0");
    let head = placements.last().unwrap();
    assert_eq!(head["name"], "head");
    assert_eq!(head["operator"], "head");
    assert_eq!(head["placement"], "crossbar");
    assert!(placements.iter().any(|p| p["placement"] == "digital"));

    // The table form prints every op with its placement.
    let out = simulate(&["--genotype", path_arg(&genotype), "--hw", path_arg(&hw)]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("placement"), "{text}");
    assert!(text.contains("b1.dot-product.interaction"), "{text}");
}

#[test]
fn bits_file_and_written_workload_reproduce_the_same_figures() {
    let Some(genotype) = genotype_file("ea_avazu_kaggle_xlarge_best_1shot.json") else {
        return;
    };
    let g = recpim_model::genotype::Genotype::read_file(&genotype).unwrap();
    let ops = recpim_model::quant::operator_names(&g).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bits_path = dir.path().join("bits.json");
    let low = recpim_model::quant::BitAssignment::uniform(ops.clone(), 4, 4).unwrap();
    low.write_file(&bits_path).unwrap();
    let workload_path = dir.path().join("mapped.toml");
    let hw = repo("hwconfigs/default.toml");
    let run = |extra: &[&str]| {
        let mut args = vec!["--hw", path_arg(&hw), "--engine", "analytic", "--json"];
        args.extend_from_slice(extra);
        let out = simulate(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let eight = run(&["--genotype", path_arg(&genotype), "--shape", "avazu"]);
    let four = run(&[
        "--genotype",
        path_arg(&genotype),
        "--shape",
        "avazu",
        "--bits",
        path_arg(&bits_path),
        "--write-workload",
        path_arg(&workload_path),
    ]);
    assert!(four["energy_pj"].as_f64().unwrap() < eight["energy_pj"].as_f64().unwrap());
    let replay = run(&["--workload", path_arg(&workload_path)]);
    assert_eq!(replay["latency_ns"], four["latency_ns"]);
    assert_eq!(replay["energy_pj"], four["energy_pj"]);
    let written = recpim_sim::Workload::load(&workload_path).unwrap();
    assert!(written.ops.iter().any(|op| matches!(
        op,
        recpim_sim::Op::Mvm {
            weight_bits: 4,
            input_bits: 4,
            ..
        }
    )));
    // Avazu's 22 fields.
    assert!(matches!(
        written.ops[0],
        recpim_sim::Op::Gather { tables: 22, .. }
    ));
}

#[test]
fn bad_bits_files_exit_2_naming_the_problem() {
    let Some(genotype) = genotype_file("ea_criteo_kaggle_autoctr_best_1shot.json") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hw = repo("hwconfigs/default.toml");
    let g = recpim_model::genotype::Genotype::read_file(&genotype).unwrap();
    let n = recpim_model::quant::operator_names(&g).unwrap().len();
    let eights = vec!["8"; n].join(",");
    let mut with_one = vec!["8"; n];
    with_one[3] = "1";
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            r#"{"weight_bits": [8], "activation_bits": [8]}"#.to_string(),
            vec!["expected 21", "[0] b0.linear-2d", "[20] head"],
        ),
        (
            format!(
                r#"{{"weight_bits": [{}], "activation_bits": [{eights}]}}"#,
                with_one.join(",")
            ),
            vec!["weight_bits[3] = 1", "b1.dot-product", "2..=16"],
        ),
        (
            format!(r#"{{"weight_bits": [{eights}], "activation_bits": [{eights}], "x": 1}}"#),
            vec!["unknown field"],
        ),
        ("{not json".to_string(), vec!["line 1"]),
    ];
    for (i, (text, needles)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bits{i}.json"));
        std::fs::write(&path, text).unwrap();
        let out = simulate(&[
            "--genotype",
            path_arg(&genotype),
            "--bits",
            path_arg(&path),
            "--hw",
            path_arg(&hw),
        ]);
        assert_eq!(out.status.code(), Some(2), "case {i}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(path_arg(&path)), "case {i}: {err}");
        for needle in needles {
            assert!(
                err.contains(needle),
                "case {i}: {needle} missing from {err}"
            );
        }
    }
    // A missing bits file, and neither --workload nor --genotype.
    let missing = dir.path().join("absent.json");
    let out = simulate(&[
        "--genotype",
        path_arg(&genotype),
        "--bits",
        path_arg(&missing),
        "--hw",
        path_arg(&hw),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("absent.json"));
    let out = simulate(&["--hw", path_arg(&hw)]);
    assert_eq!(out.status.code(), Some(2));
}
