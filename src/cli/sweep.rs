//! `recpim sweep`: evaluate a grid or random sample of hardware configurations (and workload
//! bitwidths) in parallel, resumable and shardable, ending with the Pareto front and its plot.
//!
//! The swept workload comes from the space's `workloads`, from `--workload FILE`, or from a
//! model backend (`--backend plugin:PATH` with `--genotype`/`--bits` or the plugin's default
//! genotype; `--genotype` alone maps a NASRec genotype with the built-in backend). A backend's
//! provenance is recorded in the shard's `manifest.json`.

use crate::cli::backend_arg::{bits_json, genotype_json, BackendArgs};
use anyhow::Context;
use recpim_search::backend::builtin::BuiltinOptions;
use recpim_search::sweep::{
    run_sweep, NamedWorkload, Shard, SweepEngine, SweepJob, SweepSpace, DEFAULT_CHUNK_POINTS,
};
use std::path::{Path, PathBuf};

use super::simulate::EngineChoice;

/// Arguments of `recpim sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Sweep-space file (see hwconfigs/sweeps/README.md).
    #[arg(value_name = "SPACE.toml")]
    pub space: PathBuf,
    /// Workload file; replaces the space's `workloads` list.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["genotype", "bits"])]
    pub workload: Option<PathBuf>,
    /// Genotype JSON whose workload (from the backend) replaces the space's `workloads` list:
    /// NASRec for the built-in backend (Criteo shape, batch 1), the plugin's own format for a
    /// plugin (default there: the plugin's default genotype).
    #[arg(long, value_name = "FILE")]
    pub genotype: Option<PathBuf>,
    /// Bits file `{"weight_bits": [..], "activation_bits": [..]}` for the backend's genotype
    /// (default: the backend's bits).
    #[arg(long, value_name = "FILE")]
    pub bits: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
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
    /// No progress bar (it is hidden anyway when stderr is not a terminal).
    #[arg(long)]
    pub quiet: bool,
}

/// The workload a backend gives for `--genotype` (or its default genotype) and `--bits`,
/// named `<backend>:<genotype file or "default">[:<bits file>]` in the rows.
fn backend_workload(args: &SweepArgs) -> anyhow::Result<NamedWorkload> {
    let backend = args.backend.load(&BuiltinOptions::default())?;
    let genotype = genotype_json(backend.as_ref(), args.genotype.as_deref())?;
    let bits = bits_json(args.bits.as_deref())?;
    let label = |path: Option<&Path>, default: &str| {
        path.map_or(default.to_string(), |p| p.display().to_string())
    };
    let mut name = format!(
        "{}:{}",
        backend.name(),
        label(args.genotype.as_deref(), "default")
    );
    if let Some(path) = &args.bits {
        name.push_str(&format!(":{}", path.display()));
    }
    let workload = backend
        .workload(&genotype, bits.as_deref())
        .with_context(|| format!("workload {name} from backend {}", backend.provenance()))?;
    Ok(NamedWorkload::from_backend(
        name,
        workload,
        backend.provenance().clone(),
    ))
}

/// Runs `recpim sweep`.
pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    let space = SweepSpace::load(&args.space)
        .with_context(|| format!("sweep space {}", args.space.display()))?;
    let from_backend = !args.backend.is_builtin() || args.genotype.is_some();
    let workloads = match &args.workload {
        Some(path) if !args.backend.is_builtin() => anyhow::bail!(
            "--workload {} is a ready workload but --backend {} maps a genotype: give one of them",
            path.display(),
            args.backend.backend
        ),
        Some(path) => vec![NamedWorkload::load(path, path.display().to_string())?],
        None if from_backend => vec![backend_workload(&args)?],
        None if args.bits.is_some() => {
            anyhow::bail!("--bits applies to a backend's genotype: give --genotype FILE too")
        }
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
    let progress = crate::cli::progress::bar(0, "sweep", args.quiet);
    let outcome = run_sweep(&job, &mut |done, total| {
        progress.set_length(total);
        progress.set_position(done);
    })
    .with_context(|| format!("sweep {} into {}", args.space.display(), out_dir.display()))?;
    progress.finish_and_clear();
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
    for w in &workloads {
        if let Some(backend) = &w.backend {
            println!("backend   {backend} (workload {})", w.name);
        }
    }
    Ok(())
}
