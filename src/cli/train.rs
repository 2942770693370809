//! `recpim train`: train a NASRec genotype or a hand-crafted baseline on a CTR file (or the
//! built-in synthetic Criteo-shaped data), validate every epoch with early stopping, and write
//! `DIR/metrics.json`, the final model state and a resumable checkpoint.
//!
//! Files larger than memory: `recpim train --data FILE --format F --stream --val-data FILE
//! [--test-data FILE] [--shuffle-buffer 100000]`. The encoder is fitted by one streaming pass
//! over --data (which also counts its rows for the learning-rate schedule); training then
//! streams --data each epoch through a seeded shuffle buffer of --shuffle-buffer rows, so memory
//! is the buffer, the model and the (in-memory) validation and test files, whatever the size of
//! --data. Checkpoints hold the stream position and `--resume` continues exactly.

use anyhow::{bail, Context};
use clap::Args;
use recpim_model::data::synthetic::SyntheticShape;
use recpim_model::data::{
    fit_encoder_streaming, load_dataset, load_synthetic, read_rows, BatchStream, DataFormat,
    EncodedDataset, Encoder, EncoderOptions, LoadOptions, LoadedData, ReadOptions, StreamOptions,
    StreamPosition, DEFAULT_SPLIT_SEED,
};
use recpim_model::genotype::Genotype;
use recpim_model::metrics::bayes_log_loss;
use recpim_model::net::{build_model, BaselineKind, ModelOptions, ModelSpec};
use recpim_model::train::{
    evaluate, train, train_stream, EpochRecord, StreamingSource, TrainConfig, TrainOutcome,
};
use recpim_model::CtrModel;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Arguments of `recpim train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Training data file (plain, .gz or .zst). Without it: built-in synthetic Criteo-shaped
    /// data with known click probabilities.
    #[arg(long, value_name = "FILE", requires = "format")]
    pub data: Option<PathBuf>,
    /// Format of --data and --test-data: criteo|criteo-csv|avazu|kdd|libsvm|libffm.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Test file (same format). Then --data is split 90/10 into train/validation; without it
    /// --data is split 80/10/10 into train/validation/test (stratified, seeded). With --stream
    /// it is loaded in memory as is, and without it there is no test set.
    #[arg(long, value_name = "FILE", requires = "data")]
    pub test_data: Option<PathBuf>,
    /// NASRec genotype JSON (the reference's format) to train.
    #[arg(long, value_name = "FILE", conflicts_with = "model")]
    pub genotype: Option<PathBuf>,
    /// Hand-crafted baseline to train instead of a genotype: lr|fm|dnn|deepfm|dlrm.
    #[arg(long, value_name = "NAME", default_value = "dlrm")]
    pub model: String,
    /// LayerNorm in every operator of a genotype (the reference's final training has it off).
    #[arg(long)]
    pub layernorm: bool,
    /// Passes over the training set (early stopping may end sooner).
    #[arg(long, default_value_t = 3)]
    pub epochs: u64,
    /// Examples per update.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Peak learning rate of Adagrad (after the warm-up).
    #[arg(long, default_value_t = 0.1)]
    pub lr: f64,
    /// Fraction of the updates spent warming the rate up linearly from 1e-8.
    #[arg(long, default_value_t = 0.1)]
    pub warmup_frac: f64,
    /// Seed of the model's initialisation and of the epoch orders.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seed of the train/validation/test split and of the synthetic data.
    #[arg(long, default_value_t = DEFAULT_SPLIT_SEED)]
    pub data_seed: u64,
    /// Output directory (metrics.json, model.state, encoder.json, checkpoint.bin).
    #[arg(long, value_name = "DIR", default_value = "recpim-train")]
    pub out: PathBuf,
    /// Print metrics.json to stdout instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// No per-epoch lines on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Make the first malformed data row an error (naming file:line) instead of skipping it.
    #[arg(long)]
    pub strict: bool,
    /// Cap on each categorical table's rows; beyond it values share rows by modulo hashing.
    #[arg(long, default_value_t = recpim_model::data::DEFAULT_MAX_TABLE_ROWS)]
    pub max_table_rows: usize,
    /// Training occurrences a categorical value needs for its own embedding row.
    #[arg(long, default_value_t = 2)]
    pub min_count: u32,
    /// Worker threads (results do not depend on it). Default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Continue from DIR/checkpoint.bin (same arguments as the interrupted run).
    #[arg(long)]
    pub resume: bool,
    /// Also write the checkpoint every N updates (it is always written at epoch ends).
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<u64>,
    /// Stop after N epochs without a better validation log loss (the best epoch is kept).
    #[arg(long, default_value_t = 1)]
    pub patience: u64,
    /// Pause (with a checkpoint) once N updates are done in total; `--resume` continues.
    #[arg(long, value_name = "N")]
    pub stop_after_steps: Option<u64>,
    /// Rows of the built-in synthetic data set (without --data).
    #[arg(long, default_value_t = 100_000)]
    pub synthetic_rows: usize,
    /// Stream --data instead of loading it: for training files larger than memory. Needs
    /// --data and --val-data; --data is not split (it is all training data), the encoder is
    /// fitted by a streaming pass over it, and each epoch reads it through a shuffle buffer.
    #[arg(long)]
    pub stream: bool,
    /// With --stream: rows held in the shuffle buffer (memory bound; 1 = file order). Each
    /// example is drawn uniformly from the buffer, so a larger buffer mixes a sorted file
    /// better.
    #[arg(long, value_name = "ROWS", default_value_t = 100_000)]
    pub shuffle_buffer: usize,
    /// With --stream: validation file (same format), loaded in memory, for the per-epoch
    /// validation and early stopping.
    #[arg(long, value_name = "FILE")]
    pub val_data: Option<PathBuf>,
}

/// The content of `metrics.json`.
#[derive(Serialize)]
struct Metrics {
    model: String,
    val_logloss: Option<f64>,
    val_auc: Option<f64>,
    test_logloss: Option<f64>,
    test_auc: Option<f64>,
    bayes_logloss: Option<f64>,
    train_samples_per_s: f64,
    steps: u64,
    best_epoch: Option<u64>,
    epochs_run: u64,
    stopped_early: bool,
    params_dense: usize,
    params_embedding: usize,
    train_rows: usize,
    val_rows: usize,
    test_rows: usize,
    malformed_rows: u64,
    epochs: Vec<EpochMetrics>,
}

#[derive(Serialize)]
struct EpochMetrics {
    epoch: u64,
    steps: u64,
    train_logloss: f64,
    val_logloss: Option<f64>,
    val_auc: Option<f64>,
}

impl From<&EpochRecord> for EpochMetrics {
    fn from(r: &EpochRecord) -> Self {
        EpochMetrics {
            epoch: r.epoch,
            steps: r.steps,
            train_logloss: r.train_logloss(),
            val_logloss: r.val_logloss(),
            val_auc: r.val_auc(),
        }
    }
}

/// Runs `recpim train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    match args.threads {
        Some(0) => bail!("--threads 0: allowed is at least 1"),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .context("building the worker thread pool")?;
            pool.install(|| run_in_pool(&args))
        }
        None => run_in_pool(&args),
    }
}

