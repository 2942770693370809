//! The ADC as the functional path sees it: partial sum in, digitised partial sum out.

use crate::conventions::AdcRange;
use serde::{Deserialize, Serialize};

/// What one row group's ADC conversions do to a partial sum, fixed when the layer is mapped.
///
/// With [`AdcRange::Full`] the step is `2^step_log2`, the smallest power of two whose codes
/// cover the group's largest partial sum after rounding to nearest (half up), so nothing
/// clips. With [`AdcRange::Saturate`] the step is 1 and sums above `max_code` clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AdcTransfer {
    /// log2 of the ADC step in partial-sum units.
    pub step_log2: u32,
    /// Largest output code: `2^adc_bits - 1`.
    pub max_code: u32,
    /// Whether sums above `max_code` (in step units) clip; false for full range.
    pub clips: bool,
}

impl AdcTransfer {
    /// The transfer for a group whose partial sums never exceed `max_partial_sum`.
    pub(crate) fn new(range: AdcRange, adc_bits: u32, max_partial_sum: u64) -> Self {
        let max_code = u32::try_from((1_u64 << adc_bits) - 1).unwrap_or(u32::MAX);
        match range {
            AdcRange::Saturate => Self {
                step_log2: 0,
                max_code,
                clips: true,
            },
            AdcRange::Full => {
                let mut step_log2 = 0;
                while round_shift(max_partial_sum, step_log2) > u64::from(max_code) {
                    step_log2 += 1;
                }
                Self {
                    step_log2,
                    max_code,
                    clips: false,
                }
            }
        }
    }

    /// Saturating conversion: the sum clipped to the largest code, and whether it clipped.
    #[inline]
    pub(crate) fn clip(&self, partial_sum: u32) -> (u32, bool) {
        (partial_sum.min(self.max_code), partial_sum > self.max_code)
    }

    /// Full-range conversion with a step above 1: the sum rounded to the nearest multiple of
    /// the step (half up), and whether it changed.
    #[inline]
    pub(crate) fn round(&self, partial_sum: u32) -> (u32, bool) {
        let step_mask = (1_u32 << self.step_log2) - 1;
        let half_step = (step_mask >> 1) + 1;
        // No overflow: partial sums stay below 2^31 and the half step is at most 2^30.
        let rounded = (partial_sum + half_step) & !step_mask;
        (rounded, partial_sum & step_mask != 0)
    }

    /// Converts one partial sum and returns it back in partial-sum units (code times step),
    /// counting the conversion's rounding or clipping in `stats`.
    #[cfg(test)]
    fn convert(&self, partial_sum: u32, stats: &mut AdcStats) -> u32 {
        if self.clips {
            let (value, clipped) = self.clip(partial_sum);
            stats.clipped += u64::from(clipped);
            value
        } else if self.step_log2 == 0 {
            partial_sum
        } else {
            let (value, rounded) = self.round(partial_sum);
            stats.rounded += u64::from(rounded);
            value
        }
    }
}

/// `value / 2^shift` rounded to nearest, half up.
fn round_shift(value: u64, shift: u32) -> u64 {
    if shift == 0 {
        value
    } else {
        (value + (1 << (shift - 1))) >> shift
    }
}

/// ADC statistics of one functional MVM call, for accuracy analysis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdcStats {
    /// Conversions done: batch x row groups x input slices x weight slices x columns x halves.
    pub conversions: u64,
    /// Conversions whose partial sum exceeded the largest code (saturating range only).
    pub clipped: u64,
    /// Conversions whose partial sum was not a multiple of the ADC step (full range only).
    pub rounded: u64,
    /// Largest ADC step (in partial-sum units) used by any row group.
    pub max_step: u64,
}

impl AdcStats {
    /// Adds another call's counts (the largest step is kept).
    pub fn merge(&mut self, other: &AdcStats) {
        self.conversions += other.conversions;
        self.clipped += other.clipped;
        self.rounded += other.rounded;
        self.max_step = self.max_step.max(other.max_step);
    }

    /// Fraction of conversions that lost information (clipped or rounded); 0 when none ran.
    pub fn lossy_fraction(&self) -> f64 {
        if self.conversions == 0 {
            0.0
        } else {
            (self.clipped + self.rounded) as f64 / self.conversions as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_range_picks_the_smallest_power_of_two_step_that_never_clips() {
        // 9 needs 4 bits: with 3 bits, step 2 gives round(9/2) = 5 <= 7.
        let transfer = AdcTransfer::new(AdcRange::Full, 3, 9);
        assert_eq!(transfer.step_log2, 1);
        // 15 with 3 bits: round(15/2) = 8 > 7, so step 4: round(15/4) = 4.
        assert_eq!(AdcTransfer::new(AdcRange::Full, 3, 15).step_log2, 2);
        // Exactly representable: unit step.
        assert_eq!(AdcTransfer::new(AdcRange::Full, 3, 7).step_log2, 0);
        let mut stats = AdcStats::default();
        // 9 at step 2 rounds half up to 10 (code 5), 8 is exact.
        assert_eq!(transfer.convert(9, &mut stats), 10);
        assert_eq!(transfer.convert(8, &mut stats), 8);
        assert_eq!(stats.rounded, 1);
        assert_eq!(stats.clipped, 0);
    }

    #[test]
    fn saturating_range_clips_at_the_largest_code() {
        let transfer = AdcTransfer::new(AdcRange::Saturate, 3, 1000);
        let mut stats = AdcStats::default();
        assert_eq!(transfer.convert(7, &mut stats), 7);
        assert_eq!(transfer.convert(8, &mut stats), 7);
        assert_eq!(transfer.convert(1000, &mut stats), 7);
        assert_eq!(stats.clipped, 2);
        assert_eq!(stats.rounded, 0);
    }

    #[test]
    fn full_range_never_exceeds_the_code_range_at_its_maximum() {
        for bits in 1..=16 {
            for max_sum in [1_u64, 2, 3, 100, 255, 256, 65_025 * 128, 65_025 * 32_768] {
                let transfer = AdcTransfer::new(AdcRange::Full, bits, max_sum);
                let mut stats = AdcStats::default();
                let out = transfer.convert(max_sum as u32, &mut stats);
                let code = out >> transfer.step_log2;
                assert!(code <= transfer.max_code, "bits {bits}, max {max_sum}");
            }
        }
    }
}
