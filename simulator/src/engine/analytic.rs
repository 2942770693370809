//! Analytic engine: closed-form event counts and latencies over the shared hardware model.
//!
//! Compute stage of one crossbar shape with `n` identical steps of stage times (a, b, c)
//! (DAC drive, crossbar read, ADC rounds): `n(a+b+c)` without PE overlap, `a+b+c + (n-1)
//! max(a,b,c)` with it. Jobs through a chain of stages (units) with times p_1..p_K: job j
//! leaves unit k at `P_k + j M_k` (P prefix sum, M prefix max), the identical-job flow-shop
//! result the cycle engine reproduces event by event.

use super::plan::{jobs_of_replica, runs, EventCounts, MvmPlan, OpPlan};
use super::OpOutcome;
use crate::hwconfig::HwConfig;
use crate::mapping::CrossbarShape;

/// Steps and stage times of one shape's compute stage.
pub(crate) fn shape_steps(plan: &MvmPlan, shape: &CrossbarShape) -> (u128, [u128; 3]) {
    let groups = u128::from(plan.row_groups(shape));
    let rounds = u128::from(plan.adc_rounds(shape));
    let slices = u128::from(plan.mapping.input_slices);
    let s = plan.step;
    if plan.sample_and_hold {
        (
            slices * groups,
            [s.dac_fs, s.read_fs, rounds * s.adc_round_fs],
        )
    } else {
        (
            slices * groups * rounds,
            [s.dac_fs, s.read_fs, s.adc_round_fs],
        )
    }
}

/// One vector's compute stage.
pub(crate) fn compute_fs(plan: &MvmPlan) -> u128 {
    plan.mapping
        .shapes
        .iter()
        .map(|shape| {
            let (n, [a, b, c]) = shape_steps(plan, shape);
            if n == 0 {
                0
            } else if plan.pe_overlap {
                a + b + c + (n - 1) * a.max(b).max(c)
            } else {
                n * (a + b + c)
            }
        })
        .max()
        .unwrap_or(0)
}

/// Stage durations of one vector, in [`super::plan::MVM_STAGES`] order.
pub(crate) fn stage_fs(plan: &MvmPlan) -> [u128; 5] {
    [
        u128::from(plan.input_accesses) * plan.input_cycle_fs,
        compute_fs(plan),
        plan.shift_add_fs + u128::from(plan.tree_levels) * plan.tree_level_fs,
        u128::from(plan.output_accesses) * plan.output_cycle_fs,
        plan.transfer_fs,
    ]
}

/// Events of one vector through all crossbars of one layer copy.
fn vector_counts(plan: &MvmPlan) -> EventCounts {
    let mut c = EventCounts::default();
    let slices = u128::from(plan.mapping.input_slices);
    for shape in &plan.mapping.shapes {
        let mult = u128::from(shape.multiplicity);
        let rows = u128::from(shape.rows);
        let cols = u128::from(shape.cols);
        let rereads = if plan.sample_and_hold {
            1
        } else {
            u128::from(plan.adc_rounds(shape))
        };
        let conversions = slices * u128::from(plan.row_groups(shape)) * cols;
        c.dac_drives += mult * slices * rows * rereads;
        c.cell_reads += mult * slices * rows * cols * rereads;
        c.adc_conversions += mult * conversions;
        c.shift_adds += mult * conversions;
        c.register_accesses += mult * conversions;
    }
    c.adder_adds = u128::from(plan.cols) * u128::from(plan.mapping.partials_per_output - 1);
    c.input_buffer_reads = u128::from(plan.input_accesses);
    c.output_buffer_writes = u128::from(plan.output_accesses);
    c.interconnect_bits = u128::from(plan.output_bits);
    c
}

/// Scales every count by `factor`.
fn scaled(c: &EventCounts, factor: u128) -> EventCounts {
    EventCounts {
        dac_drives: c.dac_drives * factor,
        cell_reads: c.cell_reads * factor,
        adc_conversions: c.adc_conversions * factor,
        shift_adds: c.shift_adds * factor,
        register_accesses: c.register_accesses * factor,
        adder_adds: c.adder_adds * factor,
        input_buffer_reads: c.input_buffer_reads * factor,
        output_buffer_writes: c.output_buffer_writes * factor,
        interconnect_bits: c.interconnect_bits * factor,
        digital_macs: c.digital_macs * factor,
        elementwise_ops: c.elementwise_ops * factor,
        gather_bits: c.gather_bits * factor,
        gather_cell_reads: c.gather_cell_reads * factor,
    }
}

/// Runs the analytic engine over planned ops.
pub(crate) fn run(hw: &HwConfig, plans: &[OpPlan]) -> Vec<OpOutcome> {
    let mut outcomes: Vec<OpOutcome> = Vec::with_capacity(plans.len());
    let mut run_start: u128 = 0;
    for range in runs(hw, plans) {
        // Units of the run in order, with the op each belongs to.
        let mut units: Vec<(usize, u128)> = Vec::new();
        let mut jobs: u128 = 1;
        for index in range.clone() {
            match &plans[index] {
                OpPlan::Mvm(p) => {
                    jobs = u128::from(jobs_of_replica(p, 0));
                    let stages = stage_fs(p);
                    if hw.pipeline().across_inputs {
                        units.extend(stages.iter().map(|&t| (index, t)));
                    } else {
                        units.push((index, stages.iter().sum()));
                    }
                }
                OpPlan::Unit(u) => units.push((index, u.duration_fs)),
            }
        }
        let mut prefix_sum: u128 = 0;
        let mut prefix_max: u128 = 0;
        let mut run_end = run_start;
        for index in range {
            let first_start = run_start + prefix_sum;
            for &(_, t) in units.iter().filter(|(op, _)| *op == index) {
                prefix_sum += t;
                prefix_max = prefix_max.max(t);
            }
            let end = run_start + prefix_sum + jobs.saturating_sub(1) * prefix_max;
            run_end = end;
            let (compute, counts) = match &plans[index] {
                OpPlan::Mvm(p) => (
                    compute_fs(p),
                    scaled(&vector_counts(p), u128::from(p.count)),
                ),
                OpPlan::Unit(u) => (u.duration_fs, u.counts),
            };
            outcomes.push(OpOutcome {
                start_fs: first_start,
                end_fs: end,
                compute_fs: compute,
                counts,
            });
        }
        run_start = run_end;
    }
    outcomes
}
