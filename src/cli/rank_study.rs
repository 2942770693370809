//! `recpim rank-study`: how well the supernet ranks sub-networks (the paper's Table 2). N random
//! sub-networks are trained standalone; for each path-sampling strategy a supernet is trained and
//! scores them without and with last-layer fine-tuning; Pearson's r and Kendall's tau with
//! p-values go to `DIR/rank_study.csv` and `DIR/rank_study.md`, per-sub-network figures to
//! `DIR/subnets.csv`. `--no-operator-balancing` applies to the supernets and the standalone
//! networks alike.

use super::supernet::{
    create_out, with_threads, write_text, NasDataArgs, SubnetScoringFlags, SupernetFlags,
};
use anyhow::Context;
use clap::Args;
use recpim_model::net::ModelOptions;
use recpim_model::train::TrainConfig;
use recpim_search::nas::architecture_search::StandaloneConfig;
use recpim_search::nas::rank_study::{rows_csv, rows_markdown, run_rank_study, RankStudyConfig};
use recpim_search::nas::sampling::{PathStrategy, ALL_STRATEGIES};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Arguments of `recpim rank-study`.
#[derive(Args, Debug, Clone)]
pub struct RankStudyArgs {
    #[command(flatten)]
    pub data: NasDataArgs,
    #[command(flatten)]
    pub supernet: SupernetFlags,
    /// Strategies to compare (comma-separated; default all three).
    #[arg(long, value_delimiter = ',')]
    pub strategies: Vec<String>,
    /// Random sub-networks trained standalone.
    #[arg(long, default_value_t = 100)]
    pub subnets: usize,
    #[command(flatten)]
    pub scoring: SubnetScoringFlags,
    /// Epochs of standalone training.
    #[arg(long, default_value_t = 1)]
    pub standalone_epochs: u64,
    /// Batch size of standalone training.
    #[arg(long, default_value_t = 512)]
    pub standalone_batch: usize,
    /// Learning rate of standalone training.
    #[arg(long, default_value_t = 0.12)]
    pub standalone_lr: f64,
    /// LayerNorm in the standalone networks (the reference's final training has it off).
    #[arg(long)]
    pub layernorm: bool,
    /// Seed of the sub-network draw, the supernets and the standalone training.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seed of the standalone training only (initial weights and batch order; default --seed):
    /// the same sub-networks retrained with another seed measure the ground truth's own noise.
    #[arg(long)]
    pub standalone_seed: Option<u64>,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "recpim-rank-study")]
    pub out: PathBuf,
    /// Worker threads (results do not depend on it). Default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `recpim rank-study`.
pub fn run(args: RankStudyArgs) -> anyhow::Result<()> {
    let threads = args.threads;
    with_threads(threads, move || study(&args))
}

fn study(args: &RankStudyArgs) -> anyhow::Result<()> {
    let strategies: Vec<PathStrategy> = if args.strategies.is_empty() {
        ALL_STRATEGIES.to_vec()
    } else {
        args.strategies
            .iter()
            .map(|s| s.parse().with_context(|| format!("--strategies {s}")))
            .collect::<anyhow::Result<_>>()?
    };
    let supernet = args
        .supernet
        .config(PathStrategy::SingleOpAnyConn, args.seed)?;
    let standalone_seed = args.standalone_seed.unwrap_or(args.seed);
    let config = RankStudyConfig {
        subnets: args.subnets,
        strategies,
        supernet,
        eval: args.scoring.config(),
        standalone: StandaloneConfig {
            train: TrainConfig {
                epochs: args.standalone_epochs,
                batch_size: args.standalone_batch,
                lr: args.standalone_lr,
                seed: standalone_seed,
                patience: None,
                ..TrainConfig::default()
            },
            model: ModelOptions {
                layernorm: args.layernorm,
                operator_balancing: !args.supernet.no_operator_balancing,
            },
            init_seed: standalone_seed,
        },
        seed: args.seed,
    };
    config.standalone.train.check()?;
    let data = args.data.load()?;
    let schema = data.encoder.schema();
    create_out(&args.out)?;
    let quiet = args.quiet;
    let outcome = run_rank_study(&data.train, &data.val, &schema, &config, &mut |stage| {
        if !quiet {
            eprintln!("rank-study: {stage}");
        }
    })
    .context("running the ranking study")?;
    write_text(&args.out.join("rank_study.csv"), &rows_csv(&outcome.rows))?;
    let mut md = format!(
        "# Ranking study ({} sub-networks, {} space, supernet {} steps, operator balancing {})\n\nCorrelation between the validation log loss predicted from each supernet and the standalone one.\n\n",
        outcome.subnets.len(),
        config.supernet.space.reference_name(),
        config.supernet.steps,
        if config.supernet.operator_balancing { "on" } else { "off" }
    );
    md.push_str(&rows_markdown(&outcome.rows));
    write_text(&args.out.join("rank_study.md"), &md)?;
    let mut csv = String::from("index,genotype_hash,flops,standalone_val_logloss");
    for p in &outcome.predictions {
        let _ = write!(csv, ",{}_noft", p.strategy);
        if !p.with_finetune.is_empty() {
            let _ = write!(csv, ",{}_ft", p.strategy);
        }
    }
    csv.push('\n');
    for (i, (g, s)) in outcome.subnets.iter().zip(&outcome.standalone).enumerate() {
        let _ = write!(
            csv,
            "{i},{},{},{}",
            g.arch_hash_hex(),
            s.flops,
            s.val_logloss
        );
        for p in &outcome.predictions {
            let _ = write!(csv, ",{}", p.without_finetune[i]);
            if let Some(v) = p.with_finetune.get(i) {
                let _ = write!(csv, ",{v}");
            }
        }
        csv.push('\n');
    }
    write_text(&args.out.join("subnets.csv"), &csv)?;
    if !quiet {
        eprint!("{}", rows_markdown(&outcome.rows));
    }
    Ok(())
}
