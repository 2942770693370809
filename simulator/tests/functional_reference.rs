//! The optimised kernel equals a slow, literal reading of the hardware description for any
//! setting, lossy ADCs included: one loop per hardware concept, one ADC conversion per (row
//! group, input slice, weight slice, column, half).

use proptest::prelude::*;
use recpim_sim::conventions::{AdcRange, Polarity};
use recpim_sim::functional::{AdcStats, BitSlicing, IntMatrix, UintMatrix};

/// `value / 2^shift`, rounded to nearest with halves up, times `2^shift`.
fn round_to_step(value: u64, shift: u32) -> u64 {
    if shift == 0 {
        value
    } else {
        ((value + (1 << (shift - 1))) >> shift) << shift
    }
}

/// One random problem: settings, precisions, shapes and values.
#[derive(Debug, Clone)]
struct Case {
    s: BitSlicing,
    wb: u32,
    ib: u32,
    out: usize,
    inn: usize,
    batch: usize,
    w: Vec<i32>,
    x: Vec<u32>,
}

/// The unsigned magnitude polarity half `half` stores for weight `v`.
fn stored(polarity: Polarity, half: usize, v: i64, offset: i64) -> u64 {
    match (polarity, half) {
        (Polarity::Differential, 0) => v.max(0) as u64,
        (Polarity::Differential, _) => (-v).max(0) as u64,
        (Polarity::OffsetColumn, _) => (v + offset) as u64,
    }
}

/// The literal model: written from the task text, independent of the kernel's data layout.
fn reference(case: &Case) -> (Vec<i64>, AdcStats) {
    let Case {
        s,
        wb,
        ib,
        out,
        inn,
        batch,
        w,
        x,
    } = case;
    let (wb, ib, out, inn, batch) = (*wb, *ib, *out, *inn, *batch);
    let differential = s.polarity == Polarity::Differential;
    let magnitude_bits = if differential { wb - 1 } else { wb };
    let offset: i64 = if differential { 0 } else { 1 << (wb - 1) };
    let weight_slices = magnitude_bits.div_ceil(s.cell_bits);
    let input_slices = ib.div_ceil(s.dac_bits);
    let cell_max = (1_u64 << s.cell_bits.min(magnitude_bits)) - 1;
    let dac_max = (1_u64 << s.dac_bits.min(ib)) - 1;
    let code_max = (1_u64 << s.adc_bits) - 1;
    // (sign after the ADC, half index)
    let halves: Vec<(i64, usize)> = if differential {
        vec![(1, 0), (-1, 1)]
    } else {
        vec![(1, 0)]
    };
    let mut stats = AdcStats::default();
    let mut y = vec![0_i64; batch * out];
    for b in 0..batch {
        for o in 0..out {
            let mut total = 0_i64;
            let mut crossbar_start = 0;
            while crossbar_start < inn {
                let crossbar_end = (crossbar_start + s.crossbar_rows).min(inn);
                let mut group_start = crossbar_start;
                while group_start < crossbar_end {
                    let group_end = (group_start + s.active_rows).min(crossbar_end);
                    let group_max = (group_end - group_start) as u64 * dac_max * cell_max;
                    let mut step_log2 = 0;
                    while s.adc_range == AdcRange::Full
                        && round_to_step(group_max, step_log2) >> step_log2 > code_max
                    {
                        step_log2 += 1;
                    }
                    stats.max_step = stats.max_step.max(1 << step_log2);
                    for &(sign, half) in &halves {
                        for k in 0..input_slices {
                            for j in 0..weight_slices {
                                let mut analog = 0_u64;
                                for i in group_start..group_end {
                                    let dac = (u64::from(x[b * inn + i]) >> (k * s.dac_bits))
                                        & ((1 << s.dac_bits) - 1);
                                    let weight = i64::from(w[o * inn + i]);
                                    let cell = (stored(s.polarity, half, weight, offset)
                                        >> (j * s.cell_bits))
                                        & ((1 << s.cell_bits) - 1);
                                    analog += dac * cell;
                                }
                                stats.conversions += 1;
                                let digital = match s.adc_range {
                                    AdcRange::Saturate => {
                                        stats.clipped += u64::from(analog > code_max);
                                        analog.min(code_max)
                                    }
                                    AdcRange::Full => {
                                        let stepped = round_to_step(analog, step_log2);
                                        stats.rounded += u64::from(stepped != analog);
                                        stepped
                                    }
                                };
                                total +=
                                    sign * ((digital as i64) << (k * s.dac_bits + j * s.cell_bits));
                            }
                        }
                    }
                    group_start = group_end;
                }
                crossbar_start = crossbar_end;
            }
            let input_sum: i64 = (0..inn).map(|i| i64::from(x[b * inn + i])).sum();
            y[b * out + o] = total - offset * input_sum;
        }
    }
    (y, stats)
}

