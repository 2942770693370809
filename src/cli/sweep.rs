//! `recpim sweep`: evaluate a grid or random sample of hardware configurations (and workload
//! bitwidths) in parallel, resumable and shardable, ending with the Pareto front and its plot.

use anyhow::Context;
use recpim_search::sweep::{
    run_sweep, NamedWorkload, Shard, SweepEngine, SweepJob, SweepSpace, DEFAULT_CHUNK_POINTS,
};
use std::path::PathBuf;

use super::simulate::EngineChoice;

/// Arguments of `recpim sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Sweep-space file (see hwconfigs/sweeps/README.md).
    #[arg(value_name = "SPACE.toml")]
    pub space: PathBuf,
    /// Workload file; replaces the space's `workloads` list.
    #[arg(long, value_name = "FILE")]
    pub workload: Option<PathBuf>,
    /// Engine evaluating every point.
    #[arg(long, value_enum, default_value = "analytic")]
    pub engine: EngineChoice,
    /// Output directory (default `runs/sweep-<space name>`); a shard writes to
    /// `<DIR>/shard-<i>-of-<N>/`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Evaluate only shard i of N (0-based), the points p with p % N == i. Without it the
    /// shard comes from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX.
    #[arg(long, value_name = "i/N")]
    pub shard: Option<String>,
    /// Number of shards, for JOB_COMPLETION_INDEX (Kubernetes does not export it; the
    /// RECPIM_SHARDS variable works too) or to override SLURM_ARRAY_TASK_COUNT.
    #[arg(long, value_name = "N")]
    pub shards: Option<u64>,
    /// Continue the sweep already in the output directory.
    #[arg(long)]
    pub resume: bool,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// Points evaluated between two journal writes (a kill loses at most one chunk).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CHUNK_POINTS as u64,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub chunk_points: u64,
}

/// Runs `recpim sweep`.
pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    let space = SweepSpace::load(&args.space)
        .with_context(|| format!("sweep space {}", args.space.display()))?;
    let workloads = match &args.workload {
        Some(path) => vec![NamedWorkload::load(path, path.display().to_string())?],
        None => space.load_workloads()?,
    };
    if workloads.is_empty() {
        anyhow::bail!(
            "{}: the space lists no workloads; give --workload FILE",
            args.space.display()
        );
    }
    let shard = Shard::resolve(args.shard.as_deref(), args.shards, |name| {
        std::env::var(name).ok()
    })?;
    let base_out = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .space
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "space".to_string());
        PathBuf::from("runs").join(format!("sweep-{stem}"))
    });
    let out_dir = if shard.is_whole() {
        base_out
    } else {
        base_out.join(shard.dir_name())
    };
    let engine = match args.engine {
        EngineChoice::Analytic => SweepEngine::Analytic,
        EngineChoice::Cycle => SweepEngine::Cycle,
    };
    let job = SweepJob {
        space: &space,
        workloads: &workloads,
        engine,
        shard,
        out_dir: out_dir.clone(),
        resume: args.resume,
        threads: args.threads,
        chunk_points: usize::try_from(args.chunk_points).unwrap_or(DEFAULT_CHUNK_POINTS),
    };
    let started = std::time::Instant::now();
    let outcome = run_sweep(&job, &mut |_done, _total| {})
        .with_context(|| format!("sweep {} into {}", args.space.display(), out_dir.display()))?;
    let seconds = started.elapsed().as_secs_f64();

    println!(
        "sweep {}: {} points{}; shard {} has {} ({} resumed from the journal, {} evaluated in {:.2} s{})",
        args.space.display(),
        outcome.total_points,
        match space.sampling {
            recpim_search::sweep::Sampling::Grid => " (grid)".to_string(),
            recpim_search::sweep::Sampling::Random { seed, .. } =>
                format!(" (random sample, seed {seed})"),
        },
        shard,
        outcome.shard_points,
        outcome.resumed_points,
        outcome.evaluated_points,
        seconds,
        if outcome.evaluated_points > 0 && seconds > 0.0 {
            format!(", {:.0} configs/s", outcome.evaluated_points as f64 / seconds)
        } else {
            String::new()
        }
    );
    println!(
        "rows      {} ({} rows, {} skipped as invalid combinations)",
        outcome.rows_path.display(),
        outcome.rows,
        outcome.skipped
    );
    println!(
        "front     {} ({} of {} evaluated rows, minimising {})",
        outcome.front.front_path.display(),
        outcome.front.front_rows,
        outcome.front.evaluated_rows,
        outcome.front.objectives.join(", ")
    );
    match &outcome.front.plot_path {
        Some(path) => println!("plot      {}", path.display()),
        None => println!("plot      none (no row has figures)"),
    }
    Ok(())
}
