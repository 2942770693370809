//! `recpim recnmp`: SparseLengthsSum lookups of a trace on RecNMP and on the host baseline.

use anyhow::Context as _;
use recpim_sim::recnmp::{simulate, RawRecnmpConfig, RecnmpReport};
use recpim_sim::trace::read_trace;
use std::path::PathBuf;

/// Arguments of `recpim recnmp`.
#[derive(clap::Args)]
pub struct RecnmpArgs {
    /// Lookup trace CSV (from `recpim trace gen` or in the same format).
    #[arg(long)]
    trace: PathBuf,
    /// RecNMP config TOML (default: the built-in hwconfigs/baselines/recnmp.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Ranks on the channel: 2, 4 or 8 (overrides topology.ranks).
    #[arg(long)]
    ranks: Option<u32>,
    /// RankCache size per rank in KiB, 0 = none (overrides nmp.rankcache_kb).
    #[arg(long)]
    rankcache_kb: Option<u32>,
    /// Turn table-aware packet scheduling off.
    #[arg(long)]
    no_table_aware: bool,
    /// Turn hot-entry profiling off (every row is inserted into the RankCache).
    #[arg(long)]
    no_hot_entry: bool,
    /// Bytes per embedding vector (a multiple of 64).
    #[arg(long, default_value_t = 64)]
    vector_bytes: u32,
    /// Print the full report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `recpim recnmp`.
pub fn run(args: RecnmpArgs) -> anyhow::Result<()> {
    let mut raw = match &args.config {
        Some(path) => RawRecnmpConfig::from_file(path)
            .with_context(|| format!("loading the RecNMP config {}", path.display()))?,
        None => RawRecnmpConfig::builtin().context("loading the built-in RecNMP config")?,
    };
    if let Some(ranks) = args.ranks {
        raw.topology.ranks = ranks;
        raw.origin = format!("{} with --ranks {ranks}", raw.origin);
    }
    if let Some(size_kb) = args.rankcache_kb {
        raw.nmp.rankcache_kb = size_kb;
        raw.origin = format!("{} with --rankcache-kb {size_kb}", raw.origin);
    }
    if args.no_table_aware {
        raw.nmp.table_aware = false;
    }
    if args.no_hot_entry {
        raw.nmp.hot_entry_profiling = false;
    }
    let config = raw.check()?;
    let trace = read_trace(&args.trace)
        .with_context(|| format!("reading the trace {}", args.trace.display()))?;
    let report = simulate(&config, &trace, args.vector_bytes)
        .with_context(|| format!("simulating the trace {}", args.trace.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(())
}

fn print_text(report: &RecnmpReport) {
    println!(
        "RecNMP ({}): {} ranks on {} DIMMs, {} B vectors, table-aware {}, hot-entry profiling {}",
        report.config_name,
        report.ranks,
        report.dimms,
        report.vector_bytes,
        report.table_aware,
        report.hot_entry_profiling
    );
    println!(
        "trace: {} lookups in {} SLS ops; {} NMP packets, {} pooled partial vectors returned",
        report.lookups, report.sls_ops, report.packets, report.result_vectors
    );
    if report.footprint_bytes > report.capacity_bytes {
        println!(
            "note: tables ({} B) exceed the ranks' capacity ({} B); DRAM rows alias",
            report.footprint_bytes, report.capacity_bytes
        );
    }
    println!(
        "{:<8} {:>14} {:>14} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "design",
        "latency_ns",
        "energy_nj",
        "act_pre_nj",
        "read_nj",
        "io_nj",
        "cache_nj",
        "adder_nj",
        "backgr_nj",
        "refresh_nj"
    );
    for (name, design) in [("recnmp", &report.nmp), ("host", &report.host)] {
        let e = &design.energy;
        println!(
            "{:<8} {:>14.1} {:>14.3} {:>12.3} {:>12.3} {:>12.3} {:>12.3} {:>12.3} {:>12.3} {:>12.3}",
            name,
            design.latency_ns,
            e.total_pj / 1e3,
            e.act_pre_pj / 1e3,
            e.read_pj / 1e3,
            e.io_pj / 1e3,
            e.rankcache_pj / 1e3,
            e.adder_pj / 1e3,
            e.background_pj / 1e3,
            e.refresh_pj / 1e3
        );
    }
    println!(
        "speed-up {:.2}x, energy ratio {:.2}x (RecNMP saves {:.1}% of the host's energy)",
        report.speedup,
        report.energy_ratio,
        100.0 * report.energy_saving_fraction
    );
    println!(
        "RankCache {} KiB/rank: hit rate {:.3} ({} of {} lookups), {} inserts",
        report.rankcache.size_kb,
        report.rankcache.hit_rate,
        report.rankcache.hits,
        report.rankcache.accesses,
        report.rankcache.inserts
    );
    for table in &report.rankcache.per_table {
        if table.accesses > 0 {
            println!(
                "  table {:>3}: hit rate {:.3} ({} of {})",
                table.table, table.hit_rate, table.hits, table.accesses
            );
        }
    }
}
