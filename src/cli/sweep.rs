//! `recpim sweep`: evaluate a grid or random sample of hardware configurations (and workload
//! bitwidths) in parallel, resumable and shardable, ending with the Pareto front and its plot.
//!
//! The swept workload comes from the space's `workloads`, from `--workload FILE`, or from a
//! model backend (`--backend plugin:PATH` with `--genotype`/`--bits` or the plugin's default
//! genotype; `--genotype` alone maps a NASRec genotype with the built-in backend). A backend's
//! provenance is recorded in the shard's `manifest.json`.
//!
//! Accuracy: `--trained DIR --data F --format FMT [--val-examples N]` (with `--genotype G`, the
//! genotype `recpim train` trained into DIR, and optionally `--bits B`) maps the workload for
//! the trained model's schema and adds its quantized-ideal and hardware-functional validation
//! log losses to every evaluated row (hwconfigs/sweeps/README.md, "Accuracy in a sweep").

use crate::cli::backend_arg::{bits_json, genotype_json, BackendArgs};
use anyhow::Context;
use recpim_search::backend::builtin::BuiltinOptions;
use recpim_search::sweep::{
    run_sweep, AccuracySettings, NamedWorkload, Shard, SweepAccuracy, SweepEngine, SweepJob,
    SweepSpace, DEFAULT_CHUNK_POINTS,
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
    /// NASRec for the built-in backend (Criteo shape, batch 1; with --trained the trained
    /// model's schema), the plugin's own format for a plugin (default there: the plugin's
    /// default genotype).
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
    /// Directory of `recpim train --genotype G --out DIR` (model.state, encoder.json,
    /// metrics.json): every evaluated row gets the model's `log_loss_ideal` and
    /// `log_loss_hardware` (through the point's crossbars) on --data. Needs --genotype G (the
    /// trained genotype), --data and --format; the workload is mapped for the trained schema.
    #[arg(long, value_name = "DIR")]
    pub trained: Option<PathBuf>,
    /// With --trained: CTR data file whose first --val-examples valid rows, encoded with the
    /// trained encoder, are the validation sample.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Format of --data: criteo|criteo-csv|avazu|kdd|libsvm|libffm.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// With --trained: validation examples per point [default: 512].
    #[arg(long, value_name = "N")]
    pub val_examples: Option<usize>,
}

/// Default of `--val-examples`.
const DEFAULT_VAL_EXAMPLES: usize = 512;

/// Refuses flag combinations whose accuracy figures would not describe the swept workload.
fn check_accuracy_flags(args: &SweepArgs, space: &SweepSpace) -> anyhow::Result<()> {
    let Some(trained) = &args.trained else {
        for (given, flag) in [
            (args.data.is_some(), "--data"),
            (args.format.is_some(), "--format"),
            (args.val_examples.is_some(), "--val-examples"),
        ] {
            if given {
                anyhow::bail!("{flag} is only used with --trained DIR (a sweep with accuracy)");
            }
        }
        return Ok(());
    };
    let dir = trained.display();
    if !args.backend.is_builtin() {
        anyhow::bail!(
            "--trained {dir} needs the built-in backend: --backend {} maps its own model, not the trained one",
            args.backend.backend
        );
    }
    if let Some(path) = &args.workload {
        anyhow::bail!(
            "--trained {dir} maps the trained genotype; --workload {} is another workload",
            path.display()
        );
    }
    if args.genotype.is_none() {
        anyhow::bail!("--trained {dir} needs --genotype FILE, the genotype trained into it");
    }
    if let Some(axis) = space.axes.iter().find(|a| a.is_workload_key()) {
        anyhow::bail!(
            "--trained {dir}: the space {} sweeps {}, which changes the workload's bits but not the trained model's; give the bits with --bits FILE instead",
            args.space.display(),
            axis.key
        );
    }
    if args.data.is_none() {
        anyhow::bail!("--trained {dir} needs --data FILE (the validation data)");
    }
    if args.format.is_none() {
        anyhow::bail!("--trained {dir} needs --format FORMAT (of --data)");
    }
    if args.val_examples == Some(0) {
        anyhow::bail!("--val-examples 0: allowed is at least 1");
    }
    Ok(())
}

