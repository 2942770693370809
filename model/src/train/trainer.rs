//! The training loop: seeded epoch order, warm-up + cosine schedule, clipped Adagrad steps (in
//! the model), validation at every epoch end, early stopping that keeps the best epoch's
//! weights, atomic checkpoints and an exact resume.
//!
//! Determinism: the rows of epoch e are a permutation drawn from ChaCha8 seeded with `seed` on
//! stream e+1, so the data position is just (epoch, batches done); nothing depends on time or on
//! the number of threads. A run stopped after any step and resumed from its checkpoint ends
//! with the same bytes as an uninterrupted run.
//!
//! Streaming ([`train_stream`]): a file larger than memory is read through a
//! [`BatchStream`] (bounded, seeded shuffle buffer). The same loop runs; only the batches of an
//! epoch come from the stream instead of an index gather. The checkpoint stores the stream's
//! [`StreamPosition`] and a resume re-opens the stream there (the stream replays its shuffle),
//! so streaming runs resume exactly too. A stream does not know its length, so the caller
//! passes the rows per epoch from a counting pass (e.g. `rows_read` of the report of
//! `fit_encoder_streaming`); the cosine schedule spans `epochs * ceil(rows / batch)` steps.

use super::checkpoint::{BestEpoch, Checkpoint, EpochRecord, TrainerState};
use super::evaluate::{evaluate, EvalMetrics};
use super::schedule::{CosineWarmup, DEFAULT_MIN_LR, DEFAULT_MIN_WARMUP_STEPS};
use super::source::BatchSource;
use crate::batch::Batch;
use crate::ctr_model::{CtrModel, StepHyper};
use crate::data::{BatchStream, StreamPosition};
use crate::error::{ModelError, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::time::Instant;

/// How to train. [`TrainConfig::default`] is the NASRec final-training recipe (nasrec-spec §3)
/// with a few epochs and early stopping, which suits small and medium data sets.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training set (the schedule spans all of them).
    pub epochs: u64,
    /// Examples per update; the last batch of an epoch may be smaller.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Fraction of all updates spent in the linear warm-up.
    pub warmup_frac: f64,
    /// The warm-up lasts at least this many updates (at most half the run): short runs of
    /// models without LayerNorm diverge when the rate peaks after a few updates (see
    /// [`super::schedule`]). 0 leaves `warmup_frac` alone.
    pub min_warmup_steps: u64,
    /// Rate at the start of the warm-up and at the end of the cosine.
    pub min_lr: f64,
    /// Global gradient-norm clip.
    pub clip_norm: f32,
    /// Adagrad epsilon.
    pub adagrad_eps: f32,
    /// L2 weight decay on matrices.
    pub weight_decay: f32,
    /// Seed of the epoch orders.
    pub seed: u64,
    /// Stop after this many finished epochs without a better validation log loss.
    pub patience: Option<u64>,
    /// Checkpoint file (written every `checkpoint_every` steps and at each epoch end).
    pub checkpoint_path: Option<PathBuf>,
    /// Steps between mid-epoch checkpoints.
    pub checkpoint_every: Option<u64>,
    /// Stop (after writing a checkpoint) once this many steps are done in total; a later
    /// `resume` continues. For pre-emptible jobs and for testing resume.
    pub stop_after_steps: Option<u64>,
    /// Free text describing the model and data (e.g. CLI arguments); part of the fingerprint
    /// that a resumed run must match.
    pub run_tag: String,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 3,
            batch_size: 256,
            lr: 0.1,
            warmup_frac: 0.1,
            min_warmup_steps: DEFAULT_MIN_WARMUP_STEPS,
            min_lr: DEFAULT_MIN_LR,
            clip_norm: 5.0,
            adagrad_eps: 1e-2,
            weight_decay: 0.0,
            seed: 0,
            patience: Some(1),
            checkpoint_path: None,
            checkpoint_every: None,
            stop_after_steps: None,
            run_tag: String::new(),
        }
    }
}

