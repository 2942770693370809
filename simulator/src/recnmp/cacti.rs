//! RankCache SRAM figures, read from the simulator's CACTI 32 nm table (`crate::cacti`).
//!
//! A RankCache moves one embedding block of 64 B per access, so it is costed as the CACTI
//! scratchpad with 64 B blocks of the same capacity. Only the table's own sizes (2 KiB .. 1 MiB,
//! powers of two) are used, so every figure is a CACTI point, never an interpolation.

pub use crate::cacti::SramFigures;

/// Block width of a RankCache line in bytes (one DDR4 burst).
const RANKCACHE_BLOCK_BYTES: u32 = 64;

/// The CACTI row for an SRAM of exactly `size_kb` KiB with 64 B blocks, if the table has one.
pub fn sram_figures(size_kb: u32) -> Option<SramFigures> {
    let size_bytes = f64::from(size_kb) * 1024.0;
    crate::cacti::table()
        .iter()
        .copied()
        .find(|row| row.block_bytes == RANKCACHE_BLOCK_BYTES && row.size_bytes == size_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_sizes_are_found_and_others_are_not() {
        // CACTI 7.0 32 nm, 128 KiB with 64 B blocks: 44.6951 pJ per read (data/cacti_sram_32nm.csv).
        let row = sram_figures(128).expect("128 KiB is a table point");
        assert_eq!(row.read_energy_pj, 44.6951);
        assert!(sram_figures(100).is_none());
        assert!(
            sram_figures(1).is_none(),
            "CACTI found no 1 KiB organisation with 64 B blocks"
        );
    }
}
