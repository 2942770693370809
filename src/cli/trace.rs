//! `recpim trace`: seeded synthetic embedding-lookup traces (CSV) and their summary.

use anyhow::Context as _;
use recpim_sim::trace::{
    generate, read_trace, write_trace, TraceShape, TraceSpec, DEFAULT_UNIFORM_BELOW_ROWS,
    DEFAULT_ZIPF_ALPHA,
};
use std::path::PathBuf;

/// Lookup-trace utilities.
#[derive(clap::Subcommand)]
pub enum TraceCommand {
    /// Generate a seeded lookup trace shaped like a public CTR dataset.
    Gen(GenArgs),
    /// Lookups, SLS ops, tables and distinct rows of a trace file.
    Inspect(InspectArgs),
}

/// Arguments of `recpim trace gen`.
#[derive(clap::Args)]
pub struct GenArgs {
    /// Tables and pooling: criteo (one-hot), dcnv2 (MLPerf multi-hot), avazu, kdd.
    #[arg(long)]
    shape: String,
    /// Number of batches.
    #[arg(long)]
    batches: u32,
    /// Samples per batch.
    #[arg(long)]
    batch_size: u32,
    /// Seed (same seed and flags => byte-identical file).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Use this pooling factor on every table instead of the shape's (e.g. 80 for RecNMP's RM models).
    #[arg(long)]
    pooling: Option<u32>,
    /// Zipf exponent of tables with at least --uniform-below rows.
    #[arg(long, default_value_t = DEFAULT_ZIPF_ALPHA)]
    alpha: f64,
    /// Tables with fewer rows are sampled uniformly.
    #[arg(long, default_value_t = DEFAULT_UNIFORM_BELOW_ROWS)]
    uniform_below: u64,
    /// Output CSV file.
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `recpim trace inspect`.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// Trace CSV file.
    #[arg(long)]
    trace: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs a `recpim trace` subcommand.
pub fn run(command: TraceCommand) -> anyhow::Result<()> {
    match command {
        TraceCommand::Gen(args) => run_gen(args),
        TraceCommand::Inspect(args) => run_inspect(args),
    }
}

fn run_gen(args: GenArgs) -> anyhow::Result<()> {
    let shape = TraceShape::from_name(&args.shape)?;
    let mut spec = TraceSpec::new(shape, args.batches, args.batch_size, args.seed);
    spec.pooling_override = args.pooling;
    spec.zipf_alpha = args.alpha;
    spec.uniform_below_rows = args.uniform_below;
    let trace = generate(&spec).context("generating the lookup trace")?;
    write_trace(&trace, &args.out)
        .with_context(|| format!("writing the trace to {}", args.out.display()))?;
    println!(
        "wrote {} lookups ({} SLS ops, {} tables) to {}",
        trace.lookups.len(),
        trace.sls_ops(),
        trace.table_rows.len(),
        args.out.display()
    );
    Ok(())
}

fn run_inspect(args: InspectArgs) -> anyhow::Result<()> {
    let trace = read_trace(&args.trace)
        .with_context(|| format!("reading the trace {}", args.trace.display()))?;
    let mut distinct: Vec<(u32, u64)> = trace.lookups.iter().map(|l| (l.table, l.row)).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let batches = trace
        .lookups
        .iter()
        .map(|l| l.batch)
        .max()
        .map_or(0, |b| b + 1);
    let summary = serde_json::json!({
        "trace": args.trace.display().to_string(),
        "lookups": trace.lookups.len(),
        "sls_ops": trace.sls_ops(),
        "batches": batches,
        "tables": trace.table_rows.len(),
        "distinct_rows": distinct.len(),
        "table_rows": trace.table_rows,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{}: {} lookups, {} SLS ops, {} batches, {} tables, {} distinct rows",
            args.trace.display(),
            trace.lookups.len(),
            trace.sls_ops(),
            batches,
            trace.table_rows.len(),
            distinct.len()
        );
    }
    Ok(())
}
