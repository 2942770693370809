//! Raw -> validated hwconfig: ranges, preset resolution and CACTI lookups, and the way back.

use super::presets::{self, ConverterFigures};
use super::raw::{
    RawAdc, RawAdderTree, RawBuffer, RawBuffers, RawClock, RawConverter, RawCrossbar, RawDevice,
    RawDigital, RawEmbedding, RawHierarchy, RawHwConfig, RawInterconnect, RawMapping, RawPipeline,
    RawRegisters, RawShiftAdd,
};
use super::{
    Adc, AdderTree, Buffer, Crossbar, Dac, Device, Digital, Embedding, EmbeddingStorage, Hierarchy,
    HwConfig, Interconnect, Mapping, Pipeline, Registers, ShiftAdd,
};
use crate::cacti;
use crate::error::SimError;

/// Largest crossbar dimension accepted.
pub const MAX_CROSSBAR_DIM: u32 = 4096;
/// Largest ADC/DAC resolution accepted.
pub const MAX_CONVERTER_BITS: u32 = 16;
/// Largest cell resolution accepted.
pub const MAX_CELL_BITS: u32 = 8;
/// Largest replication factor accepted.
pub const MAX_REPLICATION: u32 = 1024;

struct Checker<'a> {
    origin: &'a str,
}

impl Checker<'_> {
    fn out_of_range(&self, key: &str, value: impl ToString, allowed: &str) -> SimError {
        SimError::OutOfRange {
            origin: self.origin.to_string(),
            key: key.to_string(),
            value: value.to_string(),
            allowed: allowed.to_string(),
        }
    }

    fn int(&self, key: &str, value: u32, low: u32, high: u32) -> Result<u32, SimError> {
        if value < low || value > high {
            return Err(self.out_of_range(key, value, &format!("{low}..={high}")));
        }
        Ok(value)
    }

    /// Finite and >= 0 (energies, areas, latencies that may be zero).
    fn non_negative(&self, key: &str, value: f64) -> Result<f64, SimError> {
        if !value.is_finite() || value < 0.0 {
            return Err(self.out_of_range(key, value, "a finite number >= 0"));
        }
        Ok(value)
    }

    /// Finite and > 0.
    fn positive(&self, key: &str, value: f64) -> Result<f64, SimError> {
        if !value.is_finite() || value <= 0.0 {
            return Err(self.out_of_range(key, value, "a finite number > 0"));
        }
        Ok(value)
    }

    fn required<T>(&self, key: &str, value: Option<T>, why: &str) -> Result<T, SimError> {
        value.ok_or_else(|| SimError::MissingKey {
            origin: self.origin.to_string(),
            key: key.to_string(),
            why: why.to_string(),
        })
    }
}

/// Figures a config states explicitly for a converter.
struct GivenFigures {
    bits: Option<u32>,
    latency_ns: Option<f64>,
    energy_pj: Option<f64>,
    area_um2: Option<f64>,
}

/// Converter figures from an optional preset overridden by explicit keys.
fn resolve_converter(
    c: &Checker<'_>,
    section: &str,
    latency_key: &str,
    preset_name: Option<&str>,
    preset: Option<ConverterFigures>,
    given: GivenFigures,
) -> Result<ConverterFigures, SimError> {
    let GivenFigures {
        bits,
        latency_ns,
        energy_pj,
        area_um2,
    } = given;
    let why = match preset_name {
        Some(name) => format!("preset \"{name}\" does not give this figure"),
        None => "no preset is named, so every figure is required".to_string(),
    };
    let bits = c.required(
        &format!("{section}.bits"),
        bits.or(preset.map(|p| p.bits)),
        &why,
    )?;
    let latency_ns = c.required(
        &format!("{section}.{latency_key}"),
        latency_ns.or(preset.map(|p| p.latency_ns)),
        &why,
    )?;
    let energy_pj = c.required(
        &format!("{section}.energy_pj"),
        energy_pj.or(preset.map(|p| p.energy_pj)),
        &why,
    )?;
    let area_um2 = c.required(
        &format!("{section}.area_um2"),
        area_um2.or(preset.and_then(|p| p.area_um2)),
        &why,
    )?;
    Ok(ConverterFigures {
        bits,
        latency_ns,
        energy_pj,
        area_um2: Some(area_um2),
    })
}

