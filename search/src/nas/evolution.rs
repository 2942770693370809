//! Regularized (aging) evolution, generic over the genome and its fitness (nasrec-spec §3
//! "Regularized evolution"; Real et al. 2019).
//!
//! A run keeps a population of `population` individuals, oldest first. Each generation samples
//! `sample_size` of them (without replacement), lets the problem pick the parent among the sample
//! (single-objective: the lowest loss; multi-objective: e.g. Pareto rank then crowding), makes
//! `children_per_generation` children by [`EvolutionProblem::mutate`] with
//! [`EvolutionConfig::mutations_at`] mutations each (falling from `mutations_start` to
//! `mutations_end`), re-mutates a child whose hash was already evaluated (duplicates removed; a
//! child still a duplicate after `max_duplicate_retries` is dropped), evaluates the children in
//! parallel, appends them and then drops the oldest individuals until `population` remain (aging).
//!
//! Determinism: every candidate draws from its own ChaCha8 stream keyed by (run seed, candidate
//! id, purpose) ([`crate::seeds`]); sampling and parent selection of generation g draw from the
//! stream of candidate id g with purpose [`SELECTION_PURPOSE`]. Children are generated in order on
//! one thread and only evaluation runs in parallel (rayon across candidates), so results are the
//! same bytes for any thread count. The whole state is serde ([`EvolutionState`]): after each
//! generation it can be written ([`EvolutionState::save`]) and a killed run resumed from it ends
//! with the same bytes as an uninterrupted run.

use crate::error::{Result, SearchError};
use crate::seeds::{candidate_rng, derive_seed, StreamPurpose};
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;

/// Stream purpose of a generation's sampling and parent selection (candidate id = generation).
pub const SELECTION_PURPOSE: StreamPurpose = StreamPurpose::from_label("evolution-selection");
/// Stream purpose of a child's mutations (candidate id = the child's id).
pub const MUTATION_PURPOSE: StreamPurpose = StreamPurpose::MUTATION;
/// Stream purpose of an initial individual's random genome (candidate id = its id).
pub const INITIAL_PURPOSE: StreamPurpose = StreamPurpose::INITIAL_SAMPLE;
/// Purpose of the seed handed to [`EvolutionProblem::evaluate`] (candidate id = its id).
pub const EVALUATION_PURPOSE: StreamPurpose = StreamPurpose::EVALUATION;

/// What an evolution searches: how genomes are drawn, mutated, told apart, evaluated and chosen.
///
/// All randomness comes in through the `rng` arguments and the evaluation seed, so the problem
/// itself holds no random state.
pub trait EvolutionProblem: Sync {
    /// The searched object (a genotype, or a joint architecture x bits x hardware genome).
    type Genome: Clone + Send + Sync + Serialize + DeserializeOwned;
    /// What evaluation measures (a loss, or a vector of objectives).
    type Fitness: Clone + Send + Sync + Serialize + DeserializeOwned;

    /// A random genome for the initial population.
    fn random_genome(&self, rng: &mut ChaCha8Rng) -> Result<Self::Genome>;

    /// A child of `parent` after `mutations` (>= 1) mutations.
    fn mutate(
        &self,
        parent: &Self::Genome,
        mutations: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self::Genome>;

    /// Stable hash of a genome; equal hashes count as duplicates.
    fn genome_hash(&self, genome: &Self::Genome) -> u64;

    /// Evaluates one genome; `seed` is the candidate's own evaluation seed.
    fn evaluate(
        &self,
        genome: &Self::Genome,
        candidate_id: u64,
        seed: u64,
    ) -> Result<Self::Fitness>;

    /// Evaluates several candidates `(id, seed, genome)`, in order. The default runs
    /// [`EvolutionProblem::evaluate`] in parallel with rayon; override it to share work.
    fn evaluate_batch(&self, batch: &[(u64, u64, &Self::Genome)]) -> Result<Vec<Self::Fitness>> {
        batch
            .par_iter()
            .map(|&(id, seed, g)| self.evaluate(g, id, seed))
            .collect()
    }

    /// The parent among `sample` (index into it); `sample` is never empty.
    fn select_parent(
        &self,
        sample: &[&Individual<Self::Genome, Self::Fitness>],
        rng: &mut ChaCha8Rng,
    ) -> usize;
}

/// One evaluated candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Individual<G, F> {
    /// Candidate id (0.. for the initial population, then children in order of creation).
    pub id: u64,
    /// Generation that created it (0 for the initial population; children of generation g have g + 1).
    pub born: u64,
    /// Id of its parent (none for the initial population).
    pub parent: Option<u64>,
    /// Mutations applied to the parent to make it.
    pub mutations: usize,
    /// The genome's hash.
    pub hash: u64,
    /// The genome.
    pub genome: G,
    /// What evaluation measured.
    pub fitness: F,
}

