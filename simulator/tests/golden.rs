//! Golden figures from published tools and papers, each test naming its source
//! (/work/shared/reference/pim-components.md, section given per test).

use approx::assert_relative_eq;
use recpim_sim::cacti;
use recpim_sim::hwconfig::presets;
use recpim_sim::{simulate_analytic, simulate_cycle, HwConfig, Op, Workload};
use std::path::PathBuf;

fn preset(name: &str) -> HwConfig {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../hwconfigs")).join(name);
    HwConfig::load(&path).unwrap()
}

fn fc(rows: u64, cols: u64, bits: u32, count: u64) -> Workload {
    Workload {
        ops: vec![Op::Mvm {
            name: "fc".into(),
            rows,
            cols,
            weight_bits: bits,
            input_bits: bits,
            count,
        }],
    }
}

/// MNSIM 2.0 `Latency_Model/PE_latency.py` (pim-components.md §1.7): a 784x256 FC layer with
/// 9-bit weights and inputs on the default config has PE compute latency
/// 9 input cycles x 2 row groups x 2 ADC rounds = 36 x (3 + 3.16 + 8) ns = 509.76 ns.
#[test]
fn mnsim_fc784x256_compute_latency_is_509_76_ns() {
    let hw = preset("mnsim-default.toml");
    let workload = fc(784, 256, 9, 1);
    for report in [
        simulate_analytic(&hw, &workload).unwrap(),
        simulate_cycle(&hw, &workload, None).unwrap(),
    ] {
        assert_relative_eq!(
            report.layers[0].compute_latency_ns,
            509.76,
            max_relative = 1e-12
        );
    }
}

/// The shipped workload file is the same golden case.
#[test]
fn shipped_mnsim_workload_reproduces_the_golden_latency() {
    let hw = preset("mnsim-default.toml");
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../hwconfigs/workloads/mnsim-fc784x256.toml"
    ));
    let workload = Workload::load(&path).unwrap();
    let report = simulate_analytic(&hw, &workload).unwrap();
    assert_relative_eq!(
        report.layers[0].compute_latency_ns,
        509.76,
        max_relative = 1e-12
    );
}

/// MNSIM 2.0 mapping (pim-components.md §1.8): polarity 2 gives ceil((9-1)/1) = 8 weight slices
/// per half; 784 rows -> 4 row blocks; 256 outputs x 8 slices -> 8 column blocks; x 2 halves.
#[test]
fn mnsim_fc784x256_maps_to_64_crossbars() {
    let hw = preset("mnsim-default.toml");
    let m = recpim_sim::mapping::map_mvm(&hw, 784, 256, 9, 9);
    assert_eq!(m.weight_slices, 8);
    assert_eq!(m.row_blocks, 4);
    assert_eq!(m.col_blocks, 8);
    assert_eq!(m.crossbars, 64);
    assert_eq!(m.input_slices, 9);
}

/// MNSIM 2.0 `Hardware_Model/Device.py` (pim-components.md §1.2): with the defaults the cell
/// reads at ~75.8 nW, ~0.24 fJ per 3.16 ns read, ~15.7 pJ per full 256x256 crossbar read.
#[test]
fn mnsim_cell_read_energy_matches_the_behaviour_model() {
    let hw = preset("mnsim-default.toml");
    let cell_pj = hw.device().read_energy_per_cell_pj;
    assert_relative_eq!(cell_pj, 0.24e-3, max_relative = 0.01);
    assert_relative_eq!(cell_pj * 256.0 * 256.0, 15.7, max_relative = 0.01);
    assert_eq!(
        cell_pj,
        presets::mnsim_cell_read_energy_pj(1e4, 1e6, 0.15, 3.16)
    );
}

/// MNSIM 2.0 ADC/DAC tables (pim-components.md §1.3, §1.4): choice 6 is 6 bits, 8 ns,
/// 10.08 pJ; DAC choice 1 is 1 bit, 3 ns, 11.7 fJ; the 8-bit DAC is 5.0 pJ with the unit fixed.
#[test]
fn mnsim_converter_presets() {
    let adc = presets::adc_preset("mnsim-6", None).unwrap();
    assert_eq!(adc.bits, 6);
    assert_relative_eq!(adc.latency_ns, 8.0);
    assert_relative_eq!(adc.energy_pj, 10.08, max_relative = 1e-12);
    let isaac_in_mnsim = presets::adc_preset("mnsim-2", None).unwrap();
    assert_relative_eq!(isaac_in_mnsim.energy_pj, 15.625, max_relative = 1e-12);
    let dac = presets::dac_preset("mnsim-1").unwrap();
    assert_relative_eq!(dac.latency_ns, 3.0);
    assert_relative_eq!(dac.energy_pj, 0.0117, max_relative = 1e-12);
    let dac8 = presets::dac_preset("mnsim-6").unwrap();
    assert_relative_eq!(dac8.energy_pj, 4.992, max_relative = 1e-12);
}