/// The trained model with its bits and validation sample, and the workload mapped for its
/// schema, named `builtin:<genotype>[:<bits>]:trained:<DIR>`.
fn trained_accuracy(
    args: &SweepArgs,
    trained: &Path,
) -> anyhow::Result<(SweepAccuracy, NamedWorkload)> {
    use recpim_model::data::{read_rows, DataFormat, Encoder, ReadOptions};
    use recpim_model::genotype::Genotype;
    use recpim_model::hardware::{map_genotype, MapOptions};
    use recpim_model::net::{build_nasrec, ModelOptions};
    use recpim_model::quant::{BitAssignment, QuantConfig};
    use recpim_model::CtrModel;

    let dir = trained.display();
    let genotype_path = args.genotype.as_deref().unwrap_or(Path::new(""));
    let genotype = Genotype::read_file(genotype_path)
        .with_context(|| format!("reading genotype --genotype {}", genotype_path.display()))?;
    // metrics.json names the trained model: `genotype:<config>:<architecture hash>`.
    let metrics_path = trained.join("metrics.json");
    if let Ok(text) = std::fs::read_to_string(&metrics_path) {
        let metrics: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("--trained {dir}: reading {}", metrics_path.display()))?;
        if let Some(model) = metrics.get("model").and_then(|m| m.as_str()) {
            let wanted = format!("genotype:{}:{}", genotype.config, genotype.arch_hash_hex());
            if model != wanted {
                anyhow::bail!(
                    "--trained {dir} holds model {model}, but --genotype {} is {wanted}: give the genotype it was trained with",
                    genotype_path.display()
                );
            }
        }
    }
    let encoder_path = trained.join("encoder.json");
    let encoder = Encoder::load(&encoder_path)
        .with_context(|| format!("--trained {dir}: reading {}", encoder_path.display()))?;
    let schema = encoder.schema();
    let state_path = trained.join("model.state");
    let state = std::fs::read(&state_path)
        .with_context(|| format!("--trained {dir}: reading {}", state_path.display()))?;
    // The state does not say whether the operators have LayerNorm: the one whose parameters
    // it fits is the trained model.
    let mut loaded = None;
    let mut first_error = None;
    for layernorm in [false, true] {
        let options = ModelOptions {
            layernorm,
            ..ModelOptions::default()
        };
        let mut model = build_nasrec(&genotype, &schema, &options, 0)
            .with_context(|| format!("--trained {dir}: building the genotype's model"))?;
        match model.load_state(&mut state.as_slice()) {
            Ok(()) => {
                loaded = Some((model, options));
                break;
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let (model, model_options) = match (loaded, first_error) {
        (Some(loaded), _) => loaded,
        (None, Some(e)) => {
            return Err(anyhow::Error::new(e).context(format!(
                "--trained {dir}: {} is not a state of --genotype {}",
                state_path.display(),
                genotype_path.display()
            )))
        }
        (None, None) => unreachable!("two attempts were made"),
    };
    let (bits, bits_label) = match &args.bits {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading bits file {}", path.display()))?;
            let origin = path.display().to_string();
            (
                BitAssignment::from_json_for_genotype(&text, &origin, &genotype)
                    .with_context(|| format!("--bits {origin}"))?,
                origin,
            )
        }
        None => (
            BitAssignment::uniform_8(&genotype).context("uniform 8-bit assignment")?,
            "uniform-8".to_string(),
        ),
    };
    let mapped = map_genotype(
        &genotype,
        &schema,
        &model_options,
        Some(&bits),
        &MapOptions::default(),
    )
    .with_context(|| format!("mapping --genotype {}", genotype_path.display()))?;

    let data = args.data.as_deref().unwrap_or(Path::new(""));
    let format_name = args.format.as_deref().unwrap_or_default();
    let format: DataFormat = format_name
        .parse()
        .with_context(|| format!("--format {format_name}"))?;
    let val_examples = args.val_examples.unwrap_or(DEFAULT_VAL_EXAMPLES);
    let read = ReadOptions {
        max_rows: Some(val_examples as u64),
        ..ReadOptions::default()
    };
    let (rows, _report) = read_rows(data, format, &read)
        .with_context(|| format!("--data {} as {format_name}", data.display()))?;
    let encoded = encoder.encode(&rows).with_context(|| {
        format!(
            "--data {}: encoding with {}",
            data.display(),
            encoder_path.display()
        )
    })?;
    if encoded.is_empty() {
        anyhow::bail!("--data {}: no valid row to validate on", data.display());
    }
    let indices: Vec<usize> = (0..encoded.len()).collect();
    let val = encoded
        .batch_of(&indices)
        .with_context(|| format!("--data {}", data.display()))?;

    let settings = AccuracySettings {
        trained: trained.display().to_string(),
        model_state_fnv: recpim_search::sweep::rows::fnv1a_hex(&state),
        data: data.display().to_string(),
        format: format_name.to_string(),
        val_examples,
        val_rows: val.len(),
        bits: bits_label,
    };
    let backend = args.backend.load(&BuiltinOptions::default())?;
    let mut name = format!("{}:{}", backend.name(), genotype_path.display());
    if let Some(path) = &args.bits {
        name.push_str(&format!(":{}", path.display()));
    }
    name.push_str(&format!(":trained:{dir}"));
    let workload = NamedWorkload::from_backend(name, mapped.workload, backend.provenance().clone());
    let accuracy = SweepAccuracy::new(model, QuantConfig::new(bits), val, settings)
        .map_err(|e| anyhow::anyhow!("--trained {dir}: {e}"))?;
    Ok((accuracy, workload))
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
    check_accuracy_flags(&args, &space)?;
    let accuracy = match &args.trained {
        Some(dir) => Some(trained_accuracy(&args, dir)?),
        None => None,
    };
    let from_backend = !args.backend.is_builtin() || args.genotype.is_some();
    let workloads = match &args.workload {
        _ if accuracy.is_some() => accuracy.iter().map(|(_, w)| w.clone()).collect(),
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
        accuracy: accuracy.as_ref().map(|(a, _)| a),
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
    if let Some((a, _)) = &accuracy {
        println!(
            "accuracy  log_loss_ideal, log_loss_hardware of {} on the first {} rows of {}",
            a.settings.trained, a.settings.val_rows, a.settings.data
        );
    }
    Ok(())
}
