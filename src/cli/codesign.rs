//! `recpim codesign`: the joint search of NASRec architecture, per-operator bitwidths and ReRAM
//! crossbar settings (the main job). With no arguments it trains a small supernet on the built-in
//! synthetic Criteo-shaped data, searches `hwconfigs/spaces/default.toml` and writes
//! `runs/default/` (pareto.csv, history.csv, pareto.svg, report.md, designs/) in a few minutes.
//!
//! Budget flags (`--supernet-steps`, `--population`, `--generations`, `--val-examples`, ...) scale
//! it up for real runs on `--data FILE --format F`. The run directory holds the supernet and
//! evolution checkpoints, so `--resume` continues a killed run to the same bytes. `--island i`
//! runs island i of a multi-island search with its own seed stream (merge the islands' pareto.csv
//! with `recpim merge`).
//!
//! With `--backend plugin:PATH` the model is the plugin's genotype (`--genotype FILE`, or the
//! plugin's default), fixed for the run: there is no supernet, the search covers per-operator
//! bits and the hardware space, and the accuracy comes from the plugin's `evaluate_accuracy`
//! when it has one. Without it the log-loss objective is dropped (designs are ranked on energy,
//! latency and area) and the report says so.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use recpim_model::data::synthetic::SyntheticShape;
use recpim_model::data::{load_dataset, load_synthetic, DataFormat, LoadOptions, LoadedData};
use recpim_model::genotype::SearchSpace;
use recpim_model::hardware::{schema_for_shape, MapOptions};
use recpim_model::Batch;
use recpim_search::backend::builtin::BuiltinOptions;
use recpim_search::backend::BackendProvenance;
use recpim_search::codesign::architecture::{Architecture, ArchitectureSearch};
use recpim_search::codesign::backend_evaluate::BackendEvaluator;
use recpim_search::codesign::baselines::{compare_with_baselines, DEFAULT_BASELINES};
use recpim_search::codesign::evaluate::BuiltinEvaluator;
use recpim_search::codesign::migration::{load_migrants, EVOLUTION_CHECKPOINT};
use recpim_search::codesign::objectives::{Constraints, Objective};
use recpim_search::codesign::problem::DesignEvaluator;
use recpim_search::codesign::report::{write_run_outputs, ReportContext, RunIdentity};
use recpim_search::codesign::run::{run_codesign, CodesignOptions, GenerationProgress, RunSummary};
use recpim_search::codesign::space::CodesignSpace;
use recpim_search::compare::{Baseline, CompareSettings};
use recpim_search::nas::evolution::EvolutionConfig;
use recpim_search::nas::sampling::PathSampler;
use recpim_search::nas::supernet_training::{
    train_supernet, SupernetRunControl, SupernetTrainConfig,
};
use recpim_search::seeds::{derive_seed, StreamPurpose};

use super::backend_arg::{genotype_json, BackendArgs};
use super::progress::bar;

/// Default space, relative to the working directory (the repository root for `cargo run`).
const DEFAULT_SPACE: &str = "hwconfigs/spaces/default.toml";

/// Stream purpose of an island's seed (candidate id = island index).
const ISLAND_PURPOSE: StreamPurpose = StreamPurpose::from_label("codesign-island");

