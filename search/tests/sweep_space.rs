//! Sweep-space files: point enumeration, seeded sampling and the errors of bad spaces.

use std::path::{Path, PathBuf};

use recpim_search::sweep::space::{AxisValues, SweepSpace};
use recpim_search::sweep::Sampling;
use recpim_search::SearchError;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// A space file in a scratch directory whose base is the repository's default hwconfig.
fn space(dir: &tempfile::TempDir, body: &str) -> PathBuf {
    let path = dir.path().join("space.toml");
    let text = format!(
        "base_hw = {:?}\nworkloads = [{:?}]\n{body}",
        repo("hwconfigs/default.toml").display().to_string(),
        repo("hwconfigs/workloads/mnsim-fc784x256.toml")
            .display()
            .to_string()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn load_err(body: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = space(&dir, body);
    let error = SweepSpace::load(&path).unwrap_err();
    assert!(matches!(error, SearchError::SweepSpace { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("space.toml"),
        "error must name the file: {text}"
    );
    text
}

#[test]
fn grid_points_decode_with_the_last_axis_fastest() {
    let dir = tempfile::tempdir().unwrap();
    let path = space(
        &dir,
        "[keys]\n\"crossbar.rows\" = [64, 128]\n\"adc.bits\" = [5, 6, 7]\n",
    );
    let s = SweepSpace::load(&path).unwrap();
    assert_eq!(s.sampling, Sampling::Grid);
    // Axes sorted by key: adc.bits, crossbar.rows.
    let keys: Vec<&str> = s.axes.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["adc.bits", "crossbar.rows"]);
    assert_eq!(s.point_count(1).unwrap(), 6);
    let values: Vec<(i64, i64)> = (0..6)
        .map(|p| {
            let point = s.point(p, 1);
            (
                point.values[0].as_integer().unwrap(),
                point.values[1].as_integer().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        values,
        [(5, 64), (5, 128), (6, 64), (6, 128), (7, 64), (7, 128)]
    );
    // Two workloads: the workload is the slowest axis.
    assert_eq!(s.point_count(2).unwrap(), 12);
    assert_eq!(s.point(5, 2).workload, 0);
    assert_eq!(s.point(6, 2).workload, 1);
    assert_eq!(s.point(6, 2).values, s.point(0, 2).values);
}

#[test]
fn random_points_are_seeded_and_independent_of_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let body = "mode = \"random\"\nsamples = 50\nseed = 9\n[keys]\n\"adc.bits\" = { min = 4, max = 12 }\n\"device.read_latency_ns\" = { min = 1.0, max = 10.0 }\n\"crossbar.active_rows\" = [8, 16, 32]\n";
    let path = space(&dir, body);
    let a = SweepSpace::load(&path).unwrap();
    let b = SweepSpace::load(&path).unwrap();
    assert_eq!(a.point_count(1).unwrap(), 50);
    let forward: Vec<_> = (0..50).map(|p| a.point(p, 1)).collect();
    let backward: Vec<_> = (0..50).rev().map(|p| b.point(p, 1)).collect();
    assert!(forward.iter().eq(backward.iter().rev()));
    for point in &forward {
        let bits = point.values[0].as_integer().unwrap();
        assert!((4..=12).contains(&bits));
        let active = point.values[1].as_integer().unwrap();
        assert!([8, 16, 32].contains(&active));
        let read = point.values[2].as_float().unwrap();
        assert!((1.0..=10.0).contains(&read));
    }
    // The values do vary (a constant draw would pass the range checks).
    let distinct: std::collections::BTreeSet<i64> = forward
        .iter()
        .map(|p| p.values[0].as_integer().unwrap())
        .collect();
    assert!(distinct.len() >= 5, "{distinct:?}");
    // Another seed gives other points.
    let other = space(&dir, &body.replace("seed = 9", "seed = 10"));
    let c = SweepSpace::load(&other).unwrap();
    assert_ne!((0..50).map(|p| c.point(p, 1)).collect::<Vec<_>>(), forward);
    assert!(matches!(
        a.axes[0].values,
        AxisValues::IntRange { min: 4, max: 12 }
    ));
}

#[test]
fn shipped_spaces_parse_and_the_default_has_ten_thousand_points() {
    let default = SweepSpace::load(&repo("hwconfigs/sweeps/default.toml")).unwrap();
    let workloads = default.load_workloads().unwrap();
    assert_eq!(default.point_count(workloads.len()).unwrap(), 10_000);
    let buffers = SweepSpace::load(&repo("hwconfigs/sweeps/buffers.toml")).unwrap();
    assert_eq!(buffers.point_count(1).unwrap(), 105);
    let random = SweepSpace::load(&repo("hwconfigs/sweeps/random-adc-bits.toml")).unwrap();
    assert_eq!(random.load_workloads().unwrap().len(), 2);
    assert_eq!(random.point_count(2).unwrap(), 500);
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let text = load_err("[keys]\n\"adc.bits\" = [6]\n\"adc.bitz\" = [5, 6]\n");
    assert!(text.contains("adc.bitz"), "{text}");
    // Line 5: two header lines, [keys], adc.bits, adc.bitz.
    assert!(text.contains("space.toml:5"), "{text}");
    let text = load_err("[keys]\n\"crossbar.rows+crossbar.colz\" = [64]\n");
    assert!(text.contains("crossbar.colz"), "{text}");
    let text = load_err("[keys]\n\"workload.batch\" = [4]\n");
    assert!(
        text.contains("workload.weight_bits"),
        "lists the allowed keys: {text}"
    );
}

#[test]
fn empty_list_and_missing_keys_are_errors() {
    let text = load_err("[keys]\n\"adc.bits\" = []\n");
    assert!(
        text.contains("adc.bits") && text.contains("empty list"),
        "{text}"
    );
    let text = load_err("[keys]\n");
    assert!(
        text.contains("keys") && text.contains("at least one"),
        "{text}"
    );
}

#[test]
fn bad_values_are_errors_naming_the_key() {
    // Wrong type for the hwconfig field.
    let text = load_err("[keys]\n\"adc.bits\" = [\"six\"]\n");
    assert!(text.contains("adc.bits") && text.contains("six"), "{text}");
    // A single value instead of a list.
    let text = load_err("[keys]\n\"adc.bits\" = 6\n");
    assert!(text.contains("adc.bits") && text.contains("list"), "{text}");
    // A repeated value.
    let text = load_err("[keys]\n\"adc.bits\" = [6, 6]\n");
    assert!(text.contains("twice"), "{text}");
    // A range in grid mode.
    let text = load_err("[keys]\n\"adc.bits\" = { min = 4, max = 8 }\n");
    assert!(text.contains("random"), "{text}");
    // A reversed range.
    let text =
        load_err("mode = \"random\"\nsamples = 3\n[keys]\n\"adc.bits\" = { min = 8, max = 4 }\n");
    assert!(text.contains("min 8 > max 4"), "{text}");
    // Workload bitwidths out of range.
    let text = load_err("[keys]\n\"workload.weight_bits\" = [0, 8]\n");
    assert!(
        text.contains("workload.weight_bits") && text.contains("1..=32"),
        "{text}"
    );
}

#[test]
fn bad_top_level_settings_are_errors() {
    let text = load_err("mode = \"exhaustive\"\n[keys]\n\"adc.bits\" = [6]\n");
    assert!(text.contains("mode") && text.contains("\"grid\""), "{text}");
    let text = load_err("mode = \"random\"\n[keys]\n\"adc.bits\" = [6]\n");
    assert!(text.contains("samples"), "{text}");
    let text = load_err("samples = 4\n[keys]\n\"adc.bits\" = [6]\n");
    assert!(
        text.contains("samples") && text.contains("random"),
        "{text}"
    );
    let text = load_err("colour = 1\n[keys]\n\"adc.bits\" = [6]\n");
    assert!(text.contains("colour"), "{text}");
}

#[test]
fn missing_base_hwconfig_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        "base_hw = \"nowhere.toml\"\n[keys]\n\"adc.bits\" = [6]\n",
    )
    .unwrap();
    let text = SweepSpace::load(&path).unwrap_err().to_string();
    assert!(
        text.contains("base_hw") && text.contains("nowhere.toml"),
        "{text}"
    );
}

#[test]
fn grid_larger_than_the_limit_is_rejected() {
    // 300^5 = 2.4e12 points, above the 2^40 limit.
    let list: Vec<String> = (1..=300).map(|v| v.to_string()).collect();
    let list = list.join(", ");
    let body = format!(
        "[keys]\n\"device.read_latency_ns\" = [{list}]\n\"device.write_latency_ns\" = [{list}]\n\"device.cell_area_um2\" = [{list}]\n\"interconnect.bandwidth_gbps\" = [{list}]\n\"clock.digital_mhz\" = [{list}]\n"
    );
    let text = load_err(&body);
    assert!(text.contains("at most"), "{text}");
}
