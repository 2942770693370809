//! Non-dominated sorting of 10,000 random 4-objective points (and the first front alone).

use divan::Bencher;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recpim_search::pareto::{
    non_dominated_indices, non_dominated_sort, rank_and_crowding, Objectives, ParetoPoint,
};

fn main() {
    divan::main();
}

fn random_points(n: usize, dims: usize, seed: u64) -> Vec<ParetoPoint> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let values = (0..dims).map(|_| rng.random::<f64>()).collect();
            ParetoPoint::feasible(Objectives::new(values).expect("finite random objectives"))
        })
        .collect()
}

#[divan::bench(args = [1_000, 10_000])]
fn non_dominated_sort_4d(bencher: Bencher, n: usize) {
    let points = random_points(n, 4, 1);
    bencher.bench(|| non_dominated_sort(divan::black_box(&points)));
}

#[divan::bench(args = [10_000])]
fn first_front_4d(bencher: Bencher, n: usize) {
    let points = random_points(n, 4, 1);
    bencher.bench(|| non_dominated_indices(divan::black_box(&points)));
}

#[divan::bench(args = [10_000])]
fn rank_and_crowding_4d(bencher: Bencher, n: usize) {
    let points = random_points(n, 4, 1);
    bencher.bench(|| rank_and_crowding(divan::black_box(&points)));
}
