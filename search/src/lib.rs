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

pub mod error;
pub mod hypervolume;
pub mod pareto;
pub mod plot;
pub mod ranking;
pub mod seeds;

pub use error::{Result, SearchError};