fn check_device(c: &Checker<'_>, d: &RawDevice) -> Result<Device, SimError> {
    let cell_bits = c.int("device.cell_bits", d.cell_bits, 1, MAX_CELL_BITS)?;
    let r_on_ohm = c.positive("device.r_on_ohm", d.r_on_ohm)?;
    let r_off_ohm = c.positive("device.r_off_ohm", d.r_off_ohm)?;
    if r_off_ohm <= r_on_ohm {
        return Err(c.out_of_range(
            "device.r_off_ohm",
            r_off_ohm,
            &format!("greater than device.r_on_ohm = {r_on_ohm}"),
        ));
    }
    let read_voltage_v = c.positive("device.read_voltage_v", d.read_voltage_v)?;
    let read_latency_ns = c.positive("device.read_latency_ns", d.read_latency_ns)?;
    let read_energy_per_cell_pj = match d.read_energy_per_cell_pj {
        Some(value) => c.non_negative("device.read_energy_per_cell_pj", value)?,
        None => {
            presets::mnsim_cell_read_energy_pj(r_on_ohm, r_off_ohm, read_voltage_v, read_latency_ns)
        }
    };
    Ok(Device {
        cell_bits,
        r_on_ohm,
        r_off_ohm,
        read_voltage_v,
        read_latency_ns,
        read_energy_per_cell_pj,
        write_latency_ns: c.non_negative("device.write_latency_ns", d.write_latency_ns)?,
        write_energy_per_cell_pj: c.non_negative(
            "device.write_energy_per_cell_pj",
            d.write_energy_per_cell_pj,
        )?,
        cell_area_um2: c.positive("device.cell_area_um2", d.cell_area_um2)?,
    })
}

fn check_crossbar(c: &Checker<'_>, x: &RawCrossbar) -> Result<Crossbar, SimError> {
    let rows = c.int("crossbar.rows", x.rows, 1, MAX_CROSSBAR_DIM)?;
    let cols = c.int("crossbar.cols", x.cols, 1, MAX_CROSSBAR_DIM)?;
    let active_rows = c.int("crossbar.active_rows", x.active_rows, 1, rows)?;
    Ok(Crossbar {
        rows,
        cols,
        active_rows,
        polarity: x.polarity,
        cell_type: x.cell_type,
        row_driver_area_um2_per_row: c.non_negative(
            "crossbar.row_driver_area_um2_per_row",
            x.row_driver_area_um2_per_row,
        )?,
    })
}

fn check_dac(c: &Checker<'_>, d: &RawConverter, rows: u32) -> Result<Dac, SimError> {
    let preset = match d.preset.as_deref() {
        Some(name) => Some(
            presets::dac_preset(name).ok_or_else(|| SimError::UnknownPreset {
                origin: c.origin.to_string(),
                key: "dac.preset".to_string(),
                name: name.to_string(),
                allowed: presets::dac_preset_names().join(", "),
            })?,
        ),
        None => None,
    };
    let f = resolve_converter(
        c,
        "dac",
        "latency_ns",
        d.preset.as_deref(),
        preset,
        GivenFigures {
            bits: d.bits,
            latency_ns: d.latency_ns,
            energy_pj: d.energy_pj,
            area_um2: d.area_um2,
        },
    )?;
    Ok(Dac {
        bits: c.int("dac.bits", f.bits, 1, MAX_CONVERTER_BITS)?,
        per_crossbar: c.int("dac.per_crossbar", d.per_crossbar, 1, rows)?,
        latency_ns: c.non_negative("dac.latency_ns", f.latency_ns)?,
        energy_pj: c.non_negative("dac.energy_pj", f.energy_pj)?,
        area_um2: c.non_negative("dac.area_um2", f.area_um2.unwrap_or(0.0))?,
    })
}

fn check_adc(c: &Checker<'_>, a: &RawAdc, cols: u32) -> Result<Adc, SimError> {
    // Range-check explicit bits first: the NeuroSim fit is a function of them.
    if let Some(bits) = a.bits {
        c.int("adc.bits", bits, 1, MAX_CONVERTER_BITS)?;
    }
    let preset = match a.preset.as_deref() {
        Some(name) => {
            let known = presets::adc_preset_names().iter().any(|n| n == name);
            if !known {
                return Err(SimError::UnknownPreset {
                    origin: c.origin.to_string(),
                    key: "adc.preset".to_string(),
                    name: name.to_string(),
                    allowed: presets::adc_preset_names().join(", "),
                });
            }
            let figures = presets::adc_preset(name, a.bits);
            if figures.is_none() {
                return Err(SimError::MissingKey {
                    origin: c.origin.to_string(),
                    key: "adc.bits".to_string(),
                    why: format!("preset \"{name}\" is a function of the resolution"),
                });
            }
            figures
        }
        None => None,
    };
    let f = resolve_converter(
        c,
        "adc",
        "conversion_ns",
        a.preset.as_deref(),
        preset,
        GivenFigures {
            bits: a.bits,
            latency_ns: a.conversion_ns,
            energy_pj: a.energy_pj,
            area_um2: a.area_um2,
        },
    )?;
    Ok(Adc {
        bits: c.int("adc.bits", f.bits, 1, MAX_CONVERTER_BITS)?,
        per_crossbar: c.int("adc.per_crossbar", a.per_crossbar, 1, cols)?,
        conversion_ns: c.positive("adc.conversion_ns", f.latency_ns)?,
        energy_pj: c.non_negative("adc.energy_pj", f.energy_pj)?,
        area_um2: c.non_negative("adc.area_um2", f.area_um2.unwrap_or(0.0))?,
        leakage_mw: c.non_negative("adc.leakage_mw", a.leakage_mw)?,
        range: a.range,
        sample_and_hold: a.sample_and_hold,
    })
}

