//! Correlation between two rankings: how well a cheap predictor (the supernet) orders
//! candidates the way the expensive truth (standalone training) does.
//!
//! - [`pearson_r`]: linear correlation of the values.
//! - [`spearman_rho`]: Pearson's r of the ranks (ties get their average rank).
//! - [`kendall_tau_b`]: Kendall's tau-b, `(C - D) / sqrt((n0 - n1)(n0 - n2))` with C/D the
//!   concordant/discordant pairs, n0 all pairs and n1/n2 the pairs tied in x/y, in O(n log n).
//!
//! All three reject samples of different lengths, fewer than two points, non-finite values and
//! a sample with zero variance (where the correlation is undefined).

use crate::error::{Result, SearchError};

/// Checks the two samples shared by all correlations.
fn check_samples(what: &'static str, x: &[f64], y: &[f64]) -> Result<()> {
    if x.len() != y.len() {
        return Err(SearchError::LengthMismatch {
            what,
            left: x.len(),
            right: y.len(),
        });
    }
    if x.len() < 2 {
        return Err(SearchError::TooFewPoints {
            what,
            needed: 2,
            found: x.len(),
        });
    }
    for (sample, values) in [("x", x), ("y", y)] {
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(SearchError::NonFiniteSample {
                what,
                sample,
                index,
                value,
            });
        }
    }
    Ok(())
}

/// Pearson's r of two checked samples; two-pass for accuracy.
fn pearson_checked(what: &'static str, x: &[f64], y: &[f64]) -> Result<f64> {
    let n = x.len() as f64;
    let mean_x = x.iter().sum::<f64>() / n;
    let mean_y = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mean_x, b - mean_y);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 {
        return Err(SearchError::ZeroVariance { what, sample: "x" });
    }
    if syy == 0.0 {
        return Err(SearchError::ZeroVariance { what, sample: "y" });
    }
    // Rounding can push |r| a hair past 1 for perfectly linear data.
    Ok((sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0))
}

/// Pearson's product-moment correlation coefficient r.
pub fn pearson_r(x: &[f64], y: &[f64]) -> Result<f64> {
    const WHAT: &str = "Pearson's r";
    check_samples(WHAT, x, y)?;
    pearson_checked(WHAT, x, y)
}

/// Ranks 1..=n, ties sharing the mean of the ranks they span.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end hold ranks start+1..=end; their mean is (start + 1 + end) / 2.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Spearman's rank correlation rho (Pearson's r of the average ranks).
pub fn spearman_rho(x: &[f64], y: &[f64]) -> Result<f64> {
    const WHAT: &str = "Spearman's rho";
    check_samples(WHAT, x, y)?;
    pearson_checked(WHAT, &average_ranks(x), &average_ranks(y))
}

/// Kendall's tau-b rank correlation (handles ties in either sample).
///
/// Knight's O(n log n) algorithm with exact integer pair counts: sort by (x, y), count the
/// pairs tied in x and in both, count discordant pairs as the inversions of y by merge sort,
/// then count the pairs tied in y. (The `kendalls` crate, used by the tests as a cross-check,
/// also computes a significance whose integer arithmetic overflows, and panics under overflow
/// checks, beyond about 1,450 points with heavy ties, so it is not used here.)
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Result<f64> {
    const WHAT: &str = "Kendall's tau-b";
    check_samples(WHAT, x, y)?;
    let n = x.len() as u64;
    let mut pairs: Vec<(f64, f64)> = x.iter().copied().zip(y.iter().copied()).collect();
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    // -0.0 and 0.0 compare equal as ties but differ under total_cmp; normalise them first.
    for p in &mut pairs {
        p.0 += 0.0;
        p.1 += 0.0;
    }
    let tied_x = tied_pair_count(&pairs, |a, b| a.0 == b.0);
    let tied_xy = tied_pair_count(&pairs, |a, b| a == b);
    let mut ys: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let discordant = sort_counting_inversions(&mut ys);
    let tied_y = tied_pair_count(&ys, |a, b| a == b);
    let all_pairs = n * (n - 1) / 2;
    if tied_x == all_pairs {
        return Err(SearchError::ZeroVariance {
            what: WHAT,
            sample: "x",
        });
    }
    if tied_y == all_pairs {
        return Err(SearchError::ZeroVariance {
            what: WHAT,
            sample: "y",
        });
    }
    // Pairs split into concordant + discordant + tied in x only + tied in y only + tied in both.
    let concordant_minus_discordant =
        all_pairs as f64 - tied_x as f64 - tied_y as f64 + tied_xy as f64 - 2.0 * discordant as f64;
    let denominator = ((all_pairs - tied_x) as f64).sqrt() * ((all_pairs - tied_y) as f64).sqrt();
    Ok((concordant_minus_discordant / denominator).clamp(-1.0, 1.0))
}

/// Number of pairs inside runs of consecutive equal items of a sorted slice.
fn tied_pair_count<T>(sorted: &[T], equal: impl Fn(&T, &T) -> bool) -> u64 {
    let mut total = 0u64;
    let mut run = 1u64;
    for w in sorted.windows(2) {
        if equal(&w[0], &w[1]) {
            run += 1;
        } else {
            total += run * (run - 1) / 2;
            run = 1;
        }
    }
    total + run * (run - 1) / 2
}

/// Sorts `values` ascending (bottom-up merge sort) and returns the number of strict
/// inversions (i < j with values[i] > values[j]); equal values are not inversions.
fn sort_counting_inversions(values: &mut Vec<f64>) -> u64 {
    let n = values.len();
    let mut buffer = vec![0.0; n];
    let mut inversions = 0u64;
    let mut width = 1;
    while width < n {
        for start in (0..n).step_by(2 * width) {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j, mut k) = (start, mid, start);
            while i < mid && j < end {
                if values[j] < values[i] {
                    buffer[k] = values[j];
                    inversions += (mid - i) as u64;
                    j += 1;
                } else {
                    buffer[k] = values[i];
                    i += 1;
                }
                k += 1;
            }
            buffer[k..k + mid - i].copy_from_slice(&values[i..mid]);
            k += mid - i;
            buffer[k..k + end - j].copy_from_slice(&values[j..end]);
        }
        std::mem::swap(values, &mut buffer);
        width *= 2;
    }
    inversions
}

/// The three correlations of one pair of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankCorrelations {
    /// Pearson's r.
    pub pearson_r: f64,
    /// Spearman's rho.
    pub spearman_rho: f64,
    /// Kendall's tau-b.
    pub kendall_tau_b: f64,
}

/// Pearson's r, Spearman's rho and Kendall's tau-b of `x` against `y`.
pub fn rank_correlations(x: &[f64], y: &[f64]) -> Result<RankCorrelations> {
    Ok(RankCorrelations {
        pearson_r: pearson_r(x, y)?,
        spearman_rho: spearman_rho(x, y)?,
        kendall_tau_b: kendall_tau_b(x, y)?,
    })
}
