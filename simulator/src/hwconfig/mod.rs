//! Hardware description: TOML -> [`RawHwConfig`] (serde, `deny_unknown_fields`) ->
//! [`HwConfig::check`] -> validated [`HwConfig`]. The engines accept only the validated type.
//!
//! Presets: `dac.preset` / `adc.preset` name a published converter (see [`presets`]); any
//! explicit figure (`bits`, `latency_ns`/`conversion_ns`, `energy_pj`, `area_um2`) overrides the
//! preset's. Without a preset every figure is required. [`HwConfig::to_toml_string`] writes the
//! resolved configuration with every figure explicit and no preset, so it re-reads bit-exactly.

pub mod overrides;
pub mod presets;
pub mod raw;

mod check;
mod parse_error;

pub use overrides::{apply_overrides, parse_override, HwOverride};
pub(crate) use parse_error::from_toml as toml_parse_error;
pub use raw::{CellType, EmbeddingStorage, RawHwConfig, SliceLayout};

use crate::conventions::{AdcRange, Polarity};
use crate::error::SimError;
use std::path::Path;

/// The ReRAM device, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Bits stored per cell.
    pub cell_bits: u32,
    /// Low-resistance state in ohm.
    pub r_on_ohm: f64,
    /// High-resistance state in ohm.
    pub r_off_ohm: f64,
    /// Read voltage in V.
    pub read_voltage_v: f64,
    /// Crossbar read time in ns.
    pub read_latency_ns: f64,
    /// Energy of one cell read in pJ (explicit or MNSIM's formula).
    pub read_energy_per_cell_pj: f64,
    /// Write time per row in ns.
    pub write_latency_ns: f64,
    /// Write energy per cell in pJ.
    pub write_energy_per_cell_pj: f64,
    /// Cell area in um^2.
    pub cell_area_um2: f64,
}

/// The crossbar array.
#[derive(Debug, Clone, PartialEq)]
pub struct Crossbar {
    /// Word lines.
    pub rows: u32,
    /// Bit lines.
    pub cols: u32,
    /// Word lines activated per read.
    pub active_rows: u32,
    /// Signed-weight storage.
    pub polarity: Polarity,
    /// Cell arrangement (informational: the energy figures are explicit).
    pub cell_type: CellType,
    /// Row-driver area per row in um^2.
    pub row_driver_area_um2_per_row: f64,
}

/// A DAC, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Dac {
    /// Input bits applied per drive.
    pub bits: u32,
    /// DACs per crossbar: at most this many word lines are driven at once.
    pub per_crossbar: u32,
    /// Time of one drive in ns.
    pub latency_ns: f64,
    /// Energy of one drive (one word line, one input slice) in pJ.
    pub energy_pj: f64,
    /// Area of one DAC in um^2.
    pub area_um2: f64,
}

/// An ADC, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Adc {
    /// Resolution.
    pub bits: u32,
    /// ADCs per crossbar: columns are converted `per_crossbar` at a time.
    pub per_crossbar: u32,
    /// Time of one conversion in ns (an explicit figure, never a formula).
    pub conversion_ns: f64,
    /// Energy of one conversion in pJ.
    pub energy_pj: f64,
    /// Area of one ADC in um^2.
    pub area_um2: f64,
    /// Static power of one ADC in mW.
    pub leakage_mw: f64,
    /// Range convention (used by the functional path).
    pub range: AdcRange,
    /// Whether column values are held so one crossbar read serves every ADC round.
    pub sample_and_hold: bool,
}

/// Shift-and-add units (one per ADC).
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftAdd {
    /// Energy per shift-add of one conversion result in pJ.
    pub energy_pj_per_op: f64,
    /// Digital cycles of the final shift-add of a vector.
    pub latency_cycles: u32,
    /// Area per unit in um^2.
    pub area_um2_per_unit: f64,
}

/// Adder tree of a PE.
#[derive(Debug, Clone, PartialEq)]
pub struct AdderTree {
    /// Energy per two-operand addition in pJ.
    pub energy_pj_per_add: f64,
    /// Digital cycles per tree level.
    pub cycles_per_level: u32,
    /// Area per PE in um^2.
    pub area_um2_per_pe: f64,
}

/// Sample/output registers.
#[derive(Debug, Clone, PartialEq)]
pub struct Registers {
    /// Energy per register write of one conversion result in pJ.
    pub energy_pj_per_access: f64,
    /// Register area per crossbar in um^2.
    pub area_um2_per_crossbar: f64,
}

