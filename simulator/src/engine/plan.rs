//! The hardware model both engines share: per-op stage structure, per-event energies, chip area
//! and leakage. The engines differ only in how they obtain event counts and stage times: the
//! analytic engine by closed forms, the cycle engine by playing every event on its resource.
//!
//! Time is kept in integer femtoseconds (u128): every latency of the config is rounded to the
//! nearest fs once, here, so both engines add the same integers and agree exactly.

use crate::error::SimError;
use crate::hwconfig::{Embedding, HwConfig};
use crate::mapping::{self, CrossbarShape, MvmMapping};
use crate::report::Breakdown;
use crate::workload::{Op, Workload};

/// Femtoseconds per nanosecond.
pub const FS_PER_NS: f64 = 1e6;

/// Rounds a duration in ns to whole fs.
pub fn ns_to_fs(ns: f64) -> u128 {
    (ns * FS_PER_NS).round().max(0.0) as u128
}

/// Converts fs back to ns.
pub fn fs_to_ns(fs: u128) -> f64 {
    fs as f64 / FS_PER_NS
}

/// Events counted by the engines; energy = count x energy per event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventCounts {
    /// Word-line drives (one row, one input slice).
    pub dac_drives: u128,
    /// Cell reads of the compute arrays.
    pub cell_reads: u128,
    /// ADC conversions.
    pub adc_conversions: u128,
    /// Shift-adds of conversion results.
    pub shift_adds: u128,
    /// Register writes of conversion results.
    pub register_accesses: u128,
    /// Two-operand additions in the adder tree.
    pub adder_adds: u128,
    /// PE input buffer block reads.
    pub input_buffer_reads: u128,
    /// PE output buffer block writes.
    pub output_buffer_writes: u128,
    /// Bits moved between layers.
    pub interconnect_bits: u128,
    /// MACs on the digital units.
    pub digital_macs: u128,
    /// Elementwise ops on the digital units.
    pub elementwise_ops: u128,
    /// Embedding bits read from storage.
    pub gather_bits: u128,
    /// Cells read in ReRAM embedding storage.
    pub gather_cell_reads: u128,
}

impl EventCounts {
    /// Field-wise sum.
    pub fn add(&mut self, o: &EventCounts) {
        self.dac_drives += o.dac_drives;
        self.cell_reads += o.cell_reads;
        self.adc_conversions += o.adc_conversions;
        self.shift_adds += o.shift_adds;
        self.register_accesses += o.register_accesses;
        self.adder_adds += o.adder_adds;
        self.input_buffer_reads += o.input_buffer_reads;
        self.output_buffer_writes += o.output_buffer_writes;
        self.interconnect_bits += o.interconnect_bits;
        self.digital_macs += o.digital_macs;
        self.elementwise_ops += o.elementwise_ops;
        self.gather_bits += o.gather_bits;
        self.gather_cell_reads += o.gather_cell_reads;
    }

    /// Dynamic energy per bucket in pJ (leakage 0).
    pub fn energy(&self, hw: &HwConfig) -> Breakdown {
        let f = |n: u128| n as f64;
        let gather = match hw.embedding() {
            Embedding::Dram {
                energy_pj_per_bit, ..
            } => f(self.gather_bits) * energy_pj_per_bit,
            Embedding::Reram {
                sense_energy_pj_per_bit,
                ..
            } => {
                f(self.gather_cell_reads) * hw.device().read_energy_per_cell_pj
                    + f(self.gather_bits) * sense_energy_pj_per_bit
            }
        };
        Breakdown {
            dac: f(self.dac_drives) * hw.dac().energy_pj,
            crossbar: f(self.cell_reads) * hw.device().read_energy_per_cell_pj,
            adc: f(self.adc_conversions) * hw.adc().energy_pj,
            shift_add: f(self.shift_adds) * hw.shift_add().energy_pj_per_op
                + f(self.register_accesses) * hw.registers().energy_pj_per_access
                + f(self.adder_adds) * hw.adder_tree().energy_pj_per_add,
            buffer: f(self.input_buffer_reads) * hw.input_buffer().read_energy_pj
                + f(self.output_buffer_writes) * hw.output_buffer().write_energy_pj,
            interconnect: f(self.interconnect_bits) * hw.interconnect().energy_pj_per_bit,
            digital: f(self.digital_macs) * hw.digital().energy_pj_per_mac
                + f(self.elementwise_ops) * hw.digital().energy_pj_per_elementwise_op,
            gather,
            leakage: 0.0,
        }
    }
}

/// Stage timing of one crossbar compute step, in fs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepTimes {
    /// DAC drive.
    pub dac_fs: u128,
    /// Crossbar read.
    pub read_fs: u128,
    /// One ADC round (every ADC of the crossbar converts one column).
    pub adc_round_fs: u128,
}

