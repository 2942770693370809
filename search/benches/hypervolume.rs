//! Exact hypervolume of 100-point mutually non-dominated fronts in 2, 3 and 4 objectives.

use divan::Bencher;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_search::hypervolume::hypervolume;
use recpim_search::pareto::{non_dominated_indices, Objectives, ParetoPoint};

fn main() {
    divan::main();
}

/// `n` mutually non-dominated points near the simplex sum = 1 in [0,1]^dims.
fn random_front(n: usize, dims: usize, seed: u64) -> Vec<Objectives> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut points: Vec<ParetoPoint> = Vec::new();
    while points.len() < n {
        let raw: Vec<f64> = (0..dims).map(|_| rng.random::<f64>() + 1e-9).collect();
        let sum: f64 = raw.iter().sum();
        let values = raw.iter().map(|v| v / sum).collect();
        points.push(ParetoPoint::feasible(
            Objectives::new(values).expect("finite"),
        ));
        let front = non_dominated_indices(&points).expect("same objective count");
        points = front.into_iter().map(|i| points[i].clone()).collect();
    }
    points.into_iter().map(|p| p.objectives().clone()).collect()
}

#[divan::bench(args = [2, 3, 4])]
fn hypervolume_100_points(bencher: Bencher, dims: usize) {
    let front = random_front(100, dims, 3);
    let reference = vec![1.1; dims];
    bencher.bench(|| hypervolume(divan::black_box(&front), &reference));
}
