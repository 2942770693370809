//! `recpim search`: regularized evolution over NASRec genotypes scored from a trained supernet
//! (`recpim supernet train`), then top-k standalone retraining picks the final model. Writes
//! `DIR/history.csv` (every evaluated candidate), `DIR/best_genotype.json` (the reference's JSON),
//! `DIR/topk.csv`, `DIR/report.md`, `DIR/summary.json` and the resumable `DIR/evolution_state.json`;
//! with `--random-search` also the same-budget random search, and with `--baselines` hand-crafted
//! baselines trained with the same recipe, for comparison.

use super::progress;
use super::supernet::{create_out, with_threads, write_text, NasDataArgs, SubnetScoringFlags};
use anyhow::{bail, Context};
use clap::Args;
use recpim_model::genotype::Genotype;
use recpim_model::net::{build_baseline, BaselineKind, ModelOptions};
use recpim_model::train::{evaluate, train, BatchSource, TrainConfig};
use recpim_search::nas::architecture_search::{
    random_search, retrain_top_k, top_k, Candidate, StandaloneConfig, SupernetSearchProblem,
    TopKRow,
};
use recpim_search::nas::evolution::{run as run_evolution, EvolutionConfig, EvolutionState};
use recpim_search::nas::subnet_eval::SubnetScore;
use recpim_search::nas::supernet_training::read_checkpoint;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Arguments of `recpim search`.
#[derive(Args, Debug, Clone)]
pub struct SearchArgs {
    #[command(flatten)]
    pub data: NasDataArgs,
    /// Supernet checkpoint from `recpim supernet train` (DIR/supernet.ckpt), trained on the same data flags.
    #[arg(long, value_name = "FILE")]
    pub supernet: PathBuf,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "recpim-search")]
    pub out: PathBuf,
    /// Individuals kept alive.
    #[arg(long, default_value_t = 128)]
    pub population: usize,
    /// Individuals sampled to choose a parent (the best of them).
    #[arg(long, default_value_t = 64)]
    pub sample: usize,
    /// Children per generation.
    #[arg(long, default_value_t = 8)]
    pub children: usize,
    /// Generations after the initial population.
    #[arg(long, default_value_t = 240)]
    pub generations: u64,
    /// Mutations per child in the first generation (falls linearly to --mutations-end).
    #[arg(long, default_value_t = 6)]
    pub mutations_start: usize,
    /// Mutations per child at the end.
    #[arg(long, default_value_t = 1)]
    pub mutations_end: usize,
    /// Seed of the evolution (every candidate has its own stream).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub scoring: SubnetScoringFlags,
    /// Candidates retrained standalone at the end (0 = none; the supernet's best is reported).
    #[arg(long, default_value_t = 15)]
    pub top_k: usize,
    /// Epochs of standalone retraining (and of --baselines).
    #[arg(long, default_value_t = 1)]
    pub retrain_epochs: u64,
    /// Batch size of standalone retraining.
    #[arg(long, default_value_t = 512)]
    pub retrain_batch: usize,
    /// Learning rate of standalone retraining.
    #[arg(long, default_value_t = 0.12)]
    pub retrain_lr: f64,
    /// LayerNorm in the retrained standalone networks (the reference's final training has it off).
    #[arg(long)]
    pub layernorm: bool,
    /// The supernet was trained without the dot product's operator-balancing projection
    /// (`recpim supernet train --no-operator-balancing`). Scoring and retraining always use the
    /// checkpoint's setting; this flag only asserts it (a balanced checkpoint is an error).
    #[arg(long)]
    pub no_operator_balancing: bool,
    /// Also run random search with the same number of evaluations.
    #[arg(long)]
    pub random_search: bool,
    /// Hand-crafted baselines to train with the retraining recipe, e.g. `dlrm,deepfm` (lr|fm|dnn|deepfm|dlrm).
    #[arg(long, value_delimiter = ',')]
    pub baselines: Vec<String>,
    /// Continue from DIR/evolution_state.json (same flags as the interrupted run).
    #[arg(long)]
    pub resume: bool,
    /// Pause (after saving the state) once N generations are done in total.
    #[arg(long, value_name = "N")]
    pub stop_after_generations: Option<u64>,
    /// Worker threads (results do not depend on it). Default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar or summary on stderr.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Serialize)]
