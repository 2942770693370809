//! End-to-end tests of `recpim mvm` (the real binary).

use recpim_sim::functional::{exact_matmul, IntMatrix, UintMatrix};
use recpim_sim::HwConfig;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn preset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("hwconfigs")
        .join(name)
}

fn recpim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recpim"))
        .args(args)
        .output()
        .expect("the recpim binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes W.csv and X.csv into a fresh scratch dir.
fn scratch(weights: &str, inputs: &str) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("W.csv");
    let x = dir.path().join("X.csv");
    std::fs::write(&w, weights).unwrap();
    std::fs::write(&x, inputs).unwrap();
    let w = w.to_str().unwrap().to_string();
    let x = x.to_str().unwrap().to_string();
    (dir, w, x)
}

fn run_mvm(hw: &str, w: &str, x: &str, extra: &[&str]) -> Output {
    let hw = preset(hw);
    let mut args = vec![
        "mvm",
        "--hw",
        hw.to_str().unwrap(),
        "--weights",
        w,
        "--inputs",
        x,
    ];
    args.extend_from_slice(extra);
    recpim(&args)
}

fn json_of(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "stderr: {}", stderr(output));
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

fn as_matrix(value: &serde_json::Value) -> Vec<Vec<i64>> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect()
        })
        .collect()
}

/// A deterministic layer as CSV text and as matrices (no RNG needed for a fixed pattern).
fn layer(out: usize, inn: usize, batch: usize) -> (String, String, IntMatrix, UintMatrix) {
    let w: Vec<i32> = (0..out * inn)
        .map(|i| ((i * 7919 + 13) % 255) as i32 - 127)
        .collect();
    let x: Vec<u32> = (0..batch * inn)
        .map(|i| {
            if i % 3 == 0 {
                0
            } else {
                ((i * 104_729) % 256) as u32
            }
        })
        .collect();
    let to_csv = |values: Vec<String>, cols: usize| -> String {
        values
            .chunks(cols)
            .map(|row| row.join(","))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    let w_csv = to_csv(w.iter().map(i32::to_string).collect(), inn);
    let x_csv = to_csv(x.iter().map(u32::to_string).collect(), inn);
    (
        w_csv,
        x_csv,
        IntMatrix::new(out, inn, w).unwrap(),
        UintMatrix::new(batch, inn, x).unwrap(),
    )
}

#[test]
fn table_shows_the_hand_checkable_product() {
    // 5*3 - 3*1 + 2*2 + 7*3 = 37; -1*3 + 4*1 + 0 - 6*3 = -17 (isaac.toml is lossless on 4 rows).
    let (_dir, w, x) = scratch("5,-3,2,7\n-1,4,0,-6\n", "3,1,2,3\n");
    let output = run_mvm("isaac.toml", &w, &x, &[]);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("max |error|: 0"), "{stdout}");
    assert!(stdout.contains("37"), "{stdout}");
    assert!(stdout.contains("-17"), "{stdout}");
    assert!(stdout.contains("offset-column"), "{stdout}");
}

#[test]
fn json_matches_the_library_and_the_exact_product_when_lossless() {
    // default.toml: 32 active rows x 1 x 3 = 96 fits its 7-bit ADC, so every layer is exact.
    let (w_csv, x_csv, w, x) = layer(5, 70, 3);
    let (_dir, w_path, x_path) = scratch(&w_csv, &x_csv);
    let json = json_of(&run_mvm("default.toml", &w_path, &x_path, &["--json"]));
    let exact = exact_matmul(&w, &x).unwrap();
    let expected: Vec<Vec<i64>> = exact.chunks(5).map(<[i64]>::to_vec).collect();
    assert_eq!(as_matrix(&json["outputs"]), expected);
    assert_eq!(as_matrix(&json["exact"]), expected);
    assert_eq!(json["max_abs_error"], 0);
    assert_eq!(json["lossless_adc_bits"], 7);
    // 3 items x 3 row groups (32+32+6 rows) x 8 input cycles x 4 weight slices x 5 columns.
    assert_eq!(json["adc"]["conversions"], 3 * 3 * 8 * 4 * 5);
    assert_eq!(json["adc"]["rounded"], 0);
    assert_eq!(json["adc"]["clipped"], 0);
}