/// ISAAC via Accelergy hwcomponents-library isaac.py (pim-components.md §2.2): ADC 1.667 pJ per
/// conversion (16 mW / (1.2e9 x 8)), 1-bit DAC 0.417 pJ, shift-and-add 0.021 pJ. The simulated
/// energy per event of a 128x128 layer on isaac.toml is exactly these figures.
#[test]
fn isaac_component_energies() {
    let hw = preset("isaac.toml");
    assert_relative_eq!(hw.adc().energy_pj, 1.6667, max_relative = 1e-4);
    assert_relative_eq!(hw.adc().area_um2, 1200.0);
    assert_relative_eq!(hw.dac().energy_pj, 0.417);
    assert_relative_eq!(hw.shift_add().energy_pj_per_op, 0.021);
    assert_relative_eq!(hw.adc().conversion_ns, 1.0 / 1.28, max_relative = 1e-12);
    // One 128x128 layer, 16-bit weights (8 slices of 2 bits, offset column -> 8 crossbars),
    // 16-bit inputs (16 one-bit DAC cycles).
    let report = simulate_analytic(&hw, &fc(128, 128, 16, 1)).unwrap();
    let crossbars = 8.0;
    let conversions = crossbars * 16.0 * 128.0;
    let drives = crossbars * 16.0 * 128.0;
    assert_relative_eq!(
        report.energy_breakdown_pj.adc,
        conversions * 16.0 / (1.2 * 8.0),
        max_relative = 1e-12
    );
    assert_relative_eq!(
        report.energy_breakdown_pj.dac,
        drives * 0.417,
        max_relative = 1e-12
    );
    // ISAAC's pipeline cycle: 128 columns through one ADC at 1.28 GS/s = 100 ns per input bit.
    assert_relative_eq!(
        report.layers[0].compute_latency_ns,
        100.0 + 100.0 + 15.0 * 100.0,
        max_relative = 1e-12
    );
}

/// ISAAC scaled ADCs (Saberi 2011 via Accelergy, pim-components.md §2.2).
#[test]
fn isaac_scaled_adc_table() {
    for (bits, energy, area) in [(4, 0.79, 361.0), (6, 1.20, 627.0), (10, 2.38, 3002.0)] {
        let f = presets::adc_preset(&format!("isaac-{bits}"), None).unwrap();
        assert_eq!(f.bits, bits);
        assert_relative_eq!(f.energy_pj, energy);
        assert_relative_eq!(f.area_um2.unwrap(), area);
    }
}

/// NeuroSim V1.3 SarADC.cpp 32 nm HP fit (pim-components.md §2.1): a 5-bit SAR is
/// (1.0157 x 5 + 7.6286) uW x 6 ns ~= 76 fJ per conversion.
#[test]
fn neurosim_sar_5_bit_is_76_fj() {
    let f = presets::adc_preset("neurosim-32nm-sar", Some(5)).unwrap();
    assert_relative_eq!(f.latency_ns, 6.0);
    assert_relative_eq!(f.energy_pj, 0.0762426, max_relative = 1e-9);
    let hw = preset("neurosim-32nm.toml");
    assert_relative_eq!(hw.adc().energy_pj, 0.0762426, max_relative = 1e-9);
}

/// CACTI 7.0 32 nm table (pim-components.md §3, data/cacti_sram_32nm.csv): at a table size the
/// figures are the table's exactly.
#[test]
fn cacti_points_are_reproduced_exactly() {
    // First data row of the file: 1024 B, 8 B blocks.
    let row = cacti::lookup(1024, 8, "t", "b").unwrap();
    assert_eq!(row.access_time_ns, 0.1488);
    assert_eq!(row.read_energy_pj, 0.7469);
    assert_eq!(row.write_energy_pj, 1.5362);
    assert_eq!(row.leakage_mw, 0.3878);
    assert_eq!(row.area_mm2, 0.001822);
    assert_eq!(row.cycle_time_ns, 0.1194);
    // Every row of the table round-trips through the lookup.
    for entry in cacti::table() {
        let got = cacti::lookup(entry.size_bytes as u64, entry.block_bytes, "t", "b").unwrap();
        assert_eq!(&got, entry);
    }
    // And a config's buffer takes them (no cycle override -> CACTI's cycle time).
    let hw = preset("default.toml");
    let expected = cacti::lookup(4096, 16, "t", "b").unwrap();
    assert_eq!(hw.input_buffer().size_bytes, 4096);
    assert_eq!(hw.input_buffer().read_energy_pj, expected.read_energy_pj);
    assert_eq!(hw.input_buffer().cycle_ns, expected.cycle_time_ns);
}

/// MNSIM's buffer quirk (pim-components.md §1.6): every access costs 20 ns whatever CACTI says;
/// mnsim-default.toml states it as an explicit override.
#[test]
fn mnsim_buffer_cycle_is_the_20_ns_override() {
    let hw = preset("mnsim-default.toml");
    assert_eq!(hw.input_buffer().cycle_ns, 20.0);
    assert_eq!(hw.output_buffer().cycle_ns, 20.0);
    // 784 inputs x 9 bits in 64-bit blocks = 111 reads at 20 ns.
    let report = simulate_analytic(&hw, &fc(784, 256, 9, 1)).unwrap();
    let layer = &report.layers[0];
    assert!(layer.latency_ns >= 111.0 * 20.0 + 509.76);
}

/// MNSIM's area model (pim-components.md §1.2): a 256x256 crossbar is 0.094 mm^2 of cells plus
/// 0.294 mm^2 of row drivers.
#[test]
fn mnsim_crossbar_area() {
    let hw = preset("mnsim-default.toml");
    let report = simulate_analytic(&hw, &fc(256, 16, 9, 1)).unwrap();
    // One tile of 4 PEs x 2 crossbars is instantiated.
    assert_eq!(report.tiles, 1);
    let per_crossbar = report.area_breakdown_mm2.crossbar / 8.0;
    assert_relative_eq!(
        per_crossbar,
        256.0 * 256.0 * 1.44e-6 + 256.0 * 1150e-6,
        max_relative = 1e-12
    );
    assert_relative_eq!(256.0 * 256.0 * 1.44e-6, 0.094, max_relative = 0.01);
    assert_relative_eq!(256.0 * 1150e-6, 0.294, max_relative = 0.01);
}
