//! Functional crossbar MVM: `y = W x` computed the way the ReRAM hardware computes it.
//!
//! Weights are split into slices of `cell_bits` over cells (a positive and a negative
//! magnitude array for differential polarity, or `w + 2^(weight_bits-1)` on one array for
//! offset-column polarity); inputs stream bit-serially through the DAC, `dac_bits` per cycle;
//! the input dimension is split over crossbars of `crossbar_rows` rows, and each crossbar is
//! read `active_rows` word lines at a time. Every (row group, input slice, weight slice,
//! column, polarity half) gives an analog partial sum digitised by one ADC conversion
//! ([`crate::conventions::AdcRange`] sets how). Shift-add over input and weight slices, the
//! adder tree over row groups and crossbars, and the subtraction of the negative half (or the
//! offset) are exact digital steps after the ADC.
//!
//! With at least [`BitSlicing::lossless_adc_bits`] ADC bits the result equals
//! [`exact_matmul`]; with fewer, it carries the error the hardware would make.
//!
//! ADC full-scale convention: the range of a row group's conversions is fixed when the layer is
//! mapped, from the rows mapped in that group, the largest DAC level and the largest cell level
//! the layer's precisions use (the same range for every input and weight slice).

mod adc;
mod bit_slicing;
mod crossbar_mvm;
mod error;
mod matrix;
mod sliced_weights;

pub use adc::AdcStats;
pub use bit_slicing::{
    BitSlicing, ADC_BITS_RANGE, CELL_BITS_RANGE, DAC_BITS_RANGE, INPUT_BITS_RANGE,
    MAX_CROSSBAR_DIM, WEIGHT_BITS_RANGE,
};
pub use crossbar_mvm::MvmOutput;
pub use error::FunctionalError;
pub use matrix::{exact_matmul, IntMatrix, UintMatrix};
pub use sliced_weights::{RowGroup, SlicedWeights};
