//! Supernet training (nasrec-spec §3 "Supernet training"; issue 4 item 1): every step samples a
//! sub-network by the chosen path strategy (or, with a probability falling linearly from 1 to 0
//! over the first `full_path_warmup_frac` of the steps, the whole supernet), and trains its shares
//! of the max-width weights with clipped Adagrad under the warm-up + cosine schedule (lr 0.12,
//! eps 1e-2, clip 5, 10% warm-up by default). LayerNorm is in every operator.
//!
//! Determinism and resume: step s uses the batch at position s of the seeded epoch orders
//! (`recpim_model::train::epoch_order`, an incomplete last batch skipped as the reference does)
//! and its own path-sampling stream (run seed, candidate id s, `PATH_SAMPLING`), so a step's work
//! depends only on its index and the weights. The checkpoint holds the config, the steps done,
//! the per-step losses and the supernet's weights and Adagrad sums; a run stopped after any step
//! and resumed ends with the same bytes as an uninterrupted run, for any thread count.

use super::sampling::{full_path_probability, ConnectionCount, PathSampler, PathStrategy};
use crate::error::{Result, SearchError};
use crate::seeds::{candidate_rng, StreamPurpose};
use rand::Rng;
use recpim_model::genotype::{SearchSpace, NUM_BLOCKS};
use recpim_model::net::{ModelOptions, Supernet};
use recpim_model::train::{
    epoch_order, write_atomically, BatchSource, CosineWarmup, DEFAULT_MIN_LR,
};
use recpim_model::{DataSchema, StepHyper};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::Path;
use std::time::Instant;

/// How to train a supernet; [`SupernetTrainConfig::default`] is the reference's recipe with a
/// small number of steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupernetTrainConfig {
    /// Search space of the supernet.
    pub space: SearchSpace,
    /// Choice blocks (7).
    pub num_blocks: usize,
    /// Path sampling strategy (single-op any-conn).
    pub strategy: PathStrategy,
    /// Source counts of the any-connection strategies (binomial).
    pub connections: ConnectionCount,
    /// Training steps (one sampled path per step).
    pub steps: u64,
    /// Examples per step (512).
    pub batch_size: usize,
    /// Peak Adagrad learning rate (0.12).
    pub lr: f64,
    /// Fraction of the steps in the linear learning-rate warm-up (0.1).
    pub lr_warmup_frac: f64,
    /// Rate at the start of the warm-up and the end of the cosine (1e-8).
    pub min_lr: f64,
    /// Global gradient-norm clip (5).
    pub clip_norm: f32,
    /// Adagrad epsilon (1e-2).
    pub adagrad_eps: f32,
    /// L2 weight decay on matrices (0).
    pub weight_decay: f32,
    /// Fraction of the steps over which the full-path probability falls from 1 to 0 (0.2).
    pub full_path_warmup_frac: f64,
    /// LayerNorm in every operator (on, as the reference trains its supernet).
    pub layernorm: bool,
    /// The dot product's operator-balancing item projection (on, as in the reference;
    /// nasrec-spec §7.6). A checkpoint header without this field (written before it existed) is
    /// balanced, and a balanced config writes no field, so its checkpoints keep their bytes.
    #[serde(default = "balancing_default", skip_serializing_if = "is_balanced")]
    pub operator_balancing: bool,
    /// Seed of the weights, the batch order and the path sampling.
    pub seed: u64,
}

impl Default for SupernetTrainConfig {
    fn default() -> Self {
        SupernetTrainConfig {
            space: SearchSpace::Small,
            num_blocks: NUM_BLOCKS,
            strategy: PathStrategy::SingleOpAnyConn,
            connections: ConnectionCount::Binomial,
            steps: 1000,
            batch_size: 512,
            lr: 0.12,
            lr_warmup_frac: 0.1,
            min_lr: DEFAULT_MIN_LR,
            clip_norm: 5.0,
            adagrad_eps: 1e-2,
            weight_decay: 0.0,
            full_path_warmup_frac: 0.2,
            layernorm: true,
            operator_balancing: true,
            seed: 0,
        }
    }
}

