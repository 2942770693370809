//! The two engines over one hardware model ([`plan`]).
//!
//! * [`simulate_cycle`] schedules every resource occupancy (DAC drive per input slice and row
//!   group, crossbar read, each ADC round, every buffer access, shift-add and each adder-tree
//!   level, link transfer, storage and digital-unit work) in integer femtoseconds and counts
//!   events as it goes; it can write the events to a [`crate::TraceSink`].
//! * [`simulate_analytic`] computes the same counts and times in closed form.
//!
//! Held equal (exactly, latency and every energy bucket) by tests/engines_agree.rs. With the
//! current op vocabulary ops run as an in-order chain and shared units (embedding storage,
//! digital units) are used by one op at a time, so there is no contention for the engines to
//! disagree on; the cycle engine is the reference the closed forms are checked against, and
//! the place where contention-dependent features go.

pub mod analytic;
pub mod cycle;
pub mod plan;

use crate::error::SimError;
use crate::event_trace::TraceSink;
use crate::hwconfig::HwConfig;
use crate::report::{Breakdown, EngineKind, LayerReport, Report};
use crate::workload::Workload;
use plan::{fs_to_ns, EventCounts, OpPlan};

/// What an engine found for one op.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpOutcome {
    /// First stage start.
    pub start_fs: u128,
    /// Last stage end.
    pub end_fs: u128,
    /// One vector's compute stage (MVM) or the op's occupancy (others).
    pub compute_fs: u128,
    /// Events of the whole op.
    pub counts: EventCounts,
}

/// Analytic (closed-form) simulation.
pub fn simulate_analytic(hw: &HwConfig, workload: &Workload) -> Result<Report, SimError> {
    let plans = plan::plan_workload(hw, workload)?;
    let outcomes = analytic::run(hw, &plans);
    Ok(assemble(
        hw,
        workload,
        &plans,
        &outcomes,
        EngineKind::Analytic,
    ))
}

/// Cycle-level simulation; events go to `trace` when given.
pub fn simulate_cycle(
    hw: &HwConfig,
    workload: &Workload,
    trace: Option<&mut dyn TraceSink>,
) -> Result<Report, SimError> {
    let plans = plan::plan_workload(hw, workload)?;
    let outcomes = cycle::run(hw, workload, &plans, trace)?;
    Ok(assemble(hw, workload, &plans, &outcomes, EngineKind::Cycle))
}

fn assemble(
    hw: &HwConfig,
    workload: &Workload,
    plans: &[OpPlan],
    outcomes: &[OpOutcome],
    engine: EngineKind,
) -> Report {
    let chip = plan::chip_figures(hw, plans);
    let latency_fs = outcomes.iter().map(|o| o.end_fs).max().unwrap_or(0);
    let latency_ns = fs_to_ns(latency_fs);
    let mut energy = Breakdown::default();
    let mut layers = Vec::with_capacity(outcomes.len());
    for ((op, plan), outcome) in workload.ops.iter().zip(plans).zip(outcomes) {
        let layer_energy = outcome.counts.energy(hw);
        energy.add(&layer_energy);
        let (crossbars, utilisation) = match plan {
            OpPlan::Mvm(m) => (m.mapping.crossbars, m.mapping.utilisation),
            OpPlan::Unit(u) => (u.crossbars, 0.0),
        };
        layers.push(LayerReport {
            name: op.name().to_string(),
            kind: op.kind_name().to_string(),
            start_ns: fs_to_ns(outcome.start_fs),
            end_ns: fs_to_ns(outcome.end_fs),
            latency_ns: fs_to_ns(outcome.end_fs - outcome.start_fs),
            compute_latency_ns: fs_to_ns(outcome.compute_fs),
            energy_pj: layer_energy.total(),
            energy_breakdown_pj: layer_energy,
            crossbars,
            utilisation,
        });
    }
    // mW x ns = pJ.
    energy.leakage = chip.leakage_mw * latency_ns;
    Report {
        engine,
        hw_name: hw.name().to_string(),
        hw_hash: hw.config_hash(),
        latency_ns,
        energy_pj: energy.total(),
        area_mm2: chip.area_mm2.total(),
        crossbars: chip.crossbars,
        tiles: chip.tiles,
        energy_breakdown_pj: energy,
        area_breakdown_mm2: chip.area_mm2,
        layers,
    }
}