#[test]
fn json_reports_the_hardware_error_of_a_lossy_adc() {
    // mnsim-default.toml: 128 active rows x 1-bit cells x 1-bit DAC = 128 needs 8 bits; its
    // ADC has 6, so the full-range step is 4 and the product is off.
    let (w_csv, x_csv, w, x) = layer(4, 300, 2);
    let (_dir, w_path, x_path) = scratch(&w_csv, &x_csv);
    let json = json_of(&run_mvm(
        "mnsim-default.toml",
        &w_path,
        &x_path,
        &["--json"],
    ));
    let slicing = HwConfig::load(&preset("mnsim-default.toml"))
        .unwrap()
        .bit_slicing();
    let library = slicing.mvm_batch(&w, 8, &x, 8).unwrap();
    let outputs = as_matrix(&json["outputs"]);
    assert_eq!(outputs.concat(), library.values);
    let exact = exact_matmul(&w, &x).unwrap();
    assert_eq!(as_matrix(&json["exact"]).concat(), exact);
    let max_abs_error = library
        .values
        .iter()
        .zip(&exact)
        .map(|(a, b)| (a - b).abs())
        .max()
        .unwrap();
    assert!(max_abs_error > 0);
    assert_eq!(json["max_abs_error"], max_abs_error);
    assert_eq!(json["lossless_adc_bits"], 8);
    assert_eq!(json["adc"]["max_step"], 4);
    assert_eq!(json["adc"]["rounded"], library.adc.rounded);
    assert!(library.adc.rounded > 0);
}

#[test]
fn weight_outside_its_range_names_file_line_column_and_range() {
    let (_dir, w, x) = scratch("1,2,3\n# a comment line\n4,5,300\n", "1,1,1\n");
    let output = run_mvm("isaac.toml", &w, &x, &[]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message
            .contains("W.csv: line 3, column 3: weight 300 outside 8-bit signed range -128..=127"),
        "{message}"
    );
    // Differential storage cannot hold -128 at 8 bits.
    let (_dir, w, x) = scratch("-128,0\n", "1,1\n");
    let message = stderr(&run_mvm("mnsim-default.toml", &w, &x, &[]));
    assert!(
        message.contains("line 1, column 1: weight -128 outside 8-bit signed range -127..=127"),
        "{message}"
    );
}

#[test]
fn bad_inputs_name_file_line_column_and_range() {
    let cases = [
        (
            "1,2\n",
            "3,256\n",
            &[][..],
            "X.csv: line 1, column 2: input 256 outside 8-bit unsigned range 0..=255",
        ),
        (
            "1,2\n",
            "3,-1\n",
            &[][..],
            "X.csv: line 1, column 2: input -1 outside",
        ),
        (
            "1,2\n",
            "3,1\n0,9\n",
            &["--input-bits", "3"][..],
            "X.csv: line 2, column 2: input 9 outside 3-bit unsigned range 0..=7",
        ),
        (
            "1,x\n",
            "3,1\n",
            &[][..],
            "W.csv: line 1, column 2: weight \"x\" is not an integer",
        ),
        (
            "1,2\n3\n",
            "3,1\n",
            &[][..],
            "W.csv: line 2: 1 values, but line 1 has 2",
        ),
        (
            "1,2\n",
            "3,1,4\n",
            &[][..],
            "X.csv: line 1: 3 values, but the weights in",
        ),
        ("", "3,1\n", &[][..], "W.csv: no rows"),
        (
            "1,2\n",
            "3,1\n",
            &["--weight-bits", "1"][..],
            "--weight-bits: weight_bits = 1 is outside the allowed range 2..=16",
        ),
        (
            "1,2\n",
            "3,1\n",
            &["--input-bits", "17"][..],
            "--input-bits: input_bits = 17 is outside the allowed range 1..=16",
        ),
    ];
    for (w_text, x_text, extra, expected) in cases {
        let (_dir, w, x) = scratch(w_text, x_text);
        let output = run_mvm("isaac.toml", &w, &x, extra);
        assert_eq!(output.status.code(), Some(2), "{expected}");
        let message = stderr(&output);
        assert!(
            message.contains(expected),
            "expected {expected:?} in {message:?}"
        );
        assert!(!message.contains("panicked"), "{message}");
    }
}

#[test]
fn missing_files_exit_2_naming_the_file() {
    let (_dir, w, x) = scratch("1\n", "1\n");
    let output = run_mvm("isaac.toml", "/nonexistent/W.csv", &x, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("cannot read weights file /nonexistent/W.csv"));
    let output = recpim(&[
        "mvm",
        "--hw",
        "/nonexistent/hw.toml",
        "--weights",
        &w,
        "--inputs",
        &x,
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("/nonexistent/hw.toml"));
}
