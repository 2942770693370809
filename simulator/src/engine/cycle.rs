//! Cycle-level engine: every occupancy of every resource is scheduled in integer fs.
//!
//! Resources: per MVM layer copy an input-buffer port, the crossbars (per shape: the DAC bank,
//! the array, the ADC bank), the shift-add/adder tree, an output-buffer port and the link to the
//! next layer; chip-wide the embedding storage and the digital units. An event starts when its
//! input is ready and its resource is free, and holds the resource for its duration; events are
//! counted as they are scheduled, so energy is counted events x energy per event.
//!
//! Crossbars of one shape receive the same inputs at the same times, so one schedule is played
//! per shape and its events are counted `multiplicity` times. The compute stage holds its
//! crossbars from a vector's first DAC drive to its last ADC round.

use super::plan::{jobs_of_replica, runs, EventCounts, MvmPlan, OpPlan, Resource, MVM_STAGES};
use super::OpOutcome;
use crate::error::SimError;
use crate::event_trace::{TraceEvent, TraceSink};
use crate::hwconfig::HwConfig;
use crate::workload::Workload;
use std::collections::HashMap;

/// Emits events when a sink is attached.
struct Tracer<'s, 'w> {
    sink: Option<&'s mut dyn TraceSink>,
    workload: &'w Workload,
    op_index: usize,
    replica: u64,
    job: u64,
}

impl Tracer<'_, '_> {
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        resource: &'static str,
        shape: usize,
        multiplicity: u64,
        step: u64,
        start_fs: u128,
        end_fs: u128,
    ) -> Result<(), SimError> {
        if let Some(sink) = self.sink.as_deref_mut() {
            let op_name = self
                .workload
                .ops
                .get(self.op_index)
                .map_or("", |op| op.name());
            sink.record(&TraceEvent {
                op_index: self.op_index,
                op_name,
                replica: self.replica,
                job: self.job,
                resource,
                shape,
                multiplicity,
                step,
                start_fs,
                end_fs,
            })?;
        }
        Ok(())
    }
}

/// Plays one vector's compute stage from `start`; returns its end and adds its events.
fn play_compute(
    plan: &MvmPlan,
    start: u128,
    counts: &mut EventCounts,
    tracer: &mut Tracer<'_, '_>,
) -> Result<u128, SimError> {
    let mut stage_end = start;
    for (shape_index, shape) in plan.mapping.shapes.iter().enumerate() {
        let mult = u128::from(shape.multiplicity);
        let groups = plan.row_groups(shape);
        let rounds = plan.adc_rounds(shape);
        let step = plan.step;
        // Busy-until of this shape's DAC bank, array and ADC bank.
        let (mut dac_free, mut xbar_free, mut adc_free) = (start, start, start);
        let mut step_index: u64 = 0;
        for _slice in 0..plan.mapping.input_slices {
            for group in 0..groups {
                let group_rows =
                    u128::from((shape.rows - group * plan.active_rows).min(plan.active_rows));
                // Without sample-and-hold every ADC round needs its own drive and read.
                let (reads, rounds_per_read) = if plan.sample_and_hold {
                    (1, rounds)
                } else {
                    (rounds, 1)
                };
                for read in 0..reads {
                    // Without PE overlap a step waits for the previous step's last conversion.
                    let earliest = if plan.pe_overlap { start } else { adc_free };
                    let dac_start = earliest.max(dac_free);
                    let dac_end = dac_start + step.dac_fs;
                    dac_free = dac_end;
                    counts.dac_drives += mult * group_rows;
                    tracer.emit(
                        "dac",
                        shape_index,
                        shape.multiplicity,
                        step_index,
                        dac_start,
                        dac_end,
                    )?;
                    let read_start = dac_end.max(xbar_free);
                    let read_end = read_start + step.read_fs;
                    xbar_free = read_end;
                    counts.cell_reads += mult * group_rows * u128::from(shape.cols);
                    tracer.emit(
                        "crossbar",
                        shape_index,
                        shape.multiplicity,
                        step_index,
                        read_start,
                        read_end,
                    )?;
                    let mut ready = read_end;
                    for round in 0..rounds_per_read {
                        let round_index = read * rounds_per_read + round;
                        let round_cols = u128::from(
                            (shape.cols - round_index * plan.adcs_per_crossbar)
                                .min(plan.adcs_per_crossbar),
                        );
                        let adc_start = ready.max(adc_free);
                        let adc_end = adc_start + step.adc_round_fs;
                        adc_free = adc_end;
                        ready = adc_end;
                        counts.adc_conversions += mult * round_cols;
                        counts.shift_adds += mult * round_cols;
                        counts.register_accesses += mult * round_cols;
                        tracer.emit(
                            "adc",
                            shape_index,
                            shape.multiplicity,
                            step_index,
                            adc_start,
                            adc_end,
                        )?;
                    }
                    step_index += 1;
                }
            }
        }
        stage_end = stage_end.max(adc_free);
    }
    Ok(stage_end)
}

