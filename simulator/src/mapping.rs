//! Mapping an MVM onto crossbars, and the chip's PEs and tiles.
//!
//! Weight slices: differential polarity stores `|w|` on a positive and a negative crossbar with
//! `ceil((weight_bits-1)/cell_bits)` slices each (two crossbar copies); offset-column stores
//! `w + 2^(weight_bits-1)` with `ceil(weight_bits/cell_bits)` slices on one copy (the offset
//! times the input sum is subtracted digitally, so no extra column). At least one slice.
//!
//! Row blocks = ceil(rows / crossbar rows). Column blocks: `packed` layout (MNSIM's, as we
//! read its mapper: the slices of consecutive outputs fill a crossbar's columns one after
//! another) = ceil(cols x slices / crossbar cols); `per-slice` layout = slices x ceil(cols /
//! crossbar cols). Crossbars per copy of the layer = row blocks x column blocks x polarity
//! copies; `mapping.replication` copies of the layer. Each layer gets its own PEs
//! (ceil(crossbars / crossbars_per_pe)) and its own tiles (ceil(PEs / pes_per_tile)), as in
//! MNSIM, where layers never share a PE or a tile.

use crate::conventions::Polarity;
use crate::hwconfig::{HwConfig, SliceLayout};

/// Crossbars holding the same sub-matrix shape; they run identical schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossbarShape {
    /// Word lines used.
    pub rows: u64,
    /// Bit lines used.
    pub cols: u64,
    /// Crossbars of this shape in one copy of the layer.
    pub multiplicity: u64,
}

/// How one MVM op sits on the chip.
#[derive(Debug, Clone, PartialEq)]
pub struct MvmMapping {
    /// Weight slices per polarity half.
    pub weight_slices: u64,
    /// 2 for differential polarity, 1 for offset-column.
    pub polarity_copies: u64,
    /// Input bit slices (DAC drives per input element).
    pub input_slices: u64,
    /// ceil(rows / crossbar rows).
    pub row_blocks: u64,
    /// Column blocks per polarity copy.
    pub col_blocks: u64,
    /// Crossbars in one copy of the layer.
    pub crossbars_per_replica: u64,
    /// Layer copies.
    pub replicas: u64,
    /// All crossbars of the layer (`crossbars_per_replica x replicas`).
    pub crossbars: u64,
    /// PEs of the layer.
    pub pes: u64,
    /// Tiles of the layer.
    pub tiles: u64,
    /// Distinct crossbar shapes of one copy (partial last row/column blocks).
    pub shapes: Vec<CrossbarShape>,
    /// Partial sums merged per output: row blocks x slices x polarity copies.
    pub partials_per_output: u64,
    /// Weight cells used / cells in the layer's crossbars.
    pub utilisation: f64,
}

/// Splits `total` into blocks of `block`: (number of full blocks, size of the last partial block
/// or 0).
fn split(total: u64, block: u64) -> (u64, u64) {
    (total / block, total % block)
}

/// Adds (size, multiplicity) pieces for a dimension split into blocks.
fn pieces(total: u64, block: u64) -> Vec<(u64, u64)> {
    let (full, rest) = split(total, block);
    let mut out = Vec::with_capacity(2);
    if full > 0 {
        out.push((block, full));
    }
    if rest > 0 {
        out.push((rest, 1));
    }
    out
}

/// Maps an MVM of `rows x cols` at the given precisions.
pub fn map_mvm(
    hw: &HwConfig,
    rows: u64,
    cols: u64,
    weight_bits: u32,
    input_bits: u32,
) -> MvmMapping {
    let xbar_rows = u64::from(hw.crossbar().rows);
    let xbar_cols = u64::from(hw.crossbar().cols);
    let cell_bits = u64::from(hw.device().cell_bits);
    let (magnitude_bits, polarity_copies) = match hw.crossbar().polarity {
        Polarity::Differential => (u64::from(weight_bits.saturating_sub(1)), 2),
        Polarity::OffsetColumn => (u64::from(weight_bits), 1),
    };
    let weight_slices = magnitude_bits.div_ceil(cell_bits).max(1);
    let input_slices = u64::from(input_bits)
        .div_ceil(u64::from(hw.dac().bits))
        .max(1);
    let row_pieces = pieces(rows, xbar_rows);
    let col_pieces: Vec<(u64, u64)> = match hw.mapping().slice_layout {
        SliceLayout::Packed => pieces(cols * weight_slices, xbar_cols),
        SliceLayout::PerSlice => pieces(cols, xbar_cols)
            .into_iter()
            .map(|(size, mult)| (size, mult * weight_slices))
            .collect(),
    };
    let row_blocks = rows.div_ceil(xbar_rows);
    let col_blocks: u64 = col_pieces.iter().map(|(_, m)| m).sum();
    let mut shapes = Vec::with_capacity(4);
    for &(r, rm) in &row_pieces {
        for &(c, cm) in &col_pieces {
            shapes.push(CrossbarShape {
                rows: r,
                cols: c,
                multiplicity: rm * cm * polarity_copies,
            });
        }
    }
    let crossbars_per_replica = row_blocks * col_blocks * polarity_copies;
    let replicas = u64::from(hw.mapping().replication);
    let crossbars = crossbars_per_replica * replicas;
    let pes_per_replica =
        crossbars_per_replica.div_ceil(u64::from(hw.hierarchy().crossbars_per_pe));
    let pes = pes_per_replica * replicas;
    let tiles = pes.div_ceil(u64::from(hw.hierarchy().pes_per_tile));
    let cells_used = rows * cols * weight_slices * polarity_copies;
    let cells_provided = crossbars_per_replica * xbar_rows * xbar_cols;
    MvmMapping {
        weight_slices,
        polarity_copies,
        input_slices,
        row_blocks,
        col_blocks,
        crossbars_per_replica,
        replicas,
        crossbars,
        pes,
        tiles,
        shapes,
        partials_per_output: row_blocks * weight_slices * polarity_copies,
        utilisation: cells_used as f64 / cells_provided as f64,
    }
}

/// Crossbars needed to store embedding tables in ReRAM used as memory: each table row takes
/// `ceil(dim x element_bits / (crossbar cols x cell_bits))` crossbar rows.
pub fn embedding_crossbars(
    hw: &HwConfig,
    tables: u64,
    rows: u64,
    dim: u64,
    element_bits: u32,
) -> u64 {
    let row_reads = u128::from(embedding_row_reads_per_lookup(hw, dim, element_bits));
    let per_table = (u128::from(rows) * row_reads).div_ceil(u128::from(hw.crossbar().rows));
    u64::try_from(u128::from(tables) * per_table).unwrap_or(u64::MAX)
}

/// Crossbar rows read per embedding lookup in ReRAM used as memory.
pub fn embedding_row_reads_per_lookup(hw: &HwConfig, dim: u64, element_bits: u32) -> u64 {
    let bits_per_row = u64::from(hw.crossbar().cols) * u64::from(hw.device().cell_bits);
    (dim * u64::from(element_bits)).div_ceil(bits_per_row)
}
