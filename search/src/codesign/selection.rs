//! Multi-objective parent selection for the joint evolution.
//!
//! Regularized evolution keeps its aging (the oldest candidates leave, whatever their fitness);
//! only the choice of a parent is multi-objective. Each step ranks the whole current population
//! with NSGA-II's crowded comparison (constrained non-domination rank, then crowding distance
//! within the rank, computed by [`crate::pareto::rank_and_crowding`]) and takes, from a random
//! sample of the population, the best member by that order: lower rank first, then the more
//! isolated point (larger crowding distance, so the front spreads instead of collapsing on one
//! objective), then the older candidate (lower id) so ties break the same way on every run.

use crate::error::{Result, SearchError};
use crate::pareto::{non_dominated_indices, rank_and_crowding, ParetoPoint, RankAndCrowding};

/// Crowded-comparison scores of a population, indexed like its points.
#[derive(Debug, Clone, PartialEq)]
pub struct CrowdedScores {
    scores: Vec<RankAndCrowding>,
}

impl CrowdedScores {
    /// Ranks `points` (the current population).
    pub fn new(points: &[ParetoPoint]) -> Result<Self> {
        Ok(Self {
            scores: rank_and_crowding(points)?,
        })
    }

    /// Score of population member `i`.
    pub fn score(&self, i: usize) -> Option<RankAndCrowding> {
        self.scores.get(i).copied()
    }

    /// The best of `sample` (indices into the population) by the crowded comparison; `ids`
    /// gives each population member's candidate id for the final tie-break (lower wins).
    pub fn best_of(&self, sample: &[usize], ids: &[u64]) -> Result<usize> {
        let mut best: Option<usize> = None;
        for &i in sample {
            let (Some(s), Some(&id)) = (self.scores.get(i), ids.get(i)) else {
                return Err(SearchError::IndexOutOfRange {
                    what: "parent sample",
                    index: i,
                    len: self.scores.len().min(ids.len()),
                });
            };
            best = match best {
                None => Some(i),
                Some(b) => {
                    let sb = self.scores[b];
                    let better = s
                        .rank
                        .cmp(&sb.rank)
                        .then(sb.crowding_distance.total_cmp(&s.crowding_distance))
                        .then(id.cmp(&ids[b]))
                        .is_lt();
                    Some(if better { i } else { b })
                }
            };
        }
        best.ok_or(SearchError::TooFewPoints {
            what: "parent selection",
            needed: 1,
            found: 0,
        })
    }
}

/// Indices of the feasible non-dominated points, ascending (the reported front). Infeasible
/// points are never on it, even when every point is infeasible.
pub fn feasible_front(points: &[ParetoPoint]) -> Result<Vec<usize>> {
    let feasible: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].is_feasible())
        .collect();
    let subset: Vec<ParetoPoint> = feasible.iter().map(|&i| points[i].clone()).collect();
    Ok(non_dominated_indices(&subset)?
        .into_iter()
        .map(|k| feasible[k])
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pareto::Objectives;

    fn p(values: &[f64]) -> ParetoPoint {
        ParetoPoint::feasible(Objectives::new(values.to_vec()).unwrap())
    }

    #[test]
    fn lower_rank_wins_then_crowding_then_age() {
        // 0, 1, 2 are non-dominated (0 and 2 are the front's ends, infinitely crowded);
        // 3 is dominated by 1.
        let points = [
            p(&[0.0, 3.0]),
            p(&[1.0, 1.0]),
            p(&[3.0, 0.0]),
            p(&[2.0, 2.0]),
        ];
        let scores = CrowdedScores::new(&points).unwrap();
        let ids = [10, 11, 12, 13];
        assert_eq!(scores.best_of(&[3, 1], &ids).unwrap(), 1);
        assert_eq!(scores.best_of(&[1, 2], &ids).unwrap(), 2);
        assert_eq!(scores.best_of(&[2, 0], &ids).unwrap(), 0);
        assert!(scores.best_of(&[], &ids).is_err());
        assert!(scores.best_of(&[9], &ids).is_err());
    }

    #[test]
    fn front_skips_infeasible_points() {
        let points = [
            p(&[1.0, 1.0]),
            ParetoPoint::with_violation(Objectives::new(vec![0.0, 0.0]).unwrap(), 0.1).unwrap(),
            p(&[2.0, 2.0]),
            p(&[0.5, 3.0]),
        ];
        assert_eq!(feasible_front(&points).unwrap(), vec![0, 3]);
    }
}
