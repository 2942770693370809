//! Design-space sweeps that scale out (DESIGN.md convention 11).
//!
//! - [`space`]: the sweep-space TOML (a grid or a seeded random sample over hwconfig keys,
//!   workloads and workload bitwidths);
//! - [`shard`]: deterministic `i/N` slices from flags, SLURM arrays or Kubernetes Indexed Jobs;
//! - [`rows`]: the CSV schema (config hash, seed, swept keys, latency, energy, area, EDP);
//! - [`runner`]: parallel evaluation with an ordered, resumable journal;
//! - [`accuracy`]: a trained model's ideal and hardware-functional log losses at every point;
//! - [`merge`]: shards (or co-design islands) into one CSV, its Pareto front and plot.
//!
//! The bytes of every output depend only on the space, the workloads and the engine: not on the
//! thread count, the shard split (after merging) or where a run was killed and resumed.

pub mod accuracy;
pub mod merge;
pub mod rows;
pub mod runner;
pub mod shard;
pub mod space;

pub use accuracy::{AccuracySettings, SweepAccuracy, ACCURACY_COLUMNS};
pub use merge::{merge_files, FrontSummary, MergeOutcome};
pub use rows::{SweepRow, SWEEP_OBJECTIVES};
pub use runner::{run_sweep, SweepEngine, SweepJob, SweepOutcome, DEFAULT_CHUNK_POINTS};
pub use shard::Shard;
pub use space::{NamedWorkload, Sampling, SweepSpace};