fn balancing_default() -> bool {
    true
}

fn is_balanced(on: &bool) -> bool {
    *on
}

impl SupernetTrainConfig {
    /// Checks the options; errors name the flag and the allowed range.
    pub fn check(&self) -> Result<()> {
        let bad = |what: String, reason: &str| {
            Err(SearchError::Nas {
                what,
                reason: reason.to_string(),
            })
        };
        if self.steps == 0 {
            return bad("--steps 0".into(), "must be at least 1");
        }
        if self.num_blocks == 0 {
            return bad("num_blocks 0".into(), "must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("--batch 0".into(), "must be at least 1");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("--lr {}", self.lr), "must be finite and > 0");
        }
        if !(0.0..=1.0).contains(&self.lr_warmup_frac) {
            return bad(
                format!("--lr-warmup-frac {}", self.lr_warmup_frac),
                "must be in 0..=1",
            );
        }
        if !(0.0..=1.0).contains(&self.full_path_warmup_frac) {
            return bad(
                format!("--full-path-warmup-frac {}", self.full_path_warmup_frac),
                "must be in 0..=1",
            );
        }
        if !(self.min_lr >= 0.0 && self.min_lr <= self.lr) {
            return bad(format!("min_lr {}", self.min_lr), "must be in 0..=lr");
        }
        Ok(())
    }

    /// Steps over which the full-path probability decays.
    pub fn full_path_warmup_steps(&self) -> u64 {
        (self.full_path_warmup_frac * self.steps as f64).round() as u64
    }

    /// The model options of the supernet.
    pub fn model_options(&self) -> ModelOptions {
        ModelOptions {
            layernorm: self.layernorm,
            operator_balancing: self.operator_balancing,
        }
    }
}

/// Everything of a supernet checkpoint except the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupernetCheckpointHeader {
    /// The training config.
    pub config: SupernetTrainConfig,
    /// Schema of the data the supernet was built for.
    pub schema: DataSchema,
    /// Steps done.
    pub steps_done: u64,
    /// Training loss of every step done.
    pub losses: Vec<f32>,
    /// Steps that ran the full path (warm-up).
    pub full_path_steps: u64,
}

/// What supernet training returns.
#[derive(Debug, Clone)]
pub struct SupernetTrainOutcome {
    /// The trained (or paused) supernet.
    pub supernet: Supernet,
    /// Steps done, the checkpoint's losses and warm-up count.
    pub header: SupernetCheckpointHeader,
    /// True when `stop_after_steps` paused the run before the last step.
    pub paused: bool,
    /// Seconds spent in training steps in this session.
    pub train_seconds: f64,
}

const CHECKPOINT_MAGIC: &[u8; 8] = b"RPIMSNCK";
const CHECKPOINT_VERSION: u32 = 1;

/// A fresh supernet for `schema` as `config` builds it.
pub fn build_supernet(config: &SupernetTrainConfig, schema: &DataSchema) -> Result<Supernet> {
    Supernet::with_blocks(
        config.space,
        config.num_blocks,
        schema,
        &config.model_options(),
        config.seed,
    )
    .map_err(|source| SearchError::Model {
        context: "building the supernet".to_string(),
        source: Box::new(source),
    })
}

/// Writes a checkpoint (header JSON then the supernet's state), atomically.
pub fn write_checkpoint(
    path: &Path,
    header: &SupernetCheckpointHeader,
    supernet: &Supernet,
) -> Result<()> {
    let json = serde_json::to_vec(header).map_err(|e| SearchError::Nas {
        what: format!("supernet checkpoint {}", path.display()),
        reason: format!("cannot serialise the header: {e}"),
    })?;
    let mut bytes = Vec::with_capacity(json.len() + 1024);
    bytes.extend_from_slice(CHECKPOINT_MAGIC);
    bytes.extend_from_slice(&CHECKPOINT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&json);
    supernet
        .save_state(&mut bytes)
        .map_err(|source| SearchError::Model {
            context: format!("writing {}", path.display()),
            source: Box::new(source),
        })?;
    write_atomically(path, &bytes).map_err(|source| SearchError::Model {
        context: format!("writing {}", path.display()),
        source: Box::new(source),
    })
}

