//! Evaluation metrics of a click model: log loss and ROC AUC.
//!
//! Everything accumulates in f64 and in a fixed order, so a metric is a pure function of its
//! inputs (no dependence on thread count).

/// Probabilities are clamped to `[LOGLOSS_EPS, 1 - LOGLOSS_EPS]` before the logarithm, as
/// scikit-learn's `log_loss` does for float64 input, so a confident mistake costs about 34.5
/// nats instead of infinity.
pub const LOGLOSS_EPS: f64 = 1e-15;

/// Mean binary cross-entropy of predicted click probabilities (clamped, see [`LOGLOSS_EPS`]).
/// Labels are 0 or 1 (anything above 0.5 counts as a click). Returns `None` for empty input or
/// unequal lengths.
pub fn log_loss(labels: &[f32], probs: &[f32]) -> Option<f64> {
    if labels.is_empty() || labels.len() != probs.len() {
        return None;
    }
    let total: f64 = labels
        .iter()
        .zip(probs)
        .map(|(&y, &p)| {
            let p = f64::from(p).clamp(LOGLOSS_EPS, 1.0 - LOGLOSS_EPS);
            if y > 0.5 {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    Some(total / labels.len() as f64)
}

/// Mean binary cross-entropy computed from logits z: `softplus(z) - y z`, exact in f64 even
/// where the sigmoid would round to 0 or 1 in f32 (no clamping needed). `None` as in
/// [`log_loss`].
pub fn log_loss_from_logits(labels: &[f32], logits: &[f32]) -> Option<f64> {
    if labels.is_empty() || labels.len() != logits.len() {
        return None;
    }
    let total: f64 = labels
        .iter()
        .zip(logits)
        .map(|(&y, &z)| {
            let z = f64::from(z);
            let y = if y > 0.5 { 1.0 } else { 0.0 };
            softplus(z) - y * z
        })
        .sum();
    Some(total / labels.len() as f64)
}

/// `ln(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// Area under the ROC curve: the Mann-Whitney U statistic over `n_pos * n_neg`, with tied
/// scores counted as half (average ranks). O(n log n). `None` when one class is absent, the
/// lengths differ or a score is NaN.
pub fn roc_auc(labels: &[f32], scores: &[f32]) -> Option<f64> {
    if labels.len() != scores.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let n_pos = labels.iter().filter(|&&y| y > 0.5).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let mut rank_sum_pos = 0.0f64;
    let mut start = 0usize;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let positives = order[start..end]
            .iter()
            .filter(|&&i| labels[i] > 0.5)
            .count();
        rank_sum_pos += average_rank * positives as f64;
        start = end;
    }
    let n_pos_f = n_pos as f64;
    let u = rank_sum_pos - n_pos_f * (n_pos_f + 1.0) / 2.0;
    Some(u / (n_pos_f * n_neg as f64))
}

/// Log loss of the true click probabilities: the Bayes-optimal log loss on labels drawn from
/// them (for synthetic data whose generator knows `p`).
pub fn bayes_log_loss(labels: &[f32], true_probs: &[f32]) -> Option<f64> {
    log_loss(labels, true_probs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softplus_is_stable() {
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-15);
        assert!((softplus(800.0) - 800.0).abs() < 1e-12);
        assert!(softplus(-800.0) >= 0.0 && softplus(-800.0) < 1e-300);
    }
}
