//! Orchestration of one co-design run: the regularized evolution over joint genomes with a
//! checkpoint after every generation (resume continues to the same bytes), the feasible Pareto
//! front of everything evaluated, its hypervolume per generation, and the baseline comparison.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::architecture::ArchitectureSearch;
use super::genome::JointGenome;
use super::objectives::{pareto_point, Constraints, Objective};
use super::problem::{CodesignFitness, CodesignProblem, DesignEvaluator};
use super::record::DesignRecord;
use super::selection::feasible_front;
use super::space::CodesignSpace;
use crate::backend::BackendProvenance;
use crate::error::{Result, SearchError};
use crate::hypervolume::hypervolume;
use crate::nas::evolution::{self, EvolutionConfig, EvolutionState};
use crate::pareto::ParetoPoint;

/// The evolution state of a co-design run (what the checkpoint holds).
pub type CodesignState = EvolutionState<JointGenome, CodesignFitness>;

/// Everything a run needs besides the space and the evaluator.
#[derive(Debug, Clone)]
pub struct CodesignOptions {
    /// Population, sample, children, generations, mutation schedule and seed.
    pub evolution: EvolutionConfig,
    /// How architectures are drawn (NASRec), or the backend model fixed for the run.
    pub architecture: ArchitectureSearch,
    /// Minimised objectives (2..=4 for the hypervolume), each measured by the evaluator
    /// (see [`Objective::defaults_for`]).
    pub objectives: Vec<Objective>,
    /// Limits.
    pub constraints: Constraints,
    /// Where the evolution state is written after every generation.
    pub checkpoint: PathBuf,
    /// Continue from `checkpoint` when it exists.
    pub resume: bool,
    /// Stop once this many generations are done in total (the checkpoint then resumes).
    pub stop_after_generations: Option<u64>,
    /// Designs from other islands that seed the initial population (a fresh run only: a
    /// resumed run continues from its checkpoint).
    pub migrants: Vec<JointGenome>,
}

/// What a finished (or stopped) run produced.
#[derive(Debug, Clone)]
pub struct CodesignOutcome {
    /// Every evaluated design, in evaluation order.
    pub records: Vec<DesignRecord>,
    /// Indices of the feasible non-dominated designs in `records`, ascending.
    pub front: Vec<usize>,
    /// Hypervolume of the feasible front after each generation (0 = initial population).
    pub hypervolume: Vec<(u32, f64)>,
    /// The hypervolume's reference point (objective order of the options).
    pub hypervolume_reference: Vec<f64>,
    /// Generations done.
    pub generations_done: u64,
    /// True when all configured generations are done.
    pub finished: bool,
}

/// What the progress callback sees after the initial population and each generation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerationProgress {
    /// Generations done (0 after the initial population).
    pub generations_done: u64,
    /// Configured generations.
    pub generations: u64,
    /// Designs evaluated so far.
    pub evaluated: usize,
    /// Best log loss among feasible designs so far (the hardware one, else the ideal one; NaN
    /// when none is feasible or no log loss is measured).
    pub best_log_loss: f64,
}

fn records_of(state: &CodesignState) -> Vec<DesignRecord> {
    state
        .history
        .iter()
        .map(|ind| DesignRecord {
            candidate_id: ind.id,
            generation: u32::try_from(ind.born).unwrap_or(u32::MAX),
            genome: ind.genome.clone(),
            metrics: ind.fitness.metrics,
            hw_config_hash: ind.fitness.hw_config_hash.clone(),
            hardware_settings: ind.fitness.hardware_settings.clone(),
            constraint_violation: ind.fitness.constraint_violation,
        })
        .collect()
}

fn points_of(
    records: &[DesignRecord],
    objectives: &[Objective],
    constraints: &Constraints,
) -> Result<Vec<ParetoPoint>> {
    records
        .iter()
        .map(|r| pareto_point(&r.metrics, objectives, constraints))
        .collect()
}

/// The hypervolume reference point: 10 % beyond the worst value of each objective in the initial
/// population (fixed for the run, so generations are comparable and a resumed run agrees).
pub fn hypervolume_reference(records: &[DesignRecord], objectives: &[Objective]) -> Vec<f64> {
    objectives
        .iter()
        .map(|&o| {
            let worst = records
                .iter()
                .filter(|r| r.generation == 0)
                .filter_map(|r| r.metrics.objective(o))
                .fold(0.0f64, f64::max);
            if worst > 0.0 {
                worst * 1.1
            } else {
                1.0
            }
        })
        .collect()
}

/// Hypervolume of the feasible front of the designs born up to each generation.
pub fn hypervolume_trace(
    records: &[DesignRecord],
    points: &[ParetoPoint],
    reference: &[f64],
    generations_done: u64,
) -> Result<Vec<(u32, f64)>> {
    let mut trace = Vec::new();
    for g in 0..=u32::try_from(generations_done).unwrap_or(u32::MAX) {
        let upto: Vec<ParetoPoint> = records
            .iter()
            .zip(points)
            .filter(|(r, _)| r.generation <= g)
            .map(|(_, p)| p.clone())
            .collect();
        let front: Vec<_> = feasible_front(&upto)?
            .into_iter()
            .map(|i| upto[i].objectives().clone())
            .collect();
        trace.push((g, hypervolume(&front, reference)?));
    }
    Ok(trace)
}

