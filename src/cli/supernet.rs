//! `recpim supernet train`: train a NASRec weight-sharing supernet on a CTR file (or the built-in
//! synthetic Criteo-shaped data) with one of the three path-sampling strategies, full-path
//! warm-up, Adagrad lr 0.12 with warm-up + cosine, checkpointed and resumable. Writes
//! `DIR/supernet.ckpt` (read by `recpim search`), `DIR/losses.csv` and `DIR/summary.json`.
//! Also home of the data and thread flags shared by `recpim search` and `recpim rank-study`.

use super::progress;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use recpim_model::data::synthetic::SyntheticShape;
use recpim_model::data::{
    load_dataset, load_synthetic, DataFormat, EncoderOptions, LoadOptions, LoadedData, ReadOptions,
    DEFAULT_SPLIT_SEED,
};
use recpim_model::genotype::{SearchSpace, NUM_BLOCKS};
use recpim_model::train::DEFAULT_MIN_LR;
use recpim_search::nas::sampling::{ConnectionCount, PathStrategy};
use recpim_search::nas::subnet_eval::SubnetEvalConfig;
use recpim_search::nas::supernet_training::{
    train_supernet, SupernetRunControl, SupernetTrainConfig,
};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Data flags of the architecture-search commands.
#[derive(Args, Debug, Clone)]
pub struct NasDataArgs {
    /// Data file (plain, .gz or .zst), split 80/10/10 into train/validation/test (stratified,
    /// seeded). Without it: built-in synthetic Criteo-shaped data.
    #[arg(long, value_name = "FILE", requires = "format")]
    pub data: Option<PathBuf>,
    /// Format of --data: criteo|criteo-csv|avazu|kdd|libsvm|libffm.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Rows of the built-in synthetic data set (without --data).
    #[arg(long, default_value_t = 20_000)]
    pub synthetic_rows: usize,
    /// Seed of the split and of the synthetic data.
    #[arg(long, default_value_t = DEFAULT_SPLIT_SEED)]
    pub data_seed: u64,
    /// Cap on each categorical table's rows (the reference's search uses 500,000).
    #[arg(long, default_value_t = recpim_model::data::DEFAULT_MAX_TABLE_ROWS)]
    pub max_table_rows: usize,
    /// Training occurrences a categorical value needs for its own embedding row.
    #[arg(long, default_value_t = 2)]
    pub min_count: u32,
}

/// How sub-networks are scored on the supernet's shared weights (`recpim search` and
/// `recpim rank-study`): optional last-layer fine-tuning, then validation log loss on a bounded
/// number of batches.
#[derive(Debug, Clone, clap::Args)]
pub struct SubnetScoringFlags {
    /// Fine-tuning steps of a sub-network's last layer before scoring (0 = none; in
    /// rank-study, 0 = only the rows without fine-tuning).
    #[arg(long, default_value_t = 500)]
    pub finetune_steps: u64,
    /// Peak fine-tuning learning rate.
    #[arg(long, default_value_t = 0.04)]
    pub finetune_lr: f64,
    /// Fine-tuning batch size.
    #[arg(long, default_value_t = 512)]
    pub finetune_batch: usize,
    /// Validation batches per scored sub-network.
    #[arg(long, default_value_t = 150)]
    pub val_batches: usize,
    /// Validation batch size.
    #[arg(long, default_value_t = 8192)]
    pub val_batch: usize,
}

impl SubnetScoringFlags {
    /// The evaluation configuration (other fields at their defaults).
    pub fn config(&self) -> SubnetEvalConfig {
        SubnetEvalConfig {
            finetune_steps: self.finetune_steps,
            finetune_lr: self.finetune_lr,
            finetune_batch: self.finetune_batch,
            val_batches: self.val_batches,
            val_batch_size: self.val_batch,
            ..SubnetEvalConfig::default()
        }
    }
}

impl NasDataArgs {
    /// Loads and splits the data.
    pub fn load(&self) -> anyhow::Result<LoadedData> {
        let options = LoadOptions {
            read: ReadOptions::default(),
            encoder: EncoderOptions {
                min_count: self.min_count,
                max_table_rows: self.max_table_rows,
            },
            fractions: vec![0.8, 0.1, 0.1],
            split_seed: self.data_seed,
        };
        match &self.data {
            Some(path) => {
                let name = self.format.as_deref().unwrap_or_default();
                let format: DataFormat =
                    name.parse().with_context(|| format!("--format {name}"))?;
                load_dataset(path, format, None, &options)
                    .with_context(|| format!("loading {} as {name}", path.display()))
            }
            None => load_synthetic(
                SyntheticShape::Criteo,
                self.synthetic_rows,
                self.data_seed,
                &options,
            )
            .context("generating the built-in synthetic data"),
        }
    }
}

