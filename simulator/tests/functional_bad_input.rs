//! Bad settings, shapes and values give clear errors naming the key or position and the allowed
//! range, never a panic.

use recpim_sim::conventions::{AdcRange, Polarity};
use recpim_sim::functional::{
    exact_matmul, BitSlicing, FunctionalError, IntMatrix, SlicedWeights, UintMatrix,
};

fn good() -> BitSlicing {
    BitSlicing {
        crossbar_rows: 128,
        crossbar_cols: 128,
        cell_bits: 2,
        polarity: Polarity::Differential,
        active_rows: 128,
        dac_bits: 1,
        adc_bits: 8,
        adc_range: AdcRange::Full,
    }
}

fn setting_error(slicing: BitSlicing) -> (String, u64, String) {
    match slicing.validate() {
        Err(FunctionalError::SettingOutOfRange {
            key,
            value,
            allowed,
        }) => (key.to_string(), value, allowed),
        other => panic!("expected SettingOutOfRange, got {other:?}"),
    }
}

#[test]
fn every_setting_is_range_checked() {
    assert_eq!(good().validate(), Ok(()));
    let cases: Vec<(BitSlicing, &str, u64, &str)> = vec![
        (
            BitSlicing {
                crossbar_rows: 0,
                active_rows: 0,
                ..good()
            },
            "crossbar_rows",
            0,
            "1..=32768",
        ),
        (
            BitSlicing {
                crossbar_cols: 0,
                ..good()
            },
            "crossbar_cols",
            0,
            "1..=32768",
        ),
        (
            BitSlicing {
                crossbar_cols: 40_000,
                ..good()
            },
            "crossbar_cols",
            40_000,
            "1..=32768",
        ),
        (
            BitSlicing {
                active_rows: 0,
                ..good()
            },
            "active_rows",
            0,
            "1..=128",
        ),
        (
            BitSlicing {
                active_rows: 129,
                ..good()
            },
            "active_rows",
            129,
            "1..=128",
        ),
        (
            BitSlicing {
                cell_bits: 0,
                ..good()
            },
            "cell_bits",
            0,
            "1..=8",
        ),
        (
            BitSlicing {
                cell_bits: 9,
                ..good()
            },
            "cell_bits",
            9,
            "1..=8",
        ),
        (
            BitSlicing {
                dac_bits: 0,
                ..good()
            },
            "dac_bits",
            0,
            "1..=8",
        ),
        (
            BitSlicing {
                dac_bits: 9,
                ..good()
            },
            "dac_bits",
            9,
            "1..=8",
        ),
        (
            BitSlicing {
                adc_bits: 0,
                ..good()
            },
            "adc_bits",
            0,
            "1..=16",
        ),
        (
            BitSlicing {
                adc_bits: 17,
                ..good()
            },
            "adc_bits",
            17,
            "1..=16",
        ),
    ];
    for (slicing, key, value, allowed) in cases {
        assert_eq!(
            setting_error(slicing),
            (key.to_string(), value, allowed.to_string())
        );
    }
    let message = BitSlicing {
        adc_bits: 17,
        ..good()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert_eq!(
        message,
        "bit slicing: adc_bits = 17 is outside the allowed range 1..=16"
    );
}

#[test]
fn weight_range_depends_on_polarity() {
    // Differential keeps 7 magnitude bits per half at 8 bits, so -128 cannot be stored.
    assert_eq!(good().weight_range(8), (-127, 127));
    let offset = BitSlicing {
        polarity: Polarity::OffsetColumn,
        ..good()
    };
    assert_eq!(offset.weight_range(8), (-128, 127));
    let w = IntMatrix::new(1, 2, vec![3, -128]).unwrap();
    let error = SlicedWeights::new(&good(), &w, 8).unwrap_err();
    assert_eq!(
        error.to_string(),
        "weight [0][1] = -128 is outside the 8-bit signed range -127..=127 (differential)"
    );
    assert!(SlicedWeights::new(&offset, &w, 8).is_ok());
    let too_big = IntMatrix::new(2, 1, vec![0, 300]).unwrap();
    assert_eq!(
        SlicedWeights::new(&offset, &too_big, 8).unwrap_err(),
        FunctionalError::WeightOutOfRange {
            row: 1,
            col: 0,
            value: 300,
            weight_bits: 8,
            min: -128,
            max: 127,
            polarity: "offset-column",
        }
    );
}

#[test]
fn inputs_outside_their_precision_are_rejected_with_their_position() {
    let w = IntMatrix::new(1, 3, vec![1, 2, 3]).unwrap();
    let x = UintMatrix::new(2, 3, vec![0, 1, 2, 3, 256, 5]).unwrap();
    let error = good().mvm_batch(&w, 8, &x, 8).unwrap_err();
    assert_eq!(
        error.to_string(),
        "input [1][1] = 256 is outside the 8-bit unsigned range 0..=255"
    );
}

#[test]
fn precisions_outside_the_supported_range_are_rejected() {
    let w = IntMatrix::new(1, 1, vec![0]).unwrap();
    let x = UintMatrix::new(1, 1, vec![0]).unwrap();
    for (wb, ib, key, value, allowed) in [
        (1, 8, "weight_bits", 1, "2..=16"),
        (17, 8, "weight_bits", 17, "2..=16"),
        (8, 0, "input_bits", 0, "1..=16"),
        (8, 17, "input_bits", 17, "1..=16"),
    ] {
        assert_eq!(
            good().mvm_batch(&w, wb, &x, ib).unwrap_err(),
            FunctionalError::BitsOutOfRange {
                key,
                value,
                allowed: allowed.to_string()
            }
        );
    }
}

#[test]
fn shapes_must_agree() {
    assert!(matches!(
        IntMatrix::new(2, 3, vec![0; 5]),
        Err(FunctionalError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        UintMatrix::new(usize::MAX, 2, vec![]),
        Err(FunctionalError::ShapeMismatch { .. })
    ));
    let w = IntMatrix::new(2, 3, vec![0; 6]).unwrap();
    let x = UintMatrix::new(1, 4, vec![0; 4]).unwrap();
    let error = good().mvm_batch(&w, 8, &x, 8).unwrap_err();
    assert_eq!(
        error.to_string(),
        "shape mismatch in inputs [batch, in] against weights [out, in]: expected 3 input \
         features, found 4 input features"
    );
    assert!(exact_matmul(&w, &x).is_err());
    let empty = IntMatrix::new(2, 0, vec![]).unwrap();
    assert!(matches!(
        SlicedWeights::new(&good(), &empty, 8),
        Err(FunctionalError::ShapeMismatch { .. })
    ));
}

#[test]
fn an_invalid_slicing_is_rejected_before_any_work() {
    let w = IntMatrix::new(1, 1, vec![1]).unwrap();
    let x = UintMatrix::new(1, 1, vec![1]).unwrap();
    let bad = BitSlicing {
        active_rows: 500,
        ..good()
    };
    assert!(matches!(
        bad.mvm_batch(&w, 8, &x, 8),
        Err(FunctionalError::SettingOutOfRange {
            key: "active_rows",
            ..
        })
    ));
}

/// Empty batches and layers without outputs are valid and give empty results.
#[test]
fn empty_batch_and_no_outputs_are_fine() {
    let w = IntMatrix::new(3, 4, vec![1; 12]).unwrap();
    let none = UintMatrix::new(0, 4, vec![]).unwrap();
    let out = good().mvm_batch(&w, 8, &none, 8).unwrap();
    assert_eq!(
        (out.batch, out.values.len(), out.adc.conversions),
        (0, 0, 0)
    );
    let no_outputs = IntMatrix::new(0, 4, vec![]).unwrap();
    let x = UintMatrix::new(2, 4, vec![1; 8]).unwrap();
    let out = good().mvm_batch(&no_outputs, 8, &x, 8).unwrap();
    assert!(out.values.is_empty());
}