struct BaselineRow {
    model: String,
    val_logloss: f64,
    val_auc: Option<f64>,
    flops: u64,
}

#[derive(Serialize)]
struct Summary {
    space: String,
    operator_balancing: bool,
    evaluations: usize,
    generations_done: u64,
    duplicates_dropped: u64,
    supernet_best_hash: String,
    supernet_best_val_logloss: f64,
    supernet_best_flops: u64,
    random_search_best_val_logloss: Option<f64>,
    random_search_best_hash: Option<String>,
    final_hash: Option<String>,
    final_standalone_val_logloss: Option<f64>,
    final_standalone_test_logloss: Option<f64>,
    random_search_final_standalone_val_logloss: Option<f64>,
    baselines: Vec<BaselineRow>,
}

/// Runs `recpim search`.
pub fn run(args: SearchArgs) -> anyhow::Result<()> {
    let threads = args.threads;
    with_threads(threads, move || search(&args))
}

fn history_csv(history: &[Candidate]) -> String {
    let mut out = String::from("generation,id,parent,genotype_hash,val_logloss,flops,mutations\n");
    for c in history {
        let _ = writeln!(
            out,
            "{},{},{},{:016x},{},{},{}",
            c.born,
            c.id,
            c.parent.map(|p| p.to_string()).unwrap_or_default(),
            c.hash,
            c.fitness.val_logloss,
            c.fitness.flops,
            c.mutations
        );
    }
    out
}

fn topk_csv(rows: &[TopKRow]) -> String {
    let mut out = String::from(
        "rank,id,genotype_hash,supernet_val_logloss,flops,standalone_val_logloss,standalone_val_auc\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{}",
            r.rank,
            r.id,
            r.hash,
            r.supernet_val_logloss,
            r.flops,
            r.standalone_val_logloss,
            r.standalone_val_auc
                .map(|a| a.to_string())
                .unwrap_or_default()
        );
    }
    out
}