fn model_spec(args: &TrainArgs) -> anyhow::Result<(ModelSpec, String)> {
    if let Some(path) = &args.genotype {
        let genotype = Genotype::read_file(path)
            .with_context(|| format!("reading genotype {}", path.display()))?;
        let name = format!("genotype:{}:{}", genotype.config, genotype.arch_hash_hex());
        return Ok((ModelSpec::Genotype(genotype), name));
    }
    let kind = BaselineKind::from_name(&args.model).with_context(|| {
        format!(
            "--model {}: allowed are lr, fm, dnn, deepfm, dlrm",
            args.model
        )
    })?;
    Ok((ModelSpec::Baseline(kind), args.model.clone()))
}

fn load_data(args: &TrainArgs) -> anyhow::Result<LoadedData> {
    let options = LoadOptions {
        read: read_options(args),
        encoder: EncoderOptions {
            min_count: args.min_count,
            max_table_rows: args.max_table_rows,
        },
        fractions: if args.test_data.is_some() {
            vec![0.9, 0.1]
        } else {
            vec![0.8, 0.1, 0.1]
        },
        split_seed: args.data_seed,
    };
    match &args.data {
        Some(path) => {
            let format_name = args.format.as_deref().unwrap_or_default();
            let format: DataFormat = format_name
                .parse()
                .with_context(|| format!("--format {format_name}"))?;
            load_dataset(path, format, args.test_data.as_deref(), &options)
                .with_context(|| format!("loading {} as {format_name}", path.display()))
        }
        None => load_synthetic(
            SyntheticShape::Criteo,
            args.synthetic_rows,
            args.data_seed,
            &options,
        )
        .context("generating the built-in synthetic data"),
    }
}

