//! What a simulation returns: latency, energy and area with their breakdowns, per layer.

use serde::{Deserialize, Serialize};

/// A figure per component bucket (energy in pJ or area in mm^2).
///
/// Buckets: `dac` word-line drives; `crossbar` cell reads of the compute arrays; `adc`
/// conversions; `shift_add` shift-and-add units, sample/output registers and the adder tree;
/// `buffer` PE input/output SRAM accesses; `interconnect` bits moved between layers;
/// `digital` non-MVM ops on the digital units; `gather` embedding-storage reads (and, for ReRAM
/// storage, its arrays' area); `leakage` static power x latency (energy only; 0 in area).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// DAC (word-line drive).
    pub dac: f64,
    /// Crossbar arrays (cells, and row drivers for area).
    pub crossbar: f64,
    /// ADCs.
    pub adc: f64,
    /// Shift-add, registers, adder tree.
    pub shift_add: f64,
    /// SRAM buffers.
    pub buffer: f64,
    /// Links between layers.
    pub interconnect: f64,
    /// Digital units.
    pub digital: f64,
    /// Embedding storage.
    pub gather: f64,
    /// Static energy.
    pub leakage: f64,
}

impl Breakdown {
    /// Sum of all buckets.
    pub fn total(&self) -> f64 {
        self.dac
            + self.crossbar
            + self.adc
            + self.shift_add
            + self.buffer
            + self.interconnect
            + self.digital
            + self.gather
            + self.leakage
    }

    /// (name, value) pairs in a fixed order, for tables and tests.
    pub fn entries(&self) -> [(&'static str, f64); 9] {
        [
            ("dac", self.dac),
            ("crossbar", self.crossbar),
            ("adc", self.adc),
            ("shift_add", self.shift_add),
            ("buffer", self.buffer),
            ("interconnect", self.interconnect),
            ("digital", self.digital),
            ("gather", self.gather),
            ("leakage", self.leakage),
        ]
    }

    /// Bucket-wise sum.
    pub fn add(&mut self, other: &Breakdown) {
        self.dac += other.dac;
        self.crossbar += other.crossbar;
        self.adc += other.adc;
        self.shift_add += other.shift_add;
        self.buffer += other.buffer;
        self.interconnect += other.interconnect;
        self.digital += other.digital;
        self.gather += other.gather;
        self.leakage += other.leakage;
    }
}

/// One op's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerReport {
    /// The op's name.
    pub name: String,
    /// `mvm`, `gather`, `digital` or `elementwise`.
    pub kind: String,
    /// When the op's first stage started, in ns from the start of the workload.
    pub start_ns: f64,
    /// When its last stage finished.
    pub end_ns: f64,
    /// `end_ns - start_ns`.
    pub latency_ns: f64,
    /// One input vector's crossbar compute stage (MVM: DAC, crossbar read, ADC rounds; the
    /// MNSIM "compute" latency), or the op's main stage for non-MVM ops.
    pub compute_latency_ns: f64,
    /// Dynamic energy of the op in pJ (leakage is chip-level, in the report's breakdown).
    pub energy_pj: f64,
    /// The op's dynamic energy per bucket.
    pub energy_breakdown_pj: Breakdown,
    /// Crossbars the op occupies (MVM: compute arrays incl. replicas; ReRAM gather: storage
    /// arrays; else 0).
    pub crossbars: u64,
    /// Weight cells used / cells of its crossbars (0 for non-MVM ops).
    pub utilisation: f64,
}

/// Which engine produced a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// Closed-form counts and latencies.
    Analytic,
    /// Per-cycle resource occupancy.
    Cycle,
}

/// A simulation's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Engine used.
    pub engine: EngineKind,
    /// The hwconfig's name.
    pub hw_name: String,
    /// The hwconfig's [`crate::HwConfig::config_hash`].
    pub hw_hash: String,
    /// End of the last op, in ns.
    pub latency_ns: f64,
    /// Total energy in pJ (dynamic + leakage).
    pub energy_pj: f64,
    /// Chip area in mm^2.
    pub area_mm2: f64,
    /// Crossbars occupied by the workload (compute and ReRAM embedding storage).
    pub crossbars: u64,
    /// Tiles instantiated (the fixed chip size, or those the workload maps to).
    pub tiles: u64,
    /// Energy per bucket in pJ.
    pub energy_breakdown_pj: Breakdown,
    /// Area per bucket in mm^2.
    pub area_breakdown_mm2: Breakdown,
    /// Per-op figures, in workload order.
    pub layers: Vec<LayerReport>,
}
