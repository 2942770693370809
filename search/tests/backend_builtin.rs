//! The built-in NASRec backend: the trait's answers equal the model crate's mapping, bits
//! reach the crossbar ops, bad input is refused with the model crate's messages.

use recpim_model::data::SyntheticShape;
use recpim_model::genotype::Genotype;
use recpim_model::hardware::{map_genotype, schema_for_shape, MapOptions};
use recpim_model::net::ModelOptions;
use recpim_model::quant::bits::operator_names;
use recpim_search::backend::builtin::{BuiltinOptions, NasrecBackend};
use recpim_search::backend::{uniform_bits_json, BackendKind, BackendSpec, ModelBackend};
use recpim_search::SearchError;
use recpim_sim::Op;
use std::path::Path;

const GENOTYPES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/nasrec_genotypes"
);

fn shipped(name: &str) -> Option<String> {
    let path = Path::new(GENOTYPES).join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) => {
            eprintln!("skipping: {} is absent", path.display());
            None
        }
    }
}

/// A small NASRec-Small genotype written here, so the test runs without the shared data.
fn tiny_genotype() -> String {
    let block = |nodes: &str, dense: usize, sparse: usize, dsi: u8, fm: u8| {
        format!(
            r#"{{"active_nodes": {nodes}, "dense_in_dims": {dense}, "sparse_in_dims": {sparse}, "dense_sparse_interact": {dsi}, "deep_fm": {fm}}}"#
        )
    };
    let micro: Vec<String> = (0..7)
        .map(|i| block(if i % 2 == 0 { "[0, 2]" } else { "[1, 2]" }, 64, 16, 0, 0))
        .collect();
    let macro_: Vec<String> = (0..7)
        .map(|i| {
            let prev = if i == 0 { 0 } else { i };
            format!(r#"{{"dense_idx": [{prev}], "sparse_idx": [{prev}], "dense_left_idx": [{prev}], "dense_right_idx": [{prev}]}}"#)
        })
        .collect();
    format!(
        r#"{{"micro": [{}], "macro": [{}], "num_blocks": 7, "use_layernorm": 0, "config": "autoctr"}}"#,
        micro.join(", "),
        macro_.join(", ")
    )
}

#[test]
fn builtin_spec_loads_the_nasrec_backend() {
    let backend = BackendSpec::Builtin
        .load(&BuiltinOptions::default())
        .unwrap();
    assert_eq!(backend.name(), "nasrec");
    assert_eq!(backend.provenance().kind, BackendKind::Builtin);
    assert_eq!(backend.provenance().path, None);
    assert!(backend.thread_safe());
    assert!(!backend.has_accuracy());
    assert_eq!(backend.default_genotype_json().unwrap(), None);
    let space: serde_json::Value =
        serde_json::from_str(&backend.search_space_json().unwrap()).unwrap();
    assert_eq!(space["backend"], "nasrec");
    assert_eq!(space["bitwidths"], serde_json::json!([4, 8]));
    assert_eq!(space["shape"], "criteo");
}

#[test]
fn builtin_workload_equals_the_model_crate_mapping() {
    let text = match shipped("ea_criteo_kaggle_autoctr_best_1shot.json") {
        Some(text) => text,
        None => tiny_genotype(),
    };
    let options = BuiltinOptions {
        shape: SyntheticShape::Criteo,
        model: ModelOptions::default(),
        map: MapOptions {
            batch: 4,
            ..MapOptions::default()
        },
    };
    let backend = NasrecBackend::new(options);
    let genotype = Genotype::from_json_str(&text, "test").unwrap();
    let direct = map_genotype(
        &genotype,
        &schema_for_shape(SyntheticShape::Criteo),
        &ModelOptions::default(),
        None,
        &options.map,
    )
    .unwrap();
    assert_eq!(backend.workload(&text, None).unwrap(), direct.workload);
    let operators = backend.quantized_operators(&text).unwrap();
    assert_eq!(operators, operator_names(&genotype).unwrap());

    // 4-bit weights everywhere reach every crossbar op.
    let bits = uniform_bits_json(operators.len(), 4, 8);
    let workload = backend.workload(&text, Some(&bits)).unwrap();
    let mvm_bits: Vec<u32> = workload
        .ops
        .iter()
        .filter_map(|op| match op {
            Op::Mvm { weight_bits, .. } => Some(*weight_bits),
            _ => None,
        })
        .collect();
    assert!(!mvm_bits.is_empty());
    assert!(mvm_bits.iter().all(|&b| b == 4), "{mvm_bits:?}");
}

#[test]
fn builtin_refuses_bad_genotypes_and_bits_and_has_no_accuracy() {
    let backend = NasrecBackend::new(BuiltinOptions::default());
    let err = backend.workload("{\"micro\": 3}", None).unwrap_err();
    assert!(matches!(err, SearchError::Model { .. }), "{err:?}");
    assert!(err.to_string().contains("genotype JSON"), "{err}");
    let text = tiny_genotype();
    let err = backend
        .workload(&text, Some(&uniform_bits_json(2, 8, 8)))
        .unwrap_err();
    assert!(err.to_string().contains("bits JSON"), "{err}");
    let err = backend.evaluate_accuracy(&text, None).unwrap_err();
    assert!(matches!(err, SearchError::AccuracyUnavailable { .. }));
}