/// Everything that must be equal between a run and its resumption (threads excluded: they
/// do not change results).
fn run_tag(args: &TrainArgs, model_name: &str) -> String {
    let mut tag = format!(
        "model={model_name} layernorm={} data={:?} format={:?} test={:?} synthetic_rows={} \
         data_seed={} min_count={} max_table_rows={} strict={}",
        args.layernorm,
        args.data,
        args.format,
        args.test_data,
        args.synthetic_rows,
        args.data_seed,
        args.min_count,
        args.max_table_rows,
        args.strict
    );
    if args.stream {
        tag.push_str(&format!(
            " stream=true shuffle_buffer={} val={:?}",
            args.shuffle_buffer, args.val_data
        ));
    }
    tag
}

fn run_in_pool(args: &TrainArgs) -> anyhow::Result<()> {
    check_stream_flags(args)?;
    let (spec, model_name) = model_spec(args)?;
    if args.stream {
        let streamed = load_streamed(args)?;
        let eval = EvalData {
            encoder: &streamed.encoder,
            val: &streamed.val,
            test: streamed.test.as_ref(),
            true_p_test: None,
            train_rows: usize::try_from(streamed.train_rows).unwrap_or(usize::MAX),
            malformed_rows: streamed.malformed_rows,
        };
        let options = StreamOptions {
            batch_size: args.batch,
            shuffle_buffer_rows: args.shuffle_buffer,
            seed: args.seed,
            read: read_options(args),
        };
        let path = streamed.path.as_path();
        let format = streamed.format;
        let encoder = &streamed.encoder;
        let open =
            |position: StreamPosition| BatchStream::open(path, format, encoder, &options, position);
        let source = StreamingSource {
            open: &open,
            rows_per_epoch: streamed.train_rows,
        };
        train_and_report(
            args,
            &spec,
            &model_name,
            &eval,
            |model, val, config, on_epoch| {
                train_stream(model, &source, Some(val), config, args.resume, on_epoch)
            },
        )
    } else {
        let data = load_data(args)?;
        if !args.quiet && data.report.malformed_rows > 0 {
            eprintln!("{}", data.report);
        }
        let eval = EvalData::of_loaded(&data);
        train_and_report(
            args,
            &spec,
            &model_name,
            &eval,
            |model, val, config, on_epoch| {
                train(model, &data.train, Some(val), config, args.resume, on_epoch)
            },
        )
    }
}

/// The flag combinations clap cannot express, with messages naming the flags.
fn check_stream_flags(args: &TrainArgs) -> anyhow::Result<()> {
    if args.stream {
        if args.data.is_none() {
            bail!("--stream needs --data FILE (the training file to stream)");
        }
        if args.val_data.is_none() {
            bail!(
                "--stream needs --val-data FILE (a streamed training file is not split, so \
                 validation comes from its own file)"
            );
        }
        if args.shuffle_buffer == 0 {
            bail!("--shuffle-buffer 0: allowed is at least 1 row");
        }
    } else if args.val_data.is_some() {
        bail!("--val-data is only used with --stream (without it --data is split)");
    }
    Ok(())
}

fn read_options(args: &TrainArgs) -> ReadOptions {
    ReadOptions {
        strict: args.strict,
        ..ReadOptions::default()
    }
}

/// The in-memory side of a streamed run: encoder, validation and test sets.
struct StreamedData {
    path: PathBuf,
    format: DataFormat,
    encoder: Encoder,
    /// Valid rows of the training file (from the encoder's pass; sizes the schedule).
    train_rows: u64,
    val: EncodedDataset,
    test: Option<EncodedDataset>,
    malformed_rows: u64,
}

