//! Plugin model backends end to end with the real binary: the example plugins (dlrm, trace)
//! through `plugins inspect`, `simulate`, `compare`, `sweep` and `codesign`; the fault-injection
//! plugins (wrong ABI version, panics) fail every command cleanly, naming the file, without a
//! host panic and without touching output files; the C example of plugins/README.md compiles
//! and loads.

#[path = "../search/tests/support/plugin_build.rs"]
mod plugin_build;

use plugin_build::plugin_path;
use recpim_search::backend::BackendSpec;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;
use support::{assert_ok, csv_rows};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Runs recpim from the repository root. RUST_BACKTRACE is off so a plugin's own panic hook
/// prints one line (the host's behaviour does not depend on it).
fn recpim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recpim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the recpim binary runs")
}

/// `recpim args.. extra..`.
fn recpim_with(extra: &[&str], args: &[&str]) -> Output {
    let all: Vec<&str> = args.iter().chain(extra).copied().collect();
    recpim(&all)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn dlrm() -> PathBuf {
    plugin_path("recpim-plugin-dlrm")
}

fn trace() -> PathBuf {
    plugin_path("recpim-plugin-trace")
}

fn backend_arg(plugin: &Path) -> String {
    format!("plugin:{}", plugin.display())
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(output)))
}

/// A small VGG-like network for the trace plugin, and its genotype file.
fn trace_genotype(dir: &Path) -> PathBuf {
    let network = dir.join("net.csv");
    std::fs::write(
        &network,
        "IFM_H,IFM_W,IFM_C,K_H,K_W,K_N,pooling,stride\n\
         16,16,3,3,3,16,1,1\n8,8,16,3,3,32,0,1\n1,1,2048,1,1,10,0,1\n",
    )
    .unwrap();
    let genotype = dir.join("trace.json");
    std::fs::write(
        &genotype,
        serde_json::json!({ "network_csv": network }).to_string(),
    )
    .unwrap();
    genotype
}

/// The library's view of a plugin's workload, to check the CLI's figures against.
fn library_workload(
    plugin: &Path,
    genotype: Option<&Path>,
    bits: Option<&str>,
) -> recpim_sim::Workload {
    let backend = BackendSpec::Plugin(plugin.to_path_buf())
        .load(&Default::default())
        .unwrap();
    let genotype = match genotype {
        Some(path) => std::fs::read_to_string(path).unwrap(),
        None => backend.default_genotype_json().unwrap().unwrap(),
    };
    backend.workload(&genotype, bits).unwrap()
}

fn canonical(path: &Path) -> String {
    path.canonicalize().unwrap().display().to_string()
}

// ---- plugins inspect ----

#[test]
fn inspect_describes_both_example_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let out = recpim(&["plugins", "inspect", arg(&dlrm())]);
    assert_ok(&out);
    let text = stdout(&out);
    for needle in [
        "name         dlrm",
        "version      0.1.0",
        "abi version  1",
        "accuracy     no",
        "quantized operators (7): bottom.fc0",
    ] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
    assert!(text.contains(&canonical(&dlrm())), "{text}");

    let out = recpim(&["plugins", "inspect", arg(&dlrm()), "--json"]);
    assert_ok(&out);
    let value = json(&out);
    assert_eq!(value["provenance"]["name"], "dlrm");
    assert_eq!(value["provenance"]["kind"], "plugin");
    assert_eq!(value["provenance"]["path"], canonical(&dlrm()));
    assert_eq!(value["search_space"]["backend"], "dlrm");
    assert_eq!(value["quantized_operators"].as_array().unwrap().len(), 7);

    // The trace plugin has no default model: inspect says how to see a workload, then shows
    // one for a given network.
    let out = recpim(&["plugins", "inspect", arg(&trace())]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("no default genotype"),
        "{}",
        stdout(&out)
    );
    let genotype = trace_genotype(dir.path());
    let out = recpim(&[
        "plugins",
        "inspect",
        arg(&trace()),
        "--genotype",
        arg(&genotype),
    ]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("quantized operators (3): conv0, conv1, fc2"),
        "{}",
        stdout(&out)
    );
}

