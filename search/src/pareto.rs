//! Pareto dominance, non-dominated filtering, non-dominated sorting and crowding distance.
//!
//! All objectives are minimised (negate anything to be maximised). Constraints follow Deb's
//! constrained-domination rule (Deb 2000, used by NSGA-II): every point carries a total
//! constraint violation (0 = feasible), and
//! - a feasible point dominates every infeasible one (so an infeasible point never dominates a
//!   feasible one),
//! - of two infeasible points the one with the smaller violation dominates,
//! - of two feasible points the usual Pareto dominance decides.
//!
//! Sorting uses the Efficient Non-dominated Sort with sequential search (ENS-SS, Zhang et al.,
//! IEEE TEVC 19(2), 2015): points are visited in an order no dominator can come after (violation,
//! then objectives lexicographically, then index) and each joins the first front none of whose
//! members dominates it. It needs O(N) memory, unlike the O(N^2) dominated-sets of Deb's fast
//! non-dominated sort, and gives identical fronts. Every front is returned in ascending index
//! order, so results never depend on sort stability or on the order ties were met.

use std::cmp::Ordering;

use crate::error::{Result, SearchError};

/// A vector of objective values, all minimised. Always non-empty and finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Objectives {
    values: Vec<f64>,
}

impl Objectives {
    /// Checks that `values` is non-empty and every value is finite.
    pub fn new(values: Vec<f64>) -> Result<Self> {
        if values.is_empty() {
            return Err(SearchError::EmptyObjectives);
        }
        if let Some((objective, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(SearchError::NonFiniteObjective { objective, value });
        }
        // -0.0 + 0.0 is +0.0: the sorts order by total_cmp, which would otherwise put -0.0
        // before an equal 0.0 and let a dominator come after the point it dominates.
        let values = values.into_iter().map(|v| v + 0.0).collect();
        Ok(Self { values })
    }

    /// The objective values.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Number of objectives.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Always false: an `Objectives` has at least one value (kept for clippy's `len` convention).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Pareto dominance (minimisation): no worse in every objective and strictly better in at
    /// least one. Vectors of different lengths never dominate each other.
    pub fn dominates(&self, other: &Objectives) -> bool {
        dominates_slices(&self.values, &other.values)
    }
}

/// Pareto dominance on raw slices (minimisation); different lengths never dominate.
pub(crate) fn dominates_slices(a: &[f64], b: &[f64]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut strictly_better = false;
    for (x, y) in a.iter().zip(b) {
        if x > y {
            return false;
        }
        if x < y {
            strictly_better = true;
        }
    }
    strictly_better
}

/// A design's objectives and its total constraint violation (0 = feasible).
#[derive(Debug, Clone, PartialEq)]
pub struct ParetoPoint {
    objectives: Objectives,
    constraint_violation: f64,
}

impl ParetoPoint {
    /// A feasible point.
    pub fn feasible(objectives: Objectives) -> Self {
        Self {
            objectives,
            constraint_violation: 0.0,
        }
    }

    /// A point with a total constraint violation, e.g. the sum over constraints of
    /// `max(0, value - limit) / limit`; it must be finite and >= 0 (0 = feasible).
    pub fn with_violation(objectives: Objectives, constraint_violation: f64) -> Result<Self> {
        if !constraint_violation.is_finite() || constraint_violation < 0.0 {
            return Err(SearchError::InvalidConstraintViolation {
                value: constraint_violation,
            });
        }
        // Normalise -0.0 (which passes the check above) to 0.0, as for objectives.
        Ok(Self {
            objectives,
            constraint_violation: constraint_violation + 0.0,
        })
    }

    /// The objectives.
    pub fn objectives(&self) -> &Objectives {
        &self.objectives
    }

    /// The total constraint violation (0 = feasible).
    pub fn constraint_violation(&self) -> f64 {
        self.constraint_violation
    }

    /// Whether the point satisfies every constraint.
    pub fn is_feasible(&self) -> bool {
        self.constraint_violation == 0.0
    }