/// Everything an engine needs to run one MVM op.
#[derive(Debug, Clone, PartialEq)]
pub struct MvmPlan {
    /// The mapping.
    pub mapping: MvmMapping,
    /// Input vectors.
    pub count: u64,
    /// Output elements per vector.
    pub cols: u64,
    /// Step stage times.
    pub step: StepTimes,
    /// Word lines driven per read.
    pub active_rows: u64,
    /// ADCs per crossbar.
    pub adcs_per_crossbar: u64,
    /// One read serves every ADC round.
    pub sample_and_hold: bool,
    /// DAC/read/ADC of consecutive steps overlap.
    pub pe_overlap: bool,
    /// Input buffer block reads per vector.
    pub input_accesses: u64,
    /// Input buffer time per access.
    pub input_cycle_fs: u128,
    /// Output buffer block writes per vector.
    pub output_accesses: u64,
    /// Output buffer time per access.
    pub output_cycle_fs: u128,
    /// Final shift-add time per vector.
    pub shift_add_fs: u128,
    /// Adder-tree levels.
    pub tree_levels: u64,
    /// Time per adder-tree level.
    pub tree_level_fs: u128,
    /// Bits sent on per vector.
    pub output_bits: u64,
    /// Interconnect time per vector.
    pub transfer_fs: u128,
}

impl MvmPlan {
    /// Row groups of a crossbar shape.
    pub fn row_groups(&self, shape: &CrossbarShape) -> u64 {
        shape.rows.div_ceil(self.active_rows)
    }

    /// ADC rounds of a crossbar shape.
    pub fn adc_rounds(&self, shape: &CrossbarShape) -> u64 {
        shape.cols.div_ceil(self.adcs_per_crossbar)
    }
}

/// A single-stage op on a shared unit (embedding storage or the digital units).
#[derive(Debug, Clone, PartialEq)]
pub struct UnitPlan {
    /// Which unit.
    pub resource: Resource,
    /// Occupancy.
    pub duration_fs: u128,
    /// Events of the whole op.
    pub counts: EventCounts,
    /// ReRAM storage crossbars (gather only).
    pub crossbars: u64,
}

/// One op, planned.
#[derive(Debug, Clone, PartialEq)]
pub enum OpPlan {
    /// A crossbar MVM.
    Mvm(MvmPlan),
    /// A gather, digital or elementwise op.
    Unit(UnitPlan),
}

/// The resources stages occupy (names used in traces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// PE input buffer port.
    InputBuffer,
    /// The crossbars (DAC, array, ADC) as one compute stage.
    Compute,
    /// Shift-add and adder tree.
    Merge,
    /// PE output buffer port.
    OutputBuffer,
    /// Link to the next layer.
    Interconnect,
    /// Embedding storage.
    Storage,
    /// Digital units.
    DigitalUnits,
}

impl Resource {
    /// Name in traces.
    pub fn name(self) -> &'static str {
        match self {
            Resource::InputBuffer => "input_buffer",
            Resource::Compute => "compute",
            Resource::Merge => "merge",
            Resource::OutputBuffer => "output_buffer",
            Resource::Interconnect => "interconnect",
            Resource::Storage => "storage",
            Resource::DigitalUnits => "digital_units",
        }
    }
}

/// The stages of one MVM job, in order.
pub const MVM_STAGES: [Resource; 5] = [
    Resource::InputBuffer,
    Resource::Compute,
    Resource::Merge,
    Resource::OutputBuffer,
    Resource::Interconnect,
];

/// Digital cycles needed for `work` items on the digital units.
fn digital_cycles(hw: &HwConfig, work: u64) -> u128 {
    let per_cycle = u128::from(hw.digital().units) * u128::from(hw.digital().macs_per_cycle);
    u128::from(work).div_ceil(per_cycle)
}

