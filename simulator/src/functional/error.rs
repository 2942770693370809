//! Errors of the functional MVM path.
//!
//! The crate-wide [`crate::error::SimError`] wraps these through its `Functional` variant, so
//! callers that mix hwconfig loading and functional MVMs can use one error type.

use thiserror::Error;

/// Why a functional MVM could not be set up or run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FunctionalError {
    /// A bit-slicing setting lies outside what the hardware model supports.
    #[error("bit slicing: {key} = {value} is outside the allowed range {allowed}")]
    SettingOutOfRange {
        /// The setting, as named in [`super::BitSlicing`] (and in the hwconfig).
        key: &'static str,
        /// The value given.
        value: u64,
        /// The allowed range, e.g. `1..=8`.
        allowed: String,
    },
    /// A precision (weight or input bits) of an MVM call lies outside what the path supports.
    #[error("{key} = {value} is outside the allowed range {allowed}")]
    BitsOutOfRange {
        /// `weight_bits` or `input_bits`.
        key: &'static str,
        /// The value given.
        value: u32,
        /// The allowed range.
        allowed: String,
    },
    /// A flat matrix buffer does not hold `rows * cols` values, or two shapes do not fit together.
    #[error("shape mismatch in {what}: expected {expected}, found {found}")]
    ShapeMismatch {
        /// Which operand or relation.
        what: &'static str,
        /// The expected size or shape.
        expected: String,
        /// The size or shape found.
        found: String,
    },
    /// A weight does not fit the signed range that the polarity scheme can store.
    #[error(
        "weight [{row}][{col}] = {value} is outside the {weight_bits}-bit signed range \
         {min}..={max} ({polarity})"
    )]
    WeightOutOfRange {
        /// Output neuron (row of W), 0-based.
        row: usize,
        /// Input feature (column of W), 0-based.
        col: usize,
        /// The weight.
        value: i64,
        /// The weight precision of the call.
        weight_bits: u32,
        /// Smallest storable weight.
        min: i64,
        /// Largest storable weight.
        max: i64,
        /// The polarity scheme that sets the range.
        polarity: &'static str,
    },
    /// An input does not fit the unsigned range of the input precision.
    #[error(
        "input [{row}][{col}] = {value} is outside the {input_bits}-bit unsigned range 0..={max}"
    )]
    InputOutOfRange {
        /// Batch item (row of X), 0-based.
        row: usize,
        /// Input feature, 0-based.
        col: usize,
        /// The input.
        value: u64,
        /// The input precision of the call.
        input_bits: u32,
        /// Largest allowed input.
        max: u64,
    },
    /// The layer is so wide that the digital accumulators could overflow 64 bits.
    #[error(
        "layer with {in_features} inputs at {weight_bits}-bit weights and {input_bits}-bit inputs \
         could overflow the 64-bit accumulator (at most {max_in_features} inputs)"
    )]
    AccumulatorOverflow {
        /// Input features of the layer.
        in_features: usize,
        /// Weight precision.
        weight_bits: u32,
        /// Input precision.
        input_bits: u32,
        /// Widest layer that is safe at these precisions.
        max_in_features: usize,
    },
}
