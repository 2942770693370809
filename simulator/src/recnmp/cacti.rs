//! RankCache SRAM figures from the CACTI 32 nm table.
//!
//! Values are the 64 B-block rows of `/work/shared/data/cacti_sram_32nm.csv` (CACTI 7.0,
//! HewlettPackard/cacti @1ffd8dfb, scratchpad "ram", 32 nm, itrs-hp, 350 K, 1 RW port,
//! optimise ED^2; energies per one-block access, leakage per bank). They are carried over with
//! that attribution so the model runs without the data file.

/// One CACTI row: an SRAM of `size_bytes` with 64 B blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SramFigures {
    /// Capacity in bytes.
    pub size_bytes: u64,
    /// Access time in ns.
    pub access_time_ns: f64,
    /// Energy of one 64 B read, pJ.
    pub read_energy_pj: f64,
    /// Energy of one 64 B write, pJ.
    pub write_energy_pj: f64,
    /// Standby plus gate leakage, mW.
    pub leakage_mw: f64,
}

/// CACTI 7.0, 32 nm, 64 B blocks, 8 KiB .. 1 MiB (see the module documentation for the source).
pub const CACTI_32NM_64B_BLOCK: [SramFigures; 8] = [
    SramFigures {
        size_bytes: 8192,
        access_time_ns: 0.1985,
        read_energy_pj: 12.8091,
        write_energy_pj: 19.1228,
        leakage_mw: 2.9818,
    },
    SramFigures {
        size_bytes: 16384,
        access_time_ns: 0.2410,
        read_energy_pj: 14.2357,
        write_energy_pj: 27.1939,
        leakage_mw: 5.7570,
    },
    SramFigures {
        size_bytes: 32768,
        access_time_ns: 0.3130,
        read_energy_pj: 17.2125,
        write_energy_pj: 43.4595,
        leakage_mw: 11.2673,
    },
    SramFigures {
        size_bytes: 65536,
        access_time_ns: 0.3924,
        read_energy_pj: 33.0938,
        write_energy_pj: 53.5409,
        leakage_mw: 20.2673,
    },
    SramFigures {
        size_bytes: 131072,
        access_time_ns: 0.5657,
        read_energy_pj: 44.6951,
        write_energy_pj: 85.9733,
        leakage_mw: 40.1763,
    },
    SramFigures {
        size_bytes: 262144,
        access_time_ns: 0.7914,
        read_energy_pj: 74.7374,
        write_energy_pj: 116.0160,
        leakage_mw: 80.3527,
    },
    SramFigures {
        size_bytes: 524288,
        access_time_ns: 1.0430,
        read_energy_pj: 116.8280,
        write_energy_pj: 125.6760,
        leakage_mw: 153.0660,
    },
    SramFigures {
        size_bytes: 1048576,
        access_time_ns: 1.4032,
        read_energy_pj: 177.1270,
        write_energy_pj: 195.3120,
        leakage_mw: 303.6690,
    },
];

/// The CACTI row for an SRAM of exactly `size_kb` KiB, if the table has one (8..=1024, powers of two).
pub fn sram_figures(size_kb: u32) -> Option<SramFigures> {
    let size_bytes = u64::from(size_kb) * 1024;
    CACTI_32NM_64B_BLOCK
        .iter()
        .copied()
        .find(|row| row.size_bytes == size_bytes)
}
