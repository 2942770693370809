//! RecNMP (Ke et al., ISCA 2020) near-memory embedding lookups and the host baseline.
//!
//! A DDR4-2400 channel with 2, 4 or 8 ranks, modelled at command level ([`dram`]): per-bank
//! state, bank groups, tRRD_S/L, tFAW, tCCD_S/L, refresh and an FR-FCFS scheduler. RecNMP adds
//! a rank-NMP per rank (RankCache, FP32 partial sums) and a DIMM-NMP per DIMM (cross-rank add),
//! fed by NMP packets over the channel; the host baseline reads every row over the channel.
//! Energies come from the IDD currents (Micron formulas), the CACTI 32 nm SRAM table and two
//! explicit knobs (`io_pj_per_bit`, `fp32_add_pj`). See `hwconfigs/baselines/README.md`.

pub mod address;
pub mod cacti;
pub mod config;
pub mod dram;
mod error;
pub mod rankcache;
pub mod report;
mod simulate;

pub use config::{RawRecnmpConfig, RecnmpConfig, ALLOWED_RANKS};
pub use error::RecnmpError;
pub use report::{DesignResult, EnergySplit, RankCacheReport, RecnmpReport, TableCacheStats};
pub use simulate::{check_vector_bytes, simulate};
