//! The six NASRec mutations and the path samplers: validity, that each kind changes what it
//! names and nothing else, the reference's mutation schedule, and determinism.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use recpim_model::genotype::{Genotype, SearchSpace, DENSE_DIMS, SPARSE_DIMS};
use recpim_search::nas::evolution::EvolutionConfig;
use recpim_search::nas::mutation::{
    mutate_kind, mutate_n, mutate_once, mutate_sparse_operator, MutationKind, ALL_MUTATION_KINDS,
};
use recpim_search::nas::sampling::{
    full_path_probability, random_genotype, ConnectionCount, PathSampler, PathStrategy,
    ALL_STRATEGIES,
};

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Which of the six aspects differ between two genotypes of the same shape.
fn changed_aspects(a: &Genotype, b: &Genotype, space: SearchSpace) -> Vec<MutationKind> {
    let dense = space.dense_node_indices();
    let mut out = Vec::new();
    for (ma, mb) in a.micro.iter().zip(&b.micro) {
        if ma.dense_in_dims != mb.dense_in_dims {
            out.push(MutationKind::DenseWidth);
        }
        if ma.sparse_in_dims != mb.sparse_in_dims {
            out.push(MutationKind::SparseWidth);
        }
        let split = |m: &recpim_model::genotype::MicroChoice| {
            let d: Vec<usize> = m
                .active_nodes
                .iter()
                .copied()
                .filter(|n| dense.contains(n))
                .collect();
            let s: Vec<usize> = m
                .active_nodes
                .iter()
                .copied()
                .filter(|n| !dense.contains(n))
                .collect();
            (d, s)
        };
        let (da, sa) = split(ma);
        let (db, sb) = split(mb);
        if da != db {
            out.push(MutationKind::DenseOperator);
        }
        if sa != sb {
            out.push(MutationKind::SparseOperator);
        }
        if ma.dense_sparse_interact != mb.dense_sparse_interact || ma.deep_fm != mb.deep_fm {
            out.push(MutationKind::Merger);
        }
    }
    if a.macro_ != b.macro_ {
        out.push(MutationKind::Connections);
    }
    out
}

#[test]
fn every_kind_changes_exactly_its_aspect_and_stays_valid() {
    for space in [SearchSpace::Small, SearchSpace::Full] {
        let mut r = rng(1);
        for trial in 0..200 {
            let g = random_genotype(space, &mut r);
            for kind in ALL_MUTATION_KINDS {
                let child = mutate_kind(&g, space, kind, &mut r).unwrap();
                child.validate("child").unwrap();
                let changed = changed_aspects(&g, &child, space);
                if kind.applies(space, g.num_blocks) {
                    assert_eq!(changed, vec![kind], "{space:?} trial {trial} kind {kind}");
                    assert_ne!(child.arch_hash(), g.arch_hash());
                } else {
                    assert!(changed.is_empty(), "{kind} cannot apply to {space:?}");
                }
            }
        }
    }
}

#[test]
fn sparse_operator_is_a_no_op_in_small_and_a_change_in_full() {
    let mut r = rng(2);
    let small = random_genotype(SearchSpace::Small, &mut r);
    assert_eq!(
        mutate_sparse_operator(&small, SearchSpace::Small, &mut r).unwrap(),
        small
    );
    let full = random_genotype(SearchSpace::Full, &mut r);
    assert_ne!(
        mutate_sparse_operator(&full, SearchSpace::Full, &mut r).unwrap(),
        full
    );
}

#[test]
fn mutations_reject_invalid_input_and_a_foreign_space() {
    let mut r = rng(3);
    let g = random_genotype(SearchSpace::Small, &mut r);
    let err = mutate_kind(&g, SearchSpace::Full, MutationKind::Merger, &mut r).unwrap_err();
    assert!(err.to_string().contains("space"), "{err}");
    let mut bad = g.clone();
    bad.macro_[0].dense_idx = vec![3];
    assert!(mutate_once(&bad, SearchSpace::Small, &mut r).is_err());
}

#[test]
fn reference_rule_draws_connections_half_the_time_and_chains_stay_valid() {
    let mut r = rng(4);
    let g = random_genotype(SearchSpace::Full, &mut r);
    let mut connections = 0;
    let n = 4000;
    for _ in 0..n {
        let (child, kind) = mutate_once(&g, SearchSpace::Full, &mut r).unwrap();
        child.validate("child").unwrap();
        connections += usize::from(kind == MutationKind::Connections);
    }
    // 1/2 macro keys: 2000 expected, binomial sd ~32.
    assert!((1850..=2150).contains(&connections), "{connections}");
    let mut child = g.clone();
    for _ in 0..100 {
        child = mutate_n(&child, SearchSpace::Full, 6, &mut r).unwrap();
        child.validate("chain").unwrap();
    }
}

