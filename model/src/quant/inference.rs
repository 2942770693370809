//! The quantized inference path (forward only): logits and log loss of a network with its
//! weights and crossbar inputs fake-quantized at a bit assignment, without changing the network.

use super::fake_quant::{QuantConfig, QuantPlan};
use crate::batch::Batch;
use crate::error::{ModelError, Result};
use crate::metrics::log_loss_from_logits;
use crate::net::network::batch_logits;
use crate::net::Network;
use ndarray::Array1;
use std::sync::Arc;

/// Logits of `batch` with `net` fake-quantized per `cfg` (chunked and parallel like
/// `Network::logits`, so deterministic for any thread count).
pub fn quantized_logits(
    net: &Network<f32>,
    cfg: &QuantConfig,
    batch: &Batch,
) -> Result<Array1<f32>> {
    check_batch(net, batch)?;
    Ok(logits_with_plan(
        net,
        QuantPlan::new(&net.graph, cfg)?,
        batch,
    ))
}

/// Errors unless `batch` has the dense and categorical feature counts `net` was built for.
pub(crate) fn check_batch(net: &Network<f32>, batch: &Batch) -> Result<()> {
    if batch.dense.ncols() != net.graph.n_dense || batch.sparse.ncols() != net.graph.n_sparse {
        return Err(ModelError::Data(format!(
            "the batch has {} dense and {} categorical features; the model was built for {} and {}",
            batch.dense.ncols(),
            batch.sparse.ncols(),
            net.graph.n_dense,
            net.graph.n_sparse
        )));
    }
    Ok(())
}

/// Logits of a checked `batch` under a ready quantization plan (which may route the crossbar
/// products through the functional hardware path).
pub(crate) fn logits_with_plan(net: &Network<f32>, plan: QuantPlan, batch: &Batch) -> Array1<f32> {
    // Weights are quantized once here rather than once per chunk.
    let dense = plan.quantize_params(&net.dense);
    let mut graph = net.graph.clone();
    graph.quant = Some(Arc::new(plan.with_prequantized_weights()));
    let sparse = net.sanitize_sparse(&batch.sparse);
    let params = crate::net::engine::ParamsRef {
        dense: &dense,
        tables: &net.tables,
    };
    batch_logits(&graph, params, batch.dense.view(), sparse.view())
}

/// Mean log loss of `batch` with `net` fake-quantized per `cfg`.
pub fn quantized_log_loss(net: &Network<f32>, cfg: &QuantConfig, batch: &Batch) -> Result<f64> {
    let logits = quantized_logits(net, cfg, batch)?;
    log_loss_from_logits(&batch.labels.to_vec(), &logits.to_vec())
        .ok_or_else(|| ModelError::Data("the batch is empty".to_string()))
}
