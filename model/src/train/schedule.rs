//! The learning-rate schedule of NASRec training (nasrec-spec.md §3, the reference's
//! `CosineAnnealingWarmupRestarts` with one cycle): a linear warm-up from `min_lr` to the base
//! rate over the first `warmup_steps` updates, then a half cosine from the base rate down to
//! `min_lr` at the last update.

/// The rate the reference starts from and decays to.
pub const DEFAULT_MIN_LR: f64 = 1e-8;

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
