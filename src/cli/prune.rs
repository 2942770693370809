//! `recpim prune`: iterative structured pruning of a NASRec genotype with lottery-ticket
//! retraining (mask-based and/or magnitude-based; model/PRUNING.md), on a CTR file or the
//! built-in synthetic data. Writes a Table-7-like table (log loss and MFLOPs with the share kept
//! per iteration), the pruned model of each method and its simulator workload, and simulates
//! the workload before and after on a hardware configuration.
//!
//! Output directory: `table.md`, `table.csv`, `rows.json`, `hardware.md`, `hardware.json`,
//! `workload_before.toml`, and per method `<method>/pruned_model.state`,
//! `<method>/neuron_mask.json`, `<method>/workload.toml`.

use anyhow::Context;
use recpim_model::data::{load_dataset, load_synthetic, DataFormat, LoadOptions, LoadedData};
use recpim_model::genotype::Genotype;
use recpim_model::hardware::{map_graph, MapOptions};
use recpim_model::net::genotype_graph::{compile_genotype, GenotypeBuild};
use recpim_model::net::graph::Graph;
use recpim_model::prune::{
    iterative_prune, table_csv, table_markdown, PruneConfig, PruneMethod, PruneOutcome, PruneRow,
};
use recpim_model::quant::BitAssignment;
use recpim_model::train::{BatchSource, TrainConfig};
use recpim_model::CtrModel;
use recpim_sim::{simulate_analytic, HwConfig, Workload};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Which pruning method(s) to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodChoice {
    /// Learned mask MLP per weight.
    Mask,
    /// Weight magnitude.
    Magnitude,
    /// Both, for the comparison table.
    Both,
}

/// Arguments of `recpim prune`.
#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// NASRec genotype JSON (the reference format) to prune.
    #[arg(long, value_name = "FILE")]
    pub genotype: PathBuf,
    /// Data file (split 80/10/10, stratified and seeded). Without it: built-in synthetic data of
    /// --shape.
    #[arg(long, value_name = "FILE", requires = "format")]
    pub data: Option<PathBuf>,
    /// Format of --data: criteo|criteo-csv|avazu|kdd|libsvm|libffm.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Shape of the built-in synthetic data (without --data).
    #[arg(long, value_enum, default_value = "criteo")]
    pub shape: super::flops::Shape,
    /// Rows of the built-in synthetic data.
    #[arg(long, default_value_t = 20_000)]
    pub synthetic_rows: usize,
    /// Pruning iterations T (each removes 20% of every prunable layer's kept neurons and
    /// retrains from the original init).
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=64))]
    pub iterations: u64,
    /// Pruning method.
    #[arg(long, value_enum, default_value = "both")]
    pub method: MethodChoice,
    /// Share of each layer's kept neurons removed per iteration.
    #[arg(long, default_value_t = 0.2)]
    pub fraction: f64,
    /// Hidden units of each mask MLP.
    #[arg(long, default_value_t = 16)]
    pub mask_hidden: usize,
    /// Epochs of every (re)training (early stopping on the validation split, patience 1).
    #[arg(long, default_value_t = 1)]
    pub epochs: u64,
    /// Examples per update.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Peak Adagrad learning rate.
    #[arg(long, default_value_t = 0.1)]
    pub lr: f64,
    /// Seed of the initialisation (the lottery ticket) and of the epoch orders.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seed of the split and of the synthetic data.
    #[arg(long, default_value_t = recpim_model::data::DEFAULT_SPLIT_SEED)]
    pub data_seed: u64,
    /// Hardware configuration the workloads are simulated on (analytic engine).
    #[arg(long, value_name = "FILE", default_value = "hwconfigs/default.toml")]
    pub hw: PathBuf,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "recpim-prune")]
    pub out: PathBuf,
    /// No per-row progress on stderr.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Serialize)]
struct HardwareRow {
    model: String,
    macs: u64,
    crossbars: u64,
    energy_pj: f64,
    latency_ns: f64,
    area_mm2: f64,
}

