//! The functional crossbar MVM equals the integer product whenever the ADC is lossless, and a
//! hand-worked example pins every step of the slicing.

use proptest::prelude::*;
use recpim_sim::conventions::{AdcRange, Polarity};
use recpim_sim::functional::{exact_matmul, BitSlicing, IntMatrix, SlicedWeights, UintMatrix};

fn slicing(
    crossbar_rows: usize,
    active_rows: usize,
    cell_bits: u32,
    dac_bits: u32,
    adc_bits: u32,
    polarity: Polarity,
    adc_range: AdcRange,
) -> BitSlicing {
    BitSlicing {
        crossbar_rows,
        crossbar_cols: 4,
        cell_bits,
        polarity,
        active_rows,
        dac_bits,
        adc_bits,
        adc_range,
    }
}

/// Hand-worked example (every number below is checked by the assertions).
///
/// Settings: crossbars of 4 rows read 3 word lines at a time, 2-bit cells, differential
/// polarity, 1-bit DAC, 3-bit ADC with full range. Precisions: 4-bit weights (3 magnitude bits
/// per half, so 2 weight slices: bits 0-1 and bit 2), 2-bit inputs (2 DAC cycles).
///
/// W = [5, -3, 2, 7], x = [3, 1, 2, 3]; exact y = 15 - 3 + 4 + 21 = 37.
///
/// Cells: positive magnitudes [5, 0, 2, 7] -> slice 0 = [1, 0, 2, 3], slice 1 = [1, 0, 0, 1];
/// negative magnitudes [0, 3, 0, 0] -> slice 0 = [0, 3, 0, 0], slice 1 = [0, 0, 0, 0].
/// Input bits: cycle 0 = [1, 1, 0, 1], cycle 1 = [1, 0, 1, 1].
/// Row groups: rows 0..3 (3 word lines) and row 3 (the crossbar's last row).
///
/// Group rows 0..3: largest sum 3 rows x 1 x 3 = 9 > 7, so the ADC step is 2 (round(9/2) = 5).
///   pos slice 0: cycle 0 sum 1 -> 2, cycle 1 sum 3 -> 4; shift-add 2 + 4*2 = 10 (exact 7)
///   pos slice 1: cycle 0 sum 1 -> 2, cycle 1 sum 1 -> 2; (2 + 2*2) * 4 = 24 (exact 12)
///   neg slice 0: cycle 0 sum 3 -> 4, cycle 1 sum 0 -> 0; -4 (exact -3)
///   neg slice 1: all zero.
/// Group row 3: largest sum 1 x 1 x 3 = 3, step 1 (exact): pos slice 0 gives 3 + 3*2 = 9,
///   pos slice 1 gives (1 + 1*2) * 4 = 12, negative half 0: 21.
/// Hardware y = 10 + 24 - 4 + 21 = 51; 5 of the 16 conversions rounded (1, 3, 1, 1, 3).
///
/// With a 1-bit saturating ADC instead, every sum above 1 clips to 1: group 0 gives
/// (1 + 1*2) + (1 + 1*2)*4 - 1 = 14, group 1 gives (1 + 1*2) + (1 + 1*2)*4 = 15: y = 29,
/// with 4 clipped conversions (3 in group 0 pos slice 0 cycle 1, 3 in neg slice 0 cycle 0, and
/// 3, 3 in group 1 pos slice 0).
#[test]
fn hand_worked_example_matches_every_step() {
    let weights = IntMatrix::new(1, 4, vec![5, -3, 2, 7]).unwrap();
    let inputs = UintMatrix::new(1, 4, vec![3, 1, 2, 3]).unwrap();
    assert_eq!(exact_matmul(&weights, &inputs).unwrap(), vec![37]);

    let full3 = slicing(4, 3, 2, 1, 3, Polarity::Differential, AdcRange::Full);
    assert_eq!(full3.lossless_adc_bits(4, 2), 4);
    let sliced = SlicedWeights::new(&full3, &weights, 4).unwrap();
    assert_eq!(sliced.weight_slices(), 2);
    assert_eq!(sliced.row_groups().len(), 2);
    let out = sliced.mvm_batch(&inputs, 2).unwrap();
    assert_eq!(out.values, vec![51]);
    assert_eq!(out.adc.conversions, 16);
    assert_eq!(out.adc.rounded, 5);
    assert_eq!(out.adc.clipped, 0);
    assert_eq!(out.adc.max_step, 2);

    // One more ADC bit is lossless.
    let full4 = BitSlicing {
        adc_bits: 4,
        ..full3
    };
    assert_eq!(
        full4.mvm_batch(&weights, 4, &inputs, 2).unwrap().values,
        vec![37]
    );

    // A 3-bit saturating ADC is exact here: no actual partial sum exceeds 7.
    let saturate3 = BitSlicing {
        adc_range: AdcRange::Saturate,
        ..full3
    };
    let out = saturate3.mvm_batch(&weights, 4, &inputs, 2).unwrap();
    assert_eq!(out.values, vec![37]);
    assert_eq!((out.adc.clipped, out.adc.rounded), (0, 0));

    let saturate1 = BitSlicing {
        adc_bits: 1,
        ..saturate3
    };
    let out = saturate1.mvm_batch(&weights, 4, &inputs, 2).unwrap();
    assert_eq!(out.values, vec![29]);
    assert_eq!(out.adc.clipped, 4);
}