    /// Deb's constrained domination (see the module documentation).
    pub fn dominates(&self, other: &ParetoPoint) -> bool {
        match (self.is_feasible(), other.is_feasible()) {
            (true, false) => true,
            (false, true) => false,
            (false, false) => self.constraint_violation < other.constraint_violation,
            (true, true) => self.objectives.dominates(&other.objectives),
        }
    }
}

/// Checks that every point has as many objectives as the first one.
fn check_objective_counts(points: &[ParetoPoint]) -> Result<()> {
    let Some(first) = points.first() else {
        return Ok(());
    };
    let expected = first.objectives.len();
    if let Some((index, p)) = points
        .iter()
        .enumerate()
        .find(|(_, p)| p.objectives.len() != expected)
    {
        return Err(SearchError::ObjectiveCountMismatch {
            what: "Pareto points",
            index,
            expected,
            found: p.objectives.len(),
        });
    }
    Ok(())
}

/// Indices in an order that no dominator comes after: violation, then objectives
/// lexicographically, then index (total, so the order is fully deterministic).
fn dominance_compatible_order(points: &[ParetoPoint]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_unstable_by(|&i, &j| {
        let (a, b) = (&points[i], &points[j]);
        a.constraint_violation
            .total_cmp(&b.constraint_violation)
            .then_with(|| {
                a.objectives
                    .values
                    .iter()
                    .zip(&b.objectives.values)
                    .map(|(x, y)| x.total_cmp(y))
                    .find(|o| *o != Ordering::Equal)
                    .unwrap_or(Ordering::Equal)
            })
            .then(i.cmp(&j))
    });
    order
}

/// The points' objectives in one contiguous row-major block plus their violations, so the
/// quadratic inner loops of sorting walk memory linearly instead of chasing one allocation per
/// point.
struct PackedPoints {
    objective_count: usize,
    values: Vec<f64>,
    violations: Vec<f64>,
}

impl PackedPoints {
    fn new(points: &[ParetoPoint]) -> Self {
        let objective_count = points.first().map_or(0, |p| p.objectives.len());
        let mut values = Vec::with_capacity(points.len() * objective_count);
        for p in points {
            values.extend_from_slice(&p.objectives.values);
        }
        Self {
            objective_count,
            values,
            violations: points.iter().map(|p| p.constraint_violation).collect(),
        }
    }

    fn objectives(&self, i: usize) -> &[f64] {
        &self.values[i * self.objective_count..(i + 1) * self.objective_count]
    }