fn check_buffer(c: &Checker<'_>, key: &str, b: &RawBuffer) -> Result<Buffer, SimError> {
    let sram = cacti::lookup(b.size_bytes, b.block_bytes, c.origin, key)?;
    let cycle_ns = match b.cycle_ns {
        Some(value) => c.positive(&format!("{key}.cycle_ns"), value)?,
        None => sram.cycle_time_ns,
    };
    Ok(Buffer {
        size_bytes: b.size_bytes,
        block_bytes: b.block_bytes,
        cycle_ns_override: b.cycle_ns,
        cycle_ns,
        read_energy_pj: sram.read_energy_pj,
        write_energy_pj: sram.write_energy_pj,
        leakage_mw: sram.leakage_mw,
        area_mm2: sram.area_mm2,
    })
}

fn check_embedding(c: &Checker<'_>, e: &RawEmbedding) -> Result<Embedding, SimError> {
    match e.storage {
        EmbeddingStorage::Dram => {
            let why = "embedding.storage = \"dram\" needs it";
            Ok(Embedding::Dram {
                bandwidth_gbps: c.positive(
                    "embedding.dram_bandwidth_gbps",
                    c.required("embedding.dram_bandwidth_gbps", e.dram_bandwidth_gbps, why)?,
                )?,
                energy_pj_per_bit: c.non_negative(
                    "embedding.dram_energy_pj_per_bit",
                    c.required(
                        "embedding.dram_energy_pj_per_bit",
                        e.dram_energy_pj_per_bit,
                        why,
                    )?,
                )?,
                access_latency_ns: c.non_negative(
                    "embedding.dram_access_latency_ns",
                    c.required(
                        "embedding.dram_access_latency_ns",
                        e.dram_access_latency_ns,
                        why,
                    )?,
                )?,
            })
        }
        EmbeddingStorage::Reram => {
            let why = "embedding.storage = \"reram\" needs it";
            Ok(Embedding::Reram {
                sense_energy_pj_per_bit: c.non_negative(
                    "embedding.reram_sense_energy_pj_per_bit",
                    c.required(
                        "embedding.reram_sense_energy_pj_per_bit",
                        e.reram_sense_energy_pj_per_bit,
                        why,
                    )?,
                )?,
                sense_latency_ns: c.non_negative(
                    "embedding.reram_sense_latency_ns",
                    c.required(
                        "embedding.reram_sense_latency_ns",
                        e.reram_sense_latency_ns,
                        why,
                    )?,
                )?,
                parallel_reads: c.int(
                    "embedding.reram_parallel_reads",
                    c.required(
                        "embedding.reram_parallel_reads",
                        e.reram_parallel_reads,
                        why,
                    )?,
                    1,
                    u32::MAX,
                )?,
            })
        }
    }
}

