//! Exact hypervolume of a set of minimised objective vectors against a reference point.
//!
//! The hypervolume is the Lebesgue measure of the union of the boxes `[p, reference]` over the
//! points `p`; points not strictly better than the reference in every objective add nothing and
//! are dropped first.
//!
//! Algorithm (exact, 2 to 4 objectives):
//! - 2 objectives: a sweep over the points sorted by the first objective, O(n log n).
//! - 3 and 4 objectives: slicing on the last objective, the dimension-sweep form of HSO
//!   ("Hypervolume by Slicing Objectives", While, Hingston, Barone and Huband, IEEE TEVC 10(1),
//!   2006). Points are visited in increasing last objective; between one point's value and the
//!   next the cross-section is the (d-1)-dimensional hypervolume of the points seen so far,
//!   computed by the same procedure recursively down to the 2-objective sweep. Points weakly
//!   dominated in the projection are dropped from the active set, since they add nothing to any
//!   later slice. Cost O(n^(d-1) log n) in the worst case: milliseconds for 100-point 4-D fronts.

use crate::error::{Result, SearchError};
use crate::pareto::{Objectives, ParetoPoint};

/// Smallest supported number of objectives.
pub const MIN_OBJECTIVES: usize = 2;
/// Largest supported number of objectives.
pub const MAX_OBJECTIVES: usize = 4;

type Point = [f64; MAX_OBJECTIVES];

/// Exact hypervolume dominated by `points` and bounded by `reference` (all objectives minimised).
///
/// Errors when the reference is not finite, when its length is outside
/// [`MIN_OBJECTIVES`]..=[`MAX_OBJECTIVES`], or when a point's length differs from it. Points that
/// do not strictly dominate the reference contribute nothing; an empty set has volume 0.
pub fn hypervolume(points: &[Objectives], reference: &[f64]) -> Result<f64> {
    let dims = reference.len();
    if !(MIN_OBJECTIVES..=MAX_OBJECTIVES).contains(&dims) {
        return Err(SearchError::UnsupportedObjectiveCount {
            found: dims,
            min: MIN_OBJECTIVES,
            max: MAX_OBJECTIVES,
        });
    }
    if let Some((objective, &value)) = reference.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(SearchError::NonFiniteObjective { objective, value });
    }
    let mut inside: Vec<Point> = Vec::with_capacity(points.len());
    for (index, p) in points.iter().enumerate() {
        let values = p.values();
        if values.len() != dims {
            return Err(SearchError::ObjectiveCountMismatch {
                what: "hypervolume points (against the reference point)",
                index,
                expected: dims,
                found: values.len(),
            });
        }
        if values.iter().zip(reference).all(|(v, r)| v < r) {
            let mut point = [0.0; MAX_OBJECTIVES];
            point[..dims].copy_from_slice(values);
            inside.push(point);
        }
    }
    let mut reference_point = [0.0; MAX_OBJECTIVES];
    reference_point[..dims].copy_from_slice(reference);
    Ok(volume(&mut inside, dims, &reference_point))
}

/// Hypervolume of the feasible points only (infeasible designs earn no volume).
pub fn hypervolume_of_feasible(points: &[ParetoPoint], reference: &[f64]) -> Result<f64> {
    let feasible: Vec<Objectives> = points
        .iter()
        .filter(|p| p.is_feasible())
        .map(|p| p.objectives().clone())
        .collect();
    hypervolume(&feasible, reference)
}

/// Volume of the union of boxes in the first `dims` coordinates; every point is strictly
/// inside the reference. Reorders `points`.
fn volume(points: &mut [Point], dims: usize, reference: &Point) -> f64 {
    if points.is_empty() {
        return 0.0;
    }
    if dims == 2 {
        return area_2d(points, reference);
    }
    let last = dims - 1;
    points.sort_unstable_by(|a, b| a[last].total_cmp(&b[last]));
    let mut active: Vec<Point> = Vec::with_capacity(points.len());
    let mut scratch: Vec<Point> = Vec::with_capacity(points.len());
    let mut total = 0.0;
    for i in 0..points.len() {
        let candidate = points[i];
        let covered = active.iter().any(|a| weakly_dominates(a, &candidate, last));
        if !covered {
            active.retain(|a| !weakly_dominates(&candidate, a, last));
            active.push(candidate);
        }
        let upper = points.get(i + 1).map_or(reference[last], |next| next[last]);
        let thickness = upper - candidate[last];
        if thickness > 0.0 {
            scratch.clear();
            scratch.extend_from_slice(&active);
            total += thickness * volume(&mut scratch, last, reference);
        }
    }
    total
}

/// `a` is no worse than `b` in each of the first `dims` coordinates.
fn weakly_dominates(a: &Point, b: &Point, dims: usize) -> bool {
    a[..dims].iter().zip(&b[..dims]).all(|(x, y)| x <= y)
}

/// Area of the union of `[p, reference]` rectangles in the first two coordinates.
fn area_2d(points: &mut [Point], reference: &Point) -> f64 {
    points.sort_unstable_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let mut lowest_y = reference[1];
    let mut area = 0.0;
    for p in points.iter() {
        if p[1] < lowest_y {
            // The strip between p's y and the lowest y so far is covered from p's x rightwards:
            // every earlier point (smaller x) lies above it.
            area += (reference[0] - p[0]) * (lowest_y - p[1]);
            lowest_y = p[1];
        }
    }
    area
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objs(v: &[f64]) -> Objectives {
        Objectives::new(v.to_vec()).unwrap()
    }

    #[test]
    fn staircase_2d_hand_computed() {
        // (1,3) (2,2) (3,1) against (4,4): strips 1*1 + 2*1 + 3*1 = 6.
        let pts = [objs(&[1.0, 3.0]), objs(&[2.0, 2.0]), objs(&[3.0, 1.0])];
        assert_eq!(hypervolume(&pts, &[4.0, 4.0]).unwrap(), 6.0);
    }

    #[test]
    fn two_boxes_3d_hand_computed() {
        // [0,2]x[0,2]x[1,2] = 4, [1,2]x[1,2]x[0,2] = 2, overlap [1,2]^3 = 1: 4 + 2 - 1 = 5.
        let pts = [objs(&[0.0, 0.0, 1.0]), objs(&[1.0, 1.0, 0.0])];
        assert_eq!(hypervolume(&pts, &[2.0, 2.0, 2.0]).unwrap(), 5.0);
    }

    #[test]
    fn two_boxes_4d_hand_computed() {
        // Boxes of (0,0,0,1) and (1,1,1,0) against 2^4: 8*1 + 1*2 - 1 = 9.
        let pts = [objs(&[0.0, 0.0, 0.0, 1.0]), objs(&[1.0, 1.0, 1.0, 0.0])];
        assert_eq!(hypervolume(&pts, &[2.0, 2.0, 2.0, 2.0]).unwrap(), 9.0);
    }

    #[test]
    fn rejects_bad_reference_and_mismatched_points() {
        assert!(matches!(
            hypervolume(&[objs(&[1.0])], &[2.0]),
            Err(SearchError::UnsupportedObjectiveCount { found: 1, .. })
        ));
        assert!(matches!(
            hypervolume(&[], &[1.0, f64::INFINITY]),
            Err(SearchError::NonFiniteObjective { objective: 1, .. })
        ));
        assert!(matches!(
            hypervolume(&[objs(&[1.0, 1.0, 1.0])], &[2.0, 2.0]),
            Err(SearchError::ObjectiveCountMismatch {
                index: 0,
                expected: 2,
                found: 3,
                ..
            })
        ));
    }
}