impl TrainConfig {
    /// Checks the options; errors name the option and its allowed range.
    pub fn check(&self) -> Result<()> {
        let bad = |name: &str, value: String, allowed: &str| {
            Err(ModelError::InvalidOption {
                name: name.to_string(),
                value,
                allowed: allowed.to_string(),
            })
        };
        if self.epochs == 0 {
            return bad("epochs", self.epochs.to_string(), "at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch", self.batch_size.to_string(), "at least 1");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", self.lr.to_string(), "a finite number > 0");
        }
        if !(0.0..=1.0).contains(&self.warmup_frac) {
            return bad("warmup-frac", self.warmup_frac.to_string(), "0 to 1");
        }
        if !(self.min_lr.is_finite() && self.min_lr >= 0.0 && self.min_lr <= self.lr) {
            return bad("min-lr", self.min_lr.to_string(), "0 to lr");
        }
        if self.patience == Some(0) {
            return bad("patience", "0".into(), "at least 1 (or none)");
        }
        if self.checkpoint_every == Some(0) {
            return bad("checkpoint-every", "0".into(), "at least 1 step");
        }
        Ok(())
    }

    fn fingerprint(&self, train_rows: usize, val_rows: usize) -> String {
        format!(
            "epochs={} batch={} lr_bits={:016x} warmup_bits={:016x} min_warmup_steps={} \
             min_lr_bits={:016x} clip={:08x} eps={:08x} wd={:08x} seed={} patience={:?} \
             train_rows={} val_rows={} tag={}",
            self.epochs,
            self.batch_size,
            self.lr.to_bits(),
            self.warmup_frac.to_bits(),
            self.min_warmup_steps,
            self.min_lr.to_bits(),
            self.clip_norm.to_bits(),
            self.adagrad_eps.to_bits(),
            self.weight_decay.to_bits(),
            self.seed,
            self.patience,
            train_rows,
            val_rows,
            self.run_tag
        )
    }
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOutcome {
    /// Updates done in total (including before a resume).
    pub steps: u64,
    /// Every finished epoch.
    pub history: Vec<EpochRecord>,
    /// The epoch whose weights the model now holds (1-based), when validated.
    pub best_epoch: Option<u64>,
    /// Validation metrics of the kept weights.
    pub best_val: Option<EvalMetrics>,
    /// True when early stopping ended training before the last planned epoch.
    pub stopped_early: bool,
    /// True when `stop_after_steps` paused training (resume to continue).
    pub paused: bool,
    /// Examples trained on in this session.
    pub samples_this_session: u64,
    /// Seconds spent in training steps in this session (evaluation excluded).
    pub train_seconds: f64,
}

impl TrainOutcome {
    /// Training throughput of this session.
    pub fn train_samples_per_s(&self) -> f64 {
        if self.train_seconds > 0.0 {
            self.samples_this_session as f64 / self.train_seconds
        } else {
            0.0
        }
    }
}

/// The rows of epoch `epoch` in training order.
pub fn epoch_order(num_rows: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch.wrapping_add(1));
    let mut order: Vec<usize> = (0..num_rows).collect();
    order.shuffle(&mut rng);
    order
}

/// A training file read as a stream: how to open it at a position, and how many rows one
/// epoch holds (from a counting pass, since a stream does not know its length).
pub struct StreamingSource<'a> {
    /// Opens the training stream at a position (epoch, examples already emitted). Its batch
    /// size must equal `TrainConfig::batch_size`.
    pub open: &'a dyn Fn(StreamPosition) -> Result<BatchStream>,
    /// Valid rows in one epoch of the stream (e.g. `MalformedReport::rows_read` of
    /// `fit_encoder_streaming`). The trainer errors if the stream yields a different number.
    pub rows_per_epoch: u64,
}

/// Where one run's training batches come from.
enum TrainData<'a> {
    InMemory(&'a dyn BatchSource),
    Stream(&'a StreamingSource<'a>),
}