/// Runs `f` on a pool of `threads` workers (all cores when `None`); results do not depend on it.
pub fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> anyhow::Result<T> + Send,
) -> anyhow::Result<T> {
    match threads {
        Some(0) => bail!("--threads 0: allowed is at least 1"),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .context("starting the worker threads")?
            .install(f),
        None => f(),
    }
}

/// Parses a search space name.
pub fn parse_space(name: &str) -> anyhow::Result<SearchSpace> {
    SearchSpace::from_name(name)
        .with_context(|| format!("--space {name}: allowed small (autoctr), full (xlarge)"))
}

/// Creates the output directory.
pub fn create_out(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// Writes a text file, naming it on error.
pub fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// `recpim supernet ...`
#[derive(Subcommand, Debug)]
pub enum SupernetCommand {
    /// Train a weight-sharing supernet (checkpointed, resumable).
    Train(Box<SupernetTrainArgs>),
}

/// Supernet training flags (shared with `recpim rank-study`).
#[derive(Args, Debug, Clone)]
pub struct SupernetFlags {
    /// Search space: small (NASRec-Small, autoctr) or full (NASRec-Full, xlarge).
    #[arg(long, default_value = "small")]
    pub space: String,
    /// Connection counts of the any-connection strategies: binomial (binomial-0.5) or uniform.
    #[arg(long, default_value = "binomial")]
    pub connections: String,
    /// Choice blocks of the supernet (the reference's 7; fewer for quick experiments and tests).
    #[arg(long, default_value_t = NUM_BLOCKS)]
    pub blocks: usize,
    /// Training steps (one sampled sub-network per step).
    #[arg(long, default_value_t = 1000)]
    pub steps: u64,
    /// Examples per step.
    #[arg(long, default_value_t = 512)]
    pub batch: usize,
    /// Peak Adagrad learning rate.
    #[arg(long, default_value_t = 0.12)]
    pub lr: f64,
    /// Fraction of the steps in the linear learning-rate warm-up.
    #[arg(long, default_value_t = 0.1)]
    pub lr_warmup_frac: f64,
    /// Fraction of the steps over which the probability of running the whole supernet falls
    /// linearly from 1 to 0 (0 = no full-path warm-up).
    #[arg(long, default_value_t = 0.2)]
    pub full_path_warmup_frac: f64,
    /// Train the supernet without LayerNorm (the reference trains it with LayerNorm).
    #[arg(long)]
    pub no_layernorm: bool,
    /// No operator-balancing item projection before the dot product (the reference has it): the
    /// interaction then covers every pair of the dense item and all sparse input items. Recorded
    /// in the checkpoint; `recpim search` uses the checkpoint's setting.
    #[arg(long)]
    pub no_operator_balancing: bool,
}

impl SupernetFlags {
    /// The training config for `strategy` and `seed`.
    pub fn config(&self, strategy: PathStrategy, seed: u64) -> anyhow::Result<SupernetTrainConfig> {
        let connections: ConnectionCount = self
            .connections
            .parse()
            .with_context(|| format!("--connections {}", self.connections))?;
        let config = SupernetTrainConfig {
            space: parse_space(&self.space)?,
            num_blocks: self.blocks,
            strategy,
            connections,
            steps: self.steps,
            batch_size: self.batch,
            lr: self.lr,
            lr_warmup_frac: self.lr_warmup_frac,
            min_lr: DEFAULT_MIN_LR,
            clip_norm: 5.0,
            adagrad_eps: 1e-2,
            weight_decay: 0.0,
            full_path_warmup_frac: self.full_path_warmup_frac,
            layernorm: !self.no_layernorm,
            operator_balancing: !self.no_operator_balancing,
            seed,
        };
        config.check()?;
        Ok(config)
    }
}

/// Arguments of `recpim supernet train`.
#[derive(Args, Debug, Clone)]
pub struct SupernetTrainArgs {
    #[command(flatten)]
    pub data: NasDataArgs,
    #[command(flatten)]
    pub supernet: SupernetFlags,
    /// Path sampling: single-op-any-conn, single-op-single-conn or any-op-any-conn.
    #[arg(long, default_value = "single-op-any-conn")]
    pub strategy: String,
    /// Seed of the weights, batch order and path sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory (supernet.ckpt, losses.csv, summary.json).
    #[arg(long, value_name = "DIR", default_value = "recpim-supernet")]
    pub out: PathBuf,
    /// Write the checkpoint every N steps (it is always written when paused and at the end).
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<u64>,
    /// Pause (with a checkpoint) once N steps are done in total; `--resume` continues.
    #[arg(long, value_name = "N")]
    pub stop_after_steps: Option<u64>,
    /// Continue from DIR/supernet.ckpt (same flags as the interrupted run).
    #[arg(long)]
    pub resume: bool,
    /// Worker threads (results do not depend on it). Default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar or summary on stderr.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Serialize)]
struct Summary<'a> {
    space: &'a str,
    strategy: &'a str,
    connections: &'a str,
    operator_balancing: bool,
    steps_done: u64,
    steps: u64,
    paused: bool,
    full_path_steps: u64,
    mean_loss_first_10pct: f64,
    mean_loss_last_10pct: f64,
    params_dense_max_width: usize,
    params_embedding: usize,
    train_rows: usize,
}

fn mean(values: &[f32]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64
}

/// Runs `recpim supernet ...`.
pub fn run(command: SupernetCommand) -> anyhow::Result<()> {
    match command {
        SupernetCommand::Train(args) => {
            let threads = args.threads;
            with_threads(threads, move || train(&args))
        }
    }
}

fn train(args: &SupernetTrainArgs) -> anyhow::Result<()> {
    let strategy: PathStrategy = args
        .strategy
        .parse()
        .with_context(|| format!("--strategy {}", args.strategy))?;
    let config = args.supernet.config(strategy, args.seed)?;
    let data = args.data.load()?;
    let schema = data.encoder.schema();
    create_out(&args.out)?;
    let ckpt = args.out.join("supernet.ckpt");
    if args.resume && !ckpt.exists() {
        bail!("--resume: {} does not exist", ckpt.display());
    }
    let bar = progress::bar(config.steps, "supernet", args.quiet);
    let control = SupernetRunControl {
        checkpoint: Some(&ckpt),
        checkpoint_every: args.checkpoint_every,
        resume: args.resume,
        stop_after_steps: args.stop_after_steps,
    };
    let outcome = train_supernet(&data.train, &schema, &config, control, &mut |done, loss| {
        bar.set_position(done);
        bar.set_message(format!("loss {loss:.4}"));
    })
    .with_context(|| format!("training the supernet into {}", args.out.display()))?;
    bar.finish_and_clear();
    let header = &outcome.header;
    let mut csv = String::from("step,loss\n");
    for (i, loss) in header.losses.iter().enumerate() {
        let _ = writeln!(csv, "{},{}", i + 1, loss);
    }
    write_text(&args.out.join("losses.csv"), &csv)?;
    let tenth = (header.losses.len() / 10).max(1).min(header.losses.len());
    let counts = outcome.supernet.param_counts();
    let summary = Summary {
        space: config.space.reference_name(),
        strategy: strategy.name(),
        connections: config.connections.name(),
        operator_balancing: config.operator_balancing,
        steps_done: header.steps_done,
        steps: config.steps,
        paused: outcome.paused,
        full_path_steps: header.full_path_steps,
        mean_loss_first_10pct: mean(&header.losses[..tenth]),
        mean_loss_last_10pct: mean(&header.losses[header.losses.len() - tenth..]),
        params_dense_max_width: counts.dense,
        params_embedding: counts.embedding,
        train_rows: data.train.len(),
    };
    let json = serde_json::to_string_pretty(&summary).context("serialising summary.json")?;
    write_text(&args.out.join("summary.json"), &(json + "\n"))?;
    if !args.quiet {
        eprintln!(
            "supernet {} ({}): {} of {} steps{}, loss {:.4} -> {:.4}, {} full-path steps, {:.1} s; {}",
            config.space.reference_name(),
            strategy,
            header.steps_done,
            config.steps,
            if outcome.paused { " (paused: --resume continues)" } else { "" },
            summary.mean_loss_first_10pct,
            summary.mean_loss_last_10pct,
            header.full_path_steps,
            outcome.train_seconds,
            ckpt.display()
        );
    }
    Ok(())
}