/// An SRAM buffer, costed from the CACTI table.
#[derive(Debug, Clone, PartialEq)]
pub struct Buffer {
    /// Capacity in bytes.
    pub size_bytes: u64,
    /// Bytes moved per access.
    pub block_bytes: u32,
    /// The `cycle_ns` override, if the config gave one.
    pub cycle_ns_override: Option<f64>,
    /// Time per access in ns (the override or CACTI's cycle time).
    pub cycle_ns: f64,
    /// Read energy per access in pJ (CACTI).
    pub read_energy_pj: f64,
    /// Write energy per access in pJ (CACTI).
    pub write_energy_pj: f64,
    /// Leakage in mW (CACTI).
    pub leakage_mw: f64,
    /// Area in mm^2 (CACTI).
    pub area_mm2: f64,
}

/// Crossbars per PE, PEs per tile, tiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Hierarchy {
    /// Crossbars in one PE.
    pub crossbars_per_pe: u32,
    /// PEs in one tile.
    pub pes_per_tile: u32,
    /// Tiles of a fixed chip; `None`: as many as the workload maps to.
    pub tiles: Option<u32>,
}

/// Overlap switches.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// DAC drive, crossbar read and ADC rounds of consecutive steps overlap (MNSIM: false).
    pub pe_overlap: bool,
    /// The stages of consecutive input vectors of a layer overlap.
    pub across_inputs: bool,
    /// Vector k of an MVM layer starts once vector k of the previous MVM layer is done (when
    /// both have the same count).
    pub across_layers: bool,
}

/// Layout switches.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// Where weight slices go.
    pub slice_layout: SliceLayout,
    /// Copies of each MVM layer's crossbars; input vectors are split over the copies.
    pub replication: u32,
}

/// Links between layers.
#[derive(Debug, Clone, PartialEq)]
pub struct Interconnect {
    /// Link bandwidth in Gbit/s (= bits/ns).
    pub bandwidth_gbps: f64,
    /// Energy per bit moved in pJ.
    pub energy_pj_per_bit: f64,
    /// Router/link area per tile in um^2.
    pub area_um2_per_tile: f64,
}

/// Digital units for non-MVM work.
#[derive(Debug, Clone, PartialEq)]
pub struct Digital {
    /// Units on the chip.
    pub units: u32,
    /// MACs (or elementwise ops) per unit per cycle.
    pub macs_per_cycle: u32,
    /// Energy per MAC in pJ.
    pub energy_pj_per_mac: f64,
    /// Energy per elementwise op (add, activation, exp...) in pJ.
    pub energy_pj_per_elementwise_op: f64,
    /// Area per unit in um^2.
    pub area_um2_per_unit: f64,
    /// Leakage per unit in mW.
    pub leakage_mw_per_unit: f64,
}

/// Embedding storage.
#[derive(Debug, Clone, PartialEq)]
pub enum Embedding {
    /// Off-chip DRAM.
    Dram {
        /// Bandwidth in Gbit/s.
        bandwidth_gbps: f64,
        /// Energy per bit read in pJ (array + I/O).
        energy_pj_per_bit: f64,
        /// Latency of one gather op's first access in ns.
        access_latency_ns: f64,
    },
    /// ReRAM crossbars (same device and crossbar as the compute arrays) used as memory.
    Reram {
        /// Sense-amplifier energy per bit in pJ.
        sense_energy_pj_per_bit: f64,
        /// Sense time per row read in ns (added to the device read latency).
        sense_latency_ns: f64,
        /// Crossbar rows read at the same time across the embedding arrays.
        parallel_reads: u32,
    },
}

/// A validated hardware configuration. Only [`HwConfig::check`] builds one.
#[derive(Debug, Clone, PartialEq)]
pub struct HwConfig {
    origin: String,
    name: String,
    device: Device,
    crossbar: Crossbar,
    dac: Dac,
    adc: Adc,
    shift_add: ShiftAdd,
    adder_tree: AdderTree,
    registers: Registers,
    digital_clock_mhz: f64,
    input_buffer: Buffer,
    output_buffer: Buffer,
    hierarchy: Hierarchy,
    pipeline: Pipeline,
    mapping: Mapping,
    interconnect: Interconnect,
    digital: Digital,
    embedding: Embedding,
    /// [`HwConfig::config_hash`], computed once by `check`.
    hash: String,
}

