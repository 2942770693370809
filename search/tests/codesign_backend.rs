//! The co-design search with a plugin model backend (library level): the plugin's genotype is
//! the fixed model of every design, bits and hardware are searched, the figures are the
//! simulator's for the plugin's workload, and accuracy is recorded only when the plugin has it.

#[path = "support/plugin_build.rs"]
mod plugin_build;

use plugin_build::plugin_path;
use recpim_search::backend::plugin::PluginBackend;
use recpim_search::backend::ModelBackend;
use recpim_search::codesign::architecture::{Architecture, ArchitectureSearch};
use recpim_search::codesign::backend_evaluate::BackendEvaluator;
use recpim_search::codesign::objectives::{AccuracyMeasures, Constraints, Objective};
use recpim_search::codesign::problem::DesignEvaluator;
use recpim_search::codesign::run::{run_codesign, CodesignOptions, CodesignOutcome};
use recpim_search::codesign::space::CodesignSpace;
use recpim_search::nas::evolution::EvolutionConfig;
use recpim_search::nas::sampling::PathSampler;
use std::path::{Path, PathBuf};

const SPACE: &str = r#"
name = "backend-test"
base_hwconfig = "default.toml"
[architecture]
space = "small"
bits = [4, 8]
[hardware]
adc.bits = [5, 6, 8]
crossbar.active_rows = [32, 64]
"#;

fn space() -> CodesignSpace {
    let hwconfigs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../hwconfigs");
    CodesignSpace::from_toml_str(SPACE, "backend-test", &hwconfigs).unwrap()
}

fn options(
    dir: &Path,
    architecture: ArchitectureSearch,
    objectives: Vec<Objective>,
) -> CodesignOptions {
    CodesignOptions {
        evolution: EvolutionConfig {
            population: 4,
            sample_size: 2,
            children_per_generation: 2,
            generations: 2,
            mutations_start: 2,
            mutations_end: 1,
            seed: 3,
            ..EvolutionConfig::default()
        },
        architecture,
        objectives,
        constraints: Constraints::default(),
        checkpoint: dir.join("evolution.json"),
        resume: false,
        stop_after_generations: None,
        migrants: Vec::new(),
    }
}

fn run(
    evaluator: &BackendEvaluator<'_>,
    dir: &Path,
    objectives: Vec<Objective>,
) -> recpim_search::Result<CodesignOutcome> {
    let options = options(dir, evaluator.architecture(), objectives);
    run_codesign(&space(), evaluator, &options, &mut |_| {})
}

#[test]
fn dlrm_designs_share_the_model_and_carry_no_made_up_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let backend = PluginBackend::load(&plugin_path("recpim-plugin-dlrm")).unwrap();
    let genotype = backend.default_genotype_json().unwrap().unwrap();
    let evaluator = BackendEvaluator::new(&backend, &genotype, "default genotype").unwrap();
    assert_eq!(evaluator.accuracy(), AccuracyMeasures::NONE);
    assert_eq!(evaluator.operators().len(), 7);

    // Log-loss objectives are refused up front: the plugin measures none.
    let err = run(&evaluator, dir.path(), Objective::DEFAULT.to_vec()).unwrap_err();
    assert!(err.to_string().contains("log_loss_hardware"), "{err}");

    let objectives = Objective::defaults_for(evaluator.accuracy());
    let outcome = run(&evaluator, dir.path(), objectives).unwrap();
    assert_eq!(outcome.records.len(), 4 + 2 * 2);
    assert!(!outcome.front.is_empty());
    let space = space();
    for record in &outcome.records {
        let genome = &record.genome;
        assert!(matches!(&genome.arch, Architecture::Fixed(m) if m == evaluator.model()));
        assert_eq!(genome.weight_bits.len(), 7);
        assert!(genome.weight_bits.iter().all(|b| [4, 8].contains(b)));
        assert_eq!(record.metrics.log_loss_ideal, None);
        assert_eq!(record.metrics.log_loss_hardware, None);
        // The figures are the simulator's for the plugin's workload at the design's bits.
        let workload = backend
            .workload(
                &evaluator.model().genotype_json(),
                Some(&genome.bits_json()),
            )
            .unwrap();
        let hw = space.hwconfig_of(&genome.hardware).unwrap();
        let report = recpim_sim::simulate_analytic(&hw, &workload).unwrap();
        assert_eq!(record.metrics.latency_ns, report.latency_ns);
        assert_eq!(record.metrics.energy_pj, report.energy_pj);
        assert_eq!(record.metrics.area_mm2, report.area_mm2);
    }
    // Some design differs from the first in its bits: mutation reached them.
    let first = &outcome.records[0].genome;
    assert!(outcome
        .records
        .iter()
        .any(|r| r.genome.weight_bits != first.weight_bits
            || r.genome.activation_bits != first.activation_bits));

    // A NASRec run cannot resume this checkpoint.
    let mut nasrec = options(
        dir.path(),
        ArchitectureSearch::Nasrec(PathSampler::default_for(space.arch_space)),
        Objective::defaults_for(AccuracyMeasures::NONE),
    );
    nasrec.resume = true;
    let err = run_codesign(&space, &evaluator, &nasrec, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("evolution.json"), "{err}");
}

#[test]
fn plugin_accuracy_is_the_ideal_log_loss_objective() {
    let dir = tempfile::tempdir().unwrap();
    let backend = PluginBackend::load(&plugin_path("recpim-plugin-test-faulty")).unwrap();
    let evaluator = BackendEvaluator::new(&backend, r#"{"mode": "ok"}"#, "genotype").unwrap();
    let measures = evaluator.accuracy();
    assert!(measures.ideal && !measures.hardware);
    let objectives = Objective::defaults_for(measures);
    assert_eq!(objectives[0], Objective::LogLossIdeal);
    let outcome = run(&evaluator, dir.path(), objectives).unwrap();
    assert!(outcome
        .records
        .iter()
        .all(|r| r.metrics.log_loss_ideal == Some(0.25) && r.metrics.log_loss_hardware.is_none()));

    // A genotype the plugin rejects fails when the evaluator is built, with the plugin's text.
    let err = BackendEvaluator::new(&backend, r#"{"mode": "error"}"#, "genotype")
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("faulty plugin asked to fail"),
        "{err}"
    );
}
