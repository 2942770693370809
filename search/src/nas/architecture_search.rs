//! The NASRec architecture search on a trained supernet (issue 4 item 3): regularized evolution
//! ([`super::evolution`]) over genotypes scored by [`super::subnet_eval::evaluate_subnet`], random
//! search with the same budget for comparison, and the top-k pick by standalone retraining.

use super::evolution::{
    argmin_by_key, EvolutionProblem, Individual, EVALUATION_PURPOSE, INITIAL_PURPOSE,
};
use super::mutation::mutate_n;
use super::sampling::PathSampler;
use super::subnet_eval::{evaluate_subnet, SubnetEvalConfig, SubnetScore};
use crate::error::{Result, SearchError};
use crate::seeds::{candidate_rng, derive_seed};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use recpim_model::genotype::{Genotype, SearchSpace};
use recpim_model::net::{build_nasrec, ModelOptions, NetModel, Supernet};
use recpim_model::train::{evaluate, train, BatchSource, TrainConfig};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// An evaluated genotype of the architecture search.
pub type Candidate = Individual<Genotype, SubnetScore>;

/// The architecture search as an [`EvolutionProblem`]: genotypes of one space, scored from the
/// shared weights of a trained supernet; the parent is the sample's lowest validation log loss.
pub struct SupernetSearchProblem<'a> {
    /// Search space (the supernet's).
    pub space: SearchSpace,
    /// Blocks of every genotype (the supernet's; 7 in the reference).
    pub num_blocks: usize,
    /// The trained supernet (read-only).
    pub supernet: &'a Supernet,
    /// Fine-tuning data.
    pub train: &'a dyn BatchSource,
    /// Validation data.
    pub val: &'a dyn BatchSource,
    /// How candidates are scored.
    pub eval: SubnetEvalConfig,
}

impl EvolutionProblem for SupernetSearchProblem<'_> {
    type Genome = Genotype;
    type Fitness = SubnetScore;

    fn random_genome(&self, rng: &mut ChaCha8Rng) -> Result<Genotype> {
        Ok(PathSampler {
            num_blocks: self.num_blocks,
            ..PathSampler::default_for(self.space)
        }
        .sample(rng))
    }

    fn mutate(
        &self,
        parent: &Genotype,
        mutations: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Genotype> {
        mutate_n(parent, self.space, mutations.max(1), rng)
    }

    fn genome_hash(&self, genome: &Genotype) -> u64 {
        genome.arch_hash()
    }

    fn evaluate(&self, genome: &Genotype, _candidate_id: u64, _seed: u64) -> Result<SubnetScore> {
        evaluate_subnet(self.supernet, genome, self.train, self.val, &self.eval)
    }

    fn select_parent(&self, sample: &[&Candidate], _rng: &mut ChaCha8Rng) -> usize {
        argmin_by_key(sample, |s| s.val_logloss)
    }
}

/// Random search with a budget of `budget` distinct genotypes (the same ids, streams and
/// evaluation as the evolution's initial population, continued), for comparison with the evolution
/// at equal cost. Candidates are evaluated in parallel.
pub fn random_search<P>(
    problem: &P,
    budget: usize,
    seed: u64,
) -> Result<Vec<Individual<P::Genome, P::Fitness>>>
where
    P: EvolutionProblem,
{
    let mut seen = HashSet::new();
    let mut genomes = Vec::with_capacity(budget);
    let mut id = 0u64;
    // Distinct genomes; a space smaller than the budget ends the draw early.
    let max_draws = budget.saturating_mul(64).max(64) as u64;
    while genomes.len() < budget && id < max_draws {
        let mut rng = candidate_rng(seed, id, INITIAL_PURPOSE);
        let g = problem.random_genome(&mut rng)?;
        if seen.insert(problem.genome_hash(&g)) {
            genomes.push((id, g));
        }
        id += 1;
    }
    let batch: Vec<(u64, u64, &P::Genome)> = genomes
        .iter()
        .map(|(id, g)| (*id, derive_seed(seed, *id, EVALUATION_PURPOSE), g))
        .collect();
    let fitness = problem.evaluate_batch(&batch)?;
    Ok(genomes
        .into_iter()
        .zip(fitness)
        .map(|((id, genome), fitness)| Individual {
            id,
            born: 0,
            parent: None,
            mutations: 0,
            hash: problem.genome_hash(&genome),
            genome,
            fitness,
        })
        .collect())
}

/// The `k` best distinct genotypes of `history` by validation log loss (ties: lower id first).
pub fn top_k(history: &[Candidate], k: usize) -> Vec<Candidate> {
    let mut sorted: Vec<&Candidate> = history.iter().collect();
    sorted.sort_by(|a, b| {
        a.fitness
            .val_logloss
            .total_cmp(&b.fitness.val_logloss)
            .then(a.id.cmp(&b.id))
    });
    let mut seen = HashSet::new();
    sorted
        .into_iter()
        .filter(|c| seen.insert(c.hash))
        .take(k)
        .cloned()
        .collect()
}

/// How a genotype is trained standalone (top-k retraining, ranking ground truth).
#[derive(Debug, Clone, PartialEq)]
pub struct StandaloneConfig {
    /// The training recipe (epochs, batch, lr, schedule, seed; no checkpoint).
    pub train: TrainConfig,
    /// Network options (LayerNorm, operator balancing).
    pub model: ModelOptions,
    /// Seed of the weights.
    pub init_seed: u64,
}

