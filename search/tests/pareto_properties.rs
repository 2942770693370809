//! Property tests of non-dominated filtering and sorting: the front is mutually non-dominated,
//! every excluded point is dominated by a front member, fronts partition and are ranked
//! correctly, results do not depend on the order of the input, and constraints are respected.

use proptest::prelude::*;
use recpim_search::pareto::{
    crowded_order, non_dominated_indices, non_dominated_sort, rank_and_crowding, Objectives,
    ParetoPoint,
};

/// Points on a coarse grid (many ties and duplicates), some infeasible.
fn points_strategy() -> impl Strategy<Value = Vec<ParetoPoint>> {
    (1usize..=4).prop_flat_map(|m| {
        prop::collection::vec(
            (
                prop::collection::vec(0u8..6, m),
                prop_oneof![3 => Just(0u8), 1 => 1u8..4],
            ),
            0..40,
        )
        .prop_map(|raw| {
            raw.into_iter()
                .map(|(values, violation)| {
                    let objectives =
                        Objectives::new(values.into_iter().map(f64::from).collect()).unwrap();
                    ParetoPoint::with_violation(objectives, f64::from(violation) * 0.5).unwrap()
                })
                .collect()
        })
    })
}

/// Reference O(n^2) front: points no other point dominates.
fn brute_force_front(points: &[ParetoPoint]) -> Vec<usize> {
    (0..points.len())
        .filter(|&i| !points.iter().any(|q| q.dominates(&points[i])))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn front_is_non_dominated_and_covers_the_rest(points in points_strategy()) {
        let front = non_dominated_indices(&points).unwrap();
        for &f in &front {
            for q in &points {
                prop_assert!(!q.dominates(&points[f]), "front member {} is dominated", f);
            }
        }
        for i in (0..points.len()).filter(|i| !front.contains(i)) {
            prop_assert!(front.iter().any(|&f| points[f].dominates(&points[i])), "excluded point {} is not dominated by the front", i);
        }
        prop_assert_eq!(front, brute_force_front(&points));
    }

    #[test]
    fn sort_partitions_and_ranks(points in points_strategy()) {
        let fronts = non_dominated_sort(&points).unwrap();
        let mut seen: Vec<usize> = fronts.iter().flatten().copied().collect();
        seen.sort_unstable();
        prop_assert_eq!(seen, (0..points.len()).collect::<Vec<_>>());
        prop_assert_eq!(fronts.first().cloned().unwrap_or_default(), non_dominated_indices(&points).unwrap());
        for (k, front) in fronts.iter().enumerate() {
            prop_assert!(!front.is_empty());
            prop_assert!(front.windows(2).all(|w| w[0] < w[1]), "front {} not in index order", k);
            for &i in front {
                // Nothing in the same or a later front dominates a member ...
                for later in &fronts[k..] {
                    prop_assert!(!later.iter().any(|&j| points[j].dominates(&points[i])));
                }
                // ... and something in the previous front does.
                if k > 0 {
                    prop_assert!(fronts[k - 1].iter().any(|&j| points[j].dominates(&points[i])));
                }
            }
        }
    }

    #[test]
    fn results_are_permutation_invariant(points in points_strategy(), seed in any::<u64>()) {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        let mut permutation: Vec<usize> = (0..points.len()).collect();
        permutation.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        let shuffled: Vec<ParetoPoint> = permutation.iter().map(|&i| points[i].clone()).collect();
        // Map shuffled indices back to original ones and compare as sets per front.
        let back = |fronts: Vec<Vec<usize>>| -> Vec<Vec<usize>> {
            fronts.into_iter().map(|f| { let mut v: Vec<usize> = f.into_iter().map(|i| permutation[i]).collect(); v.sort_unstable(); v }).collect()
        };
        prop_assert_eq!(back(non_dominated_sort(&shuffled).unwrap()), non_dominated_sort(&points).unwrap());
    }

    #[test]
    fn crowding_is_permutation_invariant_without_ties(
        raw in prop::collection::vec(prop::collection::vec(0.0f64..1.0, 3), 1..40),
        seed in any::<u64>(),
    ) {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        // Continuous values: ties have probability zero, so no tie order can matter.
        let points: Vec<ParetoPoint> = raw.into_iter().map(|v| ParetoPoint::feasible(Objectives::new(v).unwrap())).collect();
        let mut permutation: Vec<usize> = (0..points.len()).collect();
        permutation.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        let shuffled: Vec<ParetoPoint> = permutation.iter().map(|&i| points[i].clone()).collect();
        let original = rank_and_crowding(&points).unwrap();
        let permuted = rank_and_crowding(&shuffled).unwrap();
        for (k, &i) in permutation.iter().enumerate() {
            prop_assert_eq!(original[i].rank, permuted[k].rank);
            let (a, b) = (original[i].crowding_distance, permuted[k].crowding_distance);
            prop_assert!(a == b || (a - b).abs() < 1e-12, "crowding of {} differs: {} vs {}", i, a, b);
        }
    }

    #[test]
    fn feasible_points_always_outrank_infeasible(points in points_strategy()) {
        let fronts = non_dominated_sort(&points).unwrap();
        let rank_of = |i: usize| fronts.iter().position(|f| f.contains(&i)).unwrap();
        for i in 0..points.len() {
            for j in 0..points.len() {
                if points[i].is_feasible() && !points[j].is_feasible() {
                    prop_assert!(rank_of(i) < rank_of(j));
                    prop_assert!(!points[j].dominates(&points[i]));
                }
            }
        }
        let order = crowded_order(&points).unwrap();
        let first_infeasible = order.iter().position(|&i| !points[i].is_feasible()).unwrap_or(order.len());
        prop_assert!(order[first_infeasible..].iter().all(|&i| !points[i].is_feasible()));
    }
}

#[test]
fn two_thousand_random_points_match_brute_force_front() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let points: Vec<ParetoPoint> = (0..2_000)
        .map(|_| {
            ParetoPoint::feasible(
                Objectives::new((0..3).map(|_| rng.random::<f64>()).collect()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        non_dominated_indices(&points).unwrap(),
        brute_force_front(&points)
    );
    let fronts = non_dominated_sort(&points).unwrap();
    assert_eq!(fronts.iter().map(Vec::len).sum::<usize>(), points.len());
}