#[test]
fn mutation_is_deterministic_per_seed() {
    let g = random_genotype(SearchSpace::Full, &mut rng(5));
    let a = mutate_n(&g, SearchSpace::Full, 6, &mut rng(9)).unwrap();
    let b = mutate_n(&g, SearchSpace::Full, 6, &mut rng(9)).unwrap();
    assert_eq!(a.to_json_string(), b.to_json_string());
}

#[test]
fn schedule_matches_the_reference_formula() {
    // searcher: (240 - g) // max(20, 240 // 5) + 1 (nasrec-spec §3).
    let config = EvolutionConfig::default();
    let generations = config.generations;
    assert_eq!(generations, 240);
    for g in 0..generations {
        let reference = ((generations - g) / 20u64.max(generations / 5) + 1) as usize;
        assert_eq!(config.mutations_at(g), reference, "generation {g}");
    }
    assert_eq!(config.mutations_at(0), 6);
    assert_eq!(config.mutations_at(239), 1);
}

#[test]
fn samplers_respect_their_strategy() {
    let mut r = rng(6);
    for strategy in ALL_STRATEGIES {
        for connections in [ConnectionCount::Binomial, ConnectionCount::Uniform] {
            let sampler = PathSampler {
                space: SearchSpace::Full,
                num_blocks: 7,
                strategy,
                connections,
            };
            let mut multi_node = false;
            let mut multi_source = false;
            for _ in 0..300 {
                let g = sampler.sample(&mut r);
                g.validate("sample").unwrap();
                for (i, (mi, ma)) in g.micro.iter().zip(&g.macro_).enumerate() {
                    assert!(DENSE_DIMS.contains(&mi.dense_in_dims));
                    assert!(SPARSE_DIMS.contains(&mi.sparse_in_dims));
                    assert!(ma.dense_idx.len() <= (i + 1).min(4));
                    multi_node |= mi.active_nodes.len() > 2;
                    multi_source |= ma.dense_idx.len() > 1 || ma.sparse_idx.len() > 1;
                    if strategy != PathStrategy::AnyOpAnyConn {
                        assert_eq!(mi.active_nodes.len(), 2);
                    }
                    if strategy == PathStrategy::SingleOpSingleConn {
                        assert_eq!((ma.dense_idx.len(), ma.sparse_idx.len()), (1, 1));
                    }
                }
            }
            assert_eq!(
                multi_node,
                strategy == PathStrategy::AnyOpAnyConn,
                "{strategy}"
            );
            assert_eq!(
                multi_source,
                strategy != PathStrategy::SingleOpSingleConn,
                "{strategy}"
            );
        }
    }
}

#[test]
fn binomial_source_counts_have_the_reference_mean() {
    // Block 6: 1 + Binomial(3, 0.5) has mean 2.5; uniform 1..=4 has mean 2.5 too but variance
    // 1.25 against 0.75.
    let mut r = rng(7);
    let n = 20_000;
    let counts: Vec<f64> = (0..n)
        .map(|_| {
            recpim_search::nas::sampling::source_count(6, ConnectionCount::Binomial, &mut r) as f64
        })
        .collect();
    let mean = counts.iter().sum::<f64>() / n as f64;
    let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / n as f64;
    assert!((mean - 2.5).abs() < 0.03, "{mean}");
    assert!((var - 0.75).abs() < 0.05, "{var}");
}

#[test]
fn full_path_probability_falls_linearly() {
    assert_eq!(full_path_probability(0, 100), 1.0);
    assert_eq!(full_path_probability(50, 100), 0.5);
    assert_eq!(full_path_probability(100, 100), 0.0);
    assert_eq!(full_path_probability(0, 0), 0.0);
}

#[test]
fn strategy_names_parse_and_bad_ones_name_the_choices() {
    for s in ALL_STRATEGIES {
        assert_eq!(s.name().parse::<PathStrategy>().unwrap(), s);
    }
    let err = "any".parse::<PathStrategy>().unwrap_err().to_string();
    assert!(err.contains("single-op-any-conn"), "{err}");
}
