//! `recpim simulate`: latency, energy and area of a workload on a hardware configuration.
//!
//! The workload is a file (`--workload`), a NASRec genotype mapped to simulator ops
//! (`--genotype` with optional `--bits`, for a data shape; model/HARDWARE_MAPPING.md), or the
//! workload a plugin backend gives for its genotype (`--backend plugin:PATH`, with `--genotype`
//! or the plugin's default genotype, and optional `--bits`). Backend workloads carry the
//! backend's provenance (kind, resolved path, name, version) into the table and the JSON.

use crate::cli::backend_arg::{bits_json, genotype_json, BackendArgs};
use anyhow::Context;
use recpim_model::data::SyntheticShape;
use recpim_model::genotype::Genotype;
use recpim_model::hardware::{
    map_genotype, schema_for_shape, MapOptions, MappedWorkload, Placement,
};
use recpim_model::net::ModelOptions;
use recpim_model::quant::{operator_names, BitAssignment};
use recpim_search::backend::builtin::BuiltinOptions;
use recpim_search::backend::BackendProvenance;
use recpim_sim::hwconfig::Embedding;
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

/// Built-in data shapes for genotype mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShapeChoice {
    /// Criteo: 13 dense, 26 categorical fields.
    Criteo,
    /// Avazu: 1 pseudo dense, 22 categorical fields.
    Avazu,
    /// KDD Cup 2012: 3 dense, 8 categorical fields.
    Kdd,
}

impl ShapeChoice {
    fn shape(self) -> SyntheticShape {
        match self {
            ShapeChoice::Criteo => SyntheticShape::Criteo,
            ShapeChoice::Avazu => SyntheticShape::Avazu,
            ShapeChoice::Kdd => SyntheticShape::Kdd,
        }
    }
}

/// Arguments of `recpim simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Hardware configuration (TOML, see hwconfigs/README.md).
    #[arg(long, value_name = "FILE")]
    pub hw: PathBuf,
    /// Workload file (`[[op]]` TOML, or JSON when the name ends in .json).
    #[arg(long, value_name = "FILE", conflicts_with = "genotype")]
    pub workload: Option<PathBuf>,
    /// Genotype JSON to map to a workload instead of --workload: a NASRec genotype (the
    /// reference format) for the built-in backend, the plugin's own format for a plugin
    /// (default there: the plugin's default genotype).
    #[arg(long, value_name = "FILE")]
    pub genotype: Option<PathBuf>,
    /// Bits file `{"weight_bits": [..], "activation_bits": [..]}`, one entry per quantizable
    /// operator of the genotype (model/HARDWARE_MAPPING.md); default: the backend's (8-bit
    /// weights and activations for the built-in backend).
    #[arg(long, value_name = "FILE", conflicts_with = "workload")]
    pub bits: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Data shape the genotype is built for (embedding tables, dense features); built-in
    /// backend only.
    #[arg(
        long,
        value_enum,
        default_value = "criteo",
        conflicts_with = "workload"
    )]
    pub shape: ShapeChoice,
    /// Examples per inference (MVM count, embedding lookups) in genotype mode; built-in backend
    /// only (a plugin's genotype carries its own batch).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=65536), conflicts_with = "workload")]
    pub batch: u64,
    /// Bits per embedding element in genotype mode (the tables are trained as f32); built-in
    /// backend only.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=64), conflicts_with = "workload")]
    pub embedding_bits: u32,
    /// Build the genotype's operators with LayerNorm (as the supernet does); default off, as
    /// the reference's final models. Built-in backend only.
    #[arg(long, conflicts_with = "workload")]
    pub layernorm: bool,
    /// Write the mapped workload (TOML, or JSON when the name ends in .json) to this file.
    #[arg(long, value_name = "FILE", conflicts_with = "workload")]
    pub write_workload: Option<PathBuf>,
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

/// The workload to simulate and where it came from.
struct Source {
    workload: Workload,
    /// The built-in mapping with each op's origin (placements are printed for it).
    mapped: Option<MappedWorkload>,
    /// The backend that produced the workload; `None` for a workload file.
    provenance: Option<BackendProvenance>,
}

