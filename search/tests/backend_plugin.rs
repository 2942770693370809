//! The plugin adapter on the two example plugins (dlrm, trace), built by the test.

#[path = "support/plugin_build.rs"]
mod plugin_build;

use plugin_build::plugin_path;
use recpim_search::backend::builtin::BuiltinOptions;
use recpim_search::backend::plugin::PluginBackend;
use recpim_search::backend::{BackendKind, BackendSpec, ModelBackend};
use recpim_search::SearchError;
use recpim_sim::{DigitalKind, Op};

fn dlrm() -> PluginBackend {
    PluginBackend::load(&plugin_path("recpim-plugin-dlrm")).expect("dlrm loads")
}

#[test]
fn dlrm_reports_identity_and_provenance() {
    let path = plugin_path("recpim-plugin-dlrm");
    let backend = BackendSpec::parse(&format!("plugin:{}", path.display()))
        .unwrap()
        .load(&BuiltinOptions::default())
        .unwrap();
    assert_eq!(backend.name(), "dlrm");
    assert_eq!(backend.version(), "0.1.0");
    assert!(backend.thread_safe());
    assert!(!backend.has_accuracy());
    let provenance = backend.provenance();
    assert_eq!(provenance.kind, BackendKind::Plugin);
    assert_eq!(
        provenance.path.as_deref(),
        Some(path.canonicalize().unwrap().as_path())
    );
    assert!(provenance.to_string().starts_with("plugin dlrm 0.1.0 ("));
    let space: serde_json::Value =
        serde_json::from_str(&backend.search_space_json().unwrap()).unwrap();
    assert_eq!(space["backend"], "dlrm");
    assert_eq!(
        space["default_genotype"]["bottom_mlp"],
        serde_json::json!([512, 256, 64, 16])
    );
}

#[test]
fn dlrm_default_genotype_gives_the_criteo_kaggle_workload() {
    let backend = dlrm();
    let genotype = backend.default_genotype_json().unwrap().unwrap();
    let workload = backend.workload(&genotype, None).unwrap();
    let mvms: Vec<(u64, u64, u32)> = workload
        .ops
        .iter()
        .filter_map(|op| match op {
            Op::Mvm {
                rows,
                cols,
                weight_bits,
                ..
            } => Some((*rows, *cols, *weight_bits)),
            _ => None,
        })
        .collect();
    // DLRM Criteo Kaggle (facebookresearch/dlrm bench/dlrm_s_criteo_kaggle.sh): bottom
    // 13-512-256-64-16, top 512-256-1 on 16 + 27*26/2 = 367 inputs.
    assert_eq!(
        mvms,
        vec![
            (13, 512, 8),
            (512, 256, 8),
            (256, 64, 8),
            (64, 16, 8),
            (367, 512, 8),
            (512, 256, 8),
            (256, 1, 8)
        ]
    );
    let dot_macs: u64 = workload
        .ops
        .iter()
        .filter_map(|op| match op {
            Op::Digital {
                kind: DigitalKind::DotProduct,
                macs,
                ..
            } => Some(*macs),
            _ => None,
        })
        .sum();
    assert_eq!(dot_macs, 351 * 16);
    let gathers = workload
        .ops
        .iter()
        .filter(|op| matches!(op, Op::Gather { .. }))
        .count();
    assert_eq!(gathers, 26);
    let operators = backend.quantized_operators(&genotype).unwrap();
    assert_eq!(
        operators,
        [
            "bottom.fc0",
            "bottom.fc1",
            "bottom.fc2",
            "bottom.fc3",
            "top.fc0",
            "top.fc1",
            "top.fc2"
        ]
    );
}

#[test]
fn dlrm_bits_reach_the_mvm_ops_and_bad_bits_are_plugin_errors() {
    let backend = dlrm();
    let genotype = backend.default_genotype_json().unwrap().unwrap();
    let bits = recpim_search::backend::uniform_bits_json(7, 4, 6);
    let workload = backend.workload(&genotype, Some(&bits)).unwrap();
    for op in &workload.ops {
        if let Op::Mvm {
            weight_bits,
            input_bits,
            ..
        } = op
        {
            assert_eq!((*weight_bits, *input_bits), (4, 6));
        }
    }
    let err = backend
        .workload(
            &genotype,
            Some(&recpim_search::backend::uniform_bits_json(3, 8, 8)),
        )
        .unwrap_err();
    match &err {
        SearchError::PluginCall {
            status_name,
            message,
            function,
            ..
        } => {
            assert_eq!(status_name, "RECPIM_STATUS_INVALID_JSON");
            assert_eq!(*function, "workload_json");
            assert!(
                message.contains("weight_bits has 3 entries, expected 7"),
                "{message}"
            );
        }
        other => panic!("expected a plugin call error, got {other:?}"),
    }
    assert!(err.to_string().contains("librecpim_plugin_dlrm"), "{err}");
}

#[test]
fn dlrm_bad_genotype_names_the_key_and_accuracy_is_unavailable() {
    let backend = dlrm();
    let err = backend
        .workload(
            r#"{"dense_features": 13, "bottom_mlp": [16], "embedding_dim": 16,
                "embedding_rows": [10, 0], "interaction": "dot", "top_mlp": [1]}"#,
            None,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("embedding_rows[1] = 0 is outside 1..="),
        "{err}"
    );
    assert!(err.contains("RECPIM_STATUS_INVALID_JSON"), "{err}");
    let err = backend.evaluate_accuracy("{}", None).unwrap_err();
    assert!(matches!(err, SearchError::AccuracyUnavailable { ref backend } if backend == "dlrm"));
    // A genotype with a NUL byte cannot cross the C boundary: refused before the call.
    let err = backend.workload("{\0}", None).unwrap_err();
    assert!(matches!(err, SearchError::BackendInput { .. }), "{err:?}");
}

#[test]
fn trace_costs_a_network_csv_file() {
    let backend = PluginBackend::load(&plugin_path("recpim-plugin-trace")).unwrap();
    assert_eq!(backend.name(), "trace");
    assert_eq!(backend.default_genotype_json().unwrap(), None);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("net.csv");
    // Two 3x3 convolutions and a classifier, NeuroSim column order.
    std::fs::write(
        &csv,
        "# tiny net\n8,8,3,3,3,16,1,1\n4,4,16,3,3,32,0,2\n1,1,128,1,1,10,0,1\n",
    )
    .unwrap();
    let genotype = serde_json::json!({"network_csv": csv, "batch": 2}).to_string();
    let workload = backend.workload(&genotype, None).unwrap();
    let mvms: Vec<(String, u64, u64, u64)> = workload
        .ops
        .iter()
        .filter_map(|op| match op {
            Op::Mvm {
                name,
                rows,
                cols,
                count,
                ..
            } => Some((name.clone(), *rows, *cols, *count)),
            _ => None,
        })
        .collect();
    assert_eq!(
        mvms,
        vec![
            ("conv0".to_string(), 27, 16, 2 * 64),
            ("conv1".to_string(), 144, 32, 2 * 4),
            ("fc2".to_string(), 128, 10, 2)
        ]
    );
    assert_eq!(
        backend.quantized_operators(&genotype).unwrap(),
        ["conv0", "conv1", "fc2"]
    );
    std::fs::write(&csv, "8,8,3,3,3,16,1\n").unwrap();
    let err = backend.workload(&genotype, None).unwrap_err().to_string();
    assert!(err.contains("net.csv:1: 7 columns, expected 8"), "{err}");
}