/// Offset-column storage of the same example: w + 8 over 4 bits = [13, 5, 10, 15], then
/// 8 * sum(x) = 72 subtracted. With a lossless ADC it gives the exact 37.
#[test]
fn offset_column_example_subtracts_the_offset_digitally() {
    let weights = IntMatrix::new(1, 4, vec![5, -3, 2, 7]).unwrap();
    let inputs = UintMatrix::new(1, 4, vec![3, 1, 2, 3]).unwrap();
    let offset = slicing(4, 3, 2, 1, 8, Polarity::OffsetColumn, AdcRange::Full);
    let out = offset.mvm_batch(&weights, 4, &inputs, 2).unwrap();
    assert_eq!(out.values, vec![37]);
    // One half, two 2-bit slices of 4 stored bits, 2 cycles, 2 groups.
    assert_eq!(out.adc.conversions, 8);
}

fn lossless_case() -> impl Strategy<Value = (BitSlicing, u32, u32, IntMatrix, UintMatrix)> {
    (
        1_usize..=40,  // crossbar_rows
        1_u32..=8,     // cell_bits
        1_u32..=8,     // dac_bits
        2_u32..=12,    // weight_bits
        1_u32..=12,    // input_bits
        any::<bool>(), // differential?
        any::<bool>(), // full range?
        1_usize..=6,   // out
        1_usize..=90,  // in
        0_usize..=20,  // batch (crosses the internal batch chunk of 16)
        any::<u64>(),  // value seed
    )
        .prop_flat_map(
            |(rows, cell, dac, wb, ib, differential, full, out, inn, batch, _)| {
                let polarity = if differential {
                    Polarity::Differential
                } else {
                    Polarity::OffsetColumn
                };
                let adc_range = if full {
                    AdcRange::Full
                } else {
                    AdcRange::Saturate
                };
                let max_w = (1_i32 << (wb - 1)) - 1;
                let min_w = if differential { -max_w } else { -max_w - 1 };
                let max_x = (1_u32 << ib) - 1;
                (
                    Just((
                        rows, cell, dac, wb, ib, polarity, adc_range, out, inn, batch,
                    )),
                    1_usize..=rows,
                    proptest::collection::vec(min_w..=max_w, out * inn),
                    proptest::collection::vec(0..=max_x, batch * inn),
                    0_u32..=2,
                )
            },
        )
        .prop_map(
            |(
                (rows, cell, dac, wb, ib, polarity, adc_range, out, inn, batch),
                active,
                w,
                x,
                extra_bits,
            )| {
                let mut s = BitSlicing {
                    crossbar_rows: rows,
                    crossbar_cols: 8,
                    cell_bits: cell,
                    polarity,
                    active_rows: active,
                    dac_bits: dac,
                    adc_bits: 1,
                    adc_range,
                };
                s.adc_bits = (s.lossless_adc_bits(wb, ib) + extra_bits).min(16);
                (
                    s,
                    wb,
                    ib,
                    IntMatrix::new(out, inn, w).unwrap(),
                    UintMatrix::new(batch, inn, x).unwrap(),
                )
            },
        )
        .prop_filter("lossless needs at most 16 ADC bits", |(s, wb, ib, ..)| {
            s.lossless_adc_bits(*wb, *ib) <= 16
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any shape and setting with at least the lossless ADC bits gives exactly the integer
    /// product, and no conversion rounds or clips.
    #[test]
    fn lossless_adc_gives_the_exact_product((s, wb, ib, w, x) in lossless_case()) {
        let exact = exact_matmul(&w, &x).unwrap();
        let out = s.mvm_batch(&w, wb, &x, ib).unwrap();
        prop_assert_eq!(&out.values, &exact);
        prop_assert_eq!(out.adc.clipped, 0);
        prop_assert_eq!(out.adc.rounded, 0);
        prop_assert_eq!(out.adc.max_step, 1);
        // Full crossbars hold ceil(rows / active) groups each; the last, partial one fewer.
        let full_crossbars = w.cols() / s.crossbar_rows;
        let remainder = w.cols() % s.crossbar_rows;
        let groups = full_crossbars * s.crossbar_rows.div_ceil(s.active_rows)
            + remainder.div_ceil(s.active_rows);
        let expected_conversions = x.rows() * groups
            * s.input_slices(ib) as usize * s.weight_slices(wb) as usize
            * w.rows() * s.polarity_halves() as usize;
        prop_assert_eq!(out.adc.conversions, expected_conversions as u64);
    }

    /// Offset-column and differential storage agree (both exact) when the ADC is lossless for
    /// both, on weights that both can store.
    #[test]
    fn offset_column_equals_differential_when_lossless((s, wb, ib, w, x) in lossless_case()) {
        let (min_diff, _) = BitSlicing { polarity: Polarity::Differential, ..s }.weight_range(wb);
        let clamped: Vec<i32> = w.values().iter().map(|&v| v.max(min_diff as i32)).collect();
        let w = IntMatrix::new(w.rows(), w.cols(), clamped).unwrap();
        let mut differential = BitSlicing { polarity: Polarity::Differential, ..s };
        let mut offset = BitSlicing { polarity: Polarity::OffsetColumn, ..s };
        differential.adc_bits = differential.lossless_adc_bits(wb, ib);
        offset.adc_bits = offset.lossless_adc_bits(wb, ib);
        prop_assume!(differential.adc_bits <= 16 && offset.adc_bits <= 16);
        let from_differential = differential.mvm_batch(&w, wb, &x, ib).unwrap().values;
        let from_offset = offset.mvm_batch(&w, wb, &x, ib).unwrap().values;
        prop_assert_eq!(from_differential, from_offset);
    }
}

/// Row groups never span crossbars: 10 inputs on 4-row crossbars read 3 rows at a time give
/// groups 0..3, 3..4 | 4..7, 7..8 | 8..10.
#[test]
fn row_groups_restart_at_every_crossbar() {
    let s = slicing(4, 3, 2, 1, 8, Polarity::Differential, AdcRange::Full);
    let w = IntMatrix::new(1, 10, vec![1; 10]).unwrap();
    let sliced = SlicedWeights::new(&s, &w, 8).unwrap();
    let groups: Vec<(usize, usize)> = sliced
        .row_groups()
        .iter()
        .map(|g| (g.start, g.len))
        .collect();
    assert_eq!(groups, vec![(0, 3), (3, 1), (4, 3), (7, 1), (8, 2)]);
    // 2 halves x 3 row blocks x ceil(1 neuron x 4 slices / 4 cols) column blocks.
    assert_eq!(sliced.crossbars(), 6);
}

/// The sliced weights are reusable: two batches through one `SlicedWeights` equal one call on
/// the stacked batch.
#[test]
fn sliced_weights_are_reusable_across_batches() {
    let s = slicing(16, 8, 2, 2, 5, Polarity::Differential, AdcRange::Full);
    let w: Vec<i32> = (0..3 * 20).map(|i| (i * 37 % 255) - 127).collect();
    let w = IntMatrix::new(3, 20, w).unwrap();
    let x: Vec<u32> = (0..6 * 20).map(|i| (i * 91 % 256) as u32).collect();
    let sliced = SlicedWeights::new(&s, &w, 8).unwrap();
    let all = sliced
        .mvm_batch(&UintMatrix::new(6, 20, x.clone()).unwrap(), 8)
        .unwrap();
    let first = sliced
        .mvm_batch(&UintMatrix::new(2, 20, x[..40].to_vec()).unwrap(), 8)
        .unwrap();
    let rest = sliced
        .mvm_batch(&UintMatrix::new(4, 20, x[40..].to_vec()).unwrap(), 8)
        .unwrap();
    let mut stacked = first.values.clone();
    stacked.extend_from_slice(&rest.values);
    assert_eq!(all.values, stacked);
    assert_eq!(
        all.adc.rounded,
        first.adc.rounded + rest.adc.rounded,
        "per-item ADC counts add up"
    );
    // 5 ADC bits are below lossless (8 rows x 3 x 3 = 72 needs 7), so this is not the exact product.
    assert_ne!(
        all.values,
        exact_matmul(&w, &UintMatrix::new(6, 20, x).unwrap()).unwrap()
    );
}
