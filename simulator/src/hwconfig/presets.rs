//! Component presets: converter figures published by MNSIM 2.0, ISAAC (via Accelergy) and the
//! NeuroSim 32 nm SAR fit, shipped as data with attribution
//! (/work/shared/reference/pim-components.md §1.3, §1.4, §2.1, §2.2).
//!
//! A preset gives a converter's bits, time per conversion, energy per conversion and area. The
//! conversion time is the figure the source charges for one conversion; it is stored, never
//! re-derived by a formula inside the engines (MNSIM charges (bits+2)/fs, Accelergy 1/fs: both
//! are here as the source states them).

/// Figures of one converter (ADC or DAC) per conversion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConverterFigures {
    /// Resolution in bits.
    pub bits: u32,
    /// Time of one conversion in ns.
    pub latency_ns: f64,
    /// Energy of one conversion in pJ.
    pub energy_pj: f64,
    /// Area of one converter in um^2; `None` when the source gives no area in um^2.
    pub area_um2: Option<f64>,
}

/// MNSIM 2.0 `Hardware_Model/ADC.py` choice: (bits, area um^2, power mW, sample rate GS/s,
/// conversion time ns). Conversion time is (bits+2)/fs except choice 8 (1/fs) and 9 (2^bits/fs);
/// energy = power x conversion time, as MNSIM computes it.
const MNSIM_ADC: [(u32, f64, f64, f64, f64); 9] = [
    (10, 1600.0, 6.92, 1.5, 12.0 / 1.5),
    (8, 1200.0, 2.0, 1.28, 10.0 / 1.28),
    (8, 1650.0, 4.0, 1.1, 10.0 / 1.1),
    (6, 580.0, 1.26, 1.0, 8.0),
    (8, 1650.0, 4.0, 1.1, 10.0 / 1.1),
    (6, 1650.0, 1.26, 1.0, 8.0),
    (4, 500.0, 0.7, 1.0, 6.0),
    // Sense amplifier, 0.1086 mW scaled by 15e-3 (65 -> 28 nm) in the source.
    (1, 1.0, 0.1086 * 15e-3, 1.0, 1.0),
    (8, 15899.0, 0.0584, 6.0, 256.0 / 6.0),
];

/// MNSIM 2.0 `Hardware_Model/DAC.py` choice: (bits, area um^2, power mW); latency (bits+2) ns
/// at the fixed 1 GS/s. Choice 6's power is read as 0.4992 mW (the source's missing 1e-3 fixed,
/// pim-components.md §1.4).
const MNSIM_DAC: [(u32, f64, f64); 7] = [
    (1, 0.166, 0.0039),
    (2, 0.332, 0.0078),
    (3, 0.664, 0.0156),
    (4, 1.328, 0.0312),
    (6, 5.312, 0.1248),
    (8, 21.248, 0.4992),
    (1, 0.166, 0.0039),
];

/// ISAAC ADC energies (pJ/conversion) and areas (um^2) at 32 nm as converted by
/// Accelergy-Project/hwcomponents-library `isaac.py`: the 8-bit ADC (16 mW per IMA of 8 ADCs /
/// (1.2e9 x 8)) and the Saberi-2011 scaled resolutions.
const ISAAC_ADC: [(u32, f64, f64); 7] = [
    (4, 0.79, 361.0),
    (5, 0.99, 477.0),
    (6, 1.20, 627.0),
    (7, 1.42, 845.0),
    (8, 16.0 / (1.2 * 8.0), 1200.0),
    (9, 1.97, 1828.0),
    (10, 2.38, 3002.0),
];

/// ISAAC's ADC sample rate, 1.28 GS/s (ISAAC paper; 128 columns in 100 ns). The scaled
/// resolutions are assumed to run at the same rate [assumption, labelled].
pub const ISAAC_ADC_RATE_GSPS: f64 = 1.28;

/// NeuroSim V1.3 `SarADC.cpp` 32 nm HP fit: P_col = (a·bits + c) uW (+ a resistance term that
/// depends on the column resistance, dropped here: state it in the config if wanted).
const NEUROSIM_32NM_A_UW_PER_BIT: f64 = 1.0157;
const NEUROSIM_32NM_C_UW: f64 = 7.6286;

/// Names accepted by `adc.preset`.
pub fn adc_preset_names() -> Vec<String> {
    let mut names: Vec<String> = (1..=9).map(|c| format!("mnsim-{c}")).collect();
    names.extend(ISAAC_ADC.iter().map(|(bits, _, _)| format!("isaac-{bits}")));
    names.push("neurosim-32nm-sar".to_string());
    names
}