// ---- simulate ----

#[test]
fn simulate_costs_a_plugin_workload_with_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let hw = repo("hwconfigs/default.toml");
    let out = recpim(&[
        "simulate",
        "--backend",
        &backend_arg(&dlrm()),
        "--hw",
        arg(&hw),
        "--engine",
        "analytic",
        "--json",
    ]);
    assert_ok(&out);
    let value = json(&out);
    assert_eq!(value["backend"]["name"], "dlrm");
    assert_eq!(value["backend"]["version"], "0.1.0");
    assert_eq!(value["backend"]["path"], canonical(&dlrm()));
    let expected = recpim_sim::simulate_analytic(
        &recpim_sim::HwConfig::load(&hw).unwrap(),
        &library_workload(&dlrm(), None, None),
    )
    .unwrap();
    assert_eq!(value["latency_ns"].as_f64(), Some(expected.latency_ns));
    assert_eq!(value["energy_pj"].as_f64(), Some(expected.energy_pj));
    assert_eq!(value["area_mm2"].as_f64(), Some(expected.area_mm2));

    // The trace plugin with a genotype and bits; the written workload reproduces the figures.
    let genotype = trace_genotype(dir.path());
    let bits_text = r#"{"weight_bits": [4, 8, 8], "activation_bits": [8, 4, 8]}"#;
    let bits = dir.path().join("bits.json");
    std::fs::write(&bits, bits_text).unwrap();
    let written = dir.path().join("trace-workload.toml");
    let plugin_args = [
        "simulate",
        "--backend",
        &backend_arg(&trace()),
        "--genotype",
        arg(&genotype),
        "--bits",
        arg(&bits),
        "--hw",
        arg(&hw),
        "--write-workload",
        arg(&written),
    ];
    let out = recpim(&plugin_args);
    assert_ok(&out);
    let table = stdout(&out);
    assert!(
        table.starts_with(&format!(
            "backend   plugin trace 0.1.0 ({})",
            canonical(&trace())
        )),
        "{table}"
    );
    assert_eq!(
        recpim_sim::Workload::load(&written).unwrap(),
        library_workload(&trace(), Some(&genotype), Some(bits_text))
    );
    let from_file = recpim(&["simulate", "--workload", arg(&written), "--hw", arg(&hw)]);
    assert_ok(&from_file);
    let latency = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("latency"))
            .map(str::to_string)
    };
    assert_eq!(latency(&table), latency(&stdout(&from_file)));

    // Mapping flags of the built-in backend and a workload file do not mix with a plugin.
    let out = recpim(&[
        "simulate",
        "--backend",
        &backend_arg(&dlrm()),
        "--hw",
        arg(&hw),
        "--batch",
        "4",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--batch"), "{}", stderr(&out));
    let out = recpim(&[
        "simulate",
        "--backend",
        &backend_arg(&dlrm()),
        "--hw",
        arg(&hw),
        "--workload",
        arg(&written),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--workload"), "{}", stderr(&out));
    // A plugin without a default genotype asks for one.
    let out = recpim(&[
        "simulate",
        "--backend",
        &backend_arg(&trace()),
        "--hw",
        arg(&hw),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--genotype"), "{}", stderr(&out));
}

// ---- compare ----

#[test]
fn compare_takes_plugin_workloads() {
    let dir = tempfile::tempdir().unwrap();
    let hw = repo("hwconfigs/default.toml");
    let out = recpim(&[
        "compare",
        "--hw",
        arg(&hw),
        "--backend",
        &backend_arg(&dlrm()),
        "--json",
    ]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "backend plugin dlrm 0.1.0 ({})",
            canonical(&dlrm())
        )),
        "{text}"
    );
    json(&out);
    let genotype = trace_genotype(dir.path());
    let out = recpim(&[
        "compare",
        "--hw",
        arg(&hw),
        "--backend",
        &backend_arg(&trace()),
        "--genotype",
        arg(&genotype),
        "--baseline",
        "isaac-handcrafted",
    ]);
    assert_ok(&out);
    let markdown = stdout(&out);
    assert!(
        markdown.contains("backend plugin trace 0.1.0"),
        "{markdown}"
    );
    assert!(markdown.contains("isaac-handcrafted"), "{markdown}");
    // Mapping flags of the built-in backend are refused rather than silently ignored.
    let out = recpim(&[
        "compare",
        "--hw",
        arg(&hw),
        "--backend",
        &backend_arg(&dlrm()),
        "--batch",
        "4",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--batch"), "{}", stderr(&out));
}

// ---- sweep ----

const TINY_SWEEP: &str = r#"
mode = "grid"
[keys]
"adc.bits" = [5, 8]
"workload.weight_bits" = [4, 8]
"#;

fn write_space(dir: &Path) -> PathBuf {
    let path = dir.join("tiny.toml");
    let base = repo("hwconfigs/default.toml");
    std::fs::write(
        &path,
        format!("base_hw = {:?}\n{TINY_SWEEP}", base.display().to_string()),
    )
    .unwrap();
    path
}

#[test]
fn sweep_sweeps_a_plugin_workload_and_records_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let space = write_space(dir.path());
    let out_dir = dir.path().join("dlrm");
    let sweep = |backend: &Path, out_dir: &Path, extra: &[&str]| {
        let spec = backend_arg(backend);
        let mut args = vec!["sweep", arg(&space), "--backend", &spec];
        args.extend_from_slice(&["--out", arg(out_dir), "--threads", "2"]);
        args.extend_from_slice(extra);
        recpim(&args)
    };
    let out = sweep(&dlrm(), &out_dir, &[]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("backend   plugin dlrm 0.1.0"),
        "{}",
        stdout(&out)
    );
    let rows = csv_rows(&out_dir.join("rows.csv"));
    assert_eq!(rows.len(), 4);
    assert!(rows
        .iter()
        .all(|r| r["workload"] == "dlrm:default" && r["error"].is_empty()));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("manifest.json")).unwrap())
            .unwrap();
    let backend = &manifest["backends"][0];
    assert_eq!(backend[0], "dlrm:default");
    assert_eq!(backend[1]["name"], "dlrm");
    assert_eq!(backend[1]["version"], "0.1.0");
    assert_eq!(backend[1]["path"], canonical(&dlrm()));
    // The 4-bit rows use fewer crossbars than the 8-bit ones: the workload key reached the
    // plugin's MVM ops.
    let crossbars = |bits: &str| {
        rows.iter()
            .find(|r| r["workload.weight_bits"] == bits)
            .map(|r| r["crossbars"].parse::<u64>().unwrap())
            .unwrap()
    };
    assert!(crossbars("4") < crossbars("8"));

    // Resuming with the same backend continues; another backend's workload is refused.
    assert_ok(&sweep(&dlrm(), &out_dir, &["--resume"]));
    let genotype = trace_genotype(dir.path());
    let out = sweep(
        &trace(),
        &out_dir,
        &["--resume", "--genotype", arg(&genotype)],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("manifest.json"), "{}", stderr(&out));

    // The trace plugin's network as the swept workload.
    let trace_dir = dir.path().join("trace");
    let out = sweep(&trace(), &trace_dir, &["--genotype", arg(&genotype)]);
    assert_ok(&out);
    let rows = csv_rows(&trace_dir.join("rows.csv"));
    assert_eq!(rows.len(), 4);
    assert!(rows[0]["workload"].starts_with("trace:"), "{:?}", rows[0]);
}

// ---- codesign ----

/// A tiny plugin co-design run: 4 + 2 x 2 designs, no supernet.
fn codesign(plugin: &Path, out: &Path, extra: &[&str]) -> Output {
    let spec = backend_arg(plugin);
    let mut args = vec![
        "codesign",
        "--backend",
        &spec,
        "--out",
        arg(out),
        "--population",
        "4",
        "--children",
        "2",
        "--generations",
        "2",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    recpim(&args)
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn codesign_searches_bits_and_hardware_of_the_dlrm_model() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("dlrm");
    let out = codesign(&dlrm(), &run, &["--threads", "1"]);
    assert_ok(&out);
    let report = text(&run.join("report.md"));
    for needle in [
        "**Accuracy was not measured**",
        "objectives (all minimised): energy_pj, latency_ns, area_mm2",
        "fixed default genotype of plugin dlrm 0.1.0 (7 quantizable operators)",
        &format!("backend: plugin dlrm 0.1.0 ({})", canonical(&dlrm())),
    ] {
        assert!(report.contains(needle), "{needle} missing from {report}");
    }
    assert!(!report.contains("| best accuracy |"), "{report}");
    let summary: serde_json::Value = serde_json::from_str(&text(&run.join("run.json"))).unwrap();
    assert_eq!(summary["backend"]["name"], "dlrm");
    assert_eq!(summary["backend"]["path"], canonical(&dlrm()));

    let history = csv_rows(&run.join("history.csv"));
    assert_eq!(history.len(), 8);
    // One model throughout; only bits and hardware vary; no log loss is made up.
    assert!(history
        .iter()
        .all(|r| r["genotype_hash"] == history[0]["genotype_hash"]));
    assert!(history
        .iter()
        .all(|r| r["log_loss_ideal"].is_empty() && r["log_loss_hardware"].is_empty()));
    assert!(history.iter().all(|r| r["bits"].split(';').count() == 7));

    // Every front design reproduces through `recpim simulate` with the design's files.
    let front = csv_rows(&run.join("pareto.csv"));
    assert!(!front.is_empty());
    for row in &front {
        let d = run.join(&row["design_dir"]);
        let out = recpim(&[
            "simulate",
            "--backend",
            &backend_arg(&dlrm()),
            "--genotype",
            arg(&d.join("genotype.json")),
            "--bits",
            arg(&d.join("bits.json")),
            "--hw",
            arg(&d.join("hw.toml")),
            "--engine",
            "analytic",
            "--json",
        ]);
        assert_ok(&out);
        let value = json(&out);
        for key in ["latency_ns", "energy_pj", "area_mm2"] {
            assert_eq!(
                value[key].as_f64(),
                Some(row[key].parse::<f64>().unwrap()),
                "{key} of {}",
                row["config_hash"]
            );
        }
    }

    // Same bytes with two threads, and when stopped after one generation and resumed.
    let two = dir.path().join("two-threads");
    assert_ok(&codesign(&dlrm(), &two, &["--threads", "2"]));
    let resumed = dir.path().join("resumed");
    let out = codesign(&dlrm(), &resumed, &["--stop-after-generations", "1"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("--resume"), "{}", stdout(&out));
    assert_ok(&codesign(&dlrm(), &resumed, &["--resume"]));
    for other in [&two, &resumed] {
        for file in ["pareto.csv", "history.csv"] {
            assert_eq!(
                text(&run.join(file)),
                text(&other.join(file)),
                "{file} of {}",
                other.display()
            );
        }
    }

    // A checkpoint of another model is refused on resume.
    let genotype = dir.path().join("small-dlrm.json");
    std::fs::write(
        &genotype,
        r#"{"dense_features": 4, "bottom_mlp": [8], "embedding_dim": 8,
            "embedding_rows": [100, 200], "interaction": "dot", "top_mlp": [4, 1]}"#,
    )
    .unwrap();
    let out = codesign(&dlrm(), &run, &["--resume", "--genotype", arg(&genotype)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("evolution.json"), "{}", stderr(&out));
}

#[test]
fn codesign_ranks_plugin_accuracy_and_takes_the_trace_plugin() {
    let dir = tempfile::tempdir().unwrap();
    // The fault-injection plugin in its well-behaved mode has an accuracy function (0.25).
    let faulty = plugin_path("recpim-plugin-test-faulty");
    let run = dir.path().join("faulty");
    let out = codesign(&faulty, &run, &["--max-log-loss", "0.3", "--no-baselines"]);
    assert_ok(&out);
    let report = text(&run.join("report.md"));
    assert!(
        report.contains(
            "objectives (all minimised): log_loss_ideal, energy_pj, latency_ns, area_mm2"
        ),
        "{report}"
    );
    assert!(report.contains("| best accuracy |"), "{report}");
    let history = csv_rows(&run.join("history.csv"));
    assert!(history
        .iter()
        .all(|r| r["log_loss_ideal"] == "0.25" && r["log_loss_hardware"].is_empty()));

    let genotype = trace_genotype(dir.path());
    let run = dir.path().join("trace");
    let out = codesign(&trace(), &run, &["--genotype", arg(&genotype)]);
    assert_ok(&out);
    let history = csv_rows(&run.join("history.csv"));
    assert_eq!(history.len(), 8);
    assert!(history.iter().all(|r| r["bits"].split(';').count() == 3));
    assert!(text(&run.join("report.md")).contains("fixed genotype"));
}

#[test]
fn codesign_refuses_what_a_plugin_run_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    // No accuracy model: a log-loss limit has nothing to limit.
    let out = codesign(&dlrm(), &run, &["--max-log-loss", "0.5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--max-log-loss"), "{}", stderr(&out));
    // Training data is for the built-in supernet.
    let data = dir.path().join("data.tsv");
    std::fs::write(&data, "0\t1\n").unwrap();
    let out = codesign(&dlrm(), &run, &["--data", arg(&data), "--format", "criteo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--data"), "{}", stderr(&out));
    assert!(!run.exists(), "no run directory for refused runs");
    // --genotype fixes a plugin's model; the built-in backend searches architectures.
    let out = recpim(&[
        "codesign",
        "--genotype",
        arg(&trace_genotype(dir.path())),
        "--out",
        arg(&run),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--backend plugin:PATH"),
        "{}",
        stderr(&out)
    );
    assert!(!run.exists());
}

// ---- faulty plugins ----

/// A command's failure is the host's clean error: exit 2, the plugin file named, and no panic
/// of the host (a plugin's own panic hook may print its message, from the plugin's source).
fn assert_clean_failure(output: &Output, file: &Path, needle: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("error: "), "{err}");
    let named = err.contains(&file.display().to_string())
        || file.exists() && err.contains(&canonical(file));
    assert!(named, "{} not named in {err}", file.display());
    assert!(err.contains(needle), "{needle} missing from {err}");
    for line in err.lines().filter(|l| l.contains("panicked at")) {
        assert!(line.contains("plugins/testing/faulty"), "host panic: {err}");
    }
}

#[test]
fn wrong_abi_and_panicking_plugins_fail_every_command_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let hw = repo("hwconfigs/default.toml");
    let space = write_space(dir.path());
    let wrong = plugin_path("recpim-plugin-test-wrong-abi");
    let faulty = plugin_path("recpim-plugin-test-faulty");
    let panic_genotype = dir.path().join("panic.json");
    std::fs::write(&panic_genotype, r#"{"mode": "panic"}"#).unwrap();
    // Output files that must survive the failures byte for byte.
    let kept = dir.path().join("kept.toml");
    std::fs::write(&kept, "# an earlier result\n").unwrap();
    let sweep_out = dir.path().join("sweep-out");
    let codesign_out = dir.path().join("codesign-out");

    for (plugin, genotype, needle) in [
        (
            &wrong,
            None,
            "ABI version 2 does not match the host's ABI version 1",
        ),
        (&faulty, Some(&panic_genotype), "panicked inside the plugin"),
    ] {
        let spec = backend_arg(plugin);
        let genotype_args: Vec<&str> = genotype
            .map(|g| vec!["--genotype", arg(g)])
            .unwrap_or_default();
        let out = recpim_with(&genotype_args, &["plugins", "inspect", arg(plugin)]);
        assert_clean_failure(&out, plugin, needle);
        let out = recpim_with(
            &genotype_args,
            &[
                "simulate",
                "--backend",
                &spec,
                "--hw",
                arg(&hw),
                "--write-workload",
                arg(&kept),
            ],
        );
        assert_clean_failure(&out, plugin, needle);
        let out = recpim_with(
            &genotype_args,
            &["compare", "--hw", arg(&hw), "--backend", &spec],
        );
        assert_clean_failure(&out, plugin, needle);
        let out = recpim_with(
            &genotype_args,
            &[
                "sweep",
                arg(&space),
                "--backend",
                &spec,
                "--out",
                arg(&sweep_out),
            ],
        );
        assert_clean_failure(&out, plugin, needle);
        let out = recpim_with(
            &genotype_args,
            &[
                "codesign",
                "--backend",
                &spec,
                "--out",
                arg(&codesign_out),
                "--quiet",
            ],
        );
        assert_clean_failure(&out, plugin, needle);
    }
    assert_eq!(text(&kept), "# an earlier result\n");
    assert!(!sweep_out.exists() && !codesign_out.exists());

    // A missing file is named too.
    let missing = dir.path().join("libnothing.so");
    let out = recpim(&[
        "simulate",
        "--backend",
        &backend_arg(&missing),
        "--hw",
        arg(&hw),
    ]);
    assert_clean_failure(&out, &missing, "no such file");
}

// ---- the C example of plugins/README.md ----

#[test]
fn readme_shows_the_c_example_verbatim() {
    let readme = text(&repo("plugins/README.md"));
    let example = text(&repo("plugins/examples/minimal.c"));
    let start = readme
        .find("```c\n/*\n * minimal.c")
        .expect("plugins/README.md has a ```c block starting with minimal.c's header")
        + "```c\n".len();
    let end = start
        + readme[start..]
            .find("```")
            .expect("the C block of plugins/README.md is closed");
    assert_eq!(
        &readme[start..end],
        example,
        "the C block of plugins/README.md differs from plugins/examples/minimal.c"
    );
}

/// The first C compiler that runs: $CC, cc, gcc, clang.
fn c_compiler() -> Option<String> {
    let candidates = std::env::var("CC")
        .ok()
        .into_iter()
        .chain(["cc", "gcc", "clang"].map(String::from));
    candidates.into_iter().find(|cc| {
        Command::new(cc)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn c_example_compiles_and_loads() {
    let Some(cc) = c_compiler() else {
        println!("note: no C compiler found ($CC, cc, gcc, clang): skipping the C plugin example");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join(format!(
        "{}minimal{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let compiled = Command::new(&cc)
        .args([
            "-std=c11", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", "-I",
        ])
        .arg(repo("plugins/api"))
        .arg("-o")
        .arg(&library)
        .arg(repo("plugins/examples/minimal.c"))
        .output()
        .expect("the C compiler runs");
    assert!(
        compiled.status.success(),
        "{cc} failed:\n{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let out = recpim(&["plugins", "inspect", arg(&library), "--json"]);
    assert_ok(&out);
    let value = json(&out);
    assert_eq!(value["provenance"]["name"], "minimal");
    assert_eq!(value["provenance"]["version"], "1.0.0");
    assert_eq!(value["accuracy"], false);
    assert_eq!(value["quantized_operators"], serde_json::json!(["fc"]));
    assert_eq!(value["workload"]["ops"][0]["rows"], 256);

    // Its workload goes through simulate, with bits; bad input is its own clear error.
    let bits = dir.path().join("bits.json");
    std::fs::write(&bits, r#"{"weight_bits": [4], "activation_bits": [6]}"#).unwrap();
    let hw = repo("hwconfigs/default.toml");
    let spec = backend_arg(&library);
    let out = recpim(&[
        "simulate",
        "--backend",
        &spec,
        "--bits",
        arg(&bits),
        "--hw",
        arg(&hw),
    ]);
    assert_ok(&out);
    assert!(stdout(&out).contains("backend   plugin minimal 1.0.0"));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"rows": 0, "cols": 4}"#).unwrap();
    let out = recpim(&[
        "simulate",
        "--backend",
        &spec,
        "--genotype",
        arg(&bad),
        "--hw",
        arg(&hw),
    ]);
    assert_clean_failure(&out, &library, "RECPIM_STATUS_INVALID_JSON");
}
