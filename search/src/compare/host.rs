//! The host CPU that runs what RecNMP does not accelerate (MLPs, interactions, elementwise ops).
//!
//! RecNMP only accelerates SparseLengthsSum in the DIMMs; the rest of the model runs on the
//! server CPU (baselines.md §1.2). We cost it with a throughput-and-power model whose three
//! parameters are assumptions, listed in the assumptions table of every comparison.

use super::figures::Figures;
use crate::error::{Result, SearchError};
use recpim_sim::{Op, Workload};
use serde::Serialize;

/// A throughput-and-power model of one server CPU core running FP32 inference.
///
/// Latency = MAC-equivalents / throughput (weights resident in the caches, no memory stalls);
/// energy = busy power x latency. Area is not modelled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HostCpu {
    /// Sustained FP32 multiply-accumulates per ns for MLP and interaction ops.
    pub macs_per_ns: f64,
    /// Sustained elementwise FP32 operations per ns.
    pub elementwise_per_ns: f64,
    /// Power of the busy core with its share of the uncore, mW.
    pub power_mw: f64,
}

impl Default for HostCpu {
    /// [A] One AVX-512 server core: 2 FMA units x 16 FP32 lanes x 2.5 GHz = 80 MAC/ns peak, half
    /// of it sustained on batch-16 GEMMs; 205 W / 28 cores = 7.3 W per busy core (a Xeon
    /// Platinum 8180-class part, the generation of RecNMP's DDR4-2400 server).
    fn default() -> Self {
        HostCpu {
            macs_per_ns: 40.0,
            elementwise_per_ns: 40.0,
            power_mw: 7300.0,
        }
    }
}

impl HostCpu {
    /// Checks that every parameter is finite and > 0; errors name the parameter.
    pub fn check(&self) -> Result<()> {
        for (name, value) in [
            ("host macs_per_ns", self.macs_per_ns),
            ("host elementwise_per_ns", self.elementwise_per_ns),
            ("host power_mw", self.power_mw),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(SearchError::Compare {
                    what: name.to_string(),
                    reason: format!("{value} is invalid: it must be finite and > 0"),
                });
            }
        }
        Ok(())
    }

    /// Figures of `workload` on the host. Embedding lookups are not costed here (they go to
    /// RecNMP or to the host's DRAM model); a `Gather` op is an error.
    pub fn run(&self, workload: &Workload) -> Result<Figures> {
        self.check()?;
        let mut latency_ns = 0.0;
        for op in &workload.ops {
            latency_ns += match op {
                Op::Mvm {
                    rows, cols, count, ..
                } => (*rows as f64) * (*cols as f64) * (*count as f64) / self.macs_per_ns,
                Op::Digital { macs, .. } => *macs as f64 / self.macs_per_ns,
                Op::Elementwise { elements, .. } => *elements as f64 / self.elementwise_per_ns,
                Op::Gather { name, .. } => return Err(SearchError::Compare {
                    what: format!("op {name}"),
                    reason:
                        "embedding lookups are costed by the DRAM models, not the host CPU model"
                            .to_string(),
                }),
            };
        }
        Ok(Figures {
            latency_ns,
            // mW x ns = pJ.
            energy_pj: self.power_mw * latency_ns,
            area_mm2: None,
        })
    }
}