/// Reads a checkpoint: its header and the supernet (rebuilt from the header's config and
/// schema, then loaded).
pub fn read_checkpoint(path: &Path) -> Result<(SupernetCheckpointHeader, Supernet)> {
    let bad = |reason: String| SearchError::Nas {
        what: format!("supernet checkpoint {}", path.display()),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|source| SearchError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    let mut input = std::io::BufReader::new(file);
    let mut magic = [0u8; 8];
    let mut b4 = [0u8; 4];
    let mut b8 = [0u8; 8];
    input
        .read_exact(&mut magic)
        .map_err(|e| bad(format!("truncated ({e})")))?;
    if &magic != CHECKPOINT_MAGIC {
        return Err(bad(
            "not a supernet checkpoint (bad magic; write one with `recpim supernet train`)".into(),
        ));
    }
    input
        .read_exact(&mut b4)
        .map_err(|e| bad(format!("truncated ({e})")))?;
    let version = u32::from_le_bytes(b4);
    if version != CHECKPOINT_VERSION {
        return Err(bad(format!(
            "version {version}, this build reads {CHECKPOINT_VERSION}"
        )));
    }
    input
        .read_exact(&mut b8)
        .map_err(|e| bad(format!("truncated ({e})")))?;
    let len = u64::from_le_bytes(b8);
    if len > 1 << 32 {
        return Err(bad(format!("header of {len} bytes is implausible")));
    }
    let mut json = vec![0u8; len as usize];
    input
        .read_exact(&mut json)
        .map_err(|e| bad(format!("truncated header ({e})")))?;
    let header: SupernetCheckpointHeader =
        serde_json::from_slice(&json).map_err(|e| bad(format!("bad header: {e}")))?;
    header.config.check()?;
    let mut supernet = build_supernet(&header.config, &header.schema)?;
    supernet
        .load_state(&mut input)
        .map_err(|source| SearchError::Model {
            context: format!("reading {}", path.display()),
            source: Box::new(source),
        })?;
    Ok((header, supernet))
}

/// Where supernet training writes and what it resumes from.
#[derive(Debug, Clone, Copy, Default)]
pub struct SupernetRunControl<'a> {
    /// Checkpoint file (written every `checkpoint_every` steps, when paused and at the end).
    pub checkpoint: Option<&'a Path>,
    /// Steps between checkpoints (none: only when paused and at the end).
    pub checkpoint_every: Option<u64>,
    /// Continue from `checkpoint` (which must exist and match the config and schema).
    pub resume: bool,
    /// Pause (with a checkpoint) once this many steps are done in total.
    pub stop_after_steps: Option<u64>,
}

/// Full batches per epoch (an incomplete last batch is skipped, as the reference does; a data
/// set smaller than one batch is one batch).
fn batches_per_epoch(rows: usize, batch: usize) -> u64 {
    (rows / batch).max(1) as u64
}