/// Arguments of `recpim codesign`.
#[derive(Args, Debug, Clone)]
pub struct CodesignArgs {
    /// CTR data file (plain, .gz or .zst), split 80/10/10. Without it: built-in synthetic
    /// Criteo-shaped data.
    #[arg(long, value_name = "FILE", requires = "format")]
    pub data: Option<PathBuf>,
    /// Format of --data: criteo|criteo-csv|avazu|kdd|libsvm|libffm.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Search-space file (hwconfigs/spaces/README.md).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_SPACE)]
    pub space: PathBuf,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// The plugin backend's genotype JSON, fixed for the run (default: the plugin's default
    /// genotype). Only with --backend plugin:PATH: the built-in backend searches NASRec
    /// architectures.
    #[arg(long, value_name = "FILE")]
    pub genotype: Option<PathBuf>,
    /// Generations of the evolution after the initial population.
    #[arg(long, default_value_t = 8)]
    pub generations: u64,
    /// Population size (aging keeps this many).
    #[arg(long, default_value_t = 16)]
    pub population: usize,
    /// Candidates sampled per generation for parent selection (default: half the population).
    #[arg(long)]
    pub sample: Option<usize>,
    /// Children per generation.
    #[arg(long, default_value_t = 4)]
    pub children: usize,
    /// Mutations per child at the first generation (falls to 1 at the last).
    #[arg(long, default_value_t = 3)]
    pub mutations: usize,
    /// Run directory (default: runs/<name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run name: the directory under runs/ when --out is not given.
    #[arg(long, default_value = "default")]
    pub name: String,
    /// Seed of the run (supernet, search); an island derives its own from it.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads for candidate evaluation (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Continue the run in the run directory from its checkpoints.
    #[arg(long)]
    pub resume: bool,
    /// Island index of a multi-island search: its own seed stream, island column in pareto.csv.
    #[arg(long)]
    pub island: Option<u32>,
    /// Run directory of another island (repeatable): the designs on its feasible front seed
    /// this run's initial population and are re-evaluated here (migration between epochs of
    /// an island search; read when the run starts, ignored by --resume of a started run).
    #[arg(long, value_name = "DIR")]
    pub migrants: Vec<PathBuf>,
    /// Largest allowed chip area, mm².
    #[arg(long)]
    pub max_area_mm2: Option<f64>,
    /// Largest allowed latency, ns.
    #[arg(long)]
    pub max_latency_ns: Option<f64>,
    /// Largest allowed energy, pJ.
    #[arg(long)]
    pub max_energy_pj: Option<f64>,
    /// Largest allowed hardware log loss (with a plugin backend: the log loss its accuracy
    /// function reports; refused when it has none).
    #[arg(long)]
    pub max_log_loss: Option<f64>,
    /// Rows of the built-in synthetic data (100,000 leave 80,000 for training: enough for the
    /// supernet to learn the planted interactions, so log losses fall below the base rate).
    #[arg(long, default_value_t = 100_000)]
    pub synthetic_rows: usize,
    /// Seed of the synthetic data and of the train/validation split.
    #[arg(long, default_value_t = recpim_model::data::DEFAULT_SPLIT_SEED)]
    pub data_seed: u64,
    /// Supernet training steps (the default run's budget: about 2.5 epochs of the synthetic
    /// training split at batch 256, the bulk of its wall time).
    #[arg(long, default_value_t = 800)]
    pub supernet_steps: u64,
    /// Supernet Adagrad learning rate. Lower than `recpim supernet train`'s reference 0.12: at
    /// short budgets Adagrad's first steps move every one of the max-width supernet's 31 M
    /// weights by about the learning rate, and at 0.12 the loss climbs to 2-3 before it recovers
    /// (BENCHMARKS.md, "Architecture search").
    #[arg(long, default_value_t = 0.04)]
    pub supernet_lr: f64,
    /// Supernet training batch size.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Validation examples per candidate (functional crossbar evaluation; the standard error of
    /// a log loss over 512 examples is about 0.02, so fewer make the accuracy axis noise).
    #[arg(long, default_value_t = 512)]
    pub val_examples: usize,
    /// Baselines to compare with: recnmp, cpu, isaac-handcrafted, rerec-like, mnsim-default or
    /// a hwconfig .toml (repeatable; default: isaac-handcrafted and recnmp).
    #[arg(long, value_name = "NAME")]
    pub baseline: Vec<String>,
    /// Compare with no baseline.
    #[arg(long, conflicts_with = "baseline")]
    pub no_baselines: bool,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// Stop after this many generations in total (resume later with --resume); for tests and
    /// time-sliced cluster jobs.
    #[arg(long, hide = true)]
    pub stop_after_generations: Option<u64>,
}

/// Data and the schema the hardware is costed at.
struct RunData {
    loaded: LoadedData,
    description: String,
    /// Built-in shape whose table sizes the hardware workload uses (reproducible through
    /// `recpim simulate --shape`); `None` = the data's own schema.
    shape: Option<SyntheticShape>,
}