/// The batches of one epoch from its current position on.
enum EpochBatches<'a> {
    InMemory {
        source: &'a dyn BatchSource,
        order: Vec<usize>,
        next_start: usize,
        batch_size: usize,
    },
    // Boxed: a stream (reader, buffer, encoder) is much larger than an index order.
    Stream(Box<BatchStream>),
}

impl EpochBatches<'_> {
    fn next_batch(&mut self) -> Option<Result<Batch>> {
        match self {
            EpochBatches::InMemory {
                source,
                order,
                next_start,
                batch_size,
            } => {
                if *next_start >= order.len() {
                    return None;
                }
                let end = (*next_start + *batch_size).min(order.len());
                let batch = source.gather(&order[*next_start..end]);
                *next_start = end;
                Some(Ok(batch))
            }
            EpochBatches::Stream(stream) => stream.next(),
        }
    }

    fn stream_position(&self) -> Option<StreamPosition> {
        match self {
            EpochBatches::InMemory { .. } => None,
            EpochBatches::Stream(stream) => Some(BatchStream::position(stream)),
        }
    }
}

impl<'a> TrainData<'a> {
    fn rows_per_epoch(&self) -> u64 {
        match self {
            TrainData::InMemory(source) => source.num_rows() as u64,
            TrainData::Stream(stream) => stream.rows_per_epoch,
        }
    }

    /// The batches of `epoch` after the first `batches_done` (and, for a stream, from the
    /// checkpointed position when there is one).
    fn epoch_batches(
        &self,
        config: &TrainConfig,
        epoch: u64,
        batches_done: u64,
        saved_position: Option<StreamPosition>,
    ) -> Result<EpochBatches<'a>> {
        match *self {
            TrainData::InMemory(source) => Ok(EpochBatches::InMemory {
                source,
                order: epoch_order(source.num_rows(), config.seed, epoch),
                next_start: (batches_done as usize).saturating_mul(config.batch_size),
                batch_size: config.batch_size,
            }),
            TrainData::Stream(stream) => {
                let position =
                    saved_position
                        .filter(|p| p.epoch == epoch)
                        .unwrap_or(StreamPosition {
                            epoch,
                            rows_emitted: batches_done.saturating_mul(config.batch_size as u64),
                        });
                Ok(EpochBatches::Stream(Box::new((stream.open)(position)?)))
            }
        }
    }
}

/// Trains `model` on `train`, validating on `val` at each epoch end.
///
/// With `resume`, training continues from `config.checkpoint_path` (which must exist and match
/// the config); `model` must be built exactly as in the first run (its state is then
/// overwritten from the checkpoint). On return the model holds the best epoch's weights when a
/// validation set was given. A non-finite step loss stops training with
/// [`ModelError::NonFiniteLoss`] naming the 1-based step; the checkpoint on disk is then the
/// last one written before it. `on_epoch` sees each finished epoch.
pub fn train(
    model: &mut dyn CtrModel,
    train: &dyn BatchSource,
    val: Option<&dyn BatchSource>,
    config: &TrainConfig,
    resume: bool,
    on_epoch: &mut dyn FnMut(&EpochRecord),
) -> Result<TrainOutcome> {
    train_from(
        model,
        TrainData::InMemory(train),
        val,
        config,
        resume,
        on_epoch,
    )
}

/// Trains `model` on a streamed file (larger than memory), validating on the in-memory `val`
/// at each epoch end. Everything else is as in [`train`]: same schedule, early stopping,
/// checkpoints (which also hold the stream position) and exact resume. `train_seconds` of the
/// outcome includes reading and encoding the file, since they happen inside the epoch.
pub fn train_stream(
    model: &mut dyn CtrModel,
    train: &StreamingSource<'_>,
    val: Option<&dyn BatchSource>,
    config: &TrainConfig,
    resume: bool,
    on_epoch: &mut dyn FnMut(&EpochRecord),
) -> Result<TrainOutcome> {
    train_from(
        model,
        TrainData::Stream(train),
        val,
        config,
        resume,
        on_epoch,
    )
}