fn load_streamed(args: &TrainArgs) -> anyhow::Result<StreamedData> {
    let (Some(path), Some(val_path)) = (&args.data, &args.val_data) else {
        bail!("--stream needs --data FILE and --val-data FILE");
    };
    let format_name = args.format.as_deref().unwrap_or_default();
    let format: DataFormat = format_name
        .parse()
        .with_context(|| format!("--format {format_name}"))?;
    let read = read_options(args);
    let encoder_options = EncoderOptions {
        min_count: args.min_count,
        max_table_rows: args.max_table_rows,
    };
    let (encoder, report) = fit_encoder_streaming(path, format, &read, &encoder_options)
        .with_context(|| format!("fitting the encoder on {} (streaming)", path.display()))?;
    if !args.quiet && report.malformed_rows > 0 {
        eprintln!("{report}");
    }
    let mut malformed_rows = report.malformed_rows;
    let mut load_in_memory = |file: &Path, role: &str| -> anyhow::Result<EncodedDataset> {
        let (rows, file_report) = read_rows(file, format, &read)
            .with_context(|| format!("reading {role} file {}", file.display()))?;
        if !args.quiet && file_report.malformed_rows > 0 {
            eprintln!("{file_report}");
        }
        malformed_rows += file_report.malformed_rows;
        encoder
            .encode(&rows)
            .with_context(|| format!("encoding {role} file {}", file.display()))
    };
    let val = load_in_memory(val_path, "validation")?;
    let test = match &args.test_data {
        Some(test_path) => Some(load_in_memory(test_path, "test")?),
        None => None,
    };
    Ok(StreamedData {
        path: path.clone(),
        format,
        encoder,
        train_rows: report.rows_read,
        val,
        test,
        malformed_rows,
    })
}

/// Builds the model, runs `run_training` and writes metrics.json, model.state, encoder.json.
fn train_and_report(
    args: &TrainArgs,
    spec: &ModelSpec,
    model_name: &str,
    eval: &EvalData<'_>,
    run_training: impl FnOnce(
        &mut dyn CtrModel,
        &EncodedDataset,
        &TrainConfig,
        &mut dyn FnMut(&EpochRecord),
    ) -> recpim_model::Result<TrainOutcome>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating output directory {}", args.out.display()))?;
    let schema = eval.encoder.schema();
    let options = ModelOptions {
        layernorm: args.layernorm,
        ..ModelOptions::default()
    };
    let mut model = build_model(spec, &schema, &options, args.seed)
        .with_context(|| format!("building {model_name}"))?;
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch,
        lr: args.lr,
        warmup_frac: args.warmup_frac,
        seed: args.seed,
        patience: Some(args.patience),
        checkpoint_path: Some(args.out.join("checkpoint.bin")),
        checkpoint_every: args.checkpoint_every,
        stop_after_steps: args.stop_after_steps,
        run_tag: run_tag(args, model_name),
        ..TrainConfig::default()
    };
    let quiet = args.quiet;
    let mut on_epoch = |r: &EpochRecord| {
        if !quiet {
            eprintln!(
                "epoch {:>3}  steps {:>8}  train logloss {:.5}  val logloss {}  val auc {}",
                r.epoch,
                r.steps,
                r.train_logloss(),
                fmt_opt(r.val_logloss()),
                fmt_opt(r.val_auc())
            );
        }
    };
    let outcome =
        run_training(model.as_mut(), eval.val, &config, &mut on_epoch).with_context(|| {
            format!(
                "training {model_name} (checkpoint {})",
                args.out.join("checkpoint.bin").display()
            )
        })?;
    if outcome.paused {
        if !quiet {
            eprintln!(
                "paused after {} steps; continue with the same arguments and --resume",
                outcome.steps
            );
        }
        return Ok(());
    }
    let metrics = final_metrics(model.as_ref(), model_name, eval, &outcome);
    write_outputs(args, model.as_ref(), eval, &metrics)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&metrics)?);
    } else {
        print_summary(&metrics, &args.out);
    }
    Ok(())
}

/// What the final metrics and outputs need of the data, in memory or streamed.
struct EvalData<'a> {
    encoder: &'a Encoder,
    val: &'a EncodedDataset,
    test: Option<&'a EncodedDataset>,
    /// True click probabilities of the test rows (synthetic data only).
    true_p_test: Option<&'a [f32]>,
    train_rows: usize,
    malformed_rows: u64,
}

