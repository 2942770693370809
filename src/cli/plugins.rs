//! `recpim plugins inspect PATH`: what a plugin model backend offers.

use crate::cli::backend_arg::{bits_json, genotype_json};
use anyhow::Context;
use recpim_search::backend::plugin::PluginBackend;
use recpim_search::backend::ModelBackend;
use recpim_sim::Workload;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

/// `recpim plugins ...`.
#[derive(Debug, clap::Subcommand)]
pub enum PluginsCommand {
    /// Load a plugin (checking its ABI) and print its name, version, thread safety, accuracy
    /// support, search space and, for its default genotype or --genotype, the workload.
    Inspect(InspectArgs),
}

/// Arguments of `recpim plugins inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The plugin shared library (.so / .dylib / .dll).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// A genotype JSON file for the plugin (default: the plugin's default genotype, if any).
    #[arg(long, value_name = "FILE")]
    pub genotype: Option<PathBuf>,
    /// A bits JSON file (`{"weight_bits": [..], "activation_bits": [..]}`).
    #[arg(long, value_name = "FILE", requires = "genotype")]
    pub bits: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `recpim plugins ...`.
pub fn run(command: PluginsCommand) -> anyhow::Result<()> {
    match command {
        PluginsCommand::Inspect(args) => inspect(args),
    }
}

/// Op counts by kind, in a stable order.
fn op_counts(workload: &Workload) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for op in &workload.ops {
        *counts.entry(op.kind_name()).or_insert(0) += 1;
    }
    counts
}

fn inspect(args: InspectArgs) -> anyhow::Result<()> {
    let backend = PluginBackend::load(&args.path)
        .with_context(|| format!("inspecting plugin {}", args.path.display()))?;
    let space_text = backend.search_space_json()?;
    let space: serde_json::Value = serde_json::from_str(&space_text)
        .with_context(|| format!("search space of {}", backend.provenance()))?;
    // The workload of the given or default genotype, when there is one.
    let genotype = match (&args.genotype, backend.default_genotype_json()?) {
        (Some(path), _) => Some(genotype_json(&backend, Some(path))?),
        (None, default) => default,
    };
    let bits = bits_json(args.bits.as_deref())?;
    let example = match &genotype {
        Some(genotype) => {
            let workload = backend.workload(genotype, bits.as_deref())?;
            let operators = backend.quantized_operators(genotype)?;
            Some((workload, operators))
        }
        None => None,
    };
    let provenance = backend.provenance();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let mut object = serde_json::json!({
            "provenance": provenance,
            "abi_version": recpim_plugin_abi_version(),
            "thread_safe": backend.thread_safe(),
            "accuracy": backend.has_accuracy(),
            "search_space": space,
        });
        if let Some((workload, operators)) = &example {
            object["workload"] = serde_json::to_value(workload)?;
            object["quantized_operators"] = serde_json::to_value(operators)?;
        }
        serde_json::to_writer_pretty(&mut out, &object)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "plugin       {}",
        provenance.path.as_deref().unwrap_or(&args.path).display()
    )?;
    writeln!(out, "name         {}", provenance.name)?;
    writeln!(out, "version      {}", provenance.version)?;
    writeln!(out, "abi version  {}", recpim_plugin_abi_version())?;
    writeln!(
        out,
        "thread safe  {}",
        if backend.thread_safe() {
            "yes"
        } else {
            "no (recpim serialises calls)"
        }
    )?;
    writeln!(
        out,
        "accuracy     {}",
        if backend.has_accuracy() {
            "yes (evaluate_accuracy)"
        } else {
            "no (workloads only)"
        }
    )?;
    writeln!(out, "backend arg  --backend {}", provenance.spec())?;
    writeln!(out)?;
    writeln!(out, "search space:")?;
    writeln!(out, "{}", serde_json::to_string_pretty(&space)?)?;
    match &example {
        Some((workload, operators)) => {
            let which = if args.genotype.is_some() {
                "given"
            } else {
                "default"
            };
            writeln!(out)?;
            let counts = op_counts(workload)
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(
                out,
                "workload of the {which} genotype: {} ops ({counts})",
                workload.ops.len()
            )?;
            writeln!(
                out,
                "quantized operators ({}): {}",
                operators.len(),
                operators.join(", ")
            )?;
        }
        None => {
            writeln!(out)?;
            writeln!(
                out,
                "no default genotype: give --genotype FILE to see a workload"
            )?;
        }
    }
    Ok(())
}

/// The ABI version this recpim speaks.
fn recpim_plugin_abi_version() -> u32 {
    recpim_search::backend::plugin::HOST_ABI_VERSION
}