    /// Constrained domination, identical to [`ParetoPoint::dominates`].
    fn dominates(&self, a: usize, b: usize) -> bool {
        let (va, vb) = (self.violations[a], self.violations[b]);
        match (va == 0.0, vb == 0.0) {
            (true, false) => true,
            (false, true) => false,
            (false, false) => va < vb,
            (true, true) => dominates_slices(self.objectives(a), self.objectives(b)),
        }
    }
}

/// Indices of the non-dominated points (under constrained domination), ascending.
///
/// Identical points do not dominate each other, so duplicates of a front member are all kept.
/// If any point is feasible, only feasible points can be returned.
pub fn non_dominated_indices(points: &[ParetoPoint]) -> Result<Vec<usize>> {
    check_objective_counts(points)?;
    let packed = PackedPoints::new(points);
    let mut front: Vec<usize> = Vec::new();
    for i in dominance_compatible_order(points) {
        // Every dominator of i was visited earlier and, by transitivity, some front member
        // dominates i whenever anything does.
        if !front.iter().rev().any(|&f| packed.dominates(f, i)) {
            front.push(i);
        }
    }
    front.sort_unstable();
    Ok(front)
}

/// Non-dominated sorting: fronts F0 (non-dominated), F1 (non-dominated once F0 is removed), ...
/// Every index appears in exactly one front; each front is in ascending index order.
pub fn non_dominated_sort(points: &[ParetoPoint]) -> Result<Vec<Vec<usize>>> {
    check_objective_counts(points)?;
    let packed = PackedPoints::new(points);
    let mut fronts: Vec<Vec<usize>> = Vec::new();
    for i in dominance_compatible_order(points) {
        // ENS-SS: if no member of front k dominates i, no member of a later front does either
        // (each of those is dominated by a member of front k), so i belongs to front k. A
        // sequential scan beats binary search here: a front below i's rank is rejected at its
        // first dominator, while binary search pays several full scans of dominator-free fronts
        // (measured slower on 10,000 4-objective points).
        let rank = fronts
            .iter()
            .position(|front| !front.iter().rev().any(|&f| packed.dominates(f, i)));
        match rank {
            Some(k) => fronts[k].push(i),
            None => fronts.push(vec![i]),
        }
    }
    for front in &mut fronts {
        front.sort_unstable();
    }
    Ok(fronts)
}

/// NSGA-II crowding distance of each member of `front` (same order as `front`).
///
/// Per objective the members are ordered by value (ties by index); the two extremes get
/// infinity and each interior member adds (next - previous) / (max - min). An objective with no
/// spread adds nothing. Fronts of one or two members are all infinite.
pub fn crowding_distance(points: &[ParetoPoint], front: &[usize]) -> Result<Vec<f64>> {
    if let Some(&index) = front.iter().find(|&&i| i >= points.len()) {
        return Err(SearchError::IndexOutOfRange {
            what: "crowding-distance front",
            index,
            len: points.len(),
        });
    }
    let front_points: Vec<ParetoPoint> = front.iter().map(|&i| points[i].clone()).collect();
    check_objective_counts(&front_points)?;
    let n = front.len();
    let mut distance = vec![0.0_f64; n];
    if n <= 2 {
        return Ok(vec![f64::INFINITY; n]);
    }
    let objective_count = front_points[0].objectives.len();
    let mut order: Vec<usize> = (0..n).collect();
    for m in 0..objective_count {
        let value = |k: usize| front_points[k].objectives.values[m];
        order
            .sort_unstable_by(|&a, &b| value(a).total_cmp(&value(b)).then(front[a].cmp(&front[b])));
        let (first, last) = (order[0], order[n - 1]);
        distance[first] = f64::INFINITY;
        distance[last] = f64::INFINITY;
        let spread = value(last) - value(first);
        if spread <= 0.0 {
            continue;
        }
        for w in order.windows(3) {
            distance[w[1]] += (value(w[2]) - value(w[0])) / spread;
        }
    }
    Ok(distance)
}

/// The non-domination rank and crowding distance of one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankAndCrowding {
    /// Index of the front the point belongs to (0 = non-dominated).
    pub rank: usize,
    /// Crowding distance within that front (larger = more isolated).
    pub crowding_distance: f64,
}

/// Rank and crowding distance of every point, indexed like `points`.
pub fn rank_and_crowding(points: &[ParetoPoint]) -> Result<Vec<RankAndCrowding>> {
    let fronts = non_dominated_sort(points)?;
    let mut out = vec![
        RankAndCrowding {
            rank: 0,
            crowding_distance: 0.0
        };
        points.len()
    ];
    for (rank, front) in fronts.iter().enumerate() {
        let distances = crowding_distance(points, front)?;
        for (&i, d) in front.iter().zip(distances) {
            out[i] = RankAndCrowding {
                rank,
                crowding_distance: d,
            };
        }
    }
    Ok(out)
}

