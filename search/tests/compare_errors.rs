//! Bad input to the comparison library gives errors naming what is wrong, never a panic.

use recpim_search::compare::{compare, Baseline, CompareSettings, HostCpu, LookupSource};
use recpim_sim::trace::{generate, TraceShape, TraceSpec};
use recpim_sim::{HwConfig, Workload};
use std::path::PathBuf;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn workload() -> Workload {
    Workload::load(&repo("hwconfigs/workloads/nasrec-7block.toml")).unwrap()
}

fn default_design() -> (String, String, HwConfig) {
    let hw = HwConfig::load(&repo("hwconfigs/default.toml")).unwrap();
    (hw.name().to_string(), "default.toml".to_string(), hw)
}

fn error_text(error: impl std::error::Error) -> String {
    // The whole chain: the file or flag may be named by a source.
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[test]
fn unknown_baselines_name_themselves_and_the_allowed_ones() {
    let error = error_text(Baseline::from_name("recnmpp").unwrap_err());
    assert!(error.contains("recnmpp"), "{error}");
    assert!(
        error.contains("isaac-handcrafted") && error.contains(".toml"),
        "{error}"
    );
}

#[test]
fn bad_baseline_files_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let error = error_text(Baseline::from_name(missing.to_str().unwrap()).unwrap_err());
    assert!(error.contains("missing.toml"), "{error}");

    let malformed = dir.path().join("malformed.toml");
    std::fs::write(&malformed, "name = \"x\"\n[crossbar\nrows = 128\n").unwrap();
    let error = error_text(Baseline::from_name(malformed.to_str().unwrap()).unwrap_err());
    assert!(error.contains("malformed.toml"), "{error}");

    let wrong_key = dir.path().join("wrong.toml");
    let text = std::fs::read_to_string(repo("hwconfigs/baselines/rerec-like.toml")).unwrap();
    std::fs::write(&wrong_key, text.replace("rows = 64", "rows = 0")).unwrap();
    let error = error_text(Baseline::from_name(wrong_key.to_str().unwrap()).unwrap_err());
    assert!(
        error.contains("wrong.toml") && error.contains("crossbar.rows"),
        "{error}"
    );

    // A good file is a ReRAM baseline named by its `name` key.
    let file = repo("hwconfigs/baselines/rerec-like.toml");
    let baseline = Baseline::from_name(file.to_str().unwrap()).unwrap();
    assert_eq!(baseline.name(), "rerec-like");
}

#[test]
fn bad_comparisons_are_errors() {
    let settings = CompareSettings::builtin().unwrap();
    let w = workload();

    let error = error_text(compare("w", &w, &[], &[], &settings).unwrap_err());
    assert!(error.contains("nothing to compare"), "{error}");

    // The same name twice (a design that is also a baseline, or a repeated --baseline).
    let isaac = Baseline::from_name("isaac-handcrafted").unwrap();
    let error = error_text(
        compare(
            "w",
            &w,
            &[default_design()],
            &[isaac.clone(), isaac],
            &settings,
        )
        .unwrap_err(),
    );
    assert!(error.contains("isaac-handcrafted"), "{error}");

    // Host CPU parameters must be finite and positive.
    for host in [
        HostCpu {
            macs_per_ns: 0.0,
            ..HostCpu::default()
        },
        HostCpu {
            power_mw: f64::NAN,
            ..HostCpu::default()
        },
    ] {
        let bad = CompareSettings {
            host,
            ..settings.clone()
        };
        let error = error_text(
            compare(
                "w",
                &w,
                &[],
                &[Baseline::from_name("recnmp").unwrap()],
                &bad,
            )
            .unwrap_err(),
        );
        assert!(error.contains("host"), "{error}");
    }

    // A trace with another table count than the workload's gathers.
    let trace = generate(&TraceSpec::new(TraceShape::Avazu, 1, 2, 1)).unwrap();
    let bad = CompareSettings {
        lookups: LookupSource::Trace {
            trace,
            origin: "avazu.csv".to_string(),
        },
        ..settings.clone()
    };
    let error = error_text(
        compare(
            "w",
            &w,
            &[default_design()],
            &[Baseline::from_name("recnmp").unwrap()],
            &bad,
        )
        .unwrap_err(),
    );
    assert!(
        error.contains("avazu.csv") && error.contains("tables"),
        "{error}"
    );

    // Gather ops of different vector sizes cannot share one RecNMP vector size.
    let mixed = Workload::from_toml_str(
        "[[op]]\nkind = \"gather\"\nname = \"a\"\ntables = 1\nrows = 100\ndim = 16\nlookups = 2\nelement_bits = 8\n\
         [[op]]\nkind = \"gather\"\nname = \"b\"\ntables = 1\nrows = 100\ndim = 32\nlookups = 2\nelement_bits = 8\n",
        "mixed",
    )
    .unwrap();
    let error = error_text(
        compare(
            "mixed",
            &mixed,
            &[],
            &[Baseline::from_name("cpu").unwrap()],
            &settings,
        )
        .unwrap_err(),
    );
    assert!(error.contains("gather op b"), "{error}");
}