fn train_from(
    model: &mut dyn CtrModel,
    data: TrainData<'_>,
    val: Option<&dyn BatchSource>,
    config: &TrainConfig,
    resume: bool,
    on_epoch: &mut dyn FnMut(&EpochRecord),
) -> Result<TrainOutcome> {
    config.check()?;
    let n = data.rows_per_epoch();
    if n == 0 {
        return Err(ModelError::Data("the training set is empty".into()));
    }
    let is_stream = matches!(data, TrainData::Stream(_));
    let val = val.filter(|v| v.num_rows() > 0);
    let mut fingerprint = config.fingerprint(n as usize, val.map_or(0, |v| v.num_rows()));
    if is_stream {
        fingerprint.push_str(" source=stream");
    }
    let batches_per_epoch = n.div_ceil(config.batch_size as u64);
    let schedule = CosineWarmup::with_min_warmup_steps(
        config.lr,
        config.min_lr,
        config.epochs * batches_per_epoch,
        config.warmup_frac,
        config.min_warmup_steps,
    );

    let (mut state, mut best_model_state) = if resume {
        let path = config.checkpoint_path.as_ref().ok_or_else(|| {
            ModelError::Checkpoint("resume needs a checkpoint path (an output directory)".into())
        })?;
        let checkpoint = Checkpoint::read(path)?;
        if checkpoint.trainer.fingerprint != fingerprint {
            return Err(ModelError::Checkpoint(format!(
                "{} was written by a different run; its settings are [{}], this run's are [{}]",
                path.display(),
                checkpoint.trainer.fingerprint,
                fingerprint
            )));
        }
        model.load_state(&mut checkpoint.model_state.as_slice())?;
        (checkpoint.trainer, checkpoint.best_model_state)
    } else {
        let state = TrainerState {
            fingerprint,
            step: 0,
            epoch: 0,
            batch_in_epoch: 0,
            epoch_loss_sum_bits: 0f64.to_bits(),
            epoch_loss_count: 0,
            best: None,
            epochs_since_best: 0,
            stopped_early: false,
            history: Vec::new(),
            stream_position: None,
        };
        (state, Vec::new())
    };

    let mut hyper = StepHyper {
        lr: config.lr as f32,
        clip_norm: config.clip_norm,
        adagrad_eps: config.adagrad_eps,
        weight_decay: config.weight_decay,
    };
    let mut samples_this_session = 0u64;
    let mut train_seconds = 0.0f64;
    let mut paused = false;

    'epochs: while state.epoch < config.epochs && !state.stopped_early {
        let mut epoch_loss_sum = f64::from_bits(state.epoch_loss_sum_bits);
        let mut batches = data.epoch_batches(
            config,
            state.epoch,
            state.batch_in_epoch,
            state.stream_position,
        )?;
        for b in state.batch_in_epoch..batches_per_epoch {
            let started = Instant::now();
            let batch = batches.next_batch().transpose()?;
            // Every batch but the epoch's last is full, so the expected size is known; a
            // stream that disagrees (file changed since the counting pass, or another batch
            // size) would silently shift the schedule and the resume position.
            let expected_rows = (n - b * config.batch_size as u64).min(config.batch_size as u64);
            let batch = match batch {
                Some(batch) if batch.len() as u64 == expected_rows => batch,
                other => {
                    return Err(ModelError::Data(format!(
                        "training batch {} of epoch {} has {} rows, expected {expected_rows} \
                         ({n} rows per epoch in batches of {}); did the training file change \
                         since it was counted?",
                        b + 1,
                        state.epoch + 1,
                        other.map_or(0, |batch| batch.len()),
                        config.batch_size
                    )))
                }
            };
            hyper.lr = schedule.lr_at(state.step) as f32;
            let stats = model.train_step(&batch, &hyper);
            train_seconds += started.elapsed().as_secs_f64();
            if !stats.loss.is_finite() {
                return Err(ModelError::NonFiniteLoss {
                    step: state.step + 1,
                    loss: stats.loss,
                });
            }
            state.step += 1;
            state.batch_in_epoch = b + 1;
            state.stream_position = batches.stream_position();
            epoch_loss_sum += f64::from(stats.loss);
            state.epoch_loss_count += 1;
            state.epoch_loss_sum_bits = epoch_loss_sum.to_bits();
            samples_this_session += batch.len() as u64;
            let epoch_done = b + 1 == batches_per_epoch;
            if !epoch_done {
                let due = config
                    .checkpoint_every
                    .is_some_and(|every| state.step % every == 0);
                let pause = config.stop_after_steps.is_some_and(|s| state.step >= s);
                if due || pause {
                    save(config, model, &state, &best_model_state)?;
                    if pause {
                        paused = true;
                        break 'epochs;
                    }
                }
            }
        }
        if let Some(extra) = batches.next_batch().transpose()? {
            return Err(ModelError::Data(format!(
                "the training stream yields more than the {n} rows counted per epoch \
                 ({} more in epoch {} at least); did the training file change since it was \
                 counted?",
                extra.len(),
                state.epoch + 1
            )));
        }

        // Epoch end: validate, track the best weights, decide on early stopping.
        let metrics = val.and_then(|v| evaluate(&*model, v));
        let record = EpochRecord {
            epoch: state.epoch + 1,
            steps: state.step,
            train_logloss_bits: (epoch_loss_sum / state.epoch_loss_count.max(1) as f64).to_bits(),
            val_logloss_bits: metrics.map(|m| m.logloss.to_bits()),
            val_auc_bits: metrics.and_then(|m| m.auc).map(f64::to_bits),
        };
        if let Some(m) = metrics {
            let improved = m.logloss.is_finite()
                && state.best.is_none_or(|best| m.logloss < best.val_logloss());
            if improved {
                state.best = Some(BestEpoch {
                    epoch: record.epoch,
                    val_logloss_bits: m.logloss.to_bits(),
                });
                state.epochs_since_best = 0;
                best_model_state.clear();
                model.save_state(&mut best_model_state)?;
            } else {
                state.epochs_since_best += 1;
                if config
                    .patience
                    .is_some_and(|p| state.epochs_since_best >= p)
                {
                    state.stopped_early = state.epoch + 1 < config.epochs;
                }
            }
        }
        state.history.push(record);
        state.epoch += 1;
        state.batch_in_epoch = 0;
        state.stream_position = None;
        state.epoch_loss_sum_bits = 0f64.to_bits();
        state.epoch_loss_count = 0;
        on_epoch(&record);
        save(config, model, &state, &best_model_state)?;
        if state.epoch < config.epochs
            && !state.stopped_early
            && config.stop_after_steps.is_some_and(|s| state.step >= s)
        {
            paused = true;
            break;
        }
    }

    let mut best_val = None;
    if !paused {
        if let Some(best) = state.best {
            let last_epoch = state.history.last().map(|r| r.epoch);
            if last_epoch != Some(best.epoch) {
                model.load_state(&mut best_model_state.as_slice())?;
            }
            best_val = state
                .history
                .iter()
                .find(|r| r.epoch == best.epoch)
                .and_then(|r| {
                    Some(EvalMetrics {
                        logloss: r.val_logloss()?,
                        auc: r.val_auc(),
                        rows: val.map_or(0, |v| v.num_rows()),
                    })
                });
        }
    }
    Ok(TrainOutcome {
        steps: state.step,
        best_epoch: if paused {
            None
        } else {
            state.best.map(|b| b.epoch)
        },
        history: state.history,
        best_val,
        stopped_early: state.stopped_early,
        paused,
        samples_this_session,
        train_seconds,
    })
}

fn save(
    config: &TrainConfig,
    model: &dyn CtrModel,
    state: &TrainerState,
    best_model_state: &[u8],
) -> Result<()> {
    let Some(path) = &config.checkpoint_path else {
        return Ok(());
    };
    let mut model_state = Vec::new();
    model.save_state(&mut model_state)?;
    Checkpoint {
        trainer: state.clone(),
        model_state,
        best_model_state: best_model_state.to_vec(),
    }
    .write(path)
}
