//! The ranking study (issue 4 item 4; the paper's Table 2): how well the supernet's estimate of a
//! sub-network's quality ranks sub-networks trained standalone. N distinct random sub-networks
//! are trained standalone (the ground truth); for each path-sampling strategy a supernet is
//! trained and every sub-network is scored from it without and with fine-tuning of the last
//! layer; Pearson's r and Kendall's tau-b between prediction and truth, with p-values
//! ([`crate::significance`]), are reported per strategy and fine-tuning setting.

use super::architecture_search::{train_standalone, StandaloneConfig, StandaloneResult};
use super::sampling::{PathSampler, PathStrategy};
use super::subnet_eval::{evaluate_subnet, SubnetEvalConfig};
use super::supernet_training::{train_supernet, SupernetRunControl, SupernetTrainConfig};
use crate::error::{Result, SearchError};
use crate::ranking::{kendall_tau_b, pearson_r};
use crate::seeds::{candidate_rng, StreamPurpose};
use crate::significance::{kendall_p_value, pearson_p_value};
use rayon::prelude::*;
use recpim_model::genotype::Genotype;
use recpim_model::train::BatchSource;
use recpim_model::DataSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt::Write as _;

/// Stream purpose of the study's random sub-networks (candidate id = draw index).
pub const SUBNET_PURPOSE: StreamPurpose = StreamPurpose::from_label("rank-study-subnet");

/// What the study runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RankStudyConfig {
    /// Number of random sub-networks (100).
    pub subnets: usize,
    /// Strategies compared (one supernet each).
    pub strategies: Vec<PathStrategy>,
    /// Supernet training (its `strategy` is replaced by each of `strategies`).
    pub supernet: SupernetTrainConfig,
    /// Scoring from the supernet; its `finetune_steps` is the "with fine-tuning" setting.
    pub eval: SubnetEvalConfig,
    /// Standalone training of the ground truth.
    pub standalone: StandaloneConfig,
    /// Seed of the sub-network draw.
    pub seed: u64,
}

/// One line of the study's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankStudyRow {
    /// Path-sampling strategy of the supernet.
    pub strategy: String,
    /// Fine-tuning steps of the last layer before scoring (0 = none).
    pub finetune_steps: u64,
    /// Sub-networks compared.
    pub n: usize,
    /// Pearson's r between predicted and standalone validation log loss.
    pub pearson_r: f64,
    /// Two-sided p-value of r (t test).
    pub pearson_p: f64,
    /// Kendall's tau-b.
    pub kendall_tau: f64,
    /// Two-sided p-value of tau (normal approximation).
    pub kendall_p: f64,
}

/// Predictions of one strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyPredictions {
    /// The strategy.
    pub strategy: PathStrategy,
    /// Predicted validation log loss of each sub-network without fine-tuning.
    pub without_finetune: Vec<f64>,
    /// With fine-tuning (empty when the config's fine-tuning steps are 0).
    pub with_finetune: Vec<f64>,
}

/// Everything the study measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RankStudyOutcome {
    /// The sub-networks, in draw order.
    pub subnets: Vec<Genotype>,
    /// Their standalone results.
    pub standalone: Vec<StandaloneResult>,
    /// Predictions per strategy.
    pub predictions: Vec<StrategyPredictions>,
    /// The table.
    pub rows: Vec<RankStudyRow>,
}

/// `n` distinct random sub-networks of the config's space.
pub fn draw_subnets(config: &RankStudyConfig) -> Vec<Genotype> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(config.subnets);
    let mut id = 0u64;
    let max_draws = (config.subnets as u64).saturating_mul(64).max(64);
    while out.len() < config.subnets && id < max_draws {
        let mut rng = candidate_rng(config.seed, id, SUBNET_PURPOSE);
        let g = PathSampler {
            num_blocks: config.supernet.num_blocks,
            ..PathSampler::default_for(config.supernet.space)
        }
        .sample(&mut rng);
        if seen.insert(g.arch_hash()) {
            out.push(g);
        }
        id += 1;
    }
    out
}

