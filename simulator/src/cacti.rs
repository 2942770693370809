//! SRAM buffer costs from the CACTI 7.0 32 nm table (data/cacti_sram_32nm.csv, embedded).
//!
//! Source: CACTI 7.0 (HewlettPackard/cacti @1ffd8dfb), scratchpad RAM, 32 nm, itrs-hp, 350 K,
//! one bank, one read-write port, ED^2 optimisation; the file's first line names the full
//! configuration (see /work/shared/reference/pim-components.md §3). CACTI's optimiser picks a
//! different organisation per point, so the table is a lookup: between two sizes of the same
//! block width every figure is interpolated linearly in ln(size); at a table size the figures
//! are the table's exactly. Sizes outside a block width's table range are rejected.

use crate::error::SimError;
use std::sync::OnceLock;

/// The shipped CSV, header comment line included.
pub const CACTI_SRAM_32NM_CSV: &str = include_str!("../data/cacti_sram_32nm.csv");

/// One SRAM organisation's figures (per access of one block).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SramFigures {
    /// Capacity in bytes.
    pub size_bytes: f64,
    /// Block (line) width in bytes: one access moves one block.
    pub block_bytes: u32,
    /// Access time in ns.
    pub access_time_ns: f64,
    /// Dynamic read energy per block access in pJ.
    pub read_energy_pj: f64,
    /// Dynamic write energy per block access in pJ.
    pub write_energy_pj: f64,
    /// Standby plus gate leakage in mW.
    pub leakage_mw: f64,
    /// Area in mm^2.
    pub area_mm2: f64,
    /// Random cycle time in ns.
    pub cycle_time_ns: f64,
}

/// The parsed table, in file order.
pub fn table() -> &'static [SramFigures] {
    static TABLE: OnceLock<Vec<SramFigures>> = OnceLock::new();
    TABLE.get_or_init(|| parse_table(CACTI_SRAM_32NM_CSV))
}

/// Parses the embedded table. The file is ours and fixed at build time; a row that does not
/// parse is skipped (a unit test checks that all 52 rows parse).
fn parse_table(text: &str) -> Vec<SramFigures> {
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records().flatten() {
        let field = |i: usize| record.get(i).and_then(|s| s.trim().parse::<f64>().ok());
        if let (
            Some(size),
            Some(block),
            Some(acc),
            Some(rd),
            Some(wr),
            Some(leak),
            Some(area),
            Some(cyc),
        ) = (
            field(0),
            field(1),
            field(2),
            field(3),
            field(4),
            field(5),
            field(6),
            field(7),
        ) {
            rows.push(SramFigures {
                size_bytes: size,
                block_bytes: block as u32,
                access_time_ns: acc,
                read_energy_pj: rd,
                write_energy_pj: wr,
                leakage_mw: leak,
                area_mm2: area,
                cycle_time_ns: cyc,
            });
        }
    }
    rows
}

/// Block widths the table covers, ascending.
pub fn block_widths() -> Vec<u32> {
    let mut widths: Vec<u32> = table().iter().map(|r| r.block_bytes).collect();
    widths.sort_unstable();
    widths.dedup();
    widths
}

/// Figures of an SRAM of `size_bytes` with `block_bytes` lines, interpolated in ln(size).
/// `origin`/`key` name the config entry for errors.
pub fn lookup(
    size_bytes: u64,
    block_bytes: u32,
    origin: &str,
    key_prefix: &str,
) -> Result<SramFigures, SimError> {
    let mut rows: Vec<&SramFigures> = table()
        .iter()
        .filter(|r| r.block_bytes == block_bytes)
        .collect();
    if rows.is_empty() {
        return Err(SimError::OutOfRange {
            origin: origin.to_string(),
            key: format!("{key_prefix}.block_bytes"),
            value: block_bytes.to_string(),
            allowed: format!("one of {:?} (CACTI 32 nm table)", block_widths()),
        });
    }
    rows.sort_by(|a, b| a.size_bytes.total_cmp(&b.size_bytes));
    let smallest = rows[0].size_bytes;
    let largest = rows[rows.len() - 1].size_bytes;
    let size = size_bytes as f64;
    if size < smallest || size > largest {
        return Err(SimError::OutOfRange {
            origin: origin.to_string(),
            key: format!("{key_prefix}.size_bytes"),
            value: size_bytes.to_string(),
            allowed: format!(
                "{smallest}..={largest} for block_bytes = {block_bytes} (CACTI 32 nm table)"
            ),
        });
    }
    if let Some(exact) = rows.iter().find(|r| r.size_bytes == size) {
        return Ok(**exact);
    }
    // Bracketing points: the first row above `size` and the one before it.
    let upper_index = rows
        .iter()
        .position(|r| r.size_bytes > size)
        .unwrap_or(rows.len() - 1)
        .max(1);
    let low = rows[upper_index - 1];
    let high = rows[upper_index];
    let t = (size.ln() - low.size_bytes.ln()) / (high.size_bytes.ln() - low.size_bytes.ln());
    let mix = |a: f64, b: f64| a + (b - a) * t;
    Ok(SramFigures {
        size_bytes: size,
        block_bytes,
        access_time_ns: mix(low.access_time_ns, high.access_time_ns),
        read_energy_pj: mix(low.read_energy_pj, high.read_energy_pj),
        write_energy_pj: mix(low.write_energy_pj, high.write_energy_pj),
        leakage_mw: mix(low.leakage_mw, high.leakage_mw),
        area_mm2: mix(low.area_mm2, high.area_mm2),
        cycle_time_ns: mix(low.cycle_time_ns, high.cycle_time_ns),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_rows_parse() {
        // 52 data rows: 55 size/width points minus the three CACTI could not organise.
        assert_eq!(table().len(), 52);
        assert_eq!(block_widths(), vec![8, 16, 32, 64, 128]);
    }

    #[test]
    fn interpolation_lies_between_neighbours() {
        let low = lookup(1024, 8, "t", "b").unwrap();
        let high = lookup(2048, 8, "t", "b").unwrap();
        let mid = lookup(1448, 8, "t", "b").unwrap();
        assert!(
            mid.read_energy_pj > low.read_energy_pj && mid.read_energy_pj < high.read_energy_pj
        );
        assert!(mid.area_mm2 > low.area_mm2 && mid.area_mm2 < high.area_mm2);
    }

    #[test]
    fn out_of_table_is_an_error() {
        assert!(matches!(
            lookup(512, 8, "f.toml", "buffers.input"),
            Err(SimError::OutOfRange { ref key, .. }) if key == "buffers.input.size_bytes"
        ));
        assert!(lookup(4096, 24, "f.toml", "buffers.input").is_err());
    }
}
