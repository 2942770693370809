//! Embedding lookup traces for the RecNMP and ReRAM embedding models.
//!
//! A trace is a list of (batch, sample, table, row) lookups plus the size of every table.
//! [`generate`] builds seeded synthetic traces shaped like the public CTR datasets
//! (baselines.md §4): one-hot Criteo/Avazu/KDD or multi-hot MLPerf DCNv2, per-table Zipf
//! popularity with shuffled ids. [`read_trace`] / [`write_trace`] move them through CSV.

mod csv_io;
mod error;
mod generate;
mod permute;
mod shape;

pub use csv_io::{read_trace, write_trace, TRACE_HEADER};
pub use error::TraceError;
pub use generate::{generate, TraceSpec, DEFAULT_UNIFORM_BELOW_ROWS, DEFAULT_ZIPF_ALPHA};
pub use permute::IdPermutation;
pub use shape::{TraceShape, AVAZU_ROWS, CRITEO_KAGGLE_ROWS, DCNV2_POOLING, DCNV2_ROWS, KDD_ROWS};

/// One embedding lookup: row `row` of table `table`, summed into the pooled vector of
/// (`batch`, `sample`, `table`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lookup {
    /// Batch index.
    pub batch: u32,
    /// Sample index within the batch.
    pub sample: u32,
    /// Embedding table index.
    pub table: u32,
    /// Row index within the table.
    pub row: u64,
}

/// A lookup trace and the tables it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupTrace {
    /// Rows of every table (the address layout of the embedding memory depends on them).
    pub table_rows: Vec<u64>,
    /// Lookups in issue order.
    pub lookups: Vec<Lookup>,
}

impl LookupTrace {
    /// Number of distinct SparseLengthsSum ops, i.e. distinct (batch, sample, table) triples.
    pub fn sls_ops(&self) -> usize {
        let mut keys: Vec<(u32, u32, u32)> = self
            .lookups
            .iter()
            .map(|l| (l.batch, l.sample, l.table))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys.len()
    }
}
