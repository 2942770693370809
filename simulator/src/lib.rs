//! recpim-sim: the ReRAM crossbar PIM simulator at the centre of recpim.
//!
//! It knows hardware ([`hwconfig`]) and workloads ([`workload`]), never models. Two engines
//! share one hardware model: a cycle-level engine and an analytic fast path held equal to it;
//! a functional path computes MVMs through the same bit slicing.
//!
//! ```no_run
//! use recpim_sim::{simulate_analytic, HwConfig, Workload};
//! let hw = HwConfig::load(std::path::Path::new("hwconfigs/mnsim-default.toml"))?;
//! let workload = Workload::load(std::path::Path::new("hwconfigs/workloads/mnsim-fc784x256.toml"))?;
//! let report = simulate_analytic(&hw, &workload)?;
//! println!("{} ns, {} pJ, {} mm^2", report.latency_ns, report.energy_pj, report.area_mm2);
//! # Ok::<(), recpim_sim::SimError>(())
//! ```
//!
//! Conventions (hwconfigs/README.md documents every key and the engines in full):
//! * Time is integer femtoseconds inside the engines; every config latency is rounded to 1 fs.
//! * Energy = counted events x energy per event + leakage power x total latency.
//! * Area = sum over instantiated components (all PEs of every tile, MNSIM style).
//! * MNSIM compatibility: `adc.sample_and_hold = false` + `pipeline.pe_overlap = false` give
//!   MNSIM's PE compute latency `ceil(in_bits/dac_bits) x row groups x ADC rounds x (t_DAC +
//!   t_read + t_ADC)`.

pub mod conventions;
pub mod functional;
pub mod recnmp;
pub mod trace;

pub mod cacti;
pub mod engine;
pub mod error;
pub mod event_trace;
pub mod hwconfig;
pub mod mapping;
pub mod report;
pub mod workload;

pub use engine::{simulate_analytic, simulate_cycle};
pub use error::SimError;
pub use event_trace::{CsvTrace, TraceEvent, TraceSink, VecTrace};
pub use hwconfig::HwConfig;
pub use report::{Breakdown, EngineKind, LayerReport, Report};
pub use workload::{DigitalKind, ElementwiseKind, Op, Workload};
