//! `recpim simulate`: latency, energy and area of a workload on a hardware configuration.

use anyhow::Context;
use recpim_sim::{simulate_analytic, simulate_cycle, CsvTrace, HwConfig, Report, Workload};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Which engine runs the simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineChoice {
    /// Cycle-level: every resource occupancy scheduled (supports --trace).
    Cycle,
    /// Closed-form fast path (held equal to the cycle engine).
    Analytic,
}

/// Arguments of `recpim simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Hardware configuration (TOML, see hwconfigs/README.md).
    #[arg(long, value_name = "FILE")]
    pub hw: PathBuf,
    /// Workload file (`[[op]]` TOML, or JSON when the name ends in .json). Required today; a
    /// later `--genotype` will be the other way to give the workload.
    #[arg(long, value_name = "FILE")]
    pub workload: Option<PathBuf>,
    /// Engine.
    #[arg(long, value_enum, default_value = "cycle")]
    pub engine: EngineChoice,
    /// Write the cycle engine's events to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `recpim simulate`.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let hw = HwConfig::load(&args.hw)
        .with_context(|| format!("hardware configuration {}", args.hw.display()))?;
    let workload_path = args
        .workload
        .as_ref()
        .context("--workload FILE is required")?;
    let workload = Workload::load(workload_path)
        .with_context(|| format!("workload {}", workload_path.display()))?;
    let report = match (args.engine, &args.trace) {
        (EngineChoice::Analytic, Some(_)) => {
            anyhow::bail!("--trace needs --engine cycle (the analytic engine has no events)")
        }
        (EngineChoice::Analytic, None) => simulate_analytic(&hw, &workload)?,
        (EngineChoice::Cycle, None) => simulate_cycle(&hw, &workload, None)?,
        (EngineChoice::Cycle, Some(path)) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create trace file {}", path.display()))?;
            let mut sink = CsvTrace::new(BufWriter::new(file));
            let report = simulate_cycle(&hw, &workload, Some(&mut sink))
                .with_context(|| format!("writing trace {}", path.display()))?;
            sink.finish()
                .with_context(|| format!("writing trace {}", path.display()))?;
            report
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write_table(&mut out, &report)?;
    }
    Ok(())
}

/// Human-readable report.
fn write_table(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(out, "hardware  {} (hash {})", r.hw_name, r.hw_hash)?;
    writeln!(out, "engine    {:?}", r.engine)?;
    writeln!(out, "latency   {:.3} ns", r.latency_ns)?;
    writeln!(out, "energy    {:.3} pJ", r.energy_pj)?;
    writeln!(out, "area      {:.6} mm^2", r.area_mm2)?;
    writeln!(out, "crossbars {}   tiles {}", r.crossbars, r.tiles)?;
    writeln!(out)?;
    writeln!(out, "{:<14}{:>16}{:>14}", "bucket", "energy_pj", "area_mm2")?;
    for ((name, energy), (_, area)) in r
        .energy_breakdown_pj
        .entries()
        .iter()
        .zip(r.area_breakdown_mm2.entries().iter())
    {
        writeln!(out, "{name:<14}{energy:>16.3}{area:>14.6}")?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<24}{:<12}{:>14}{:>14}{:>16}{:>10}{:>8}",
        "layer", "kind", "latency_ns", "compute_ns", "energy_pj", "xbars", "util"
    )?;
    for l in &r.layers {
        writeln!(
            out,
            "{:<24}{:<12}{:>14.3}{:>14.3}{:>16.3}{:>10}{:>8.3}",
            l.name,
            l.kind,
            l.latency_ns,
            l.compute_latency_ns,
            l.energy_pj,
            l.crossbars,
            l.utilisation
        )?;
    }
    Ok(())
}