/// Knobs of a run; the defaults are the paper's (nasrec-spec §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvolutionConfig {
    /// Individuals kept alive (128).
    pub population: usize,
    /// Individuals sampled to pick a parent (64).
    pub sample_size: usize,
    /// Children per generation (8).
    pub children_per_generation: usize,
    /// Generations after the initial population (240).
    pub generations: u64,
    /// Mutations per child in the first generation (6).
    pub mutations_start: usize,
    /// Mutations per child at the end (1).
    pub mutations_end: usize,
    /// Draw a new sample and parent for every child instead of one parent per generation.
    pub parent_per_child: bool,
    /// Re-mutations of a duplicate child before it is dropped (32).
    pub max_duplicate_retries: usize,
    /// Run seed of every random stream.
    pub seed: u64,
}

impl Default for EvolutionConfig {
    fn default() -> Self {
        EvolutionConfig {
            population: 128,
            sample_size: 64,
            children_per_generation: 8,
            generations: 240,
            mutations_start: 6,
            mutations_end: 1,
            parent_per_child: false,
            max_duplicate_retries: 32,
            seed: 0,
        }
    }
}

impl EvolutionConfig {
    /// Checks the knobs; errors name the flag and the allowed range.
    pub fn check(&self) -> Result<()> {
        let bad = |what: &str, reason: String| {
            Err(SearchError::Nas {
                what: what.to_string(),
                reason,
            })
        };
        if self.population == 0 {
            return bad("--population 0", "must be at least 1".into());
        }
        if self.sample_size == 0 || self.sample_size > self.population {
            return bad(
                &format!("--sample {}", self.sample_size),
                format!("must be in 1..={} (the population)", self.population),
            );
        }
        if self.children_per_generation == 0 {
            return bad("--children 0", "must be at least 1".into());
        }
        if self.mutations_end == 0 || self.mutations_start < self.mutations_end {
            return bad(
                &format!(
                    "--mutations-start {} / --mutations-end {}",
                    self.mutations_start, self.mutations_end
                ),
                "need mutations-start >= mutations-end >= 1".into(),
            );
        }
        Ok(())
    }

    /// Mutations per child in generation `generation` (0-based): `min(start, end + (G - g) /
    /// max(1, G / (start - end)))`. With the defaults this is the reference's
    /// `(240 - g) // 48 + 1`: 6 in generation 0, then 5 .. 1, one step every 48 generations.
    pub fn mutations_at(&self, generation: u64) -> usize {
        let spread = (self.mutations_start - self.mutations_end.min(self.mutations_start)) as u64;
        if spread == 0 {
            return self.mutations_start;
        }
        let step = (self.generations / spread).max(1);
        let extra = self.generations.saturating_sub(generation) / step;
        (self.mutations_end as u64 + extra).min(self.mutations_start as u64) as usize
    }
}

/// The whole state of a run (serde): resume from it to the same result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "G: Serialize, F: Serialize",
    deserialize = "G: DeserializeOwned, F: DeserializeOwned"
))]
pub struct EvolutionState<G, F> {
    /// The run's knobs.
    pub config: EvolutionConfig,
    /// False until the initial population is evaluated.
    pub initialized: bool,
    /// Generations done after the initial population.
    pub generations_done: u64,
    /// Id of the next candidate.
    pub next_id: u64,
    /// Living individuals, oldest first.
    pub population: Vec<Individual<G, F>>,
    /// Every evaluated individual, in order of evaluation.
    pub history: Vec<Individual<G, F>>,
    /// Children dropped as duplicates after all retries.
    pub duplicates_dropped: u64,
}

impl<G, F> EvolutionState<G, F>
where
    G: Clone + Serialize + DeserializeOwned,
    F: Clone + Serialize + DeserializeOwned,
{
    /// A fresh run (nothing evaluated yet).
    pub fn new(config: EvolutionConfig) -> Result<Self> {
        config.check()?;
        Ok(EvolutionState {
            config,
            initialized: false,
            generations_done: 0,
            next_id: 0,
            population: Vec::new(),
            history: Vec::new(),
            duplicates_dropped: 0,
        })
    }

    /// True when every generation is done.
    pub fn finished(&self) -> bool {
        self.initialized && self.generations_done >= self.config.generations
    }

    /// Writes the state as JSON, atomically (a kill never leaves a torn file).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_vec(self).map_err(|e| SearchError::Nas {
            what: format!("evolution state {}", path.display()),
            reason: format!("cannot serialise: {e}"),
        })?;
        recpim_model::train::write_atomically(path, &text).map_err(|source| SearchError::Model {
            context: format!("writing {}", path.display()),
            source: Box::new(source),
        })
    }

    /// Reads a state written by [`EvolutionState::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| SearchError::Io {
            action: "reading",
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| SearchError::Nas {
            what: format!("{}:{}", path.display(), e.line()),
            reason: format!("not an evolution state: {e}"),
        })
    }
}