fn check_options(
    options: &CodesignOptions,
    space: &CodesignSpace,
    evaluator: &dyn DesignEvaluator,
) -> Result<()> {
    options.evolution.check()?;
    options.constraints.check()?;
    options.architecture.check(space)?;
    let measures = evaluator.accuracy();
    if let Some(o) = options.objectives.iter().find(|&&o| !measures.measures(o)) {
        return Err(SearchError::Codesign {
            what: format!("objective {}", o.name()),
            reason: "the evaluator does not measure it (a plugin backend measures at most the \
                     ideal log loss, and none without an accuracy function)"
                .to_string(),
        });
    }
    if options.constraints.max_log_loss.is_some() && !measures.any() {
        return Err(SearchError::Codesign {
            what: "--max-log-loss".to_string(),
            reason: "the backend has no accuracy model, so no design has a log loss to limit"
                .to_string(),
        });
    }
    let n = options.objectives.len();
    if !(crate::hypervolume::MIN_OBJECTIVES..=crate::hypervolume::MAX_OBJECTIVES).contains(&n) {
        return Err(SearchError::UnsupportedObjectiveCount {
            found: n,
            min: crate::hypervolume::MIN_OBJECTIVES,
            max: crate::hypervolume::MAX_OBJECTIVES,
        });
    }
    Ok(())
}

/// Loads the checkpoint when resuming (its configuration must equal the run's: a changed
/// budget or seed would change the result; its models must be ones this run could draw), else a
/// fresh state.
fn initial_state(options: &CodesignOptions) -> Result<CodesignState> {
    if options.resume && options.checkpoint.exists() {
        let state = CodesignState::load(&options.checkpoint)?;
        if let Some(ind) = state
            .history
            .iter()
            .find(|ind| !options.architecture.admits(&ind.genome.arch))
        {
            return Err(SearchError::Codesign {
                what: options.checkpoint.display().to_string(),
                reason: format!(
                    "candidate {} has model {}, which this run cannot produce (another backend or \
                     genotype); resume with the same --backend/--genotype or start a new --out",
                    ind.id,
                    ind.genome.arch.hash_hex()
                ),
            });
        }
        if state.config != options.evolution {
            return Err(SearchError::Codesign {
                what: options.checkpoint.display().to_string(),
                reason: format!(
                    "the checkpoint was written with {:?} but this run asks for {:?}; resume with \
                     the same --population/--generations/--seed flags or start a new --out",
                    state.config, options.evolution
                ),
            });
        }
        return Ok(state);
    }
    EvolutionState::new(options.evolution.clone())
}

/// Runs (or resumes) the search. `on_generation` sees the progress after the initial
/// population and after each generation, once the checkpoint is written.
pub fn run_codesign(
    space: &CodesignSpace,
    evaluator: &dyn DesignEvaluator,
    options: &CodesignOptions,
    on_generation: &mut dyn FnMut(&GenerationProgress),
) -> Result<CodesignOutcome> {
    check_options(options, space, evaluator)?;
    let problem = CodesignProblem {
        space,
        evaluator,
        architecture: options.architecture.clone(),
        objectives: options.objectives.clone(),
        constraints: options.constraints,
    };
    let mut state = initial_state(options)?;
    let checkpoint = options.checkpoint.clone();
    let mut after_generation = |s: &CodesignState| -> Result<()> {
        s.save(&checkpoint)?;
        let best_log_loss = s
            .history
            .iter()
            .filter(|i| i.fitness.constraint_violation == 0.0)
            .filter_map(|i| i.fitness.metrics.accuracy_log_loss())
            .fold(f64::NAN, f64::min);
        on_generation(&GenerationProgress {
            generations_done: s.generations_done,
            generations: s.config.generations,
            evaluated: s.history.len(),
            best_log_loss,
        });
        Ok(())
    };
    if !state.initialized && !options.migrants.is_empty() {
        evolution::initialize_seeded(&problem, &mut state, options.migrants.clone())?;
        after_generation(&state)?;
    }
    evolution::run(
        &problem,
        &mut state,
        options.stop_after_generations,
        &mut after_generation,
    )?;
    outcome_of(&state, &options.objectives, &options.constraints)
}

/// Front, hypervolume trace and records of a state.
pub fn outcome_of(
    state: &CodesignState,
    objectives: &[Objective],
    constraints: &Constraints,
) -> Result<CodesignOutcome> {
    let records = records_of(state);
    let points = points_of(&records, objectives, constraints)?;
    let front = feasible_front(&points)?;
    let reference = hypervolume_reference(&records, objectives);
    let hypervolume = hypervolume_trace(&records, &points, &reference, state.generations_done)?;
    Ok(CodesignOutcome {
        records,
        front,
        hypervolume,
        hypervolume_reference: reference,
        generations_done: state.generations_done,
        finished: state.finished(),
    })
}

/// Serializable summary of a run (written as `run.json` next to the report).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    /// Generations done.
    pub generations_done: u64,
    /// Designs evaluated.
    pub evaluated: usize,
    /// Designs on the front.
    pub front_size: usize,
    /// Final hypervolume.
    pub hypervolume: f64,
    /// Wall time, s.
    pub wall_time_s: f64,
    /// Wall time of supernet training (0 when resumed from a finished checkpoint), s.
    pub supernet_seconds: f64,
    /// Wall time of the evolution, s.
    pub search_seconds: f64,
    /// Wall time of the baseline comparison and the report, s.
    pub report_seconds: f64,
    /// The model backend whose workloads were costed (kind, resolved path, name, version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendProvenance>,
}
