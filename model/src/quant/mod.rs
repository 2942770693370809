//! Quantization: per-operator bitwidths ([`bits`]), fake quantization with a straight-through
//! estimator for training and fine-tuning ([`fake_quant`]), and the quantized inference path
//! ([`inference`]).
//!
//! Fake quantization lives on the compiled graph (`Graph::quant`), so every path that runs a
//! graph (the trainer through `CtrModel`, `Supernet::train_step_subnet_quant`, logits) applies it.

pub mod bits;
pub mod fake_quant;
pub mod inference;

pub use bits::{
    operator_names, BitAssignment, BitsFile, OperatorBits, BITS_RANGE, SEARCH_BITWIDTHS,
};
pub use fake_quant::{ActivationRange, QuantConfig, QuantPlan};
pub use inference::{quantized_log_loss, quantized_logits};

use crate::error::Result;
use crate::net::{NetModel, Network};
use std::sync::Arc;

/// Turns fake quantization on (`Some`) or off (`None`) for a network's graph.
pub fn quantize_network(net: &mut Network<f32>, cfg: Option<&QuantConfig>) -> Result<()> {
    net.graph.quant = match cfg {
        Some(cfg) => Some(Arc::new(QuantPlan::new(&net.graph, cfg)?)),
        None => None,
    };
    Ok(())
}

/// Turns fake quantization on or off for a trainable model: its training steps (the trainer's
/// `CtrModel::train_step`, i.e. quantization-aware training or fine-tuning) and its predictions
/// then run quantized.
pub fn quantize_model(model: &mut NetModel, cfg: Option<&QuantConfig>) -> Result<()> {
    quantize_network(model.network_mut(), cfg)
}