fn load_data(args: &CodesignArgs) -> anyhow::Result<RunData> {
    let options = LoadOptions {
        split_seed: args.data_seed,
        ..LoadOptions::default()
    };
    match (&args.data, &args.format) {
        (Some(path), Some(format)) => {
            let format: DataFormat = format
                .parse()
                .with_context(|| format!("--format {format}"))?;
            let loaded = load_dataset(path, format, None, &options)
                .with_context(|| format!("reading data {}", path.display()))?;
            let shape = match format {
                DataFormat::Criteo => Some(SyntheticShape::Criteo),
                DataFormat::Avazu => Some(SyntheticShape::Avazu),
                DataFormat::Kdd => Some(SyntheticShape::Kdd),
                _ => None,
            };
            Ok(RunData {
                description: format!("{} ({format})", path.display()),
                loaded,
                shape,
            })
        }
        (None, _) => {
            if args.synthetic_rows < 10 {
                bail!(
                    "--synthetic-rows {} is too small; allowed: >= 10",
                    args.synthetic_rows
                );
            }
            let loaded = load_synthetic(
                SyntheticShape::Criteo,
                args.synthetic_rows,
                args.data_seed,
                &options,
            )
            .context("generating the built-in synthetic data")?;
            Ok(RunData {
                description: format!(
                    "built-in synthetic Criteo-shaped data, {} rows, seed {}",
                    args.synthetic_rows, args.data_seed
                ),
                loaded,
                shape: Some(SyntheticShape::Criteo),
            })
        }
        (Some(_), None) => bail!("--data needs --format"),
    }
}

/// Log loss of predicting the training split's positive rate for the first `examples`
/// validation rows (the rate is clamped away from 0 and 1 so the figure stays finite).
fn constant_predictor_log_loss(train: &Batch, val: &Batch, examples: usize) -> f64 {
    let rate = train.labels.iter().map(|&y| f64::from(y)).sum::<f64>() / train.len().max(1) as f64;
    let rate = rate.clamp(1e-7, 1.0 - 1e-7);
    let n = examples.min(val.len()).max(1);
    let total: f64 = val
        .labels
        .iter()
        .take(n)
        .map(|&y| {
            let y = f64::from(y);
            -(y * rate.ln() + (1.0 - y) * (1.0 - rate).ln())
        })
        .sum();
    total / n as f64
}

fn run_dir(args: &CodesignArgs) -> PathBuf {
    match (&args.out, args.island) {
        (Some(dir), _) => dir.clone(),
        (None, Some(i)) => Path::new("runs").join(format!("{}-island-{i}", args.name)),
        (None, None) => Path::new("runs").join(&args.name),
    }
}

fn baselines(args: &CodesignArgs) -> anyhow::Result<Vec<Baseline>> {
    if args.no_baselines {
        return Ok(Vec::new());
    }
    let names: Vec<String> = if args.baseline.is_empty() {
        DEFAULT_BASELINES.iter().map(|s| s.to_string()).collect()
    } else {
        args.baseline.clone()
    };
    names
        .iter()
        .map(|n| Baseline::from_name(n).with_context(|| format!("--baseline {n}")))
        .collect()
}

/// Runs `recpim codesign`.
pub fn run(args: CodesignArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let pool = {
        let mut builder = rayon::ThreadPoolBuilder::new();
        if let Some(n) = args.threads {
            if n == 0 {
                bail!("--threads 0 is invalid; allowed: >= 1");
            }
            builder = builder.num_threads(n);
        }
        builder.build().context("starting the worker threads")?
    };
    pool.install(|| run_in_pool(&args, started))
}

/// What every run shares, set up before the model side.
struct RunSetup {
    space: CodesignSpace,
    constraints: Constraints,
    baselines: Vec<Baseline>,
    seed: u64,
    dir: PathBuf,
}

/// The model side of a run, as the search and the report need it.
struct ModelSide {
    /// NASRec sampler, or the fixed backend model.
    architecture: ArchitectureSearch,
    /// The architecture part of the space for the report (e.g. "NASRec-Small").
    architecture_text: String,
    /// Objectives the evaluator measures.
    objectives: Vec<Objective>,
    /// Facts about the data, model and accuracy for the report.
    notes: Vec<String>,
    /// `recpim simulate` flags reproducing a design (see `ReportContext::simulate_flags`).
    simulate_flags: Option<String>,
    /// The backend, for run.json.
    provenance: BackendProvenance,
    /// Wall time of supernet training, s (0 without a supernet).
    supernet_seconds: f64,
}

