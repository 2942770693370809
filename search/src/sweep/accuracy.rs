//! Accuracy in a sweep: a trained model's two validation log losses at every evaluated point,
//! the quantized-ideal one and the hardware-functional one through the point's crossbars (bit
//! slicing, DAC and ADC of its hwconfig).
//!
//! The rows of such a sweep carry two more columns, `log_loss_ideal` and `log_loss_hardware`
//! (before `error`), and its manifest records [`AccuracySettings`] so `--resume` refuses another
//! accuracy setup.

use recpim_model::hardware::{evaluate_hardware_given_ideal, ideal_log_loss};
use recpim_model::net::NetModel;
use recpim_model::quant::QuantConfig;
use recpim_model::Batch;
use recpim_sim::HwConfig;
use serde::{Deserialize, Serialize};

/// The columns an accuracy sweep adds, before `error`.
pub const ACCURACY_COLUMNS: [&str; 2] = ["log_loss_ideal", "log_loss_hardware"];

/// What the accuracy figures were computed from; recorded in `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccuracySettings {
    /// The trained model's directory (as given).
    pub trained: String,
    /// FNV-1a of its `model.state`, so a model retrained in place is noticed.
    pub model_state_fnv: String,
    /// The validation data file (as given).
    pub data: String,
    /// Its format.
    pub format: String,
    /// Validation examples asked for (the first valid rows of the file).
    pub val_examples: usize,
    /// Validation examples the file had of them.
    pub val_rows: usize,
    /// The bits the model is quantized at (the `--bits` file, or `uniform-8`).
    pub bits: String,
}

/// A trained model, its bits and its validation sample, evaluated at each sweep point.
pub struct SweepAccuracy {
    /// The trained model.
    pub model: NetModel,
    /// Its quantization (the workload's bits).
    pub quant: QuantConfig,
    /// The validation sample (all of it is evaluated).
    pub val: Batch,
    /// Provenance, for the manifest.
    pub settings: AccuracySettings,
    /// The quantized-ideal log loss: the same at every point (it does not see the crossbars),
    /// so computed once.
    ideal_log_loss: f64,
}

impl std::fmt::Debug for SweepAccuracy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SweepAccuracy")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl SweepAccuracy {
    /// Evaluates the quantized-ideal log loss of `model` at `quant` on `val` once; errors name
    /// what did not fit (feature counts, an empty sample, bits for unknown operators).
    pub fn new(
        model: NetModel,
        quant: QuantConfig,
        val: Batch,
        settings: AccuracySettings,
    ) -> std::result::Result<Self, String> {
        let ideal_log_loss = ideal_log_loss(model.network(), &quant, &val, val.len())
            .map_err(|e| format!("accuracy: {e}"))?;
        Ok(SweepAccuracy {
            model,
            quant,
            val,
            settings,
            ideal_log_loss,
        })
    }

    /// `(log_loss_ideal, log_loss_hardware)` with the crossbars of `hw`.
    pub fn log_losses(&self, hw: &HwConfig) -> std::result::Result<(f64, f64), String> {
        let eval = evaluate_hardware_given_ideal(
            self.model.network(),
            &self.quant,
            hw,
            &self.val,
            self.val.len(),
            self.ideal_log_loss,
        )
        .map_err(|e| format!("accuracy: {e}"))?;
        Ok((eval.ideal_log_loss, eval.hardware_log_loss))
    }
}
