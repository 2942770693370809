//! `recpim compare`: designs against RecNMP and handcrafted ReRAM baselines, per operator class
//! and end to end (the library is `recpim_search::compare`).

use crate::cli::backend_arg::{bits_json, genotype_json, BackendArgs};
use anyhow::Context;
use recpim_model::data::SyntheticShape;
use recpim_model::hardware::MapOptions;
use recpim_search::backend::builtin::BuiltinOptions;
use recpim_search::compare::lookups::gather_shape;
use recpim_search::compare::{
    compare, to_markdown, write_outputs, Baseline, CompareSettings, HostCpu, LookupSource,
};
use recpim_sim::recnmp::{RawRecnmpConfig, ALLOWED_RANKS};
use recpim_sim::trace::{read_trace, TraceShape};
use recpim_sim::{HwConfig, Workload};
use std::path::PathBuf;
use std::str::FromStr;

/// Arguments of `recpim compare`.
/// Examples per inference when mapping a genotype.
const DEFAULT_BATCH: u64 = 16;

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Hardware configuration of a design under study (repeat for several).
    #[arg(long, value_name = "FILE", required = true)]
    pub hw: Vec<PathBuf>,
    /// Baseline: recnmp, cpu, isaac-handcrafted, rerec-like, mnsim-default, or a ReRAM
    /// hwconfig file (.toml). Repeat for several; default: recnmp and isaac-handcrafted.
    #[arg(long, value_name = "NAME|FILE")]
    pub baseline: Vec<String>,
    /// Workload file (`[[op]]` TOML, or JSON when the name ends in .json).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["genotype", "bits"])]
    pub workload: Option<PathBuf>,
    /// Genotype JSON to map to a workload through the model backend.
    #[arg(long, value_name = "FILE")]
    pub genotype: Option<PathBuf>,
    /// Bits file `{"weight_bits": [..], "activation_bits": [..]}` (default: the backend's).
    #[arg(long, value_name = "FILE")]
    pub bits: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Data shape the built-in backend maps the genotype for (criteo, avazu, kdd); the embedding
    /// lookups are then generated for that dataset's real table sizes when the model has the
    /// same tables (Criteo), otherwise from the model's own tables.
    #[arg(long, default_value = "criteo", value_parser = parse_shape)]
    pub shape: SyntheticShape,
    /// Examples per inference when mapping a genotype (MVM count, embedding lookups).
    #[arg(long, default_value_t = DEFAULT_BATCH, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub batch: u64,
    /// Lookup trace CSV (`recpim trace gen`) that every design serves instead of generated lookups.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Seed of the generated lookups.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// RecNMP config TOML (default: the built-in hwconfigs/baselines/recnmp.toml).
    #[arg(long, value_name = "FILE")]
    pub recnmp_config: Option<PathBuf>,
    /// RecNMP ranks on the channel: 2, 4 or 8 (overrides topology.ranks).
    #[arg(long)]
    pub ranks: Option<u32>,
    /// Host CPU FP32 MACs per ns for the recnmp and cpu baselines' non-embedding ops.
    #[arg(long)]
    pub host_macs_per_ns: Option<f64>,
    /// Host CPU busy power in mW.
    #[arg(long)]
    pub host_power_mw: Option<f64>,
    /// Print the comparison as JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
    /// Also write compare.md, figures.csv, ratios.csv and compare.json into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

fn parse_shape(value: &str) -> Result<SyntheticShape, String> {
    SyntheticShape::from_str(value).map_err(|e| e.to_string())
}

/// The workload and a line describing it.
fn load_workload(args: &CompareArgs) -> anyhow::Result<(Workload, String)> {
    if let Some(path) = &args.workload {
        let workload =
            Workload::load(path).with_context(|| format!("workload {}", path.display()))?;
        return Ok((workload, format!("workload file {}", path.display())));
    }
    if args.genotype.is_none() && args.backend.is_builtin() {
        anyhow::bail!("give --workload FILE or --genotype FILE");
    }
    args.backend.refuse_builtin_mapping_flags(&[
        ("--shape", args.shape != SyntheticShape::Criteo),
        ("--batch", args.batch != DEFAULT_BATCH),
    ])?;
    let options = BuiltinOptions {
        shape: args.shape,
        map: MapOptions {
            batch: args.batch,
            ..MapOptions::default()
        },
        ..BuiltinOptions::default()
    };
    let backend = args.backend.load(&options)?;
    let genotype = genotype_json(backend.as_ref(), args.genotype.as_deref())?;
    let bits = bits_json(args.bits.as_deref())?;
    let workload = backend
        .workload(&genotype, bits.as_deref())
        .with_context(|| match &args.genotype {
            Some(path) => format!("mapping genotype {}", path.display()),
            None => "mapping the backend's default genotype".to_string(),
        })?;
    let mut description = format!("backend {}", backend.provenance());
    if let Some(path) = &args.genotype {
        description.push_str(&format!(", genotype {}", path.display()));
    }
    match &args.bits {
        Some(path) => description.push_str(&format!(", bits {}", path.display())),
        None => description.push_str(", default bits"),
    }
    if args.backend.is_builtin() {
        description.push_str(&format!(
            ", {} shape, batch {}",
            args.shape.name(),
            args.batch
        ));
    }
    Ok((workload, description))
}