/// A plugin backend's run: its genotype fixed, bits and hardware searched, accuracy from the
/// plugin when it has an accuracy function.
fn run_with_backend(args: &CodesignArgs, setup: &RunSetup, started: Instant) -> anyhow::Result<()> {
    if args.data.is_some() {
        bail!(
            "--data trains the NASRec supernet of the built-in backend; with --backend {} the \
             model and its accuracy come from the plugin",
            args.backend.backend
        );
    }
    let backend = args.backend.load(&BuiltinOptions::default())?;
    let genotype = genotype_json(backend.as_ref(), args.genotype.as_deref())?;
    let origin = args
        .genotype
        .as_ref()
        .map_or("default genotype".to_string(), |p| {
            format!("genotype {}", p.display())
        });
    let evaluator = BackendEvaluator::new(backend.as_ref(), &genotype, &origin)
        .with_context(|| format!("the {origin} of backend {}", backend.provenance()))?;
    let measures = evaluator.accuracy();
    // Refused before the run directory is created (the search would refuse it too).
    if args.max_log_loss.is_some() && !measures.any() {
        bail!(
            "--max-log-loss: backend {} has no accuracy model, so no design has a log loss to \
             limit",
            backend.provenance()
        );
    }
    std::fs::create_dir_all(&setup.dir)
        .with_context(|| format!("creating the run directory {}", setup.dir.display()))?;
    let provenance = backend.provenance().clone();
    let accuracy_note = if measures.any() {
        "accuracy: the plugin's evaluate_accuracy (validation log loss of the model at each \
         design's bits); it does not see the hardware, so it is recorded as log_loss_ideal, \
         log_loss_hardware is not measured, and the search ranks log_loss_ideal"
            .to_string()
    } else {
        "accuracy: not measured. The plugin has no accuracy model (its evaluate_accuracy is \
         NULL), so the log-loss objective is dropped: designs are ranked on energy, latency and \
         area, and the log-loss columns of pareto.csv and history.csv are empty (merge islands \
         with `recpim merge --objectives energy_pj,latency_ns,area_mm2`)"
            .to_string()
    };
    let model_hash = Architecture::Fixed(evaluator.model().clone()).hash_hex();
    let model = ModelSide {
        architecture: evaluator.architecture(),
        architecture_text: format!(
            "the fixed {origin} of plugin {} {} ({} quantizable operators)",
            provenance.name,
            provenance.version,
            evaluator.operators().len()
        ),
        objectives: Objective::defaults_for(measures),
        notes: vec![
            format!("backend: {provenance}"),
            format!(
                "model: the plugin's {origin} (genotype hash {model_hash}), fixed for the run: a \
                 plugin's genotype format is its own, so the search covers per-operator bits \
                 and the hardware space only"
            ),
            accuracy_note,
            "hardware figures: the plugin's workload at each design's bits, analytic engine"
                .to_string(),
        ],
        simulate_flags: Some(evaluator.simulate_flags()),
        provenance,
        supernet_seconds: 0.0,
    };
    search_and_report(args, setup, &evaluator, &model, started)
}

