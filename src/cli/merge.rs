//! `recpim merge`: joins sweep shards (or co-design island runs) into one CSV without duplicate
//! configurations, and rebuilds the Pareto front and its plot.

use anyhow::Context;
use recpim_search::sweep::merge_files;
use std::path::PathBuf;

/// Arguments of `recpim merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Result CSV files, or directories searched recursively for `rows.csv` (sweep shards) and
    /// `pareto.csv` (co-design runs).
    #[arg(value_name = "FILES|DIR", required = true)]
    pub inputs: Vec<PathBuf>,
    /// The merged CSV; `<stem>.front.csv` and `<stem>.svg` are written next to it.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Objective columns of the front, all minimised, comma-separated; the plot shows the first
    /// two. Default: latency_ns,energy_pj,area_mm2 for sweeps; energy_pj, the hardware log loss
    /// and latency_ns for co-design fronts.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub objectives: Option<Vec<String>>,
}

/// Runs `recpim merge`.
pub fn run(args: MergeArgs) -> anyhow::Result<()> {
    let outcome = merge_files(&args.inputs, &args.out, args.objectives.as_deref())
        .with_context(|| format!("merging into {}", args.out.display()))?;
    println!(
        "merged    {} files, {} rows -> {} rows ({} duplicate config hashes dropped)",
        outcome.inputs.len(),
        outcome.input_rows,
        outcome.rows,
        outcome.input_rows - outcome.rows
    );
    println!("rows      {}", outcome.out_path.display());
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