fn settings(args: &CompareArgs) -> anyhow::Result<CompareSettings> {
    let mut raw = match &args.recnmp_config {
        Some(path) => RawRecnmpConfig::from_file(path)
            .with_context(|| format!("loading the RecNMP config {}", path.display()))?,
        None => RawRecnmpConfig::builtin().context("loading the built-in RecNMP config")?,
    };
    if let Some(ranks) = args.ranks {
        if !ALLOWED_RANKS.contains(&ranks) {
            anyhow::bail!("--ranks {ranks} is out of range (allowed: {ALLOWED_RANKS:?})");
        }
        raw.topology.ranks = ranks;
        raw.origin = format!("{} with --ranks {ranks}", raw.origin);
    }
    let recnmp = raw.check().context("checking the RecNMP config")?;
    let mut host = HostCpu::default();
    for (flag, value, field) in [
        (
            "--host-macs-per-ns",
            args.host_macs_per_ns,
            &mut host.macs_per_ns,
        ),
        ("--host-power-mw", args.host_power_mw, &mut host.power_mw),
    ] {
        if let Some(value) = value {
            if !(value.is_finite() && value > 0.0) {
                anyhow::bail!("{flag} {value} is invalid: it must be finite and > 0");
            }
            *field = value;
        }
    }
    host.check().context("checking the host CPU model")?;
    let lookups = match &args.trace {
        Some(path) => LookupSource::Trace {
            trace: read_trace(path)
                .with_context(|| format!("reading the trace {}", path.display()))?,
            origin: path.display().to_string(),
        },
        None if args.workload.is_none() && args.backend.is_builtin() => LookupSource::Shape {
            shape: TraceShape::from_name(args.shape.name())
                .with_context(|| format!("shape {}", args.shape.name()))?,
            seed: args.seed,
        },
        None => LookupSource::Workload { seed: args.seed },
    };
    Ok(CompareSettings {
        recnmp,
        host,
        lookups,
    })
}

/// The dataset shape's real tables only replace the workload's gathers when they are the same
/// tables: the model's Avazu (22 fields) and KDD (8 fields) encoders keep fewer tables than the
/// published cardinality lists (23 and 10, baselines.md §4.1). Otherwise the lookups are
/// generated from the workload's own gathers, and a note says so.
fn fit_shape(lookups: LookupSource, workload: &Workload) -> anyhow::Result<LookupSource> {
    let LookupSource::Shape { shape, seed } = lookups else {
        return Ok(lookups);
    };
    let Some(gathers) = gather_shape(workload).context("reading the workload's gather ops")? else {
        return Ok(LookupSource::Shape { shape, seed });
    };
    let shape_tables = shape.table_rows().len() as u64;
    if shape_tables == gathers.tables {
        return Ok(LookupSource::Shape { shape, seed });
    }
    eprintln!(
        "note: the {} cardinality list has {shape_tables} tables but the mapped model has {}; \
         generating the lookups from the model's own tables (pooling 1) instead",
        shape.name(),
        gathers.tables
    );
    Ok(LookupSource::Workload { seed })
}

/// Runs `recpim compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    let designs = args
        .hw
        .iter()
        .map(|path| {
            let hw = HwConfig::load(path)
                .with_context(|| format!("hardware configuration {}", path.display()))?;
            Ok((hw.name().to_string(), path.display().to_string(), hw))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let baseline_names: Vec<String> = if args.baseline.is_empty() {
        vec!["recnmp".to_string(), "isaac-handcrafted".to_string()]
    } else {
        args.baseline.clone()
    };
    let baselines = baseline_names
        .iter()
        .map(|name| Baseline::from_name(name).with_context(|| format!("--baseline {name}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut settings = settings(&args)?;
    let (workload, description) = load_workload(&args)?;
    settings.lookups = fit_shape(settings.lookups, &workload)?;
    let comparison = compare(&description, &workload, &designs, &baselines, &settings)
        .context("comparing the designs")?;
    if let Some(dir) = &args.out {
        write_outputs(&comparison, dir)
            .with_context(|| format!("writing the comparison to {}", dir.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        print!("{}", to_markdown(&comparison));
    }
    Ok(())
}