fn run_in_pool(args: &CodesignArgs, started: Instant) -> anyhow::Result<()> {
    let space = CodesignSpace::load(&args.space)
        .with_context(|| format!("co-design space {}", args.space.display()))?;
    let constraints = Constraints {
        max_area_mm2: args.max_area_mm2,
        max_latency_ns: args.max_latency_ns,
        max_energy_pj: args.max_energy_pj,
        max_log_loss: args.max_log_loss,
    };
    constraints.check()?;
    let baselines = baselines(args)?;
    let seed = match args.island {
        Some(i) => derive_seed(args.seed, u64::from(i), ISLAND_PURPOSE),
        None => args.seed,
    };
    let dir = run_dir(args);
    if !args.backend.is_builtin() {
        let setup = RunSetup {
            space,
            constraints,
            baselines,
            seed,
            dir,
        };
        return run_with_backend(args, &setup, started);
    }
    if let Some(path) = &args.genotype {
        bail!(
            "--genotype {} fixes a plugin backend's model; the built-in backend searches NASRec \
             architectures (give --backend plugin:PATH)",
            path.display()
        );
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating the run directory {}", dir.display()))?;

    let data = load_data(args)?;
    let schema = data.loaded.encoder.schema();
    let train = data.loaded.train.as_batch();
    let val = data.loaded.val.as_batch();
    if val.is_empty() {
        bail!("the validation split of {} is empty", data.description);
    }
    // What "learned something" means on this data: the log loss of always predicting the
    // training positive rate, on the same validation sample the candidates are scored on.
    let constant_log_loss = constant_predictor_log_loss(&train, &val, args.val_examples);

    // 1. Supernet training (checkpointed in the run directory).
    let phase = Instant::now();
    let supernet_config = SupernetTrainConfig {
        space: space.arch_space,
        steps: args.supernet_steps,
        lr: args.supernet_lr,
        batch_size: args.batch,
        seed,
        ..SupernetTrainConfig::default()
    };
    let supernet_checkpoint = dir.join("supernet.ckpt");
    let progress = bar(args.supernet_steps, "supernet", args.quiet);
    let trained = train_supernet(
        &train,
        &schema,
        &supernet_config,
        SupernetRunControl {
            checkpoint: Some(&supernet_checkpoint),
            checkpoint_every: Some(100),
            resume: args.resume && supernet_checkpoint.exists(),
            stop_after_steps: None,
        },
        &mut |step, loss| {
            progress.set_position(step);
            progress.set_message(format!("loss {loss:.4}"));
        },
    )
    .context("training the supernet")?;
    progress.finish_and_clear();
    let supernet_seconds = phase.elapsed().as_secs_f64();

    // 2. The joint search, on the supernet's weights.
    let hardware_schema = match data.shape {
        Some(shape) => schema_for_shape(shape),
        None => schema.clone(),
    };
    let evaluator = BuiltinEvaluator {
        supernet: trained.supernet,
        val,
        val_examples: args.val_examples,
        hardware_schema,
        hardware_shape: data.shape.map(|s| s.name().to_string()),
        model_options: supernet_config.model_options(),
        map: MapOptions::default(),
    };
    let provenance = args
        .backend
        .load(&BuiltinOptions::default())?
        .provenance()
        .clone();
    let model = ModelSide {
        architecture: ArchitectureSearch::Nasrec(PathSampler {
            num_blocks: supernet_config.num_blocks,
            ..PathSampler::default_for(space.arch_space)
        }),
        architecture_text: match space.arch_space {
            SearchSpace::Small => "NASRec-Small",
            SearchSpace::Full => "NASRec-Full",
        }
        .to_string(),
        objectives: Objective::DEFAULT.to_vec(),
        notes: vec![
            format!("data: {}", data.description),
            format!(
                "supernet: NASRec-{:?}, {} steps of batch {}, learning rate {}; candidates scored \
                 without fine-tuning on the first {} validation examples; the constant predictor \
                 (training positive rate) scores log loss {constant_log_loss:.4} on them",
                space.arch_space,
                args.supernet_steps,
                args.batch,
                args.supernet_lr,
                args.val_examples.min(evaluator.val.len())
            ),
            match &data.shape {
                Some(shape) => format!(
                    "hardware figures: the model mapped at the {} shape (full embedding tables), one \
                     example per inference",
                    shape.name()
                ),
                None => {
                    "hardware figures: the model mapped at the data's own table sizes, one example \
                         per inference"
                        .to_string()
                }
            },
        ],
        simulate_flags: evaluator.simulate_flags(),
        provenance,
        supernet_seconds,
    };
    let setup = RunSetup {
        space,
        constraints,
        baselines,
        seed,
        dir,
    };
    search_and_report(args, &setup, &evaluator, &model, started)
}

/// The joint evolution, the baseline comparison and the report, for either kind of run.
fn search_and_report(
    args: &CodesignArgs,
    setup: &RunSetup,
    evaluator: &dyn DesignEvaluator,
    model: &ModelSide,
    started: Instant,
) -> anyhow::Result<()> {
    let RunSetup {
        space,
        constraints,
        baselines,
        seed,
        dir,
    } = setup;
    let (seed, constraints, supernet_seconds) = (*seed, *constraints, model.supernet_seconds);
    let phase = Instant::now();
    let evolution = EvolutionConfig {
        population: args.population,
        sample_size: args.sample.unwrap_or((args.population / 2).max(1)),
        children_per_generation: args.children,
        generations: args.generations,
        mutations_start: args.mutations,
        mutations_end: 1,
        seed,
        ..EvolutionConfig::default()
    };
    let migrants = load_migrants(
        &args.migrants,
        space,
        &model.architecture,
        evaluator,
        &model.objectives,
        &constraints,
    )
    .context("reading the migrants")?;
    let options = CodesignOptions {
        evolution,
        architecture: model.architecture.clone(),
        objectives: model.objectives.clone(),
        constraints,
        checkpoint: dir.join(EVOLUTION_CHECKPOINT),
        resume: args.resume,
        stop_after_generations: args.stop_after_generations,
        migrants: migrants.genomes.clone(),
    };
    let progress = bar(args.generations + 1, "co-design", args.quiet);
    let outcome = run_codesign(space, evaluator, &options, &mut |p: &GenerationProgress| {
        progress.set_position(p.generations_done + 1);
        progress.set_message(if p.best_log_loss.is_nan() {
            format!("{} designs", p.evaluated)
        } else {
            format!(
                "{} designs, best log loss {:.4}",
                p.evaluated, p.best_log_loss
            )
        });
    })
    .context("co-design search")?;
    progress.finish_and_clear();
    if !outcome.finished {
        println!(
            "stopped after {} of {} generations; continue with --resume (checkpoint {})",
            outcome.generations_done,
            args.generations,
            options.checkpoint.display()
        );
        return Ok(());
    }

    let search_seconds = phase.elapsed().as_secs_f64();

    // 3. Baselines and the report.
    let phase = Instant::now();
    let comparison = compare_with_baselines(
        evaluator,
        &outcome,
        space,
        baselines,
        &CompareSettings::builtin()?,
        seed,
    )
    .context("comparing with the baselines")?;
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    let mut notes = model.notes.clone();
    notes.push(format!(
        "evolution: population {}, sample {}, {} children x {} generations, mutations {} -> 1",
        options.evolution.population,
        options.evolution.sample_size,
        options.evolution.children_per_generation,
        options.evolution.generations,
        options.evolution.mutations_start
    ));
    if !migrants.sources.is_empty() {
        let sources: Vec<String> = migrants
            .sources
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        notes.push(format!(
            "migration: the initial population starts from {} front designs of {} (at most \
             {} are used; duplicates dropped)",
            migrants.genomes.len(),
            sources.join(", "),
            options.evolution.population
        ));
    }
    let objective_names: Vec<&str> = options.objectives.iter().map(|o| o.name()).collect();
    let context = ReportContext {
        run_name: &args.name,
        command_line: &command_line,
        identity: RunIdentity {
            seed,
            island: args.island,
        },
        space,
        architecture: &model.architecture_text,
        history: &outcome.records,
        front: &outcome.front,
        hypervolume: &outcome.hypervolume,
        hypervolume_reference: &outcome.hypervolume_reference,
        objective_names: &objective_names,
        baselines: &comparison.marks,
        comparisons: &comparison.rows,
        simulate_flags: model.simulate_flags.as_deref(),
        notes: &notes,
        baseline_detail: &comparison.detail_markdown,
    };
    write_run_outputs(dir, &context, evaluator)
        .with_context(|| format!("writing the report into {}", dir.display()))?;
    let wall_time_s = started.elapsed().as_secs_f64();
    let summary = RunSummary {
        generations_done: outcome.generations_done,
        evaluated: outcome.records.len(),
        front_size: outcome.front.len(),
        hypervolume: outcome.hypervolume.last().map_or(0.0, |&(_, hv)| hv),
        wall_time_s,
        supernet_seconds,
        search_seconds,
        report_seconds: phase.elapsed().as_secs_f64(),
        backend: Some(model.provenance.clone()),
    };
    let summary_path = dir.join("run.json");
    std::fs::write(
        &summary_path,
        serde_json::to_string_pretty(&summary)? + "\n",
    )
    .with_context(|| format!("writing {}", summary_path.display()))?;
    println!(
        "co-design: {} designs evaluated, {} on the Pareto front, hypervolume {:.4e}, {:.1} s \
         (supernet {:.1} s, search {:.1} s, report {:.1} s)",
        summary.evaluated,
        summary.front_size,
        summary.hypervolume,
        wall_time_s,
        supernet_seconds,
        search_seconds,
        summary.report_seconds
    );
    for row in &comparison.rows {
        println!(
            "  {} vs {}: speed-up {:.2}x, energy ratio {:.2}x",
            row.design, row.baseline, row.speedup, row.energy_ratio
        );
    }
    println!("report: {}", dir.join("report.md").display());
    Ok(())
}
