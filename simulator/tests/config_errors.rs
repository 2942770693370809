//! Bad input of every class gives an error naming the file, the key (and line where there is
//! one) and the allowed range; configs and workloads round-trip through TOML/JSON.

use recpim_sim::{simulate_analytic, HwConfig, Op, SimError, Workload};
use std::path::PathBuf;

fn preset_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../hwconfigs")).join(name)
}

fn mnsim_text() -> String {
    std::fs::read_to_string(preset_path("mnsim-default.toml")).unwrap()
}

/// The mnsim preset with the first line starting with `key =` (or with `key` itself when it
/// holds a `=`) replaced by `replacement`.
fn with_line(key: &str, replacement: &str) -> String {
    let text = mnsim_text();
    let mut done = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let prefix = if key.contains('=') {
                key.to_string()
            } else {
                format!("{key} =")
            };
            if !done && line.trim_start().starts_with(&prefix) {
                done = true;
                replacement.to_string()
            } else {
                line.to_string()
            }
        })
        .collect();
    assert!(done, "no line for {key}");
    lines.join("\n")
}

fn error_of(text: &str) -> SimError {
    HwConfig::from_toml_str(text, "bad.toml").unwrap_err()
}

#[test]
fn malformed_toml_names_file_line_and_column() {
    let err = error_of(&with_line("rows", "rows = = 3"));
    let SimError::Parse {
        origin,
        line,
        column,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(origin, "bad.toml");
    let expected_line = mnsim_text()
        .lines()
        .position(|l| l.trim_start().starts_with("rows ="))
        .unwrap()
        + 1;
    assert_eq!(*line, expected_line);
    assert!(*column > 0);
    assert!(err
        .to_string()
        .starts_with(&format!("bad.toml:{expected_line}:")));
}

#[test]
fn unknown_key_is_named() {
    let err = error_of(&with_line("rows", "rowz = 256"));
    let text = err.to_string();
    assert!(text.contains("bad.toml:"), "{text}");
    assert!(text.contains("rowz"), "{text}");
}

#[test]
fn wrong_type_names_the_key() {
    let err = error_of(&with_line("rows", "rows = \"many\""));
    let text = err.to_string();
    assert!(text.contains("crossbar.rows"), "{text}");
    assert!(matches!(err, SimError::Parse { line, .. } if line > 0));
}

#[test]
fn zero_rows_is_out_of_range() {
    let err = error_of(&with_line("rows", "rows = 0"));
    assert_eq!(
        err,
        SimError::OutOfRange {
            origin: "bad.toml".into(),
            key: "crossbar.rows".into(),
            value: "0".into(),
            allowed: "1..=4096".into(),
        }
    );
}

#[test]
fn adc_bits_over_16_is_out_of_range() {
    let text = with_line(
        "preset = \"mnsim-6\"",
        "bits = 17\nconversion_ns = 8\nenergy_pj = 1\narea_um2 = 1",
    );
    let err = error_of(&text);
    assert!(
        matches!(&err, SimError::OutOfRange { key, allowed, .. } if key == "adc.bits" && allowed == "1..=16"),
        "{err:?}"
    );
}

#[test]
fn more_active_rows_than_rows_is_out_of_range() {
    let err = error_of(&with_line("active_rows", "active_rows = 300"));
    assert!(
        matches!(&err, SimError::OutOfRange { key, allowed, value, .. }
            if key == "crossbar.active_rows" && allowed == "1..=256" && value == "300"),
        "{err:?}"
    );
}

#[test]
fn negative_energy_is_out_of_range() {
    let err = error_of(&with_line("energy_pj_per_op", "energy_pj_per_op = -0.5"));
    assert!(
        matches!(&err, SimError::OutOfRange { key, .. } if key == "shift_add.energy_pj_per_op"),
        "{err:?}"
    );
    assert!(err.to_string().contains(">= 0"));
}

#[test]
fn missing_file_is_named() {
    let err = HwConfig::load(&PathBuf::from("/nonexistent/dir/hw.toml")).unwrap_err();
    assert!(matches!(&err, SimError::Io { path, .. } if path == "/nonexistent/dir/hw.toml"));
}

#[test]
fn unknown_preset_lists_the_known_ones() {
    let err = error_of(&with_line("preset = \"mnsim-6\"", "preset = \"mnsim-42\""));
    let text = err.to_string();
    assert!(
        text.contains("adc.preset") && text.contains("mnsim-6") && text.contains("isaac-8"),
        "{text}"
    );
}

#[test]
fn figures_are_required_without_a_preset() {
    let err = error_of(&with_line("preset = \"mnsim-6\"", "bits = 6"));
    assert!(
        matches!(&err, SimError::MissingKey { key, .. } if key == "adc.conversion_ns"),
        "{err:?}"
    );
}

#[test]
fn neurosim_preset_needs_bits() {
    let err = error_of(&with_line(
        "preset = \"mnsim-6\"",
        "preset = \"neurosim-32nm-sar\"\narea_um2 = 500",
    ));
    assert!(
        matches!(&err, SimError::MissingKey { key, .. } if key == "adc.bits"),
        "{err:?}"
    );
}

#[test]
fn buffer_outside_the_cacti_table_is_out_of_range() {
    let err = error_of(&with_line("size_bytes", "size_bytes = 100"));
    assert!(
        matches!(&err, SimError::OutOfRange { key, .. } if key == "buffers.input.size_bytes"),
        "{err:?}"
    );
    let err = error_of(&with_line("block_bytes", "block_bytes = 12"));
    assert!(
        matches!(&err, SimError::OutOfRange { key, .. } if key == "buffers.input.block_bytes"),
        "{err:?}"
    );
}

#[test]
fn dram_embedding_needs_its_keys() {
    let err = error_of(&with_line("dram_bandwidth_gbps", ""));
    assert!(
        matches!(&err, SimError::MissingKey { key, .. } if key == "embedding.dram_bandwidth_gbps"),
        "{err:?}"
    );
}

#[test]
fn unmappable_workload_is_an_error() {
    let hw = HwConfig::load(&preset_path("isaac.toml")).unwrap();
    let workload = Workload {
        ops: vec![
            Op::Mvm {
                name: "small".into(),
                rows: 128,
                cols: 128,
                weight_bits: 16,
                input_bits: 16,
                count: 1,
            },
            Op::Mvm {
                name: "huge".into(),
                rows: 100_000,
                cols: 4096,
                weight_bits: 16,
                input_bits: 16,
                count: 1,
            },
        ],
    };
    let err = simulate_analytic(&hw, &workload).unwrap_err();
    assert!(
        matches!(
            &err,
            SimError::Unmappable {
                op_index: 1,
                available_tiles: 168,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("huge"));
}

#[test]
fn workload_errors_name_op_index_and_key() {
    let text = "[[op]]\nkind = \"mvm\"\nname = \"a\"\nrows = 4\ncols = 4\nweight_bits = 8\ninput_bits = 8\ncount = 1\n\n[[op]]\nkind = \"mvm\"\nname = \"b\"\nrows = 0\ncols = 4\nweight_bits = 8\ninput_bits = 8\ncount = 1\n";
    let err = Workload::from_toml_str(text, "w.toml").unwrap_err();
    assert_eq!(
        err,
        SimError::OutOfRange {
            origin: "w.toml".into(),
            key: "op[1].rows".into(),
            value: "0".into(),
            allowed: "1..=16777216".into(),
        }
    );
    let bits = text.replace(
        "weight_bits = 8\ninput_bits = 8\ncount = 1\n\n",
        "weight_bits = 17\ninput_bits = 8\ncount = 1\n\n",
    );
    let err = Workload::from_toml_str(&bits, "w.toml").unwrap_err();
    assert!(
        matches!(&err, SimError::OutOfRange { key, .. } if key == "op[0].weight_bits"),
        "{err:?}"
    );
    let unknown = text.replace("count = 1\n\n", "count = 1\nbatch = 3\n\n");
    let err = Workload::from_toml_str(&unknown, "w.toml").unwrap_err();
    assert!(
        err.to_string().contains("batch") && err.to_string().starts_with("w.toml:"),
        "{err}"
    );
    let bad_kind = text.replace(
        "kind = \"mvm\"\nname = \"a\"",
        "kind = \"conv\"\nname = \"a\"",
    );
    assert!(Workload::from_toml_str(&bad_kind, "w.toml")
        .unwrap_err()
        .to_string()
        .contains("conv"));
    let empty = Workload::from_toml_str("", "w.toml").unwrap_err();
    assert_eq!(
        empty,
        SimError::EmptyWorkload {
            origin: "w.toml".into()
        }
    );
    let json = Workload::from_json_str("{\"op\": [\n {\"kind\": \"mvm\", \"rows\": }]}", "w.json")
        .unwrap_err();
    assert!(matches!(json, SimError::Parse { line: 2, .. }), "{json:?}");
}

#[test]
fn every_preset_round_trips_bit_exactly() {
    for name in [
        "mnsim-default.toml",
        "isaac.toml",
        "neurosim-32nm.toml",
        "default.toml",
        "baselines/isaac-handcrafted.toml",
        "baselines/rerec-like.toml",
    ] {
        let hw = HwConfig::load(&preset_path(name)).unwrap();
        let text = hw.to_toml_string();
        let again = HwConfig::from_toml_str(&text, hw.origin()).unwrap();
        assert_eq!(again, hw, "{name}");
        assert_eq!(again.config_hash(), hw.config_hash(), "{name}");
        assert_eq!(again.to_toml_string(), text, "{name}");
        assert_eq!(hw.config_hash().len(), 16);
    }
}

#[test]
fn config_hash_changes_with_any_value() {
    let hw = HwConfig::load(&preset_path("default.toml")).unwrap();
    let mut raw = hw.to_raw();
    raw.crossbar.active_rows += 1;
    let changed = HwConfig::check(raw, "x").unwrap();
    assert_ne!(changed.config_hash(), hw.config_hash());
    // Presets and their resolved figures hash the same: the hash is over the resolved config.
    let explicit = HwConfig::from_toml_str(&hw.to_toml_string(), "other-origin").unwrap();
    assert_eq!(explicit.config_hash(), hw.config_hash());
}

#[test]
fn workloads_round_trip_through_toml_and_json() {
    let path = preset_path("workloads/nasrec-7block.toml");
    let w = Workload::load(&path).unwrap();
    assert_eq!(w.ops.len(), 31);
    assert_eq!(
        Workload::from_toml_str(&w.to_toml_string(), "t").unwrap(),
        w
    );
    assert_eq!(
        Workload::from_json_str(&w.to_json_string(), "j").unwrap(),
        w
    );
}

#[test]
fn bit_slicing_mirrors_the_crossbar_settings() {
    let hw = HwConfig::load(&preset_path("mnsim-default.toml")).unwrap();
    let s = hw.bit_slicing();
    assert_eq!(s.crossbar_rows, 256);
    assert_eq!(s.crossbar_cols, 256);
    assert_eq!(s.cell_bits, 1);
    assert_eq!(s.active_rows, 128);
    assert_eq!(s.dac_bits, 1);
    assert_eq!(s.adc_bits, 6);
    assert!(s.validate().is_ok());
}

/// A trace writer that fails turns into `SimError::Trace`, not a panic.
#[test]
fn failing_trace_writer_is_an_error() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let hw = HwConfig::load(&preset_path("default.toml")).unwrap();
    let workload = Workload::load(&preset_path("workloads/mnsim-fc784x256.toml")).unwrap();
    let mut sink = recpim_sim::CsvTrace::new(Broken);
    let err = recpim_sim::simulate_cycle(&hw, &workload, Some(&mut sink)).unwrap_err();
    assert!(
        matches!(&err, SimError::Trace { reason } if reason.contains("disk full")),
        "{err:?}"
    );
}