/// Correlations of `predicted` with `truth` (both validation log losses).
pub fn correlation_row(
    strategy: PathStrategy,
    finetune_steps: u64,
    predicted: &[f64],
    truth: &[f64],
) -> Result<RankStudyRow> {
    let r = pearson_r(predicted, truth)?;
    let tau = kendall_tau_b(predicted, truth)?;
    Ok(RankStudyRow {
        strategy: strategy.name().to_string(),
        finetune_steps,
        n: truth.len(),
        pearson_r: r,
        pearson_p: pearson_p_value(r, truth.len())?,
        kendall_tau: tau,
        kendall_p: kendall_p_value(tau, truth.len())?,
    })
}

/// Runs the study. `on_progress(stage)` is told when each stage starts.
pub fn run_rank_study(
    train: &dyn BatchSource,
    val: &dyn BatchSource,
    schema: &DataSchema,
    config: &RankStudyConfig,
    on_progress: &mut dyn FnMut(&str),
) -> Result<RankStudyOutcome> {
    if config.subnets < 3 {
        return Err(SearchError::Nas {
            what: format!("--subnets {}", config.subnets),
            reason: "a ranking study needs at least 3 sub-networks".to_string(),
        });
    }
    if config.strategies.is_empty() {
        return Err(SearchError::Nas {
            what: "--strategies".to_string(),
            reason: "name at least one strategy".to_string(),
        });
    }
    config.eval.check()?;
    let subnets = draw_subnets(config);
    on_progress(&format!(
        "training {} sub-networks standalone",
        subnets.len()
    ));
    let standalone: Vec<StandaloneResult> = subnets
        .par_iter()
        .map(|g| train_standalone(g, train, val, schema, &config.standalone))
        .collect::<Result<_>>()?;
    let truth: Vec<f64> = standalone.iter().map(|r| r.val_logloss).collect();
    let mut predictions = Vec::new();
    let mut rows = Vec::new();
    for &strategy in &config.strategies {
        on_progress(&format!("training the {strategy} supernet"));
        let supernet_config = SupernetTrainConfig {
            strategy,
            ..config.supernet.clone()
        };
        let outcome = train_supernet(
            train,
            schema,
            &supernet_config,
            SupernetRunControl::default(),
            &mut |_, _| {},
        )?;
        let supernet = &outcome.supernet;
        on_progress(&format!(
            "scoring sub-networks from the {strategy} supernet"
        ));
        let score = |steps: u64| -> Result<Vec<f64>> {
            let eval = SubnetEvalConfig {
                finetune_steps: steps,
                ..config.eval.clone()
            };
            subnets
                .par_iter()
                .map(|g| evaluate_subnet(supernet, g, train, val, &eval).map(|s| s.val_logloss))
                .collect()
        };
        let without = score(0)?;
        rows.push(correlation_row(strategy, 0, &without, &truth)?);
        let with = if config.eval.finetune_steps > 0 {
            let with = score(config.eval.finetune_steps)?;
            rows.push(correlation_row(
                strategy,
                config.eval.finetune_steps,
                &with,
                &truth,
            )?);
            with
        } else {
            Vec::new()
        };
        predictions.push(StrategyPredictions {
            strategy,
            without_finetune: without,
            with_finetune: with,
        });
    }
    Ok(RankStudyOutcome {
        subnets,
        standalone,
        predictions,
        rows,
    })
}

/// The table as CSV (header + one line per row).
pub fn rows_csv(rows: &[RankStudyRow]) -> String {
    let mut out =
        String::from("strategy,finetune_steps,n,pearson_r,pearson_p,kendall_tau,kendall_p\n");
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{}",
            r.strategy, r.finetune_steps, r.n, r.pearson_r, r.pearson_p, r.kendall_tau, r.kendall_p
        );
    }
    out
}

/// The table as Markdown.
pub fn rows_markdown(rows: &[RankStudyRow]) -> String {
    let mut out = String::from(
        "| Path sampling | Fine-tuning steps | N | Pearson r | p | Kendall tau | p |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.4} | {:.2e} | {:.4} | {:.2e} |",
            r.strategy, r.finetune_steps, r.n, r.pearson_r, r.pearson_p, r.kendall_tau, r.kendall_p
        );
    }
    out
}
