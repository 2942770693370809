//! The crossbar settings that decide how an MVM is sliced, and the checks on them.

use super::error::FunctionalError;
use crate::conventions::{AdcRange, Polarity};

/// Largest crossbar dimension the functional path accepts. It keeps every analog partial sum
/// (at most `active_rows * 255 * 255`) inside an `i32`.
pub const MAX_CROSSBAR_DIM: usize = 32_768;
/// Allowed bits per ReRAM cell.
pub const CELL_BITS_RANGE: std::ops::RangeInclusive<u32> = 1..=8;
/// Allowed DAC resolution (input bits applied per cycle).
pub const DAC_BITS_RANGE: std::ops::RangeInclusive<u32> = 1..=8;
/// Allowed ADC resolution.
pub const ADC_BITS_RANGE: std::ops::RangeInclusive<u32> = 1..=16;
/// Allowed weight precision (sign included).
pub const WEIGHT_BITS_RANGE: std::ops::RangeInclusive<u32> = 2..=16;
/// Allowed input precision (inputs are unsigned).
pub const INPUT_BITS_RANGE: std::ops::RangeInclusive<u32> = 1..=16;

/// How a crossbar computes an MVM bit by bit: the hardware settings the functional path needs.
///
/// It does not depend on the full hardware description; `HwConfig` converts into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BitSlicing {
    /// Word lines (rows) per crossbar: the input dimension is split into blocks of this size.
    pub crossbar_rows: usize,
    /// Bit lines (columns) per crossbar. Columns are independent, so this sets only how many
    /// crossbars hold a layer, never the values computed.
    pub crossbar_cols: usize,
    /// Bits stored per cell: weights are split into slices of this many bits.
    pub cell_bits: u32,
    /// How signed weights are stored on unsigned cells.
    pub polarity: Polarity,
    /// Word lines driven per read: the rows of a crossbar are read in groups of this size and
    /// each group's column current goes through its own ADC conversion.
    pub active_rows: usize,
    /// Input bits applied per cycle by the DAC.
    pub dac_bits: u32,
    /// ADC resolution.
    pub adc_bits: u32,
    /// How the ADC maps a partial sum to a code.
    pub adc_range: AdcRange,
}

impl BitSlicing {
    /// Checks every setting against the ranges the functional path supports.
    pub fn validate(&self) -> Result<(), FunctionalError> {
        check_range(
            "crossbar_rows",
            self.crossbar_rows as u64,
            1,
            MAX_CROSSBAR_DIM as u64,
        )?;
        check_range(
            "crossbar_cols",
            self.crossbar_cols as u64,
            1,
            MAX_CROSSBAR_DIM as u64,
        )?;
        check_range(
            "active_rows",
            self.active_rows as u64,
            1,
            self.crossbar_rows as u64,
        )?;
        check_bits("cell_bits", self.cell_bits, &CELL_BITS_RANGE)?;
        check_bits("dac_bits", self.dac_bits, &DAC_BITS_RANGE)?;
        check_bits("adc_bits", self.adc_bits, &ADC_BITS_RANGE)?;
        Ok(())
    }

    /// Smallest and largest weight the polarity scheme stores exactly at `weight_bits`.
    ///
    /// Differential storage keeps `weight_bits - 1` magnitude bits per half, so its range is
    /// symmetric (`-127..=127` at 8 bits); offset-column storage holds the full two's-complement
    /// range (`-128..=127`).
    pub fn weight_range(&self, weight_bits: u32) -> (i64, i64) {
        // Saturating so that an unchecked precision cannot overflow the shift.
        let max = (1_i64 << weight_bits.saturating_sub(1).min(62)) - 1;
        match self.polarity {
            Polarity::Differential => (-max, max),
            Polarity::OffsetColumn => (-max - 1, max),
        }
    }

    /// Bits of the unsigned magnitude stored over the cells of one weight.
    pub fn stored_bits(&self, weight_bits: u32) -> u32 {
        match self.polarity {
            Polarity::Differential => weight_bits.saturating_sub(1),
            Polarity::OffsetColumn => weight_bits,
        }
    }

    /// Weight slices (cells, i.e. columns) per weight and per polarity half.
    pub fn weight_slices(&self, weight_bits: u32) -> u32 {
        self.stored_bits(weight_bits).div_ceil(self.cell_bits)
    }

    /// Polarity halves: 2 crossbars (positive, negative) for differential storage, 1 otherwise.
    pub fn polarity_halves(&self) -> u32 {
        match self.polarity {
            Polarity::Differential => 2,
            Polarity::OffsetColumn => 1,
        }
    }

    /// Input cycles per MVM: `ceil(input_bits / dac_bits)`.
    pub fn input_slices(&self, input_bits: u32) -> u32 {
        input_bits.div_ceil(self.dac_bits)
    }

    /// Largest value one cell holds for this weight precision.
    pub fn max_cell_level(&self, weight_bits: u32) -> u64 {
        (1_u64 << self.cell_bits.min(self.stored_bits(weight_bits))) - 1
    }

    /// Largest value the DAC applies in one cycle for this input precision.
    pub fn max_input_level(&self, input_bits: u32) -> u64 {
        (1_u64 << self.dac_bits.min(input_bits)) - 1
    }

    /// Largest analog partial sum `rows` driven word lines can produce for these precisions:
    /// every row at the largest DAC level times the largest cell level.
    pub fn max_partial_sum(&self, rows: usize, weight_bits: u32, input_bits: u32) -> u64 {
        rows as u64 * self.max_input_level(input_bits) * self.max_cell_level(weight_bits)
    }

    /// Fewest ADC bits with which every conversion is exact (no rounding, no clipping) for any
    /// layer at these precisions, so that the MVM equals the integer product.
    ///
    /// It is the bit length of the largest partial sum of a full group of `active_rows` rows.
    /// The result may exceed 16 (the largest ADC supported), meaning no supported ADC is lossless.
    pub fn lossless_adc_bits(&self, weight_bits: u32, input_bits: u32) -> u32 {
        bit_length(self.max_partial_sum(self.active_rows, weight_bits, input_bits)).max(1)
    }

    /// Checks a weight precision for this slicing.
    pub fn check_weight_bits(&self, weight_bits: u32) -> Result<(), FunctionalError> {
        check_call_bits("weight_bits", weight_bits, &WEIGHT_BITS_RANGE)
    }

    /// Checks an input precision for this slicing.
    pub fn check_input_bits(&self, input_bits: u32) -> Result<(), FunctionalError> {
        check_call_bits("input_bits", input_bits, &INPUT_BITS_RANGE)
    }
}

/// Number of bits needed to write `value` in binary (0 for 0).
pub(crate) fn bit_length(value: u64) -> u32 {
    u64::BITS - value.leading_zeros()
}

fn check_range(key: &'static str, value: u64, min: u64, max: u64) -> Result<(), FunctionalError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(FunctionalError::SettingOutOfRange {
            key,
            value,
            allowed: format!("{min}..={max}"),
        })
    }
}

fn check_bits(
    key: &'static str,
    value: u32,
    range: &std::ops::RangeInclusive<u32>,
) -> Result<(), FunctionalError> {
    check_range(
        key,
        u64::from(value),
        u64::from(*range.start()),
        u64::from(*range.end()),
    )
}

fn check_call_bits(
    key: &'static str,
    value: u32,
    range: &std::ops::RangeInclusive<u32>,
) -> Result<(), FunctionalError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(FunctionalError::BitsOutOfRange {
            key,
            value,
            allowed: format!("{}..={}", range.start(), range.end()),
        })
    }
}
