//! The hwconfig TOML schema as written by users: serde types with `deny_unknown_fields`.
//!
//! Values here are unchecked; [`super::HwConfig::check`] turns them into the validated
//! configuration. Optional fields are those a preset or a documented default may fill.
//! hwconfigs/README.md documents every key with its unit and source.

use crate::conventions::{AdcRange, Polarity};
use serde::{Deserialize, Serialize};

/// A whole hwconfig file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHwConfig {
    /// Free-form design name.
    pub name: String,
    /// ReRAM device.
    pub device: RawDevice,
    /// Crossbar array.
    pub crossbar: RawCrossbar,
    /// Input DACs (word-line drivers).
    pub dac: RawConverter,
    /// Column ADCs.
    pub adc: RawAdc,
    /// Shift-and-add units after the ADCs.
    pub shift_add: RawShiftAdd,
    /// Adder tree merging partial sums of a layer.
    pub adder_tree: RawAdderTree,
    /// Sample/output registers.
    pub registers: RawRegisters,
    /// Digital clock.
    pub clock: RawClock,
    /// PE input and output SRAM buffers.
    pub buffers: RawBuffers,
    /// Crossbars per PE, PEs per tile, tiles.
    pub hierarchy: RawHierarchy,
    /// Which stages overlap.
    pub pipeline: RawPipeline,
    /// How an MVM is laid out on crossbars.
    pub mapping: RawMapping,
    /// Links between layers.
    pub interconnect: RawInterconnect,
    /// Digital units for non-MVM work.
    pub digital: RawDigital,
    /// Where embedding tables live.
    pub embedding: RawEmbedding,
}

/// `[device]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDevice {
    pub cell_bits: u32,
    pub r_on_ohm: f64,
    pub r_off_ohm: f64,
    pub read_voltage_v: f64,
    pub read_latency_ns: f64,
    /// Absent: MNSIM 2.0's behaviour-level cell-power formula.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_energy_per_cell_pj: Option<f64>,
    pub write_latency_ns: f64,
    pub write_energy_per_cell_pj: f64,
    pub cell_area_um2: f64,
}

/// Access transistor arrangement of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CellType {
    /// One transistor, one resistor.
    #[serde(rename = "1T1R")]
    OneTransistorOneResistor,
    /// Selector-less cross-point.
    #[serde(rename = "0T1R")]
    ZeroTransistorOneResistor,
}

/// `[crossbar]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCrossbar {
    pub rows: u32,
    pub cols: u32,
    pub active_rows: u32,
    pub polarity: Polarity,
    pub cell_type: CellType,
    pub row_driver_area_um2_per_row: f64,
}

/// `[dac]`: a preset and/or explicit figures (explicit figures override the preset's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConverter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits: Option<u32>,
    pub per_crossbar: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ns: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_pj: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_um2: Option<f64>,
}

/// `[adc]`: a preset and/or explicit figures, plus sharing, range and sample-and-hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits: Option<u32>,
    pub per_crossbar: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion_ns: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_pj: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_um2: Option<f64>,
    #[serde(default)]
    pub leakage_mw: f64,
    pub range: AdcRange,
    pub sample_and_hold: bool,
}

/// `[shift_add]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShiftAdd {
    pub energy_pj_per_op: f64,
    pub latency_cycles: u32,
    pub area_um2_per_unit: f64,
}

/// `[adder_tree]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdderTree {
    pub energy_pj_per_add: f64,
    pub cycles_per_level: u32,
    pub area_um2_per_pe: f64,
}

/// `[registers]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegisters {
    pub energy_pj_per_access: f64,
    pub area_um2_per_crossbar: f64,
}

/// `[clock]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClock {
    pub digital_mhz: f64,
}

/// `[buffers]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBuffers {
    pub input: RawBuffer,
    pub output: RawBuffer,
}

/// `[buffers.input]` / `[buffers.output]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBuffer {
    pub size_bytes: u64,
    pub block_bytes: u32,
    /// Absent: CACTI's random cycle time at this size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle_ns: Option<f64>,
}

/// `[hierarchy]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHierarchy {
    pub crossbars_per_pe: u32,
    pub pes_per_tile: u32,
    /// Absent: the chip has as many tiles as the workload maps to (MNSIM's convention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiles: Option<u32>,
}

/// `[pipeline]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
    pub pe_overlap: bool,
    pub across_inputs: bool,
    pub across_layers: bool,
}

/// Where the weight slices of one output go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SliceLayout {
    /// Slices of consecutive outputs fill the columns of a crossbar one after another:
    /// column blocks = ceil(cols x slices / crossbar cols).
    Packed,
    /// Each weight slice has its own crossbars: column blocks = slices x ceil(cols / crossbar cols).
    PerSlice,
}

/// `[mapping]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMapping {
    pub slice_layout: SliceLayout,
    pub replication: u32,
}

/// `[interconnect]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInterconnect {
    pub bandwidth_gbps: f64,
    pub energy_pj_per_bit: f64,
    pub area_um2_per_tile: f64,
}

/// `[digital]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDigital {
    pub units: u32,
    pub macs_per_cycle: u32,
    pub energy_pj_per_mac: f64,
    pub energy_pj_per_elementwise_op: f64,
    pub area_um2_per_unit: f64,
    pub leakage_mw_per_unit: f64,
}

/// Where embedding tables are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmbeddingStorage {
    /// Off-chip DRAM.
    Dram,
    /// ReRAM crossbars used as memory (read row by row through sense amplifiers).
    Reram,
}

/// `[embedding]`: `storage` selects which of the `dram_*` or `reram_*` keys are required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmbedding {
    pub storage: EmbeddingStorage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dram_bandwidth_gbps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dram_energy_pj_per_bit: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dram_access_latency_ns: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reram_sense_energy_pj_per_bit: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reram_sense_latency_ns: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reram_parallel_reads: Option<u32>,
}