/// Plans every op; fails if a fixed chip cannot hold the workload's crossbars.
pub fn plan_workload(hw: &HwConfig, workload: &Workload) -> Result<Vec<OpPlan>, SimError> {
    workload.check("<workload>")?;
    let clock_fs = ns_to_fs(hw.digital_cycle_ns());
    let mut plans = Vec::with_capacity(workload.ops.len());
    let mut tiles_so_far: u64 = 0;
    for (index, op) in workload.ops.iter().enumerate() {
        let plan = match op {
            Op::Mvm {
                rows,
                cols,
                weight_bits,
                input_bits,
                count,
                name,
            } => {
                let mapping = mapping::map_mvm(hw, *rows, *cols, *weight_bits, *input_bits);
                tiles_so_far = tiles_so_far.saturating_add(mapping.tiles);
                if let Some(available) = hw.hierarchy().tiles {
                    if tiles_so_far > u64::from(available) {
                        return Err(SimError::Unmappable {
                            op_index: index,
                            op_name: name.clone(),
                            needed_tiles: tiles_so_far,
                            available_tiles: u64::from(available),
                        });
                    }
                }
                let in_bits = rows * u64::from(*input_bits);
                let out_bits = cols * u64::from(*input_bits);
                let partials = mapping.partials_per_output;
                let tree_levels = if partials <= 1 {
                    0
                } else {
                    u64::from(64 - (partials - 1).leading_zeros())
                };
                OpPlan::Mvm(MvmPlan {
                    count: *count,
                    cols: *cols,
                    step: StepTimes {
                        dac_fs: ns_to_fs(hw.dac().latency_ns),
                        read_fs: ns_to_fs(hw.device().read_latency_ns),
                        adc_round_fs: ns_to_fs(hw.adc().conversion_ns),
                    },
                    active_rows: u64::from(hw.effective_active_rows()),
                    adcs_per_crossbar: u64::from(hw.adc().per_crossbar),
                    sample_and_hold: hw.adc().sample_and_hold,
                    pe_overlap: hw.pipeline().pe_overlap,
                    input_accesses: in_bits.div_ceil(8 * u64::from(hw.input_buffer().block_bytes)),
                    input_cycle_fs: ns_to_fs(hw.input_buffer().cycle_ns),
                    output_accesses: out_bits
                        .div_ceil(8 * u64::from(hw.output_buffer().block_bytes)),
                    output_cycle_fs: ns_to_fs(hw.output_buffer().cycle_ns),
                    shift_add_fs: u128::from(hw.shift_add().latency_cycles) * clock_fs,
                    tree_levels,
                    tree_level_fs: u128::from(hw.adder_tree().cycles_per_level) * clock_fs,
                    output_bits: out_bits,
                    transfer_fs: ns_to_fs(out_bits as f64 / hw.interconnect().bandwidth_gbps),
                    mapping,
                })
            }
            Op::Gather {
                tables,
                rows,
                dim,
                lookups,
                element_bits,
                ..
            } => {
                let reads = u128::from(*tables) * u128::from(*lookups);
                let bits = reads * u128::from(*dim) * u128::from(*element_bits);
                match hw.embedding() {
                    Embedding::Dram {
                        bandwidth_gbps,
                        access_latency_ns,
                        ..
                    } => OpPlan::Unit(UnitPlan {
                        resource: Resource::Storage,
                        duration_fs: ns_to_fs(access_latency_ns + bits as f64 / bandwidth_gbps),
                        counts: EventCounts {
                            gather_bits: bits,
                            ..EventCounts::default()
                        },
                        crossbars: 0,
                    }),
                    Embedding::Reram {
                        sense_latency_ns,
                        parallel_reads,
                        ..
                    } => {
                        let row_reads = reads
                            * u128::from(mapping::embedding_row_reads_per_lookup(
                                hw,
                                *dim,
                                *element_bits,
                            ));
                        let cols = u128::from(hw.crossbar().cols);
                        let bits_sensed = row_reads * cols * u128::from(hw.device().cell_bits);
                        OpPlan::Unit(UnitPlan {
                            resource: Resource::Storage,
                            duration_fs: row_reads.div_ceil(u128::from(*parallel_reads))
                                * ns_to_fs(hw.device().read_latency_ns + sense_latency_ns),
                            counts: EventCounts {
                                gather_bits: bits_sensed,
                                gather_cell_reads: row_reads * cols,
                                ..EventCounts::default()
                            },
                            crossbars: mapping::embedding_crossbars(
                                hw,
                                *tables,
                                *rows,
                                *dim,
                                *element_bits,
                            ),
                        })
                    }
                }
            }
            Op::Digital { macs, .. } => OpPlan::Unit(UnitPlan {
                resource: Resource::DigitalUnits,
                duration_fs: digital_cycles(hw, *macs) * clock_fs,
                counts: EventCounts {
                    digital_macs: u128::from(*macs),
                    ..EventCounts::default()
                },
                crossbars: 0,
            }),
            Op::Elementwise { elements, .. } => OpPlan::Unit(UnitPlan {
                resource: Resource::DigitalUnits,
                duration_fs: digital_cycles(hw, *elements) * clock_fs,
                counts: EventCounts {
                    elementwise_ops: u128::from(*elements),
                    ..EventCounts::default()
                },
                crossbars: 0,
            }),
        };
        plans.push(plan);
    }
    Ok(plans)
}

