//! The learning-rate schedule of NASRec training (nasrec-spec.md §3, the reference's
//! `CosineAnnealingWarmupRestarts` with one cycle): a linear warm-up from `min_lr` to the base
//! rate over the first `warmup_steps` updates, then a half cosine from the base rate down to
//! `min_lr` at the last update.

//!
//! A warm-up given as a fraction of the run is too short on short runs. Adagrad moves a weight
//! by about `lr_t g_t / sqrt(sum of g^2)`, i.e. by about `lr_t / sqrt(t)` at update `t` for a
//! steady gradient, whatever the gradient's scale: when the rate peaks after `w` updates every
//! weight moves by about `lr / sqrt(w)` at once. Without LayerNorm, NASRec's chained FM and
//! dot-product interactions raise such simultaneous moves to high powers and the logits blow up
//! (Criteo-Full on Frappe: 20 warm-up updates of 203 diverge to AUC 0.51, 101 train to 0.92;
//! BENCHMARKS.md "Training runs"). [`CosineWarmup::with_min_warmup_steps`] therefore gives the
//! warm-up at least [`DEFAULT_MIN_WARMUP_STEPS`] updates (at most half the run), which caps
//! that peak move at a tenth of the rate; long runs, where the fraction already gives more,
//! are unchanged.

/// The rate the reference starts from and decays to.
pub const DEFAULT_MIN_LR: f64 = 1e-8;

/// The fewest updates the trainer's warm-up lasts (when the run has at least twice as many):
/// Adagrad's per-weight step at the peak rate is then at most about `lr / 10`.
pub const DEFAULT_MIN_WARMUP_STEPS: u64 = 100;

/// Linear warm-up then cosine decay over a fixed number of steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosineWarmup {
    /// Peak learning rate (reached at the end of the warm-up).
    pub base_lr: f64,
    /// Rate at step 0 and at the end of the cosine.
    pub min_lr: f64,
    /// Updates in the whole run (all planned epochs).
    pub total_steps: u64,
    /// Updates spent in the linear warm-up.
    pub warmup_steps: u64,
}

impl CosineWarmup {
    /// A schedule whose warm-up takes `warmup_frac` of `total_steps` (rounded to the nearest step).
    pub fn new(base_lr: f64, min_lr: f64, total_steps: u64, warmup_frac: f64) -> Self {
        let warmup = (warmup_frac.clamp(0.0, 1.0) * total_steps as f64).round() as u64;
        Self {
            base_lr,
            min_lr,
            total_steps,
            warmup_steps: warmup.min(total_steps),
        }
    }

    /// As [`CosineWarmup::new`], but the warm-up lasts at least `min_warmup_steps` updates,
    /// or half of the run if that is fewer (a run still needs steps to decay in). A fraction
    /// asking for more keeps its length.
    pub fn with_min_warmup_steps(
        base_lr: f64,
        min_lr: f64,
        total_steps: u64,
        warmup_frac: f64,
        min_warmup_steps: u64,
    ) -> Self {
        let mut schedule = Self::new(base_lr, min_lr, total_steps, warmup_frac);
        let floor = min_warmup_steps.min(total_steps / 2);
        schedule.warmup_steps = schedule.warmup_steps.max(floor);
        schedule
    }

    /// The rate of update `step` (0-based).
    pub fn lr_at(&self, step: u64) -> f64 {
        let span = self.base_lr - self.min_lr;
        if step < self.warmup_steps {
            return self.min_lr + span * step as f64 / self.warmup_steps as f64;
        }
        let decay_steps = self.total_steps.saturating_sub(self.warmup_steps);
        if decay_steps == 0 {
            return self.base_lr;
        }
        let progress = ((step - self.warmup_steps) as f64 / decay_steps as f64).min(1.0);
        self.min_lr + span * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}