fn any_case() -> impl Strategy<Value = Case> {
    (
        (
            1_usize..=300,
            1_u32..=8,
            1_u32..=8,
            1_u32..=16,
            any::<bool>(),
            any::<bool>(),
        ),
        (2_u32..=10, 1_u32..=10),
        // Many outputs with few inputs, or few outputs with many inputs: both stay cheap, and
        // the first crosses the kernel's 1024-column tiles.
        prop_oneof![(1_usize..=300, 1_usize..=6), (1_usize..=5, 1_usize..=300)],
        0_usize..=18,
    )
        .prop_flat_map(
            |((rows, cell, dac, adc, differential, full), (wb, ib), (out, inn), batch)| {
                let polarity = if differential {
                    Polarity::Differential
                } else {
                    Polarity::OffsetColumn
                };
                let max_w = (1_i32 << (wb - 1)) - 1;
                let min_w = if differential { -max_w } else { -max_w - 1 };
                (
                    Just((
                        rows, cell, dac, adc, polarity, full, wb, ib, out, inn, batch,
                    )),
                    1_usize..=rows,
                    proptest::collection::vec(min_w..=max_w, out * inn),
                    // Dense and sparse inputs (zero word lines are skipped by the kernel).
                    proptest::collection::vec(
                        prop_oneof![Just(0_u32), 0..=((1_u32 << ib) - 1)],
                        batch * inn,
                    ),
                )
            },
        )
        .prop_map(
            |((rows, cell, dac, adc, polarity, full, wb, ib, out, inn, batch), active, w, x)| {
                let s = BitSlicing {
                    crossbar_rows: rows,
                    crossbar_cols: 64,
                    cell_bits: cell,
                    polarity,
                    active_rows: active,
                    dac_bits: dac,
                    adc_bits: adc,
                    adc_range: if full {
                        AdcRange::Full
                    } else {
                        AdcRange::Saturate
                    },
                };
                Case {
                    s,
                    wb,
                    ib,
                    out,
                    inn,
                    batch,
                    w,
                    x,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn kernel_equals_the_literal_model(case in any_case()) {
        let (expected, expected_stats) = reference(&case);
        let Case { s, wb, ib, out, inn, batch, w, x } = case;
        let weights = IntMatrix::new(out, inn, w).unwrap();
        let inputs = UintMatrix::new(batch, inn, x).unwrap();
        let got = s.mvm_batch(&weights, wb, &inputs, ib).unwrap();
        prop_assert_eq!(got.values, expected);
        prop_assert_eq!(got.adc.conversions, expected_stats.conversions);
        prop_assert_eq!(got.adc.clipped, expected_stats.clipped);
        prop_assert_eq!(got.adc.rounded, expected_stats.rounded);
        if batch > 0 {
            prop_assert_eq!(got.adc.max_step, expected_stats.max_step);
        }
    }
}

/// The 32-bit column-sum path (partial sums above 65535: 8-bit DAC and 8-bit cells) on a layer
/// wider than one column tile.
#[test]
fn wide_sums_and_many_columns_match_the_literal_model() {
    let s = BitSlicing {
        crossbar_rows: 64,
        crossbar_cols: 64,
        cell_bits: 8,
        polarity: Polarity::Differential,
        active_rows: 48,
        dac_bits: 8,
        adc_bits: 12,
        adc_range: AdcRange::Full,
    };
    assert!(s.max_partial_sum(48, 16, 16) > 65_535);
    let (out, inn, batch, wb, ib) = (700, 70, 3, 16, 16);
    let w: Vec<i32> = (0..out * inn)
        .map(|i| ((i * 7919) % 65_535) as i32 - 32_767)
        .collect();
    let x: Vec<u32> = (0..batch * inn)
        .map(|i| ((i * 104_729) % 65_536) as u32)
        .collect();
    let case = Case {
        s,
        wb,
        ib,
        out,
        inn,
        batch,
        w: w.clone(),
        x: x.clone(),
    };
    let (expected, expected_stats) = reference(&case);
    let got = s
        .mvm_batch(
            &IntMatrix::new(out, inn, w).unwrap(),
            wb,
            &UintMatrix::new(batch, inn, x).unwrap(),
            ib,
        )
        .unwrap();
    assert_eq!(got.values, expected);
    assert_eq!(got.adc, expected_stats);
    assert!(got.adc.rounded > 0);
}
