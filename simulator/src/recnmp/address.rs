//! Where an embedding vector lives in DRAM.
//!
//! Two placements [A] (`topology.placement`):
//! - `rank-interleaved`: tables laid out one after another; vector `g` (global id) is
//!   interleaved over all ranks first, then bank groups, then banks, and fills a row's columns
//!   before moving to the next row. Every op spreads over all rank-NMPs, but an op that touches
//!   several DIMMs returns one partial vector per DIMM over the channel.
//! - `table-per-dimm`: each table lives on one DIMM (tables assigned greedily, most-read first,
//!   to the least-loaded DIMM, using the trace's per-table lookup counts as the frequency profile
//!   MLPerf allows), interleaved over that DIMM's ranks the same way. One partial per op, but
//!   DIMM loads can be unbalanced.
//!
//! A vector's bursts always stay in one row.

use super::config::{Placement, RecnmpConfig};
use super::error::RecnmpError;
use crate::trace::LookupTrace;

/// DRAM coordinates of one embedding vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorLocation {
    /// Rank on the channel.
    pub rank: u32,
    /// Bank group.
    pub bank_group: u32,
    /// Bank within the group.
    pub bank: u32,
    /// DRAM row (aliased modulo the rows per bank when the tables exceed the capacity).
    pub row: u32,
}

/// Maps (table, row) to a global vector id and a DRAM location.
#[derive(Debug, Clone)]
pub struct AddressMap {
    table_base: Vec<u64>,
    global_base: Vec<u64>,
    table_dimm: Vec<u64>,
    ranks: u64,
    ranks_per_dimm: u64,
    placement: Placement,
    bank_groups: u64,
    banks_per_group: u64,
    vectors_per_row: u64,
    rows_per_bank: u64,
    /// Bytes of all tables.
    pub footprint_bytes: u64,
    /// Bytes of all ranks.
    pub capacity_bytes: u64,
}

impl AddressMap {
    /// Layout of the trace's tables with vectors of `vector_bytes`.
    pub fn new(config: &RecnmpConfig, trace: &LookupTrace, vector_bytes: u32) -> Self {
        let tables = trace.table_rows.len();
        let mut table_base = vec![0u64; tables];
        let mut table_dimm = vec![0u64; tables];
        let mut global_base = vec![0u64; tables];
        let mut total_vectors = 0u64;
        for (base, &rows) in global_base.iter_mut().zip(&trace.table_rows) {
            *base = total_vectors;
            total_vectors = total_vectors.saturating_add(rows);
        }
        match config.placement {
            Placement::RankInterleaved => table_base.clone_from(&global_base),
            Placement::TablePerDimm => {
                let mut reads = vec![0u64; tables];
                for lookup in &trace.lookups {
                    if let Some(count) = reads.get_mut(lookup.table as usize) {
                        *count += 1;
                    }
                }
                let mut by_reads: Vec<usize> = (0..tables).collect();
                by_reads.sort_by_key(|&t| (std::cmp::Reverse(reads[t]), t));
                let dimms = config.dimms() as usize;
                let mut dimm_reads = vec![0u64; dimms];
                let mut dimm_vectors = vec![0u64; dimms];
                for table in by_reads {
                    let dimm = (0..dimms)
                        .min_by_key(|&d| (dimm_reads[d], dimm_vectors[d], d))
                        .unwrap_or(0);
                    table_dimm[table] = dimm as u64;
                    table_base[table] = dimm_vectors[dimm];
                    dimm_reads[dimm] += reads[table];
                    dimm_vectors[dimm] = dimm_vectors[dimm].saturating_add(trace.table_rows[table]);
                }
            }
        }
        let organisation = &config.organisation;
        let capacity_bytes = u64::from(config.ranks)
            * u64::from(organisation.banks_per_rank())
            * u64::from(organisation.rows_per_bank)
            * u64::from(organisation.row_bytes_per_rank);
        Self {
            table_base,
            global_base,
            table_dimm,
            ranks: u64::from(config.ranks),
            ranks_per_dimm: u64::from(config.ranks_per_dimm),
            placement: config.placement,
            bank_groups: u64::from(organisation.bank_groups),
            banks_per_group: u64::from(organisation.banks_per_group),
            vectors_per_row: u64::from(organisation.row_bytes_per_rank / vector_bytes).max(1),
            rows_per_bank: u64::from(organisation.rows_per_bank),
            footprint_bytes: total_vectors.saturating_mul(u64::from(vector_bytes)),
            capacity_bytes,
        }
    }

    /// Global vector id (unique over all tables) of `row` in `table`, or an error naming the lookup.
    pub fn vector_id(&self, index: usize, table: u32, row: u64) -> Result<u64, RecnmpError> {
        self.global_base
            .get(table as usize)
            .map(|base| base + row)
            .ok_or(RecnmpError::LookupOutOfRange {
                index,
                table,
                row,
                tables: self.table_base.len(),
            })
    }

    /// DRAM location of `row` of `table` (both already checked by [`AddressMap::vector_id`]).
    pub fn locate(&self, table: u32, row: u64) -> VectorLocation {
        let table = table as usize;
        let base = self.table_base.get(table).copied().unwrap_or(0);
        let (rank, rest) = match self.placement {
            Placement::RankInterleaved => {
                let vector = base + row;
                (vector % self.ranks, vector / self.ranks)
            }
            Placement::TablePerDimm => {
                let local = base + row;
                let dimm = self.table_dimm.get(table).copied().unwrap_or(0);
                (
                    dimm * self.ranks_per_dimm + local % self.ranks_per_dimm,
                    local / self.ranks_per_dimm,
                )
            }
        };
        let bank_group = rest % self.bank_groups;
        let rest = rest / self.bank_groups;
        let bank = rest % self.banks_per_group;
        let rest = rest / self.banks_per_group;
        let row = (rest / self.vectors_per_row) % self.rows_per_bank;
        VectorLocation {
            rank: rank as u32,
            bank_group: bank_group as u32,
            bank: bank as u32,
            row: row as u32,
        }
    }
}