/// Trains a supernet of `config` on `train` (built for `schema`). `on_step(step, loss)` sees
/// every step (1-based count done, training loss).
pub fn train_supernet(
    train: &dyn BatchSource,
    schema: &DataSchema,
    config: &SupernetTrainConfig,
    control: SupernetRunControl<'_>,
    on_step: &mut dyn FnMut(u64, f32),
) -> Result<SupernetTrainOutcome> {
    config.check()?;
    let rows = train.num_rows();
    if rows == 0 {
        return Err(SearchError::Nas {
            what: "supernet training data".to_string(),
            reason: "holds no example".to_string(),
        });
    }
    if control.checkpoint_every == Some(0) {
        return Err(SearchError::Nas {
            what: "--checkpoint-every 0".to_string(),
            reason: "must be at least 1 step".to_string(),
        });
    }
    let (mut header, mut supernet) = match (control.resume, control.checkpoint) {
        (true, Some(path)) => {
            let (header, supernet) = read_checkpoint(path)?;
            if header.config.operator_balancing != config.operator_balancing {
                return Err(SearchError::Nas {
                    what: format!("--resume from {}", path.display()),
                    reason: format!(
                        "the checkpoint's supernet was trained {} the operator-balancing projection; \
                         rerun {} --no-operator-balancing",
                        if header.config.operator_balancing { "with" } else { "without" },
                        if header.config.operator_balancing { "without" } else { "with" }
                    ),
                });
            }
            if header.config != *config {
                return Err(SearchError::Nas {
                    what: format!("--resume from {}", path.display()),
                    reason: format!(
                        "the checkpoint was written with other options ({:?}); rerun with the same options",
                        header.config
                    ),
                });
            }
            if header.schema != *schema {
                return Err(SearchError::Nas {
                    what: format!("--resume from {}", path.display()),
                    reason: "the checkpoint was trained on data of another schema (other features or table sizes)".to_string(),
                });
            }
            (header, supernet)
        }
        (true, None) => {
            return Err(SearchError::Nas {
                what: "--resume".to_string(),
                reason: "needs a checkpoint path".to_string(),
            })
        }
        (false, _) => (
            SupernetCheckpointHeader {
                config: config.clone(),
                schema: schema.clone(),
                steps_done: 0,
                losses: Vec::new(),
                full_path_steps: 0,
            },
            build_supernet(config, schema)?,
        ),
    };
    let schedule = CosineWarmup::new(
        config.lr,
        config.min_lr,
        config.steps,
        config.lr_warmup_frac,
    );
    let warmup_steps = config.full_path_warmup_steps();
    let sampler = PathSampler {
        space: config.space,
        num_blocks: config.num_blocks,
        strategy: config.strategy,
        connections: config.connections,
    };
    let full_path = supernet.full_path();
    let per_epoch = batches_per_epoch(rows, config.batch_size);
    let batch_rows = config.batch_size.min(rows);
    let stop = control
        .stop_after_steps
        .unwrap_or(config.steps)
        .min(config.steps);
    let mut order_epoch = u64::MAX;
    let mut order = Vec::new();
    let started = Instant::now();
    while header.steps_done < stop {
        let step = header.steps_done;
        let epoch = step / per_epoch;
        if epoch != order_epoch {
            order = epoch_order(rows, config.seed, epoch);
            order_epoch = epoch;
        }
        let start = ((step % per_epoch) as usize) * batch_rows;
        let batch = train.gather(&order[start..start + batch_rows]);
        let mut rng = candidate_rng(config.seed, step, StreamPurpose::PATH_SAMPLING);
        let p_full = full_path_probability(step, warmup_steps);
        let run_full = p_full > 0.0 && rng.random::<f64>() < p_full;
        let sampled;
        let genotype = if run_full {
            header.full_path_steps += 1;
            &full_path
        } else {
            sampled = sampler.sample(&mut rng);
            &sampled
        };
        let hyper = StepHyper {
            lr: schedule.lr_at(step) as f32,
            clip_norm: config.clip_norm,
            adagrad_eps: config.adagrad_eps,
            weight_decay: config.weight_decay,
        };
        let stats = supernet
            .train_step_subnet(genotype, &batch, &hyper)
            .map_err(|source| SearchError::Model {
                context: format!("supernet step {}", step + 1),
                source: Box::new(source),
            })?;
        if !stats.loss.is_finite() {
            return Err(SearchError::Nas {
                what: format!("supernet step {}", step + 1),
                reason: format!(
                    "training loss is {} (try a lower --lr than {})",
                    stats.loss, config.lr
                ),
            });
        }
        header.losses.push(stats.loss);
        header.steps_done += 1;
        on_step(header.steps_done, stats.loss);
        if let (Some(path), Some(every)) = (control.checkpoint, control.checkpoint_every) {
            if header.steps_done % every == 0 && header.steps_done < stop {
                write_checkpoint(path, &header, &supernet)?;
            }
        }
    }
    let train_seconds = started.elapsed().as_secs_f64();
    if let Some(path) = control.checkpoint {
        write_checkpoint(path, &header, &supernet)?;
    }
    Ok(SupernetTrainOutcome {
        paused: header.steps_done < config.steps,
        supernet,
        header,
        train_seconds,
    })
}