impl HwConfig {
    /// Reads and checks a hwconfig file.
    pub fn load(path: &Path) -> Result<HwConfig, SimError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SimError::Io {
            path: origin.clone(),
            reason: e.to_string(),
        })?;
        HwConfig::from_toml_str(&text, &origin)
    }

    /// Parses and checks TOML text; `origin` names it in errors (a path or e.g. "<preset>").
    pub fn from_toml_str(text: &str, origin: &str) -> Result<HwConfig, SimError> {
        let raw: RawHwConfig =
            toml::from_str(text).map_err(|e| parse_error::from_toml(&e, text, origin))?;
        HwConfig::check(raw, origin)
    }

    /// Validates a raw configuration (ranges, presets, CACTI lookups).
    pub fn check(raw: RawHwConfig, origin: &str) -> Result<HwConfig, SimError> {
        check::check(raw, origin)
    }

    /// The resolved configuration as raw values: every figure explicit, no presets.
    /// `HwConfig::check(self.to_raw(), ..)` gives back an equal configuration.
    pub fn to_raw(&self) -> RawHwConfig {
        check::to_raw(self)
    }

    /// The resolved configuration as TOML; re-reading it gives an equal configuration.
    pub fn to_toml_string(&self) -> String {
        // Serialising plain structs of numbers, strings and booleans cannot fail.
        toml::to_string(&self.to_raw()).unwrap_or_default()
    }

    /// Stable 64-bit FNV-1a hash of [`HwConfig::to_toml_string`], as 16 hex digits.
    pub fn config_hash(&self) -> String {
        self.hash.clone()
    }

    /// Computes the hash of the resolved configuration (used once, by `check`).
    fn compute_hash(&self) -> String {
        format!("{:016x}", fnv1a_64(self.to_toml_string().as_bytes()))
    }

    /// The functional path's view of the same crossbar settings.
    pub fn bit_slicing(&self) -> crate::functional::BitSlicing {
        crate::functional::BitSlicing {
            crossbar_rows: self.crossbar.rows as usize,
            crossbar_cols: self.crossbar.cols as usize,
            cell_bits: self.device.cell_bits,
            polarity: self.crossbar.polarity,
            active_rows: self.effective_active_rows() as usize,
            dac_bits: self.dac.bits,
            adc_bits: self.adc.bits,
            adc_range: self.adc.range,
        }
    }

    /// Word lines driven per read: `crossbar.active_rows`, limited by `dac.per_crossbar`.
    pub fn effective_active_rows(&self) -> u32 {
        self.crossbar.active_rows.min(self.dac.per_crossbar)
    }

    /// Where this configuration came from (path or origin name).
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// Design name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Device figures.
    pub fn device(&self) -> &Device {
        &self.device
    }
    /// Crossbar figures.
    pub fn crossbar(&self) -> &Crossbar {
        &self.crossbar
    }
    /// DAC figures.
    pub fn dac(&self) -> &Dac {
        &self.dac
    }
    /// ADC figures.
    pub fn adc(&self) -> &Adc {
        &self.adc
    }
    /// Shift-add figures.
    pub fn shift_add(&self) -> &ShiftAdd {
        &self.shift_add
    }
    /// Adder-tree figures.
    pub fn adder_tree(&self) -> &AdderTree {
        &self.adder_tree
    }
    /// Register figures.
    pub fn registers(&self) -> &Registers {
        &self.registers
    }
    /// Digital clock in MHz.
    pub fn digital_clock_mhz(&self) -> f64 {
        self.digital_clock_mhz
    }
    /// Digital clock period in ns.
    pub fn digital_cycle_ns(&self) -> f64 {
        1e3 / self.digital_clock_mhz
    }
    /// PE input buffer.
    pub fn input_buffer(&self) -> &Buffer {
        &self.input_buffer
    }
    /// PE output buffer.
    pub fn output_buffer(&self) -> &Buffer {
        &self.output_buffer
    }
    /// Hierarchy.
    pub fn hierarchy(&self) -> &Hierarchy {
        &self.hierarchy
    }
    /// Pipeline switches.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
    /// Mapping switches.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }
    /// Interconnect.
    pub fn interconnect(&self) -> &Interconnect {
        &self.interconnect
    }
    /// Digital units.
    pub fn digital(&self) -> &Digital {
        &self.digital
    }
    /// Embedding storage.
    pub fn embedding(&self) -> &Embedding {
        &self.embedding
    }
}

/// 64-bit FNV-1a.
fn fnv1a_64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}
