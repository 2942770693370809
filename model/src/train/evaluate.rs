//! Evaluation of a model on a data set: log loss and AUC over all of its rows.

use super::source::BatchSource;
use crate::ctr_model::CtrModel;
use crate::metrics::{log_loss_from_logits, roc_auc};

/// Rows per prediction call during evaluation (bounded memory, large enough to amortise).
pub const EVAL_CHUNK_ROWS: usize = 8192;

/// Log loss and AUC of a model on one data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalMetrics {
    /// Mean binary cross-entropy (from logits, f64).
    pub logloss: f64,
    /// ROC AUC; `None` when the set holds one class only.
    pub auc: Option<f64>,
    /// Examples evaluated.
    pub rows: usize,
}

/// Logits of every row of `data`, in row order.
pub fn predict_all(model: &dyn CtrModel, data: &dyn BatchSource) -> (Vec<f32>, Vec<f32>) {
    let n = data.num_rows();
    let mut logits = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let end = (start + EVAL_CHUNK_ROWS).min(n);
        let rows: Vec<usize> = (start..end).collect();
        let batch = data.gather(&rows);
        logits.extend(model.predict_logits(&batch).iter().copied());
        labels.extend(batch.labels.iter().copied());
        start = end;
    }
    (labels, logits)
}

/// Log loss and AUC of `model` on `data`; `None` for an empty set.
pub fn evaluate(model: &dyn CtrModel, data: &dyn BatchSource) -> Option<EvalMetrics> {
    let (labels, logits) = predict_all(model, data);
    let logloss = log_loss_from_logits(&labels, &logits)?;
    Some(EvalMetrics {
        logloss,
        auc: roc_auc(&labels, &logits),
        rows: labels.len(),
    })
}
