//! `recpim data`: stratified split of a CTR file, synthetic CTR data, and a file summary.

use anyhow::Context as _;
use recpim_model::data::{
    read_rows, split_file, write_synthetic, DataFormat, Encoder, EncoderOptions, ReadOptions,
    SplitOptions, SyntheticShape, DEFAULT_MAX_TABLE_ROWS,
};
use std::path::PathBuf;

/// Data utilities.
#[derive(clap::Subcommand)]
pub enum DataCommand {
    /// Seeded stratified split of a data file into train/val/test files of the same format.
    Split(SplitArgs),
    /// Synthetic CTR data with known click probabilities (written to `<out>.true_p`).
    Synth(SynthArgs),
    /// Rows, positive rate, malformed rows and vocabulary sizes of a data file.
    Inspect(InspectArgs),
}

/// Arguments of `recpim data split`.
#[derive(clap::Args)]
pub struct SplitArgs {
    /// Input data file (plain, .gz or .zst).
    #[arg(long)]
    data: PathBuf,
    /// File format: criteo, criteo-csv, avazu, kdd, libsvm, libffm.
    #[arg(long)]
    format: DataFormat,
    /// Output directory (train/val/test files are written there).
    #[arg(long)]
    out: PathBuf,
    /// Seed of the shuffle within each class (NASRec's split uses 2018).
    #[arg(long, default_value_t = 2018)]
    seed: u64,
    /// train[,val[,test]] fractions, summing to 1.
    #[arg(long, default_value = "0.8,0.1,0.1", value_delimiter = ',')]
    fractions: Vec<f64>,
    /// Stop at the first malformed row instead of skipping it.
    #[arg(long)]
    strict: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `recpim data synth`.
#[derive(clap::Args)]
pub struct SynthArgs {
    /// Shape (fields, format, cardinalities): criteo, avazu, kdd.
    #[arg(long, default_value = "criteo")]
    shape: SyntheticShape,
    /// Number of data rows.
    #[arg(long)]
    rows: u64,
    /// Seed of the generating model and the rows.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output data file (ending in .gz or .zst compresses it).
    #[arg(long)]
    out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `recpim data inspect`.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// Data file (plain, .gz or .zst).
    #[arg(long)]
    data: PathBuf,
    /// File format: criteo, criteo-csv, avazu, kdd, libsvm, libffm.
    #[arg(long)]
    format: DataFormat,
    /// Minimum training count for a value to get its own embedding row.
    #[arg(long, default_value_t = 2)]
    min_count: u32,
    /// Cap on rows per embedding table (beyond it, modulo hashing).
    #[arg(long, default_value_t = DEFAULT_MAX_TABLE_ROWS)]
    max_table_rows: usize,
    /// Stop at the first malformed row instead of skipping it.
    #[arg(long)]
    strict: bool,
    /// Also save the fitted encoder (vocabularies) as JSON here.
    #[arg(long)]
    encoder_out: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs a `recpim data` subcommand.
pub fn run(command: DataCommand) -> anyhow::Result<()> {
    match command {
        DataCommand::Split(args) => split(args),
        DataCommand::Synth(args) => synth(args),
        DataCommand::Inspect(args) => inspect(args),
    }
}

fn split(args: SplitArgs) -> anyhow::Result<()> {
    let options = SplitOptions {
        seed: args.seed,
        fractions: args.fractions,
        read: ReadOptions {
            strict: args.strict,
            ..ReadOptions::default()
        },
    };
    let summary = split_file(&args.data, args.format, &args.out, &options).with_context(|| {
        format!(
            "splitting {} into {}",
            args.data.display(),
            args.out.display()
        )
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        for part in &summary.parts {
            let rate = if part.rows == 0 {
                0.0
            } else {
                part.positives as f64 / part.rows as f64
            };
            println!(
                "{:<5} {:>10} rows  {:>9} positive ({:.4})  {}",
                part.name,
                part.rows,
                part.positives,
                rate,
                part.path.display()
            );
        }
        if summary.report.malformed_rows > 0 {
            eprintln!("{}", summary.report);
        }
    }
    Ok(())
}

fn synth(args: SynthArgs) -> anyhow::Result<()> {
    if args.rows == 0 {
        anyhow::bail!("--rows 0: the number of rows must be at least 1");
    }
    let summary =
        write_synthetic(args.shape, args.rows, args.seed, &args.out).with_context(|| {
            format!(
                "writing synthetic {} data to {}",
                args.shape,
                args.out.display()
            )
        })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{} rows of {} ({} format) -> {}\ntrue click probabilities -> {}\npositive rate {:.4}, Bayes-optimal log loss {:.5}, constant predictor {:.5}",
            summary.rows,
            summary.shape,
            summary.shape.format(),
            summary.data_path.display(),
            summary.true_p_path.display(),
            summary.positive_rate,
            summary.bayes_logloss,
            summary.constant_logloss
        );
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct InspectSummary {
    path: PathBuf,
    format: DataFormat,
    rows: u64,
    positive_rate: f64,
    malformed_rows: u64,
    first_malformed: Vec<recpim_model::data::MalformedLine>,
    n_dense: usize,
    table_rows: Vec<usize>,
    hashed_fields: Vec<usize>,
}

fn inspect(args: InspectArgs) -> anyhow::Result<()> {
    let read = ReadOptions {
        strict: args.strict,
        ..ReadOptions::default()
    };
    let (rows, report) = read_rows(&args.data, args.format, &read)
        .with_context(|| format!("reading {}", args.data.display()))?;
    let options = EncoderOptions {
        min_count: args.min_count,
        max_table_rows: args.max_table_rows,
    };
    let encoder = Encoder::fit(&rows, &options).context("building vocabularies")?;
    if let Some(path) = &args.encoder_out {
        encoder
            .save(path)
            .with_context(|| format!("saving the encoder to {}", path.display()))?;
    }
    let schema = encoder.schema();
    let summary = InspectSummary {
        path: args.data.clone(),
        format: args.format,
        rows: report.rows_read,
        positive_rate: rows.positive_rate(),
        malformed_rows: report.malformed_rows,
        first_malformed: report.first_malformed.clone(),
        n_dense: schema.n_dense,
        table_rows: schema.table_rows.clone(),
        hashed_fields: encoder
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.is_hashed())
            .map(|(i, _)| i)
            .collect(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{report}");
        println!(
            "format {}, positive rate {:.4}, {} dense, {} categorical fields",
            summary.format,
            summary.positive_rate,
            summary.n_dense,
            summary.table_rows.len()
        );
        println!(
            "table rows (min_count {}, cap {}): {:?}",
            options.min_count, options.max_table_rows, summary.table_rows
        );
        if !summary.hashed_fields.is_empty() {
            println!(
                "fields over the cap (modulo hashed): {:?}",
                summary.hashed_fields
            );
        }
    }
    Ok(())
}