/// Groups ops into runs: with `pipeline.across_layers`, maximal sequences of consecutive MVM ops
/// with the same `count` (they overlap per input vector); every other op is a run of its own.
/// Runs execute one after another. Returns half-open index ranges.
pub fn runs(hw: &HwConfig, plans: &[OpPlan]) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for (index, plan) in plans.iter().enumerate() {
        let joins = match (out.last(), plan) {
            (Some(last), OpPlan::Mvm(p)) if hw.pipeline().across_layers => {
                matches!(plans.get(last.end - 1), Some(OpPlan::Mvm(prev)) if prev.count == p.count)
            }
            _ => false,
        };
        match out.last_mut() {
            Some(last) if joins => last.end = index + 1,
            _ => out.push(index..index + 1),
        }
    }
    out
}

/// Jobs (input vectors) handled by replica `replica` of an MVM op.
pub fn jobs_of_replica(plan: &MvmPlan, replica: u64) -> u64 {
    let replicas = plan.mapping.replicas;
    if replica >= plan.count {
        0
    } else {
        (plan.count - replica).div_ceil(replicas)
    }
}

/// Chip-level figures that do not depend on the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct ChipFigures {
    /// Tiles instantiated.
    pub tiles: u64,
    /// Crossbars occupied by the workload.
    pub crossbars: u64,
    /// Area per bucket in mm^2.
    pub area_mm2: Breakdown,
    /// Static power in mW.
    pub leakage_mw: f64,
}

/// Instantiated components: every PE of every tile (the fixed chip's, or the mapped ones as
/// MNSIM counts them), each PE holding `crossbars_per_pe` crossbars with their DACs, ADCs,
/// shift-adders and registers, an adder tree and two buffers; one interconnect port per tile;
/// the digital units; ReRAM embedding arrays when embeddings are stored in ReRAM.
pub fn chip_figures(hw: &HwConfig, plans: &[OpPlan]) -> ChipFigures {
    let mapped_tiles: u64 = plans
        .iter()
        .map(|p| match p {
            OpPlan::Mvm(m) => m.mapping.tiles,
            OpPlan::Unit(_) => 0,
        })
        .sum();
    let storage_crossbars: u64 = plans
        .iter()
        .map(|p| match p {
            OpPlan::Mvm(_) => 0,
            OpPlan::Unit(u) => u.crossbars,
        })
        .sum();
    let compute_crossbars: u64 = plans
        .iter()
        .map(|p| match p {
            OpPlan::Mvm(m) => m.mapping.crossbars,
            OpPlan::Unit(_) => 0,
        })
        .sum();
    let tiles = hw.hierarchy().tiles.map_or(mapped_tiles, u64::from);
    let pes = tiles as f64 * f64::from(hw.hierarchy().pes_per_tile);
    let crossbars = pes * f64::from(hw.hierarchy().crossbars_per_pe);
    let um2_to_mm2 = 1e-6;
    let xbar = hw.crossbar();
    let one_crossbar_um2 = f64::from(xbar.rows) * f64::from(xbar.cols) * hw.device().cell_area_um2
        + f64::from(xbar.rows) * xbar.row_driver_area_um2_per_row;
    let adcs = crossbars * f64::from(hw.adc().per_crossbar);
    let area = Breakdown {
        dac: crossbars * f64::from(hw.dac().per_crossbar) * hw.dac().area_um2 * um2_to_mm2,
        crossbar: crossbars * one_crossbar_um2 * um2_to_mm2,
        adc: adcs * hw.adc().area_um2 * um2_to_mm2,
        shift_add: (adcs * hw.shift_add().area_um2_per_unit
            + crossbars * hw.registers().area_um2_per_crossbar
            + pes * hw.adder_tree().area_um2_per_pe)
            * um2_to_mm2,
        buffer: pes * (hw.input_buffer().area_mm2 + hw.output_buffer().area_mm2),
        interconnect: tiles as f64 * hw.interconnect().area_um2_per_tile * um2_to_mm2,
        digital: f64::from(hw.digital().units) * hw.digital().area_um2_per_unit * um2_to_mm2,
        gather: storage_crossbars as f64 * one_crossbar_um2 * um2_to_mm2,
        leakage: 0.0,
    };
    let leakage_mw = adcs * hw.adc().leakage_mw
        + pes * (hw.input_buffer().leakage_mw + hw.output_buffer().leakage_mw)
        + f64::from(hw.digital().units) * hw.digital().leakage_mw_per_unit;
    ChipFigures {
        tiles,
        crossbars: compute_crossbars.saturating_add(storage_crossbars),
        area_mm2: area,
        leakage_mw,
    }
}