/// Evaluates `genomes` (ids from `state.next_id`) and returns the individuals.
fn evaluate_new<P: EvolutionProblem>(
    problem: &P,
    state: &mut EvolutionState<P::Genome, P::Fitness>,
    born: u64,
    genomes: Vec<(P::Genome, Option<u64>, usize)>,
) -> Result<Vec<Individual<P::Genome, P::Fitness>>> {
    let first = state.next_id;
    let seed = state.config.seed;
    let batch: Vec<(u64, u64, &P::Genome)> = genomes
        .iter()
        .enumerate()
        .map(|(k, (g, _, _))| {
            let id = first + k as u64;
            (id, derive_seed(seed, id, EVALUATION_PURPOSE), g)
        })
        .collect();
    let fitness = problem.evaluate_batch(&batch)?;
    if fitness.len() != genomes.len() {
        return Err(SearchError::Nas {
            what: "evaluate_batch".to_string(),
            reason: format!(
                "returned {} results for {} candidates",
                fitness.len(),
                genomes.len()
            ),
        });
    }
    state.next_id += genomes.len() as u64;
    Ok(genomes
        .into_iter()
        .zip(fitness)
        .enumerate()
        .map(|(k, ((genome, parent, mutations), fitness))| Individual {
            id: first + k as u64,
            born,
            parent,
            mutations,
            hash: problem.genome_hash(&genome),
            genome,
            fitness,
        })
        .collect())
}

/// Draws and evaluates the initial population (does nothing when already done).
pub fn initialize<P: EvolutionProblem>(
    problem: &P,
    state: &mut EvolutionState<P::Genome, P::Fitness>,
) -> Result<()> {
    initialize_seeded(problem, state, Vec::new())
}

/// Like [`initialize`], but the first members of the initial population are `seeds` (migrants
/// from other islands, duplicates dropped, at most a population's worth); the rest are drawn
/// at random as usual. Seeds take the first candidate ids, so the random draws are those of
/// the same ids in an unseeded run.
pub fn initialize_seeded<P: EvolutionProblem>(
    problem: &P,
    state: &mut EvolutionState<P::Genome, P::Fitness>,
    seeds: Vec<P::Genome>,
) -> Result<()> {
    if state.initialized {
        return Ok(());
    }
    let seed = state.config.seed;
    let mut seen: HashSet<u64> = HashSet::new();
    let mut genomes = Vec::with_capacity(state.config.population);
    for genome in seeds {
        if genomes.len() == state.config.population {
            break;
        }
        if seen.insert(problem.genome_hash(&genome)) {
            genomes.push((genome, None, 0));
        }
    }
    for k in genomes.len() as u64..state.config.population as u64 {
        let id = state.next_id + k;
        let mut rng = candidate_rng(seed, id, INITIAL_PURPOSE);
        let mut genome = problem.random_genome(&mut rng)?;
        // Redraw duplicates (a tiny space may keep some after all retries).
        for _ in 0..state.config.max_duplicate_retries {
            if !seen.contains(&problem.genome_hash(&genome)) {
                break;
            }
            genome = problem.random_genome(&mut rng)?;
        }
        seen.insert(problem.genome_hash(&genome));
        genomes.push((genome, None, 0));
    }
    let individuals = evaluate_new(problem, state, 0, genomes)?;
    state.history.extend(individuals.iter().cloned());
    state.population = individuals;
    state.initialized = true;
    Ok(())
}

/// Samples `sample_size` living individuals and lets the problem pick the parent; returns its
/// index in the population.
fn pick_parent<P: EvolutionProblem>(
    problem: &P,
    state: &EvolutionState<P::Genome, P::Fitness>,
    rng: &mut ChaCha8Rng,
) -> Result<usize> {
    let n = state.population.len();
    if n == 0 {
        return Err(SearchError::Nas {
            what: "evolution".to_string(),
            reason: "the population is empty".to_string(),
        });
    }
    let mut picked = sample(rng, n, state.config.sample_size.min(n)).into_vec();
    picked.sort_unstable();
    let refs: Vec<&Individual<P::Genome, P::Fitness>> =
        picked.iter().map(|&i| &state.population[i]).collect();
    let chosen = problem.select_parent(&refs, rng);
    picked.get(chosen).copied().ok_or_else(|| SearchError::Nas {
        what: "select_parent".to_string(),
        reason: format!("returned index {chosen} for a sample of {}", picked.len()),
    })
}

