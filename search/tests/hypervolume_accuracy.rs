//! The exact hypervolume against two independent references on seeded random fronts:
//! inclusion-exclusion over all subsets (exact, small fronts) and a Monte Carlo estimate
//! (large fronts, within 4 standard errors); plus invariances every hypervolume must have.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_search::hypervolume::{hypervolume, hypervolume_of_feasible};
use recpim_search::pareto::{non_dominated_indices, Objectives, ParetoPoint};

/// A random mutually non-dominated front of `n` points in [0,1)^d (points on a noisy simplex,
/// then filtered).
fn random_front(rng: &mut ChaCha8Rng, n: usize, dims: usize) -> Vec<Objectives> {
    let mut points = Vec::new();
    while points.len() < n {
        let raw: Vec<f64> = (0..dims).map(|_| rng.random::<f64>()).collect();
        let sum: f64 = raw.iter().sum();
        let scaled: Vec<f64> = raw
            .iter()
            .map(|v| 0.9 * v / sum + 0.05 * rng.random::<f64>())
            .collect();
        points.push(ParetoPoint::feasible(Objectives::new(scaled).unwrap()));
        let front = non_dominated_indices(&points).unwrap();
        points = front.into_iter().map(|i| points[i].clone()).collect();
    }
    points.into_iter().map(|p| p.objectives().clone()).collect()
}

/// Exact volume of a union of boxes by inclusion-exclusion over all non-empty subsets.
fn inclusion_exclusion(points: &[Objectives], reference: &[f64]) -> f64 {
    let n = points.len();
    let mut total = 0.0;
    for mask in 1u32..(1 << n) {
        let mut corner = vec![f64::NEG_INFINITY; reference.len()];
        for (_, p) in points
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
        {
            for (c, v) in corner.iter_mut().zip(p.values()) {
                *c = c.max(*v);
            }
        }
        let volume: f64 = corner
            .iter()
            .zip(reference)
            .map(|(c, r)| (r - c).max(0.0))
            .product();
        total += if mask.count_ones() % 2 == 1 {
            volume
        } else {
            -volume
        };
    }
    total
}

#[test]
fn matches_inclusion_exclusion_on_small_random_fronts() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    for dims in 2..=4 {
        for trial in 0..20 {
            let n = 1 + trial % 9;
            let front = random_front(&mut rng, n, dims);
            let reference = vec![1.0; dims];
            let exact = hypervolume(&front, &reference).unwrap();
            let expected = inclusion_exclusion(&front, &reference);
            assert!(
                (exact - expected).abs() <= 1e-12 * expected.max(1.0),
                "d={dims} n={n}: {exact} vs {expected}"
            );
        }
    }
}

#[test]
fn matches_monte_carlo_on_larger_random_fronts() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for dims in 2..=4 {
        let front = random_front(&mut rng, 40, dims);
        let reference = vec![1.1; dims];
        let exact = hypervolume(&front, &reference).unwrap();
        let samples = 200_000;
        let mut hits = 0u32;
        for _ in 0..samples {
            let u: Vec<f64> = (0..dims).map(|_| rng.random::<f64>() * 1.1).collect();
            if front
                .iter()
                .any(|p| p.values().iter().zip(&u).all(|(a, b)| a <= b))
            {
                hits += 1;
            }
        }
        let box_volume = 1.1f64.powi(dims as i32);
        let fraction = f64::from(hits) / f64::from(samples);
        let estimate = fraction * box_volume;
        let standard_error = (fraction * (1.0 - fraction) / f64::from(samples)).sqrt() * box_volume;
        assert!(
            (exact - estimate).abs() < 4.0 * standard_error,
            "d={dims}: exact {exact}, Monte Carlo {estimate} +- {standard_error}"
        );
    }
}

#[test]
fn dominated_and_outside_points_add_nothing_and_order_does_not_matter() {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    for dims in 2..=4 {
        let front = random_front(&mut rng, 25, dims);
        let reference = vec![1.0; dims];
        let base = hypervolume(&front, &reference).unwrap();
        let mut extended = front.clone();
        // A point dominated by a front member, and one beyond the reference.
        extended
            .push(Objectives::new(front[0].values().iter().map(|v| v + 0.01).collect()).unwrap());
        extended.push(Objectives::new(vec![1.5; dims]).unwrap());
        extended.reverse();
        let with_extra = hypervolume(&extended, &reference).unwrap();
        assert!(
            (base - with_extra).abs() < 1e-12,
            "d={dims}: {base} vs {with_extra}"
        );
        assert_eq!(hypervolume(&[], &reference).unwrap(), 0.0);
    }
}

#[test]
fn infeasible_points_earn_no_volume() {
    let good = Objectives::new(vec![0.5, 0.5]).unwrap();
    let better_but_infeasible =
        ParetoPoint::with_violation(Objectives::new(vec![0.0, 0.0]).unwrap(), 1.0).unwrap();
    let points = [ParetoPoint::feasible(good), better_but_infeasible];
    assert_eq!(hypervolume_of_feasible(&points, &[1.0, 1.0]).unwrap(), 0.25);
}
