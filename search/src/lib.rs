//! recpim-search: the search side of recpim.
//!
//! Foundations used by the architecture search, the hardware co-design and the sweeps:
//! - [`pareto`]: constrained Pareto dominance, non-dominated filtering and sorting, crowding distance;
//! - [`hypervolume`]: exact hypervolume of 2-, 3- and 4-objective fronts;
//! - [`ranking`]: Pearson's r, Spearman's rho and Kendall's tau-b between two rankings;
//! - [`seeds`]: per-candidate ChaCha8 random streams, independent of evaluation order and threads;
//! - [`plot`]: SVG scatter of a two-objective front with baselines;
//! - [`error`]: the crate's one error type.
//!
//! All objectives are minimised throughout.
//!
//! ```
//! use recpim_search::hypervolume::hypervolume;
//! use recpim_search::pareto::{non_dominated_sort, Objectives, ParetoPoint};
//!
//! // (log loss, energy in pJ) of four designs; the last one breaks an area limit.
//! let designs = [(0.45, 900.0, 0.0), (0.44, 1500.0, 0.0), (0.46, 1200.0, 0.0), (0.40, 100.0, 0.3)];
//! let points = designs
//!     .iter()
//!     .map(|&(loss, energy_pj, violation)| {
//!         ParetoPoint::with_violation(Objectives::new(vec![loss, energy_pj])?, violation)
//!     })
//!     .collect::<recpim_search::Result<Vec<_>>>()?;
//! let fronts = non_dominated_sort(&points)?;
//! // Design 2 is dominated by design 0; the infeasible design ranks last despite its numbers.
//! assert_eq!(fronts, vec![vec![0, 1], vec![2], vec![3]]);
//! let front: Vec<Objectives> = fronts[0].iter().map(|&i| points[i].objectives().clone()).collect();
//! let volume = hypervolume(&front, &[0.5, 2000.0])?;
//! assert!((volume - (0.05 * 1100.0 + 0.01 * 500.0)).abs() < 1e-9);
//! # Ok::<(), recpim_search::SearchError>(())
//! ```

pub mod backend;
pub mod codesign;
pub mod compare;
pub mod error;
pub mod hypervolume;
pub mod nas;
pub mod pareto;
pub mod plot;
pub mod ranking;
pub mod seeds;
pub mod significance;
pub mod sweep;

pub use error::{Result, SearchError};