/// Names accepted by `dac.preset`.
pub fn dac_preset_names() -> Vec<String> {
    let mut names: Vec<String> = (1..=7).map(|c| format!("mnsim-{c}")).collect();
    names.push("isaac-1".to_string());
    names
}

/// The ADC preset `name`; `bits` is needed only by the NeuroSim fit (a function of bits).
/// Returns `None` for an unknown name or a NeuroSim request without bits.
pub fn adc_preset(name: &str, bits: Option<u32>) -> Option<ConverterFigures> {
    if name == "neurosim-32nm-sar" {
        let bits = bits?;
        // latency = (log2 L + 1) ns with L = 2^bits levels.
        let latency_ns = f64::from(bits) + 1.0;
        let power_uw = NEUROSIM_32NM_A_UW_PER_BIT * f64::from(bits) + NEUROSIM_32NM_C_UW;
        return Some(ConverterFigures {
            bits,
            latency_ns,
            // uW x ns = fJ = 1e-3 pJ.
            energy_pj: power_uw * latency_ns * 1e-3,
            area_um2: None,
        });
    }
    if let Some(choice) = name.strip_prefix("mnsim-") {
        let index: usize = choice.parse().ok()?;
        let (bits, area, power_mw, _rate, latency_ns) = *MNSIM_ADC.get(index.checked_sub(1)?)?;
        return Some(ConverterFigures {
            bits,
            latency_ns,
            // mW x ns = pJ.
            energy_pj: power_mw * latency_ns,
            area_um2: Some(area),
        });
    }
    if let Some(bits_text) = name.strip_prefix("isaac-") {
        let wanted: u32 = bits_text.parse().ok()?;
        let (bits, energy_pj, area) = *ISAAC_ADC.iter().find(|(b, _, _)| *b == wanted)?;
        return Some(ConverterFigures {
            bits,
            latency_ns: 1.0 / ISAAC_ADC_RATE_GSPS,
            energy_pj,
            area_um2: Some(area),
        });
    }
    None
}

/// The DAC preset `name`, or `None` if unknown.
pub fn dac_preset(name: &str) -> Option<ConverterFigures> {
    if name == "isaac-1" {
        // Accelergy isaac.py: 0.417 pJ per drive (4 mW for the 8x128 DACs of an IMA);
        // area 170 um^2 / 1024. ISAAC's DAC time is inside its 100 ns crossbar cycle, so the
        // preset charges no separate DAC time [stated convention].
        return Some(ConverterFigures {
            bits: 1,
            latency_ns: 0.0,
            energy_pj: 0.417,
            area_um2: Some(170.0 / 1024.0),
        });
    }
    let choice: usize = name.strip_prefix("mnsim-")?.parse().ok()?;
    let (bits, area, power_mw) = *MNSIM_DAC.get(choice.checked_sub(1)?)?;
    let latency_ns = f64::from(bits) + 2.0;
    Some(ConverterFigures {
        bits,
        latency_ns,
        energy_pj: power_mw * latency_ns,
        area_um2: Some(area),
    })
}

/// MNSIM 2.0's behaviour-level cell read energy (`Hardware_Model/Device.py`, pim-components.md
/// §1.2): P = V^2/R with R = R_H·R_L/(0.67·R_L + 0.33·R_H) and V = sqrt(0.9·0^2 + 0.1·V_read^2)
/// (10 % of inputs are "1"); energy = P x read latency. Returned in pJ.
pub fn mnsim_cell_read_energy_pj(
    r_on_ohm: f64,
    r_off_ohm: f64,
    read_voltage_v: f64,
    read_latency_ns: f64,
) -> f64 {
    let resistance = r_off_ohm * r_on_ohm / (0.67 * r_on_ohm + 0.33 * r_off_ohm);
    let voltage_sq = 0.1 * read_voltage_v * read_voltage_v;
    let power_w = voltage_sq / resistance;
    // W x ns = 1e-9 J = 1e3 pJ.
    power_w * read_latency_ns * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_resolves() {
        for name in adc_preset_names() {
            assert!(adc_preset(&name, Some(5)).is_some(), "{name}");
        }
        for name in dac_preset_names() {
            assert!(dac_preset(&name).is_some(), "{name}");
        }
        assert!(adc_preset("mnsim-0", None).is_none());
        assert!(adc_preset("mnsim-10", None).is_none());
        assert!(adc_preset("neurosim-32nm-sar", None).is_none());
    }
}