/// Runs one generation (initialising first if needed).
pub fn step_generation<P: EvolutionProblem>(
    problem: &P,
    state: &mut EvolutionState<P::Genome, P::Fitness>,
) -> Result<()> {
    initialize(problem, state)?;
    let g = state.generations_done;
    let seed = state.config.seed;
    let mut selection_rng = candidate_rng(seed, g, SELECTION_PURPOSE);
    let mutations = state.config.mutations_at(g);
    let mut seen: HashSet<u64> = state.history.iter().map(|i| i.hash).collect();
    let mut children = Vec::with_capacity(state.config.children_per_generation);
    let mut parent_index = pick_parent(problem, state, &mut selection_rng)?;
    // Ids are reserved for every child slot (dropped duplicates included) so that a child's
    // stream does not depend on whether a sibling was dropped.
    let first_id = state.next_id;
    for k in 0..state.config.children_per_generation {
        if state.config.parent_per_child && k > 0 {
            parent_index = pick_parent(problem, state, &mut selection_rng)?;
        }
        let parent = &state.population[parent_index];
        let mut rng = candidate_rng(seed, first_id + k as u64, MUTATION_PURPOSE);
        let mut accepted = None;
        for _ in 0..=state.config.max_duplicate_retries {
            let child = problem.mutate(&parent.genome, mutations, &mut rng)?;
            let hash = problem.genome_hash(&child);
            if seen.insert(hash) {
                accepted = Some(child);
                break;
            }
        }
        match accepted {
            Some(child) => children.push((k as u64, child, parent.id)),
            None => state.duplicates_dropped += 1,
        }
    }
    // Evaluate with each child's reserved id.
    let batch_seeds: Vec<(u64, u64)> = children
        .iter()
        .map(|(k, _, _)| {
            let id = first_id + k;
            (id, derive_seed(seed, id, EVALUATION_PURPOSE))
        })
        .collect();
    let batch: Vec<(u64, u64, &P::Genome)> = batch_seeds
        .iter()
        .zip(&children)
        .map(|(&(id, s), (_, genome, _))| (id, s, genome))
        .collect();
    let fitness = problem.evaluate_batch(&batch)?;
    if fitness.len() != children.len() {
        return Err(SearchError::Nas {
            what: "evaluate_batch".to_string(),
            reason: format!(
                "returned {} results for {} candidates",
                fitness.len(),
                children.len()
            ),
        });
    }
    for ((k, genome, parent), fitness) in children.into_iter().zip(fitness) {
        let individual = Individual {
            id: first_id + k,
            born: g + 1,
            parent: Some(parent),
            mutations,
            hash: problem.genome_hash(&genome),
            genome,
            fitness,
        };
        state.history.push(individual.clone());
        state.population.push(individual);
    }
    state.next_id = first_id + state.config.children_per_generation as u64;
    // Aging: the oldest go first.
    let excess = state
        .population
        .len()
        .saturating_sub(state.config.population);
    state.population.drain(..excess);
    state.generations_done += 1;
    Ok(())
}

/// The per-generation callback of [`run`]: sees the state, may fail (a checkpoint write).
pub type GenerationHook<'a, G, F> = dyn FnMut(&EvolutionState<G, F>) -> Result<()> + 'a;

/// Runs to the end, or until `stop_after_generations` generations are done in total (then the
/// caller saves the state and a later call resumes). `on_generation` sees the state after the
/// initial population and after every generation (write checkpoints and progress there).
pub fn run<P: EvolutionProblem>(
    problem: &P,
    state: &mut EvolutionState<P::Genome, P::Fitness>,
    stop_after_generations: Option<u64>,
    on_generation: &mut GenerationHook<'_, P::Genome, P::Fitness>,
) -> Result<()> {
    if !state.initialized {
        initialize(problem, state)?;
        on_generation(state)?;
    }
    let stop = stop_after_generations
        .unwrap_or(state.config.generations)
        .min(state.config.generations);
    while state.generations_done < stop {
        step_generation(problem, state)?;
        on_generation(state)?;
    }
    Ok(())
}

/// Index of the individual with the smallest `key` (first on ties): the single-objective
/// parent choice ("the best of the sample").
pub fn argmin_by_key<G, F>(sample: &[&Individual<G, F>], key: impl Fn(&F) -> f64) -> usize {
    let mut best = 0;
    for (i, ind) in sample.iter().enumerate() {
        if key(&ind.fitness)
            .total_cmp(&key(&sample[best].fitness))
            .is_lt()
        {
            best = i;
        }
    }
    best
}
