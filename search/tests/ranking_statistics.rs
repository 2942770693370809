//! Correlations against hand-computed values and against a brute-force pair count.

use approx::assert_abs_diff_eq;
use rand::{Rng, SeedableRng};
use recpim_search::ranking::{
    average_ranks, kendall_tau_b, pearson_r, rank_correlations, spearman_rho,
};
use recpim_search::SearchError;

#[test]
fn kendall_tau_hand_computed_without_ties() {
    // x = 1..5, y = 3 1 2 5 4: concordant 7, discordant 3 of 10 pairs, tau = 4/10.
    let tau = kendall_tau_b(&[1.0, 2.0, 3.0, 4.0, 5.0], &[3.0, 1.0, 2.0, 5.0, 4.0]).unwrap();
    assert_abs_diff_eq!(tau, 0.4, epsilon = 1e-15);
}

#[test]
fn kendall_tau_b_hand_computed_with_ties() {
    // x = 1 2 2 3, y = 1 3 2 3: C = 4, D = 0, one pair tied in x, one in y of n0 = 6:
    // tau_b = 4 / sqrt(5 * 5) = 0.8.
    let tau = kendall_tau_b(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 3.0]).unwrap();
    assert_abs_diff_eq!(tau, 0.8, epsilon = 1e-15);
}

/// O(n^2) tau-b straight from the definition.
fn brute_force_tau_b(x: &[f64], y: &[f64]) -> f64 {
    let (mut c, mut d, mut tx, mut ty, mut n0) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            n0 += 1.0;
            let (sx, sy) = (
                (x[i] - x[j]).signum() * f64::from(x[i] != x[j]),
                (y[i] - y[j]).signum() * f64::from(y[i] != y[j]),
            );
            if sx == 0.0 {
                tx += 1.0;
            }
            if sy == 0.0 {
                ty += 1.0;
            }
            if sx * sy > 0.0 {
                c += 1.0;
            } else if sx * sy < 0.0 {
                d += 1.0;
            }
        }
    }
    (c - d) / ((n0 - tx) * (n0 - ty)).sqrt()
}

#[test]
fn kendall_tau_matches_pair_counting_on_random_tied_data() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for _ in 0..50 {
        let n = rng.random_range(3..60);
        let x: Vec<f64> = (0..n)
            .map(|_| f64::from(rng.random_range(0..8u8)))
            .collect();
        let y: Vec<f64> = x
            .iter()
            .map(|v| v + f64::from(rng.random_range(0..5u8)))
            .collect();
        let tau = kendall_tau_b(&x, &y).unwrap();
        assert_abs_diff_eq!(tau, brute_force_tau_b(&x, &y), epsilon = 1e-12);
    }
}

#[test]
fn kendall_tau_matches_the_kendalls_crate() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    for _ in 0..50 {
        let n = rng.random_range(2..300);
        let x: Vec<f64> = (0..n)
            .map(|_| f64::from(rng.random_range(0..20u8)))
            .collect();
        let y: Vec<f64> = x
            .iter()
            .map(|v| v * 0.5 + f64::from(rng.random_range(0..15u8)))
            .collect();
        if x.iter().all(|v| *v == x[0]) || y.iter().all(|v| *v == y[0]) {
            continue;
        }
        let (reference, _significance) =
            kendalls::tau_b_with_comparator(&x, &y, |a: &f64, b: &f64| a.total_cmp(b)).unwrap();
        assert_abs_diff_eq!(kendall_tau_b(&x, &y).unwrap(), reference, epsilon = 1e-12);
    }
}

#[test]
fn kendall_tau_large_heavily_tied_sample_does_not_overflow() {
    // Regression: the kendalls crate's significance arithmetic overflows here (n = 3000, two
    // tie groups per sample). x and y are independent halves, so every C and D cancels: tau = 0.
    let x: Vec<f64> = (0..3000).map(|i| f64::from(i % 2)).collect();
    let y: Vec<f64> = (0..3000).map(|i| f64::from((i / 2) % 2)).collect();
    assert_abs_diff_eq!(kendall_tau_b(&x, &y).unwrap(), 0.0, epsilon = 1e-15);
    // -0.0 and 0.0 are one tie group.
    assert_abs_diff_eq!(
        kendall_tau_b(&[-0.0, 0.0, 1.0], &[1.0, 2.0, 3.0]).unwrap(),
        2.0 / 6f64.sqrt(),
        epsilon = 1e-15
    );
}

#[test]
fn pearson_and_spearman_hand_computed() {
    // x = 1..5, y = 2 4 5 4 5: Sxy = 6, Sxx = 10, Syy = 6, r = 6/sqrt(60).
    let x = [1.0, 2.0, 3.0, 4.0, 5.0];
    let y = [2.0, 4.0, 5.0, 4.0, 5.0];
    assert_abs_diff_eq!(
        pearson_r(&x, &y).unwrap(),
        6.0 / 60f64.sqrt(),
        epsilon = 1e-15
    );
    // Ranks of y: 1, 2.5, 4.5, 2.5, 4.5; Sxy = 7, Syy = 9, rho = 7/sqrt(90).
    assert_eq!(average_ranks(&y), vec![1.0, 2.5, 4.5, 2.5, 4.5]);
    assert_abs_diff_eq!(
        spearman_rho(&x, &y).unwrap(),
        7.0 / 90f64.sqrt(),
        epsilon = 1e-15
    );
}

#[test]
fn monotone_but_nonlinear_relation() {
    let x: Vec<f64> = (1..=20).map(f64::from).collect();
    let y: Vec<f64> = x.iter().map(|v| v.powi(3)).collect();
    let all = rank_correlations(&x, &y).unwrap();
    assert_eq!(all.spearman_rho, 1.0);
    assert_eq!(all.kendall_tau_b, 1.0);
    assert!(
        all.pearson_r < 0.95 && all.pearson_r > 0.85,
        "{}",
        all.pearson_r
    );
    let reversed: Vec<f64> = y.iter().map(|v| -v).collect();
    assert_eq!(kendall_tau_b(&x, &reversed).unwrap(), -1.0);
}

#[test]
fn bad_input_is_rejected_with_the_reason() {
    assert!(matches!(
        pearson_r(&[1.0, 2.0], &[1.0]),
        Err(SearchError::LengthMismatch {
            left: 2,
            right: 1,
            ..
        })
    ));
    assert!(matches!(
        spearman_rho(&[1.0], &[1.0]),
        Err(SearchError::TooFewPoints {
            needed: 2,
            found: 1,
            ..
        })
    ));
    assert!(matches!(
        kendall_tau_b(&[], &[]),
        Err(SearchError::TooFewPoints { found: 0, .. })
    ));
    assert!(matches!(
        pearson_r(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]),
        Err(SearchError::ZeroVariance { sample: "x", .. })
    ));
    assert!(matches!(
        spearman_rho(&[1.0, 2.0, 3.0], &[4.0, 4.0, 4.0]),
        Err(SearchError::ZeroVariance { sample: "y", .. })
    ));
    assert!(matches!(
        kendall_tau_b(&[2.0, 2.0], &[1.0, 3.0]),
        Err(SearchError::ZeroVariance { sample: "x", .. })
    ));
    assert!(matches!(
        kendall_tau_b(&[1.0, f64::NAN], &[1.0, 2.0]),
        Err(SearchError::NonFiniteSample {
            sample: "x",
            index: 1,
            ..
        })
    ));
}