/// All indices ordered best first by NSGA-II's crowded comparison: lower rank, then larger
/// crowding distance, then lower index. Take a prefix for survivor selection.
pub fn crowded_order(points: &[ParetoPoint]) -> Result<Vec<usize>> {
    let scores = rank_and_crowding(points)?;
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        scores[a]
            .rank
            .cmp(&scores[b].rank)
            .then(
                scores[b]
                    .crowding_distance
                    .total_cmp(&scores[a].crowding_distance),
            )
            .then(a.cmp(&b))
    });
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(values: &[f64]) -> ParetoPoint {
        ParetoPoint::feasible(Objectives::new(values.to_vec()).unwrap())
    }

    #[test]
    fn dominance_needs_one_strict_improvement() {
        assert!(p(&[1.0, 2.0]).dominates(&p(&[1.0, 3.0])));
        assert!(!p(&[1.0, 2.0]).dominates(&p(&[1.0, 2.0])));
        assert!(!p(&[1.0, 3.0]).dominates(&p(&[2.0, 2.0])));
    }

    #[test]
    fn infeasible_never_dominates_feasible() {
        let infeasible =
            ParetoPoint::with_violation(Objectives::new(vec![0.0, 0.0]).unwrap(), 0.5).unwrap();
        let feasible_bad = p(&[9.0, 9.0]);
        assert!(!infeasible.dominates(&feasible_bad));
        assert!(feasible_bad.dominates(&infeasible));
        let less_infeasible =
            ParetoPoint::with_violation(Objectives::new(vec![5.0, 5.0]).unwrap(), 0.1).unwrap();
        assert!(less_infeasible.dominates(&infeasible));
    }

    #[test]
    fn hand_checked_fronts() {
        // (1,4) (2,2) (4,1) are mutually non-dominated; (3,3) is dominated by (2,2) only;
        // (4,4) by everything on F0 and F1; (2,2) duplicated stays on F0 twice.
        let pts = [
            p(&[1.0, 4.0]),
            p(&[3.0, 3.0]),
            p(&[2.0, 2.0]),
            p(&[4.0, 1.0]),
            p(&[4.0, 4.0]),
            p(&[2.0, 2.0]),
        ];
        assert_eq!(non_dominated_indices(&pts).unwrap(), vec![0, 2, 3, 5]);
        assert_eq!(
            non_dominated_sort(&pts).unwrap(),
            vec![vec![0, 2, 3, 5], vec![1], vec![4]]
        );
    }

    #[test]
    fn negative_zero_does_not_hide_a_dominator() {
        // Regression: (0, 3) dominates (-0, 5) although total_cmp orders -0 first.
        let pts = [p(&[-0.0, 5.0]), p(&[0.0, 3.0])];
        assert_eq!(non_dominated_indices(&pts).unwrap(), vec![1]);
        assert_eq!(non_dominated_sort(&pts).unwrap(), vec![vec![1], vec![0]]);
        let objectives = Objectives::new(vec![1.0, 2.0]).unwrap();
        let minus_zero = ParetoPoint::with_violation(objectives.clone(), -0.0).unwrap();
        let better = p(&[0.5, 2.0]);
        assert!(minus_zero.is_feasible());
        assert_eq!(
            non_dominated_sort(&[minus_zero, better]).unwrap(),
            vec![vec![1], vec![0]]
        );
    }

    #[test]
    fn crowding_distance_hand_computed() {
        // Front (0,4) (1,2) (2,1) (4,0): spreads 4 and 4.
        // (1,2): (2-0)/4 + (4-1)/4 = 1.25 ; (2,1): (4-1)/4 + (2-0)/4 = 1.25.
        let pts = [
            p(&[0.0, 4.0]),
            p(&[1.0, 2.0]),
            p(&[2.0, 1.0]),
            p(&[4.0, 0.0]),
        ];
        let d = crowding_distance(&pts, &[0, 1, 2, 3]).unwrap();
        assert!(d[0].is_infinite() && d[3].is_infinite());
        assert!((d[1] - 1.25).abs() < 1e-12 && (d[2] - 1.25).abs() < 1e-12);
    }

    #[test]
    fn bad_input_is_rejected() {
        assert!(matches!(
            Objectives::new(vec![]),
            Err(SearchError::EmptyObjectives)
        ));
        assert!(matches!(
            Objectives::new(vec![1.0, f64::NAN]),
            Err(SearchError::NonFiniteObjective { objective: 1, .. })
        ));
        assert!(ParetoPoint::with_violation(Objectives::new(vec![1.0]).unwrap(), -1.0).is_err());
        let mixed = [p(&[1.0, 2.0]), p(&[1.0])];
        assert!(matches!(
            non_dominated_sort(&mixed),
            Err(SearchError::ObjectiveCountMismatch {
                index: 1,
                expected: 2,
                found: 1,
                ..
            })
        ));
        assert!(matches!(
            crowding_distance(&mixed, &[0, 7]),
            Err(SearchError::IndexOutOfRange { index: 7, .. })
        ));
    }
}