/// Reads the workload file, maps the NASRec genotype, or asks the plugin backend.
fn load_source(args: &SimulateArgs) -> anyhow::Result<Source> {
    if let Some(path) = &args.workload {
        if !args.backend.is_builtin() {
            anyhow::bail!(
                "--workload {} is a ready workload but --backend {} maps a genotype: give one of them",
                path.display(),
                args.backend.backend
            );
        }
        let workload =
            Workload::load(path).with_context(|| format!("workload {}", path.display()))?;
        return Ok(Source {
            workload,
            mapped: None,
            provenance: None,
        });
    }
    if args.backend.is_builtin() {
        let Some(path) = &args.genotype else {
            anyhow::bail!(
                "give --workload FILE or --genotype FILE (or --backend plugin:PATH for a plugin's default genotype)"
            );
        };
        let mapped = map_genotype_file(args, path)?;
        let provenance = args
            .backend
            .load(&BuiltinOptions::default())?
            .provenance()
            .clone();
        return Ok(Source {
            workload: mapped.workload.clone(),
            mapped: Some(mapped),
            provenance: Some(provenance),
        });
    }
    args.backend.refuse_builtin_mapping_flags(&[
        ("--shape", args.shape != ShapeChoice::Criteo),
        ("--batch", args.batch != MapOptions::default().batch),
        (
            "--embedding-bits",
            args.embedding_bits != MapOptions::default().embedding_bits,
        ),
        ("--layernorm", args.layernorm),
    ])?;
    let backend = args.backend.load(&BuiltinOptions::default())?;
    let genotype = genotype_json(backend.as_ref(), args.genotype.as_deref())?;
    let bits = bits_json(args.bits.as_deref())?;
    let workload = backend
        .workload(&genotype, bits.as_deref())
        .with_context(|| {
            let genotype = args
                .genotype
                .as_ref()
                .map_or("its default genotype".to_string(), |p| {
                    format!("genotype {}", p.display())
                });
            let bits = args
                .bits
                .as_ref()
                .map_or(String::new(), |p| format!(" with bits {}", p.display()));
            format!(
                "workload of {genotype}{bits} from backend {}",
                backend.provenance()
            )
        })?;
    Ok(Source {
        workload,
        mapped: None,
        provenance: Some(backend.provenance().clone()),
    })
}

/// Runs `recpim simulate`.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let hw = HwConfig::load(&args.hw)
        .with_context(|| format!("hardware configuration {}", args.hw.display()))?;
    let Source {
        workload,
        mapped,
        provenance,
    } = load_source(&args)?;
    if let Some(path) = &args.write_workload {
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let text = if is_json {
            workload.to_json_string()
        } else {
            workload.to_toml_string()
        };
        std::fs::write(path, text)
            .with_context(|| format!("cannot write workload file {}", path.display()))?;
    }
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
        let mut value = serde_json::to_value(&report)?;
        if let serde_json::Value::Object(map) = &mut value {
            if let Some(p) = &provenance {
                map.insert("backend".to_string(), serde_json::to_value(p)?);
            }
            if let Some(m) = &mapped {
                map.insert(
                    "placements".to_string(),
                    serde_json::to_value(placements(m, &hw))?,
                );
            }
        }
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
    } else {
        if let Some(p) = &provenance {
            writeln!(out, "backend   {p}")?;
        }
        write_table(&mut out, &report)?;
        if let Some(m) = &mapped {
            write_placements(&mut out, &report, m, &hw)?;
        }
    }
    Ok(())
}

/// Reads the genotype (and bits) and maps it for the chosen shape.
fn map_genotype_file(
    args: &SimulateArgs,
    path: &std::path::Path,
) -> anyhow::Result<MappedWorkload> {
    let genotype =
        Genotype::read_file(path).with_context(|| format!("genotype {}", path.display()))?;
    let bits = match &args.bits {
        Some(bits_path) => {
            let operators = operator_names(&genotype)
                .with_context(|| format!("genotype {}", path.display()))?;
            Some(BitAssignment::read_file(bits_path, &operators).context("--bits")?)
        }
        None => None,
    };
    let model = ModelOptions {
        layernorm: args.layernorm,
        ..ModelOptions::default()
    };
    let opts = MapOptions {
        batch: args.batch,
        embedding_bits: args.embedding_bits,
    };
    map_genotype(
        &genotype,
        &schema_for_shape(args.shape.shape()),
        &model,
        bits.as_ref(),
        &opts,
    )
    .with_context(|| format!("mapping genotype {}", path.display()))
}

/// One op's placement as printed: crossbar, digital, or memory with its kind.
fn placement_name(placement: Placement, hw: &HwConfig) -> &'static str {
    match placement {
        Placement::Crossbar => "crossbar",
        Placement::Digital => "digital",
        Placement::Memory => match hw.embedding() {
            Embedding::Dram { .. } => "memory-dram",
            Embedding::Reram { .. } => "memory-reram",
        },
    }
}

/// Per-op placement records for the JSON report.
fn placements(m: &MappedWorkload, hw: &HwConfig) -> Vec<serde_json::Value> {
    m.workload
        .ops
        .iter()
        .zip(&m.origins)
        .map(|(op, origin)| {
            serde_json::json!({
                "name": op.name(),
                "operator": origin.operator,
                "placement": placement_name(origin.placement, hw),
            })
        })
        .collect()
}

/// The genotype's operators: where each op runs and what it costs.
fn write_placements(
    out: &mut impl Write,
    r: &Report,
    m: &MappedWorkload,
    hw: &HwConfig,
) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "{:<34}{:<20}{:<14}{:>14}{:>16}",
        "op", "operator", "placement", "latency_ns", "energy_pj"
    )?;
    for ((op, origin), layer) in m.workload.ops.iter().zip(&m.origins).zip(&r.layers) {
        writeln!(
            out,
            "{:<34}{:<20}{:<14}{:>14.3}{:>16.3}",
            op.name(),
            origin.operator.as_deref().unwrap_or("-"),
            placement_name(origin.placement, hw),
            layer.latency_ns,
            layer.energy_pj
        )?;
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
