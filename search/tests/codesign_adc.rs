//! The built-in evaluator on a fixed model: an ADC at least as wide as the lossless width gives
//! the quantized-ideal log loss, and lowering the ADC below it raises the hardware log loss while
//! the ideal one stays put; the hardware figures are the simulator's for the mapped workload.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use recpim_model::data::synthetic::SyntheticShape;
use recpim_model::data::{load_synthetic, LoadOptions};
use recpim_model::hardware::{schema_for_shape, MapOptions};
use recpim_search::codesign::architecture::Architecture;
use recpim_search::codesign::evaluate::BuiltinEvaluator;
use recpim_search::codesign::genome::JointGenome;
use recpim_search::codesign::problem::DesignEvaluator;
use recpim_search::codesign::space::CodesignSpace;
use recpim_search::nas::sampling::PathSampler;
use recpim_search::nas::supernet_training::{
    train_supernet, SupernetRunControl, SupernetTrainConfig,
};

// 1-bit cells, 1-bit DAC, 32 active rows: the largest partial sum is 32 (6 bits), so a 6-bit
// ADC is lossless; 3 bits is far below it.
const SPACE: &str = r#"
name = "adc-test"
base_hwconfig = "../default.toml"
[architecture]
space = "small"
bits = [8]
[fixed]
device.cell_bits = 1
crossbar.active_rows = 32
[hardware]
adc.bits = [3, 6, 8]
"#;

#[test]
fn adc_below_lossless_raises_the_hardware_log_loss_of_a_fixed_model() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../hwconfigs/spaces");
    let space = CodesignSpace::from_toml_str(SPACE, "adc-test.toml", &dir).unwrap();
    let data = load_synthetic(SyntheticShape::Criteo, 3000, 11, &LoadOptions::default()).unwrap();
    let schema = data.encoder.schema();
    let config = SupernetTrainConfig {
        steps: 16,
        batch_size: 64,
        seed: 3,
        ..SupernetTrainConfig::default()
    };
    let trained = train_supernet(
        &data.train.as_batch(),
        &schema,
        &config,
        SupernetRunControl::default(),
        &mut |_, _| {},
    )
    .unwrap();
    let evaluator = BuiltinEvaluator {
        supernet: trained.supernet,
        val: data.val.as_batch(),
        val_examples: 96,
        hardware_schema: schema_for_shape(SyntheticShape::Criteo),
        hardware_shape: Some("criteo".to_string()),
        model_options: config.model_options(),
        map: MapOptions::default(),
    };
    let arch: Architecture = PathSampler::default_for(space.arch_space)
        .sample(&mut ChaCha8Rng::seed_from_u64(5))
        .into();
    let operators = evaluator.operator_names(&arch).unwrap().len();
    let genome = |adc_index: usize| JointGenome {
        arch: arch.clone(),
        weight_bits: vec![8; operators],
        activation_bits: vec![8; operators],
        hardware: vec![adc_index],
    };
    let eval = |adc_index: usize| {
        let g = genome(adc_index);
        let hw = space.hwconfig_of(&g.hardware).unwrap();
        evaluator.evaluate(&g, &hw, 0).unwrap()
    };
    let (three, six, eight) = (eval(0), eval(1), eval(2));
    // The built-in evaluator measures both log losses.
    let hardware = |m: &recpim_search::codesign::objectives::DesignMetrics| {
        m.log_loss_hardware.expect("hardware log loss measured")
    };
    let ideal = |m: &recpim_search::codesign::objectives::DesignMetrics| {
        m.log_loss_ideal.expect("ideal log loss measured")
    };
    // The same model and bits: the ideal log loss does not depend on the ADC.
    assert_eq!(three.log_loss_ideal, six.log_loss_ideal);
    assert_eq!(six.log_loss_ideal, eight.log_loss_ideal);
    // Lossless ADCs reproduce the integer products (to float rounding of the rescale).
    assert!((hardware(&six) - ideal(&six)).abs() < 1e-4, "{six:?}");
    assert!((hardware(&eight) - ideal(&eight)).abs() < 1e-4, "{eight:?}");
    // A 3-bit ADC clips and rounds partial sums: visibly worse.
    assert!(
        hardware(&three) > hardware(&six) + 0.01,
        "3-bit {three:?} vs 6-bit {six:?}"
    );
    // Narrower ADCs convert faster and cheaper (NeuroSim SAR fit: (bits+1) ns).
    assert!(three.energy_pj < eight.energy_pj && three.latency_ns < eight.latency_ns);
    // The hardware figures are the simulator's for the mapped workload.
    let hw = space.hwconfig_of(&[1]).unwrap();
    let report =
        recpim_sim::simulate_analytic(&hw, &evaluator.workload(&genome(1)).unwrap()).unwrap();
    assert_eq!(report.latency_ns, six.latency_ns);
    assert_eq!(report.energy_pj, six.energy_pj);
    assert_eq!(report.area_mm2, six.area_mm2);
}