/// Validates `raw`; see [`HwConfig::check`].
pub(super) fn check(raw: RawHwConfig, origin: &str) -> Result<HwConfig, SimError> {
    let c = Checker { origin };
    let device = check_device(&c, &raw.device)?;
    let crossbar = check_crossbar(&c, &raw.crossbar)?;
    let dac = check_dac(&c, &raw.dac, crossbar.rows)?;
    let adc = check_adc(&c, &raw.adc, crossbar.cols)?;
    let shift_add = ShiftAdd {
        energy_pj_per_op: c
            .non_negative("shift_add.energy_pj_per_op", raw.shift_add.energy_pj_per_op)?,
        latency_cycles: raw.shift_add.latency_cycles,
        area_um2_per_unit: c.non_negative(
            "shift_add.area_um2_per_unit",
            raw.shift_add.area_um2_per_unit,
        )?,
    };
    let adder_tree = AdderTree {
        energy_pj_per_add: c.non_negative(
            "adder_tree.energy_pj_per_add",
            raw.adder_tree.energy_pj_per_add,
        )?,
        cycles_per_level: raw.adder_tree.cycles_per_level,
        area_um2_per_pe: c
            .non_negative("adder_tree.area_um2_per_pe", raw.adder_tree.area_um2_per_pe)?,
    };
    let registers = Registers {
        energy_pj_per_access: c.non_negative(
            "registers.energy_pj_per_access",
            raw.registers.energy_pj_per_access,
        )?,
        area_um2_per_crossbar: c.non_negative(
            "registers.area_um2_per_crossbar",
            raw.registers.area_um2_per_crossbar,
        )?,
    };
    let digital_clock_mhz = c.positive("clock.digital_mhz", raw.clock.digital_mhz)?;
    let input_buffer = check_buffer(&c, "buffers.input", &raw.buffers.input)?;
    let output_buffer = check_buffer(&c, "buffers.output", &raw.buffers.output)?;
    let hierarchy = Hierarchy {
        crossbars_per_pe: c.int(
            "hierarchy.crossbars_per_pe",
            raw.hierarchy.crossbars_per_pe,
            1,
            u32::MAX,
        )?,
        pes_per_tile: c.int(
            "hierarchy.pes_per_tile",
            raw.hierarchy.pes_per_tile,
            1,
            u32::MAX,
        )?,
        tiles: match raw.hierarchy.tiles {
            Some(t) => Some(c.int("hierarchy.tiles", t, 1, u32::MAX)?),
            None => None,
        },
    };
    let pipeline = Pipeline {
        pe_overlap: raw.pipeline.pe_overlap,
        across_inputs: raw.pipeline.across_inputs,
        across_layers: raw.pipeline.across_layers,
    };
    let mapping = Mapping {
        slice_layout: raw.mapping.slice_layout,
        replication: c.int(
            "mapping.replication",
            raw.mapping.replication,
            1,
            MAX_REPLICATION,
        )?,
    };
    let interconnect = Interconnect {
        bandwidth_gbps: c.positive(
            "interconnect.bandwidth_gbps",
            raw.interconnect.bandwidth_gbps,
        )?,
        energy_pj_per_bit: c.non_negative(
            "interconnect.energy_pj_per_bit",
            raw.interconnect.energy_pj_per_bit,
        )?,
        area_um2_per_tile: c.non_negative(
            "interconnect.area_um2_per_tile",
            raw.interconnect.area_um2_per_tile,
        )?,
    };
    let d = &raw.digital;
    let digital = Digital {
        units: c.int("digital.units", d.units, 1, u32::MAX)?,
        macs_per_cycle: c.int("digital.macs_per_cycle", d.macs_per_cycle, 1, u32::MAX)?,
        energy_pj_per_mac: c.non_negative("digital.energy_pj_per_mac", d.energy_pj_per_mac)?,
        energy_pj_per_elementwise_op: c.non_negative(
            "digital.energy_pj_per_elementwise_op",
            d.energy_pj_per_elementwise_op,
        )?,
        area_um2_per_unit: c.non_negative("digital.area_um2_per_unit", d.area_um2_per_unit)?,
        leakage_mw_per_unit: c
            .non_negative("digital.leakage_mw_per_unit", d.leakage_mw_per_unit)?,
    };
    let embedding = check_embedding(&c, &raw.embedding)?;
    let mut config = HwConfig {
        origin: origin.to_string(),
        name: raw.name,
        device,
        crossbar,
        dac,
        adc,
        shift_add,
        adder_tree,
        registers,
        digital_clock_mhz,
        input_buffer,
        output_buffer,
        hierarchy,
        pipeline,
        mapping,
        interconnect,
        digital,
        embedding,
        hash: String::new(),
    };
    config.hash = config.compute_hash();
    Ok(config)
}