fn search(args: &SearchArgs) -> anyhow::Result<()> {
    let data = args.data.load()?;
    let schema = data.encoder.schema();
    let (header, supernet) = read_checkpoint(&args.supernet)
        .with_context(|| format!("--supernet {}", args.supernet.display()))?;
    if header.schema != schema {
        bail!(
            "--supernet {}: it was trained on data of another schema ({} dense, {} categorical fields, \
             table rows {:?}); pass the same data flags as to `recpim supernet train`",
            args.supernet.display(),
            header.schema.n_dense,
            header.schema.n_sparse(),
            header.schema.table_rows
        );
    }
    if header.steps_done < header.config.steps {
        bail!(
            "--supernet {}: training is paused at step {} of {}; finish it with `recpim supernet train --resume`",
            args.supernet.display(),
            header.steps_done,
            header.config.steps
        );
    }
    let balancing = header.config.operator_balancing;
    if args.no_operator_balancing && balancing {
        bail!(
            "--no-operator-balancing: the supernet {} was trained with the operator-balancing \
             projection; drop the flag, or train a supernet with `recpim supernet train \
             --no-operator-balancing`",
            args.supernet.display()
        );
    }
    if !balancing && !args.no_operator_balancing && !args.quiet {
        eprintln!(
            "search: the supernet {} was trained without the operator-balancing projection; \
             scoring and retraining use that setting",
            args.supernet.display()
        );
    }
    let space = header.config.space;
    create_out(&args.out)?;
    let eval = args.scoring.config();
    eval.check()?;
    let problem = SupernetSearchProblem {
        space,
        num_blocks: header.config.num_blocks,
        supernet: &supernet,
        train: &data.train,
        val: &data.val,
        eval,
    };
    let config = EvolutionConfig {
        population: args.population,
        sample_size: args.sample,
        children_per_generation: args.children,
        generations: args.generations,
        mutations_start: args.mutations_start,
        mutations_end: args.mutations_end,
        parent_per_child: false,
        max_duplicate_retries: 32,
        seed: args.seed,
    };
    let state_path = args.out.join("evolution_state.json");
    let mut state: EvolutionState<Genotype, SubnetScore> = if args.resume {
        let state = EvolutionState::load(&state_path)
            .with_context(|| format!("--resume from {}", state_path.display()))?;
        if state.config != config {
            bail!(
                "--resume from {}: the state was written with other evolution flags ({:?})",
                state_path.display(),
                state.config
            );
        }
        state
    } else {
        EvolutionState::new(config.clone())?
    };
    let bar = progress::bar(config.generations + 1, "search", args.quiet);
    bar.set_position(state.generations_done + u64::from(state.initialized));
    run_evolution(
        &problem,
        &mut state,
        args.stop_after_generations,
        &mut |s| {
            bar.set_position(s.generations_done + 1);
            if let Some(best) = top_k(&s.history, 1).first() {
                bar.set_message(format!("best {:.4}", best.fitness.val_logloss));
            }
            s.save(&state_path)
        },
    )
    .context("running the evolution")?;
    bar.finish_and_clear();
    write_text(&args.out.join("history.csv"), &history_csv(&state.history))?;
    if !state.finished() {
        if !args.quiet {
            eprintln!(
                "search paused after {} of {} generations; `--resume` continues ({})",
                state.generations_done,
                config.generations,
                state_path.display()
            );
        }
        return Ok(());
    }
    let supernet_best = top_k(&state.history, 1)
        .into_iter()
        .next()
        .context("the search evaluated no candidate")?;
    let standalone = StandaloneConfig {
        train: TrainConfig {
            epochs: args.retrain_epochs,
            batch_size: args.retrain_batch,
            lr: args.retrain_lr,
            seed: args.seed,
            patience: None,
            ..TrainConfig::default()
        },
        model: ModelOptions {
            layernorm: args.layernorm,
            operator_balancing: balancing,
        },
        init_seed: args.seed,
    };
    standalone.train.check()?;
    let mut summary = Summary {
        space: space.reference_name().to_string(),
        operator_balancing: balancing,
        evaluations: state.history.len(),
        generations_done: state.generations_done,
        duplicates_dropped: state.duplicates_dropped,
        supernet_best_hash: format!("{:016x}", supernet_best.hash),
        supernet_best_val_logloss: supernet_best.fitness.val_logloss,
        supernet_best_flops: supernet_best.fitness.flops,
        random_search_best_val_logloss: None,
        random_search_best_hash: None,
        final_hash: None,
        final_standalone_val_logloss: None,
        final_standalone_test_logloss: None,
        random_search_final_standalone_val_logloss: None,
        baselines: Vec::new(),
    };
    let mut chosen = supernet_best.clone();
    let mut report = String::new();
    let _ = writeln!(
        report,
        "# NASRec search ({}{})\n\n{} candidates evaluated from the supernet {} ({} generations, population {}, sample {}, {} children).\n",
        space.reference_name(),
        if balancing { "" } else { ", no operator balancing" },
        state.history.len(),
        args.supernet.display(),
        state.generations_done,
        config.population,
        config.sample_size,
        config.children_per_generation
    );
    if args.top_k > 0 {
        let top = top_k(&state.history, args.top_k);
        // The final pick's test log loss is measured on the model retrained here (early-stopped
        // on the validation split, so the test split is only ever measured).
        let test = data.test.as_ref().map(|t| t as &dyn BatchSource);
        let retrained = retrain_top_k(&top, &data.train, &data.val, test, &schema, &standalone)
            .context("retraining the top-k standalone")?;
        let (rows, best) = (&retrained.rows, retrained.best);
        summary.final_standalone_test_logloss = retrained.best_test_logloss;
        write_text(&args.out.join("topk.csv"), &topk_csv(rows))?;
        chosen = top[best].clone();
        summary.final_hash = Some(rows[best].hash.clone());
        summary.final_standalone_val_logloss = Some(rows[best].standalone_val_logloss);
        let _ = writeln!(
            report,
            "## Top-{} retrained standalone\n\n| Rank | Hash | Supernet val log loss | FLOPs | Standalone val log loss | AUC |\n|---|---|---|---|---|---|",
            rows.len()
        );
        for r in rows {
            let _ = writeln!(
                report,
                "| {} | {} | {:.5} | {} | {:.5} | {} |",
                r.rank,
                r.hash,
                r.supernet_val_logloss,
                r.flops,
                r.standalone_val_logloss,
                r.standalone_val_auc
                    .map(|a| format!("{a:.4}"))
                    .unwrap_or_default()
            );
        }
    }
    if args.random_search {
        let budget = state.history.len();
        let random = random_search(&problem, budget, args.seed).context("random search")?;
        write_text(&args.out.join("random_search.csv"), &history_csv(&random))?;
        if let Some(best) = top_k(&random, 1).first() {
            summary.random_search_best_val_logloss = Some(best.fitness.val_logloss);
            summary.random_search_best_hash = Some(format!("{:016x}", best.hash));
            if args.top_k > 0 {
                let top = top_k(&random, args.top_k);
                let retrained =
                    retrain_top_k(&top, &data.train, &data.val, None, &schema, &standalone)
                        .context("retraining the random search's top-k")?;
                summary.random_search_final_standalone_val_logloss =
                    Some(retrained.rows[retrained.best].standalone_val_logloss);
            }
        }
    }
    for name in &args.baselines {
        let kind = BaselineKind::from_name(name)
            .with_context(|| format!("--baselines {name}: allowed lr, fm, dnn, deepfm, dlrm"))?;
        let mut model = build_baseline(kind, &schema, args.seed)
            .with_context(|| format!("building baseline {name}"))?;
        train(
            &mut model,
            &data.train,
            Some(&data.val),
            &standalone.train,
            false,
            &mut |_| {},
        )
        .with_context(|| format!("training baseline {name}"))?;
        let m = evaluate(&model, &data.val).context("the validation split is empty")?;
        summary.baselines.push(BaselineRow {
            model: name.clone(),
            val_logloss: m.logloss,
            val_auc: m.auc,
            flops: model.forward_macs_per_example(),
        });
    }
    let mut best_genotype = chosen.genome.clone();
    best_genotype.test_loss = Some(chosen.fitness.val_logloss);
    best_genotype
        .write_file(&args.out.join("best_genotype.json"))
        .context("writing best_genotype.json")?;
    let _ = writeln!(
        report,
        "\n## Comparison (validation log loss)\n\n| What | Val log loss |\n|---|---|\n| Evolution, best by supernet | {:.5} |",
        summary.supernet_best_val_logloss
    );
    if let Some(v) = summary.random_search_best_val_logloss {
        let _ = writeln!(
            report,
            "| Random search (same budget), best by supernet | {v:.5} |"
        );
    }
    if let Some(v) = summary.final_standalone_val_logloss {
        let _ = writeln!(
            report,
            "| Evolution, final pick retrained standalone | {v:.5} |"
        );
    }
    if let Some(v) = summary.random_search_final_standalone_val_logloss {
        let _ = writeln!(
            report,
            "| Random search, final pick retrained standalone | {v:.5} |"
        );
    }
    for b in &summary.baselines {
        let _ = writeln!(
            report,
            "| Baseline {} (same recipe) | {:.5} |",
            b.model, b.val_logloss
        );
    }
    write_text(&args.out.join("report.md"), &report)?;
    let json = serde_json::to_string_pretty(&summary).context("serialising summary.json")?;
    write_text(&args.out.join("summary.json"), &(json + "\n"))?;
    if !args.quiet {
        eprintln!(
            "search: {} evaluations; best by supernet {} ({:.5}); final {} -> {}",
            summary.evaluations,
            summary.supernet_best_hash,
            summary.supernet_best_val_logloss,
            summary
                .final_hash
                .as_deref()
                .unwrap_or(&summary.supernet_best_hash),
            args.out.join("best_genotype.json").display()
        );
    }
    Ok(())
}
