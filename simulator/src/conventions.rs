//! Conventions shared by the hardware description, the engines and the functional path.

use serde::{Deserialize, Serialize};

/// How a signed weight is stored on unsigned cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Polarity {
    /// A positive and a negative crossbar (or column pair); the two partial sums are subtracted
    /// after the ADC. Magnitudes use `weight_bits - 1` bits.
    Differential,
    /// One crossbar holding `w + 2^(weight_bits-1)`; the offset times the input sum is
    /// subtracted digitally. Uses all `weight_bits` bits.
    OffsetColumn,
}

/// How an ADC maps a column's analog partial sum to its output code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdcRange {
    /// The ADC's full scale covers the largest partial sum the active word lines can produce;
    /// when that needs more codes than the ADC has, the step grows by powers of two and the
    /// low bits are lost to rounding (never clipped).
    Full,
    /// Unit step: partial sums are exact up to `2^adc_bits - 1` and clipped above it.
    Saturate,
}
