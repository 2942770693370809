//! ADC-aware accuracy: with a lossless ADC the hardware-functional log loss equals the
//! quantized-ideal one (up to float rounding); with a 3-bit ADC it is visibly worse, on a fixed
//! trained model. Plus determinism and bad input.

use ndarray::Array2;
use recpim_model::genotype::Genotype;
use recpim_model::hardware::{evaluate_hardware, evaluate_with_slicing, HardwareEvalOptions};
use recpim_model::net::{build_nasrec, ModelOptions, NetModel};
use recpim_model::quant::{operator_names, quantized_log_loss, BitAssignment, QuantConfig};
use recpim_model::{CtrModel, StepHyper};
use recpim_sim::conventions::{AdcRange, Polarity};
use recpim_sim::functional::BitSlicing;
use std::path::PathBuf;

mod quant_support;
use quant_support::{batch, schema};

/// The shared tiny genotype without LayerNorm.
fn genotype() -> Genotype {
    quant_support::tiny_genotype(0)
}

/// A fixed model trained for 80 steps (float).
fn trained() -> NetModel {
    let mut model = build_nasrec(&genotype(), &schema(), &ModelOptions::default(), 21).unwrap();
    let hyper = StepHyper {
        lr: 0.05,
        ..StepHyper::default()
    };
    for step in 0..80 {
        model.train_step(&batch(128, step), &hyper);
    }
    model
}

fn slicing(adc_bits: u32, adc_range: AdcRange, polarity: Polarity) -> BitSlicing {
    BitSlicing {
        crossbar_rows: 64,
        crossbar_cols: 64,
        cell_bits: 2,
        polarity,
        active_rows: 16,
        dac_bits: 1,
        adc_bits,
        adc_range,
    }
}

#[test]
fn lossless_adc_equals_quantized_ideal_and_a_3_bit_adc_is_worse() {
    let model = trained();
    let cfg = QuantConfig::new(BitAssignment::uniform_8(&genotype()).unwrap());
    let val = batch(400, 1000);
    for polarity in [Polarity::Differential, Polarity::OffsetColumn] {
        let lossless = slicing(8, AdcRange::Full, polarity);
        // 16 rows x DAC level 1 x cell level 3 = 48 needs 6 bits.
        assert!(lossless.lossless_adc_bits(8, 8) <= 8);
        // Every layer bit by bit, no shortcut.
        let bit_level = HardwareEvalOptions {
            max_examples: 400,
            exact_when_lossless: false,
        };
        let exact =
            evaluate_with_slicing(model.network(), &cfg, &lossless, &val, &bit_level).unwrap();
        assert_eq!(exact.examples, 400);
        assert_eq!(exact.adc_clipped + exact.adc_rounded, 0);
        assert!(exact.adc_conversions > 0);
        assert!(
            (exact.hardware_log_loss - exact.ideal_log_loss).abs() < 1e-6,
            "{polarity:?}: {exact:?}"
        );
        // The lossless shortcut gives the same figures and counts the same conversions.
        let shortcut = evaluate_with_slicing(
            model.network(),
            &cfg,
            &lossless,
            &val,
            &HardwareEvalOptions::new(400),
        )
        .unwrap();
        assert!((shortcut.hardware_log_loss - exact.hardware_log_loss).abs() < 1e-6);
        assert_eq!(shortcut.adc_conversions, exact.adc_conversions);
        // The ideal figure is the quantized inference path's.
        let ideal = quantized_log_loss(model.network(), &cfg, &val).unwrap();
        assert!((ideal - exact.ideal_log_loss).abs() < 1e-12);

        let coarse = evaluate_with_slicing(
            model.network(),
            &cfg,
            &slicing(3, AdcRange::Full, polarity),
            &val,
            &HardwareEvalOptions::new(400),
        )
        .unwrap();
        assert!(coarse.adc_rounded > 0);
        assert!(
            coarse.hardware_log_loss > coarse.ideal_log_loss + 5e-3,
            "{polarity:?}: {coarse:?}"
        );
        let clipping = evaluate_with_slicing(
            model.network(),
            &cfg,
            &slicing(3, AdcRange::Saturate, polarity),
            &val,
            &HardwareEvalOptions::new(400),
        )
        .unwrap();
        assert!(clipping.adc_clipped > 0);
        assert!(
            clipping.hardware_log_loss > clipping.ideal_log_loss + 5e-3,
            "{polarity:?}: {clipping:?}"
        );
    }
}

#[test]
fn evaluation_is_deterministic_and_bounded_by_max_examples() {
    let model = trained();
    let ops = operator_names(&genotype()).unwrap();
    let cfg = QuantConfig::new(BitAssignment::uniform(ops, 4, 4).unwrap());
    let val = batch(300, 7);
    let s = slicing(4, AdcRange::Full, Polarity::Differential);
    let opts = HardwareEvalOptions::new(200);
    let a = evaluate_with_slicing(model.network(), &cfg, &s, &val, &opts).unwrap();
    let b = evaluate_with_slicing(model.network(), &cfg, &s, &val, &opts).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.examples, 200);
}

#[test]
fn default_hwconfig_evaluates_and_bad_input_is_an_error() {
    let model = trained();
    let cfg = QuantConfig::new(BitAssignment::uniform_8(&genotype()).unwrap());
    let hw = recpim_sim::HwConfig::load(&PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../hwconfigs/default.toml"
    )))
    .unwrap();
    let val = batch(128, 3);
    let eval = evaluate_hardware(model.network(), &cfg, &hw, &val, 1000).unwrap();
    assert_eq!(eval.examples, 128);
    assert!(eval.hardware_log_loss.is_finite() && eval.ideal_log_loss.is_finite());

    let err = evaluate_hardware(model.network(), &cfg, &hw, &val, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("empty"), "{err}");
    let mut wrong = val.clone();
    wrong.dense = Array2::zeros((128, 2));
    let err = evaluate_hardware(model.network(), &cfg, &hw, &wrong, 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("2 dense"), "{err}");
}