/// Plays one MVM stage for one vector from `start`; returns its end.
fn play_stage(
    resource: Resource,
    plan: &MvmPlan,
    start: u128,
    counts: &mut EventCounts,
    tracer: &mut Tracer<'_, '_>,
) -> Result<u128, SimError> {
    let mut t = start;
    match resource {
        Resource::InputBuffer => {
            for access in 0..plan.input_accesses {
                let end = t + plan.input_cycle_fs;
                counts.input_buffer_reads += 1;
                tracer.emit("input_buffer", 0, 1, access, t, end)?;
                t = end;
            }
        }
        Resource::Compute => t = play_compute(plan, start, counts, tracer)?,
        Resource::Merge => {
            let end = t + plan.shift_add_fs;
            tracer.emit("shift_add", 0, 1, 0, t, end)?;
            t = end;
            for level in 0..plan.tree_levels {
                let end = t + plan.tree_level_fs;
                tracer.emit("adder_tree", 0, 1, level, t, end)?;
                t = end;
            }
            counts.adder_adds +=
                u128::from(plan.cols) * u128::from(plan.mapping.partials_per_output - 1);
        }
        Resource::OutputBuffer => {
            for access in 0..plan.output_accesses {
                let end = t + plan.output_cycle_fs;
                counts.output_buffer_writes += 1;
                tracer.emit("output_buffer", 0, 1, access, t, end)?;
                t = end;
            }
        }
        Resource::Interconnect => {
            let end = t + plan.transfer_fs;
            counts.interconnect_bits += u128::from(plan.output_bits);
            tracer.emit("interconnect", 0, 1, 0, t, end)?;
            t = end;
        }
        Resource::Storage | Resource::DigitalUnits => {}
    }
    Ok(t)
}

/// Runs the cycle-level engine over planned ops.
pub(crate) fn run(
    hw: &HwConfig,
    workload: &Workload,
    plans: &[OpPlan],
    sink: Option<&mut dyn TraceSink>,
) -> Result<Vec<OpOutcome>, SimError> {
    let mut tracer = Tracer {
        sink,
        workload,
        op_index: 0,
        replica: 0,
        job: 0,
    };
    let mut outcomes: Vec<OpOutcome> = plans
        .iter()
        .map(|_| OpOutcome {
            start_fs: u128::MAX,
            end_fs: 0,
            compute_fs: 0,
            counts: EventCounts::default(),
        })
        .collect();
    // Chip-wide units, busy-until.
    let mut unit_free: HashMap<Resource, u128> = HashMap::new();
    let mut run_start: u128 = 0;
    for range in runs(hw, plans) {
        let mut run_end = run_start;
        let first_plan = &plans[range.start];
        match first_plan {
            OpPlan::Unit(unit) => {
                let index = range.start;
                tracer.op_index = index;
                tracer.replica = 0;
                tracer.job = 0;
                let free = unit_free.get(&unit.resource).copied().unwrap_or(0);
                let start = run_start.max(free);
                let end = start + unit.duration_fs;
                unit_free.insert(unit.resource, end);
                tracer.emit(unit.resource.name(), 0, 1, 0, start, end)?;
                let outcome = &mut outcomes[index];
                outcome.start_fs = start;
                outcome.end_fs = end;
                outcome.compute_fs = unit.duration_fs;
                outcome.counts.add(&unit.counts);
                run_end = end;
            }
            OpPlan::Mvm(first) => {
                let replicas = first.mapping.replicas;
                let ops: Vec<(usize, &MvmPlan)> = range
                    .clone()
                    .filter_map(|i| match &plans[i] {
                        OpPlan::Mvm(p) => Some((i, p)),
                        OpPlan::Unit(_) => None,
                    })
                    .collect();
                for replica in 0..replicas {
                    tracer.replica = replica;
                    // Busy-until per (op in run, stage); each layer copy has its own hardware.
                    let mut free = vec![[run_start; MVM_STAGES.len()]; ops.len()];
                    for job in 0..jobs_of_replica(first, replica) {
                        tracer.job = job;
                        let mut ready = run_start;
                        for (slot, &(index, plan)) in ops.iter().enumerate() {
                            tracer.op_index = index;
                            let mut op_start = None;
                            for (stage_index, &resource) in MVM_STAGES.iter().enumerate() {
                                let start = ready.max(free[slot][stage_index]);
                                op_start.get_or_insert(start);
                                let mut counts = EventCounts::default();
                                let end =
                                    play_stage(resource, plan, start, &mut counts, &mut tracer)?;
                                if resource == Resource::Compute {
                                    outcomes[index].compute_fs = end - start;
                                }
                                outcomes[index].counts.add(&counts);
                                free[slot][stage_index] = end;
                                ready = end;
                            }
                            if !hw.pipeline().across_inputs {
                                // The layer takes the next vector only when this one has left it.
                                free[slot][0] = ready;
                            }
                            let outcome = &mut outcomes[index];
                            outcome.start_fs = outcome.start_fs.min(op_start.unwrap_or(ready));
                            outcome.end_fs = outcome.end_fs.max(ready);
                        }
                        run_end = run_end.max(ready);
                    }
                }
            }
        }
        run_start = run_end;
    }
    // Sanity: every op was scheduled (count >= 1 is checked), so no start is left at MAX.
    for outcome in &mut outcomes {
        if outcome.start_fs == u128::MAX {
            outcome.start_fs = outcome.end_fs;
        }
    }
    Ok(outcomes)
}