impl<'a> EvalData<'a> {
    fn of_loaded(data: &'a LoadedData) -> Self {
        EvalData {
            encoder: &data.encoder,
            val: &data.val,
            test: data.test.as_ref(),
            true_p_test: data.true_p.as_ref().map(|p| p.test.as_slice()),
            train_rows: data.train.len(),
            malformed_rows: data.report.malformed_rows
                + data.test_report.as_ref().map_or(0, |r| r.malformed_rows),
        }
    }
}

fn final_metrics(
    model: &dyn CtrModel,
    name: &str,
    data: &EvalData<'_>,
    outcome: &TrainOutcome,
) -> Metrics {
    let test = data.test.and_then(|t| evaluate(model, t));
    let bayes = data.true_p_test.and_then(|p| {
        let test_set = data.test?;
        bayes_log_loss(test_set.labels().as_slice()?, p)
    });
    let counts = model.param_counts();
    let malformed = data.malformed_rows;
    Metrics {
        model: name.to_string(),
        val_logloss: outcome.best_val.map(|m| m.logloss),
        val_auc: outcome.best_val.and_then(|m| m.auc),
        test_logloss: test.map(|m| m.logloss),
        test_auc: test.and_then(|m| m.auc),
        bayes_logloss: bayes,
        train_samples_per_s: outcome.train_samples_per_s(),
        steps: outcome.steps,
        best_epoch: outcome.best_epoch,
        epochs_run: outcome.history.len() as u64,
        stopped_early: outcome.stopped_early,
        params_dense: counts.dense,
        params_embedding: counts.embedding,
        train_rows: data.train_rows,
        val_rows: data.val.len(),
        test_rows: data.test.map_or(0, |t| t.len()),
        malformed_rows: malformed,
        epochs: outcome.history.iter().map(EpochMetrics::from).collect(),
    }
}

fn write_outputs(
    args: &TrainArgs,
    model: &dyn CtrModel,
    data: &EvalData<'_>,
    metrics: &Metrics,
) -> anyhow::Result<()> {
    let metrics_path = args.out.join("metrics.json");
    let mut text = serde_json::to_string_pretty(metrics)?;
    text.push('\n');
    recpim_model::train::write_atomically(&metrics_path, text.as_bytes())
        .with_context(|| format!("writing {}", metrics_path.display()))?;
    let state_path = args.out.join("model.state");
    let mut state = Vec::new();
    model
        .save_state(&mut state)
        .context("saving the model state")?;
    recpim_model::train::write_atomically(&state_path, &state)
        .with_context(|| format!("writing {}", state_path.display()))?;
    let encoder_path = args.out.join("encoder.json");
    data.encoder
        .save(&encoder_path)
        .with_context(|| format!("writing {}", encoder_path.display()))?;
    Ok(())
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |x| format!("{x:.5}"))
}

fn print_summary(m: &Metrics, out: &Path) {
    println!("model            {}", m.model);
    println!(
        "data             {} train / {} val / {} test rows, {} malformed skipped",
        m.train_rows, m.val_rows, m.test_rows, m.malformed_rows
    );
    println!(
        "parameters       {} dense, {} embedding",
        m.params_dense, m.params_embedding
    );
    println!(
        "training         {} steps, {} epochs (best {}{}), {:.0} samples/s",
        m.steps,
        m.epochs_run,
        m.best_epoch.map_or("n/a".to_string(), |e| e.to_string()),
        if m.stopped_early {
            ", stopped early"
        } else {
            ""
        },
        m.train_samples_per_s
    );
    println!(
        "validation       logloss {}  auc {}",
        fmt_opt(m.val_logloss),
        fmt_opt(m.val_auc)
    );
    println!(
        "test             logloss {}  auc {}",
        fmt_opt(m.test_logloss),
        fmt_opt(m.test_auc)
    );
    if let (Some(bayes), Some(test)) = (m.bayes_logloss, m.test_logloss) {
        println!(
            "bayes-optimal    logloss {bayes:.5} (gap {:.5})",
            test - bayes
        );
    }
    println!("written          {}", out.join("metrics.json").display());
}