fn load(args: &PruneArgs) -> anyhow::Result<LoadedData> {
    let options = LoadOptions {
        split_seed: args.data_seed,
        ..LoadOptions::default()
    };
    match &args.data {
        Some(path) => {
            let name = args.format.as_deref().unwrap_or_default();
            let format: DataFormat = name.parse().with_context(|| format!("--format {name}"))?;
            load_dataset(path, format, None, &options)
                .with_context(|| format!("loading {} as {name}", path.display()))
        }
        None => load_synthetic(
            args.shape.synthetic(),
            args.synthetic_rows,
            args.data_seed,
            &options,
        )
        .context("generating the built-in synthetic data"),
    }
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn workload_of(graph: &Graph, table_rows: &[usize]) -> anyhow::Result<Workload> {
    let bits = BitAssignment::uniform(graph.operators.clone(), 8, 8)?;
    Ok(map_graph(graph, table_rows, &bits, &MapOptions::default())?.workload)
}

fn hardware_row(
    model: String,
    graph: &Graph,
    workload: &Workload,
    hw: &HwConfig,
) -> anyhow::Result<HardwareRow> {
    let r = simulate_analytic(hw, workload).with_context(|| format!("simulating {model}"))?;
    Ok(HardwareRow {
        model,
        macs: graph.forward_macs_per_example(),
        crossbars: r.crossbars,
        energy_pj: r.energy_pj,
        latency_ns: r.latency_ns,
        area_mm2: r.area_mm2,
    })
}

/// Runs `recpim prune`.
pub fn run(args: PruneArgs) -> anyhow::Result<()> {
    let genotype = Genotype::read_file(&args.genotype)
        .with_context(|| format!("reading genotype {}", args.genotype.display()))?;
    let hw = HwConfig::load(&args.hw)
        .with_context(|| format!("hardware configuration {}", args.hw.display()))?;
    let config = PruneConfig {
        iterations: args.iterations as usize,
        fraction_per_iteration: args.fraction,
        mask_hidden: args.mask_hidden,
        init_seed: args.seed,
        train: TrainConfig {
            epochs: args.epochs,
            batch_size: args.batch,
            lr: args.lr,
            seed: args.seed,
            patience: Some(1),
            ..TrainConfig::default()
        },
    };
    config.check().context("pruning options")?;
    let data = load(&args)?;
    let schema = data.train.schema().clone();
    let graph = compile_genotype(
        &genotype,
        schema.n_dense,
        schema.n_sparse(),
        GenotypeBuild {
            layernorm: false,
            operator_balancing: true,
        },
    )
    .with_context(|| format!("building genotype {}", args.genotype.display()))?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let methods: &[PruneMethod] = match args.method {
        MethodChoice::Mask => &[PruneMethod::Mask],
        MethodChoice::Magnitude => &[PruneMethod::Magnitude],
        MethodChoice::Both => &[PruneMethod::Mask, PruneMethod::Magnitude],
    };
    let name = format!("nasrec:{}", genotype.config);
    let before = workload_of(&graph, &schema.table_rows)?;
    write(
        &args.out.join("workload_before.toml"),
        &before.to_toml_string(),
    )?;
    let mut hardware = vec![hardware_row("unpruned".into(), &graph, &before, &hw)?];
    let mut rows: Vec<PruneRow> = Vec::new();
    let quiet = args.quiet;
    for &method in methods {
        let outcome: PruneOutcome = iterative_prune(
            &name,
            &graph,
            &schema,
            &data.train,
            &data.val,
            data.test.as_ref().map(|t| t as &dyn BatchSource),
            method,
            &config,
            &mut |r| {
                if !quiet {
                    eprintln!(
                        "{} T={}: val log loss {}, {:.4} MFLOPs ({:.1}% kept)",
                        r.method.name(),
                        r.iteration,
                        r.val_logloss.map_or("-".into(), |v| format!("{v:.5}")),
                        r.macs as f64 / 1e6,
                        r.macs_kept_percent
                    );
                }
            },
        )
        .with_context(|| format!("{} pruning", method.name()))?;
        let dir = args.out.join(method.name());
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let mut state = Vec::new();
        outcome.pruned.save_state(&mut state)?;
        std::fs::write(dir.join("pruned_model.state"), state).with_context(|| {
            format!("cannot write {}", dir.join("pruned_model.state").display())
        })?;
        write(
            &dir.join("neuron_mask.json"),
            &serde_json::to_string_pretty(&outcome.mask)?,
        )?;
        let after = workload_of(outcome.pruned.graph(), &schema.table_rows)?;
        write(&dir.join("workload.toml"), &after.to_toml_string())?;
        hardware.push(hardware_row(
            format!("{} T={}", method.name(), config.iterations),
            outcome.pruned.graph(),
            &after,
            &hw,
        )?);
        rows.extend(outcome.rows);
    }
    let table = table_markdown(&rows);
    write(&args.out.join("table.md"), &table)?;
    write(&args.out.join("table.csv"), &table_csv(&rows))?;
    write(
        &args.out.join("rows.json"),
        &serde_json::to_string_pretty(&rows)?,
    )?;
    let base = &hardware[0];
    let mut hw_md = format!(
        "Hardware {} (analytic engine), 8-bit weights and activations, batch 1\n\n\
         | model | MFLOPs | crossbars | energy (nJ) | latency (us) | vs unpruned energy | vs unpruned latency |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
        args.hw.display()
    );
    for h in &hardware {
        hw_md.push_str(&format!(
            "| {} | {:.4} | {} | {:.2} | {:.3} | {:.1}% | {:.1}% |\n",
            h.model,
            h.macs as f64 / 1e6,
            h.crossbars,
            h.energy_pj / 1e3,
            h.latency_ns / 1e3,
            100.0 * h.energy_pj / base.energy_pj.max(f64::MIN_POSITIVE),
            100.0 * h.latency_ns / base.latency_ns.max(f64::MIN_POSITIVE),
        ));
    }
    write(&args.out.join("hardware.md"), &hw_md)?;
    write(
        &args.out.join("hardware.json"),
        &serde_json::to_string_pretty(&hardware)?,
    )?;
    println!("{table}\n{hw_md}");
    Ok(())
}
