//! The generic regularized-evolution core on a toy problem with a known optimum: it improves on
//! random sampling, keeps the population size, never evaluates a duplicate, is the same bytes
//! for 1 and 2 threads, and a run stopped and resumed from its saved state equals an
//! uninterrupted one.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use recpim_search::nas::evolution::{
    argmin_by_key, run, step_generation, EvolutionConfig, EvolutionProblem, EvolutionState,
    Individual,
};
use recpim_search::Result;
use std::collections::HashSet;

/// Minimise the distance of a 12-digit vector (digits 0..9) to a target: one mutation changes
/// one digit.
struct Digits;

const TARGET: [u8; 12] = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8];

impl EvolutionProblem for Digits {
    type Genome = Vec<u8>;
    type Fitness = f64;

    fn random_genome(&self, rng: &mut ChaCha8Rng) -> Result<Vec<u8>> {
        Ok((0..12).map(|_| rng.random_range(0..10)).collect())
    }

    fn mutate(&self, parent: &Vec<u8>, mutations: usize, rng: &mut ChaCha8Rng) -> Result<Vec<u8>> {
        let mut child = parent.clone();
        for _ in 0..mutations {
            let i = rng.random_range(0..12);
            child[i] = rng.random_range(0..10);
        }
        Ok(child)
    }

    fn genome_hash(&self, genome: &Vec<u8>) -> u64 {
        genome.iter().fold(0u64, |h, &d| h * 10 + u64::from(d))
    }

    fn evaluate(&self, genome: &Vec<u8>, _id: u64, seed: u64) -> Result<f64> {
        // The seed adds a tiny candidate-specific term so the test sees it is deterministic.
        let distance: f64 = genome
            .iter()
            .zip(TARGET)
            .map(|(&a, b)| (f64::from(a) - f64::from(b)).abs())
            .sum();
        Ok(distance + (seed % 1000) as f64 * 1e-9)
    }

    fn select_parent(&self, sample: &[&Individual<Vec<u8>, f64>], _rng: &mut ChaCha8Rng) -> usize {
        argmin_by_key(sample, |f| *f)
    }
}

fn config() -> EvolutionConfig {
    EvolutionConfig {
        population: 16,
        sample_size: 8,
        children_per_generation: 4,
        generations: 60,
        seed: 11,
        ..EvolutionConfig::default()
    }
}

fn best(state: &EvolutionState<Vec<u8>, f64>) -> f64 {
    state
        .history
        .iter()
        .map(|i| i.fitness)
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn evolution_improves_keeps_population_and_never_repeats() {
    let mut state = EvolutionState::new(config()).unwrap();
    let mut sizes = Vec::new();
    run(&Digits, &mut state, None, &mut |s| {
        sizes.push(s.population.len());
        Ok(())
    })
    .unwrap();
    assert!(state.finished());
    assert_eq!(sizes.len(), 61);
    assert!(sizes.iter().all(|&n| n == 16), "{sizes:?}");
    let initial_best = state.history[..16]
        .iter()
        .map(|i| i.fitness)
        .fold(f64::INFINITY, f64::min);
    assert!(
        best(&state) < initial_best - 5.0,
        "{} vs {initial_best}",
        best(&state)
    );
    let hashes: HashSet<u64> = state.history.iter().map(|i| i.hash).collect();
    assert_eq!(hashes.len(), state.history.len());
    // Aging: the living population is the newest individuals.
    let ids: Vec<u64> = state.population.iter().map(|i| i.id).collect();
    let max_id = state.history.iter().map(|i| i.id).max().unwrap();
    assert!(ids.iter().all(|&id| id + 16 > max_id), "{ids:?}");
}

#[test]
fn mutations_fall_from_start_to_end_across_generations() {
    let mut state = EvolutionState::new(config()).unwrap();
    run(&Digits, &mut state, None, &mut |_| Ok(())).unwrap();
    let first = state
        .history
        .iter()
        .find(|i| i.born == 1)
        .unwrap()
        .mutations;
    let last = state
        .history
        .iter()
        .rev()
        .find(|i| i.born == 60)
        .unwrap()
        .mutations;
    assert_eq!((first, last), (6, 1));
}

#[test]
fn resume_from_saved_state_gives_the_uninterrupted_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let mut full = EvolutionState::new(config()).unwrap();
    run(&Digits, &mut full, None, &mut |_| Ok(())).unwrap();

    let mut first = EvolutionState::new(config()).unwrap();
    run(&Digits, &mut first, Some(23), &mut |s| s.save(&path)).unwrap();
    assert_eq!(first.generations_done, 23);
    let mut resumed: EvolutionState<Vec<u8>, f64> = EvolutionState::load(&path).unwrap();
    assert_eq!(resumed, first);
    run(&Digits, &mut resumed, None, &mut |_| Ok(())).unwrap();
    assert_eq!(
        serde_json::to_string(&resumed).unwrap(),
        serde_json::to_string(&full).unwrap()
    );
}

#[test]
fn one_and_two_threads_give_the_same_bytes() {
    let go = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let mut state = EvolutionState::new(config()).unwrap();
                run(&Digits, &mut state, None, &mut |_| Ok(())).unwrap();
                serde_json::to_string(&state).unwrap()
            })
    };
    assert_eq!(go(1), go(2));
}

#[test]
fn a_tiny_space_drops_duplicates_instead_of_repeating_them() {
    /// Four genomes in all.
    struct Tiny;
    impl EvolutionProblem for Tiny {
        type Genome = u8;
        type Fitness = f64;
        fn random_genome(&self, rng: &mut ChaCha8Rng) -> Result<u8> {
            Ok(rng.random_range(0..4))
        }
        fn mutate(&self, _p: &u8, _m: usize, rng: &mut ChaCha8Rng) -> Result<u8> {
            Ok(rng.random_range(0..4))
        }
        fn genome_hash(&self, g: &u8) -> u64 {
            u64::from(*g)
        }
        fn evaluate(&self, g: &u8, _id: u64, _seed: u64) -> Result<f64> {
            Ok(f64::from(*g))
        }
        fn select_parent(&self, s: &[&Individual<u8, f64>], _r: &mut ChaCha8Rng) -> usize {
            argmin_by_key(s, |f| *f)
        }
    }
    let mut state = EvolutionState::new(EvolutionConfig {
        population: 2,
        sample_size: 2,
        children_per_generation: 2,
        generations: 3,
        max_duplicate_retries: 8,
        ..EvolutionConfig::default()
    })
    .unwrap();
    for _ in 0..3 {
        step_generation(&Tiny, &mut state).unwrap();
    }
    let hashes: HashSet<u64> = state.history.iter().map(|i| i.hash).collect();
    assert_eq!(hashes.len(), state.history.len());
    assert_eq!(state.history.len(), 4);
    assert_eq!(state.duplicates_dropped, 4);
}

#[test]
fn bad_configs_name_the_flag() {
    let err = EvolutionState::<u8, f64>::new(EvolutionConfig {
        sample_size: 200,
        ..EvolutionConfig::default()
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("--sample 200") && err.contains("1..=128"),
        "{err}"
    );
    let err = EvolutionState::<u8, f64>::new(EvolutionConfig {
        mutations_start: 1,
        mutations_end: 2,
        ..EvolutionConfig::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("mutations"), "{err}");
}