/// The resolved configuration with every figure explicit; see [`HwConfig::to_raw`].
pub(super) fn to_raw(h: &HwConfig) -> RawHwConfig {
    let buffer = |b: &Buffer| RawBuffer {
        size_bytes: b.size_bytes,
        block_bytes: b.block_bytes,
        cycle_ns: b.cycle_ns_override,
    };
    let embedding = match h.embedding {
        Embedding::Dram {
            bandwidth_gbps,
            energy_pj_per_bit,
            access_latency_ns,
        } => RawEmbedding {
            storage: EmbeddingStorage::Dram,
            dram_bandwidth_gbps: Some(bandwidth_gbps),
            dram_energy_pj_per_bit: Some(energy_pj_per_bit),
            dram_access_latency_ns: Some(access_latency_ns),
            reram_sense_energy_pj_per_bit: None,
            reram_sense_latency_ns: None,
            reram_parallel_reads: None,
        },
        Embedding::Reram {
            sense_energy_pj_per_bit,
            sense_latency_ns,
            parallel_reads,
        } => RawEmbedding {
            storage: EmbeddingStorage::Reram,
            dram_bandwidth_gbps: None,
            dram_energy_pj_per_bit: None,
            dram_access_latency_ns: None,
            reram_sense_energy_pj_per_bit: Some(sense_energy_pj_per_bit),
            reram_sense_latency_ns: Some(sense_latency_ns),
            reram_parallel_reads: Some(parallel_reads),
        },
    };
    RawHwConfig {
        name: h.name.clone(),
        device: RawDevice {
            cell_bits: h.device.cell_bits,
            r_on_ohm: h.device.r_on_ohm,
            r_off_ohm: h.device.r_off_ohm,
            read_voltage_v: h.device.read_voltage_v,
            read_latency_ns: h.device.read_latency_ns,
            read_energy_per_cell_pj: Some(h.device.read_energy_per_cell_pj),
            write_latency_ns: h.device.write_latency_ns,
            write_energy_per_cell_pj: h.device.write_energy_per_cell_pj,
            cell_area_um2: h.device.cell_area_um2,
        },
        crossbar: RawCrossbar {
            rows: h.crossbar.rows,
            cols: h.crossbar.cols,
            active_rows: h.crossbar.active_rows,
            polarity: h.crossbar.polarity,
            cell_type: h.crossbar.cell_type,
            row_driver_area_um2_per_row: h.crossbar.row_driver_area_um2_per_row,
        },
        dac: RawConverter {
            preset: None,
            bits: Some(h.dac.bits),
            per_crossbar: h.dac.per_crossbar,
            latency_ns: Some(h.dac.latency_ns),
            energy_pj: Some(h.dac.energy_pj),
            area_um2: Some(h.dac.area_um2),
        },
        adc: RawAdc {
            preset: None,
            bits: Some(h.adc.bits),
            per_crossbar: h.adc.per_crossbar,
            conversion_ns: Some(h.adc.conversion_ns),
            energy_pj: Some(h.adc.energy_pj),
            area_um2: Some(h.adc.area_um2),
            leakage_mw: h.adc.leakage_mw,
            range: h.adc.range,
            sample_and_hold: h.adc.sample_and_hold,
        },
        shift_add: RawShiftAdd {
            energy_pj_per_op: h.shift_add.energy_pj_per_op,
            latency_cycles: h.shift_add.latency_cycles,
            area_um2_per_unit: h.shift_add.area_um2_per_unit,
        },
        adder_tree: RawAdderTree {
            energy_pj_per_add: h.adder_tree.energy_pj_per_add,
            cycles_per_level: h.adder_tree.cycles_per_level,
            area_um2_per_pe: h.adder_tree.area_um2_per_pe,
        },
        registers: RawRegisters {
            energy_pj_per_access: h.registers.energy_pj_per_access,
            area_um2_per_crossbar: h.registers.area_um2_per_crossbar,
        },
        clock: RawClock {
            digital_mhz: h.digital_clock_mhz,
        },
        buffers: RawBuffers {
            input: buffer(&h.input_buffer),
            output: buffer(&h.output_buffer),
        },
        hierarchy: RawHierarchy {
            crossbars_per_pe: h.hierarchy.crossbars_per_pe,
            pes_per_tile: h.hierarchy.pes_per_tile,
            tiles: h.hierarchy.tiles,
        },
        pipeline: RawPipeline {
            pe_overlap: h.pipeline.pe_overlap,
            across_inputs: h.pipeline.across_inputs,
            across_layers: h.pipeline.across_layers,
        },
        mapping: RawMapping {
            slice_layout: h.mapping.slice_layout,
            replication: h.mapping.replication,
        },
        interconnect: RawInterconnect {
            bandwidth_gbps: h.interconnect.bandwidth_gbps,
            energy_pj_per_bit: h.interconnect.energy_pj_per_bit,
            area_um2_per_tile: h.interconnect.area_um2_per_tile,
        },
        digital: RawDigital {
            units: h.digital.units,
            macs_per_cycle: h.digital.macs_per_cycle,
            energy_pj_per_mac: h.digital.energy_pj_per_mac,
            energy_pj_per_elementwise_op: h.digital.energy_pj_per_elementwise_op,
            area_um2_per_unit: h.digital.area_um2_per_unit,
            leakage_mw_per_unit: h.digital.leakage_mw_per_unit,
        },
        embedding,
    }
}