/// What standalone training of one genotype measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandaloneResult {
    /// Validation log loss of the kept weights.
    pub val_logloss: f64,
    /// Validation AUC (none for a one-class set).
    pub val_auc: Option<f64>,
    /// Forward multiply-adds per example.
    pub flops: u64,
    /// Updates done.
    pub steps: u64,
}

/// Trains `genotype` standalone on `train_data` and measures it on `val_data`.
pub fn train_standalone(
    genotype: &Genotype,
    train_data: &dyn BatchSource,
    val_data: &dyn BatchSource,
    schema: &recpim_model::DataSchema,
    config: &StandaloneConfig,
) -> Result<StandaloneResult> {
    train_standalone_model(genotype, train_data, val_data, schema, config).map(|(_, result)| result)
}

/// Like [`train_standalone`], and also returns the trained model (at its best validation
/// epoch), so a held-out split can be measured on exactly the model that was selected.
fn train_standalone_model(
    genotype: &Genotype,
    train_data: &dyn BatchSource,
    val_data: &dyn BatchSource,
    schema: &recpim_model::DataSchema,
    config: &StandaloneConfig,
) -> Result<(NetModel, StandaloneResult)> {
    let model_err = |context: String| {
        move |source| SearchError::Model {
            context,
            source: Box::new(source),
        }
    };
    let hash = genotype.arch_hash_hex();
    let mut model = build_nasrec(genotype, schema, &config.model, config.init_seed)
        .map_err(model_err(format!("building standalone {hash}")))?;
    let mut cfg = config.train.clone();
    cfg.checkpoint_path = None;
    cfg.stop_after_steps = None;
    let outcome = train(
        &mut model,
        train_data,
        Some(val_data),
        &cfg,
        false,
        &mut |_| {},
    )
    .map_err(model_err(format!("training standalone {hash}")))?;
    let metrics = match outcome.best_val {
        Some(m) => m,
        None => evaluate(&model, val_data).ok_or_else(|| SearchError::Nas {
            what: "validation data".to_string(),
            reason: "holds no example".to_string(),
        })?,
    };
    let result = StandaloneResult {
        val_logloss: metrics.logloss,
        val_auc: metrics.auc,
        flops: model.forward_macs_per_example(),
        steps: outcome.steps,
    };
    Ok((model, result))
}

/// One row of the top-k table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopKRow {
    /// Rank by the supernet's estimate (1-based).
    pub rank: usize,
    /// Candidate id in the search history.
    pub id: u64,
    /// Architecture hash (hex).
    pub hash: String,
    /// Validation log loss estimated from the supernet.
    pub supernet_val_logloss: f64,
    /// Forward multiply-adds per example.
    pub flops: u64,
    /// Standalone validation log loss after retraining.
    pub standalone_val_logloss: f64,
    /// Standalone validation AUC.
    pub standalone_val_auc: Option<f64>,
}

/// The top-k candidates retrained standalone.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrainedTopK {
    /// One row per candidate, in the order given.
    pub rows: Vec<TopKRow>,
    /// Index of the final pick (lowest standalone validation log loss).
    pub best: usize,
    /// The final pick's log loss on the test split, measured on the very model that was
    /// retrained (early-stopped on validation), when a test split was given.
    pub best_test_logloss: Option<f64>,
}

/// Retrains `top` standalone (in parallel), picks the lowest standalone validation log loss
/// and, with `test_data`, measures each retrained model on it as soon as it is trained (so the
/// pick is never trained twice and no model outlives its task).
pub fn retrain_top_k(
    top: &[Candidate],
    train_data: &dyn BatchSource,
    val_data: &dyn BatchSource,
    test_data: Option<&dyn BatchSource>,
    schema: &recpim_model::DataSchema,
    config: &StandaloneConfig,
) -> Result<RetrainedTopK> {
    let results: Vec<(StandaloneResult, Option<f64>)> = top
        .par_iter()
        .map(|c| {
            let (model, result) =
                train_standalone_model(&c.genome, train_data, val_data, schema, config)?;
            let test = test_data
                .map(|t| {
                    evaluate(&model, t)
                        .map(|m| m.logloss)
                        .ok_or_else(|| SearchError::Nas {
                            what: "test data".to_string(),
                            reason: "holds no example".to_string(),
                        })
                })
                .transpose()?;
            Ok((result, test))
        })
        .collect::<Result<_>>()?;
    let rows: Vec<TopKRow> = top
        .iter()
        .zip(&results)
        .enumerate()
        .map(|(i, (c, (r, _)))| TopKRow {
            rank: i + 1,
            id: c.id,
            hash: format!("{:016x}", c.hash),
            supernet_val_logloss: c.fitness.val_logloss,
            flops: r.flops,
            standalone_val_logloss: r.val_logloss,
            standalone_val_auc: r.val_auc,
        })
        .collect();
    if rows.is_empty() {
        return Err(SearchError::Nas {
            what: "--top-k".to_string(),
            reason: "no candidate to retrain (the search evaluated none)".to_string(),
        });
    }
    let mut best = 0;
    for (i, r) in rows.iter().enumerate() {
        if r.standalone_val_logloss
            .total_cmp(&rows[best].standalone_val_logloss)
            .is_lt()
        {
            best = i;
        }
    }
    Ok(RetrainedTopK {
        best_test_logloss: results[best].1,
        rows,
        best,
    })
}
