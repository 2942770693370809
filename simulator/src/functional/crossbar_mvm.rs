//! The batch MVM through the crossbars: bit-serial inputs, per-group ADC conversions, shift-add.

use super::adc::{AdcStats, AdcTransfer};
use super::bit_slicing::BitSlicing;
use super::error::FunctionalError;
use super::matrix::{IntMatrix, UintMatrix};
use super::sliced_weights::SlicedWeights;

/// Batch items whose driven word lines are prepared together, so a row group's cells (kept in
/// L2) serve every read of the chunk before the next group is loaded.
const BATCH_CHUNK: usize = 16;

/// Outputs of one functional MVM call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MvmOutput {
    /// Batch items (rows of the input).
    pub batch: usize,
    /// Output neurons.
    pub out_features: usize,
    /// `[batch, out]` row-major: what the hardware computes for `W x` of each batch item.
    pub values: Vec<i64>,
    /// What the ADCs did.
    pub adc: AdcStats,
}

impl BitSlicing {
    /// `Y = X W^T` through the crossbars, for a whole batch (`inputs` is `[batch, in]`,
    /// `weights` `[out, in]`). Slices the weights for this one call; when the same weights run
    /// many batches, build [`SlicedWeights`] once and call [`SlicedWeights::mvm_batch`].
    pub fn mvm_batch(
        &self,
        weights: &IntMatrix,
        weight_bits: u32,
        inputs: &UintMatrix,
        input_bits: u32,
    ) -> Result<MvmOutput, FunctionalError> {
        SlicedWeights::new(self, weights, weight_bits)?.mvm_batch(inputs, input_bits)
    }
}

impl SlicedWeights {
    /// `Y = X W^T` through the crossbars for every row of `inputs` (`[batch, in]`, unsigned,
    /// within `input_bits`); returns `[batch, out]`.
    ///
    /// Inputs stream through the DAC `dac_bits` at a time (least significant slice first); for
    /// every row group, input slice, weight slice, column and polarity half the analog partial
    /// sum is digitised by one ADC conversion; the digitised sums are shifted by their input
    /// and weight significance and added (shift-add and adder tree), the negative half is
    /// subtracted and, for offset-column storage, `2^(weight_bits-1) * sum(x)` is subtracted.
    pub fn mvm_batch(
        &self,
        inputs: &UintMatrix,
        input_bits: u32,
    ) -> Result<MvmOutput, FunctionalError> {
        self.slicing.check_input_bits(input_bits)?;
        let in_features = self.in_features;
        if inputs.cols() != in_features {
            return Err(FunctionalError::ShapeMismatch {
                what: "inputs [batch, in] against weights [out, in]",
                expected: format!("{in_features} input features"),
                found: format!("{} input features", inputs.cols()),
            });
        }
        self.check_accumulator(input_bits)?;
        let max_input = (1_u64 << input_bits) - 1;
        if let Some(index) = inputs
            .values()
            .iter()
            .position(|&x| u64::from(x) > max_input)
        {
            return Err(FunctionalError::InputOutOfRange {
                row: index / in_features,
                col: index % in_features,
                value: u64::from(inputs.values()[index]),
                input_bits,
                max: max_input,
            });
        }

        let batch = inputs.rows();
        let out_features = self.out_features;
        let input_slices = self.slicing.input_slices(input_bits) as usize;
        let columns = self.halves * self.weight_slices * out_features;

        let transfers: Vec<AdcTransfer> = self
            .groups
            .iter()
            .map(|group| {
                AdcTransfer::new(
                    self.slicing.adc_range,
                    self.slicing.adc_bits,
                    self.slicing
                        .max_partial_sum(group.len, self.weight_bits, input_bits),
                )
            })
            .collect();
        let mut stats = AdcStats {
            conversions: (batch * self.groups.len() * input_slices * columns) as u64,
            max_step: transfers
                .iter()
                .map(|t| 1_u64 << t.step_log2)
                .max()
                .unwrap_or(1),
            ..AdcStats::default()
        };
        let mut values = vec![0_i64; batch * out_features];
        if columns > 0 && batch > 0 {
            // Column sums fit 16 bits in most settings (e.g. 128 rows x 1-bit DAC x 2-bit cells
            // = 384); 16-bit lanes then double the SIMD width.
            let largest_sum = self
                .groups
                .iter()
                .map(|g| {
                    self.slicing
                        .max_partial_sum(g.len, self.weight_bits, input_bits)
                })
                .max()
                .unwrap_or(0);
            let pass = KernelPass {
                weights: self,
                inputs,
                input_slices,
                columns,
                transfers: &transfers,
            };
            if largest_sum <= u64::from(u16::MAX) {
                pass.run::<u16>(&mut values, &mut stats);
            } else {
                pass.run::<u32>(&mut values, &mut stats);
            }
        }

        if self.offset != 0 {
            for (x, y) in inputs
                .values()
                .chunks_exact(in_features)
                .zip(values.chunks_exact_mut(out_features.max(1)))
            {
                let input_sum: i64 = x.iter().map(|&v| i64::from(v)).sum();
                for out in y.iter_mut() {
                    *out -= self.offset * input_sum;
                }
            }
        }

        Ok(MvmOutput {
            batch,
            out_features,
            values,
            adc: stats,
        })
    }

    /// Rejects layers whose digital sums could overflow `i64`: every digitised partial sum is at
    /// most twice its analog bound, so the total stays below `2 * in * 2^input_bits * 2^weight_bits`.
    fn check_accumulator(&self, input_bits: u32) -> Result<(), FunctionalError> {
        let headroom_bits = 61 - (self.weight_bits + input_bits);
        let max_in_features = 1_usize << headroom_bits.min(usize::BITS - 2);
        if self.in_features > max_in_features {
            return Err(FunctionalError::AccumulatorOverflow {
                in_features: self.in_features,
                weight_bits: self.weight_bits,
                input_bits,
                max_in_features,
            });
        }
        Ok(())
    }
}

/// Bit lines summed together in one pass: their running sums stay in L1 while the word-line
/// rows of a row group (rows x this many cells) stay in L2.
const COLUMN_TILE: usize = 1024;

/// Column-sum lane type: `u16` when every partial sum of the call fits 16 bits, else `u32`.
trait ColumnSum: Copy + Default {
    /// `sums += level * cells`, elementwise.
    fn add_row(sums: &mut [Self], cells: &[u16], level: u16);
    /// The sum as the analog partial sum the ADC sees.
    fn partial_sum(self) -> u32;
}

impl ColumnSum for u16 {
    #[inline]
    fn add_row(sums: &mut [u16], cells: &[u16], level: u16) {
        // No wrap: the caller checked every partial sum fits 16 bits.
        if level == 1 {
            for (sum, &cell) in sums.iter_mut().zip(cells) {
                *sum = sum.wrapping_add(cell);
            }
        } else {
            for (sum, &cell) in sums.iter_mut().zip(cells) {
                *sum = sum.wrapping_add(cell.wrapping_mul(level));
            }
        }
    }
    #[inline]
    fn partial_sum(self) -> u32 {
        u32::from(self)
    }
}

impl ColumnSum for u32 {
    #[inline]
    fn add_row(sums: &mut [u32], cells: &[u16], level: u16) {
        let level = u32::from(level);
        for (sum, &cell) in sums.iter_mut().zip(cells) {
            // Bounded by active_rows * 255 * 255 < 2^31 (validated).
            *sum = sum.wrapping_add(u32::from(cell) * level);
        }
    }
    #[inline]
    fn partial_sum(self) -> u32 {
        self
    }
}

/// One call's kernel: inputs driven on word lines, column sums per read, ADC, shift-add.
struct KernelPass<'a> {
    weights: &'a SlicedWeights,
    inputs: &'a UintMatrix,
    input_slices: usize,
    columns: usize,
    transfers: &'a [AdcTransfer],
}

/// The non-zero DAC levels of a chunk of batch items, `[item][input slice][row group]`:
/// a zero level drives no current, so only these word lines are added.
#[derive(Default)]
struct DrivenRows {
    rows: Vec<u32>,
    levels: Vec<u16>,
    /// Start of each (item, slice, group) run in `rows`, plus the end.
    bounds: Vec<usize>,
}

impl KernelPass<'_> {
    fn run<S: ColumnSum>(&self, values: &mut [i64], stats: &mut AdcStats) {
        let in_features = self.weights.in_features;
        let out_features = self.weights.out_features;
        let groups = &self.weights.groups;
        let mut driven = DrivenRows::default();
        let mut sums = vec![S::default(); COLUMN_TILE.min(self.columns)];

        for (x_chunk, y_chunk) in self
            .inputs
            .values()
            .chunks(BATCH_CHUNK * in_features)
            .zip(values.chunks_mut(BATCH_CHUNK * out_features))
        {
            let chunk_batch = x_chunk.len() / in_features;
            self.drive(x_chunk, &mut driven);
            for tile_start in (0..self.columns).step_by(COLUMN_TILE) {
                let tile_end = (tile_start + COLUMN_TILE).min(self.columns);
                let tile_sums = &mut sums[..tile_end - tile_start];
                for (g, transfer) in self.transfers.iter().enumerate() {
                    for item in 0..chunk_batch {
                        let y_item = &mut y_chunk[item * out_features..][..out_features];
                        for slice in 0..self.input_slices {
                            let run = (item * self.input_slices + slice) * groups.len() + g;
                            let (from, to) = (driven.bounds[run], driven.bounds[run + 1]);
                            if from == to {
                                // No word line driven: every column reads 0, converted exactly.
                                continue;
                            }
                            tile_sums.fill(S::default());
                            for (&row, &level) in
                                driven.rows[from..to].iter().zip(&driven.levels[from..to])
                            {
                                let cells = &self.weights.cells[row as usize * self.columns..]
                                    [tile_start..tile_end];
                                S::add_row(tile_sums, cells, level);
                            }
                            self.convert_and_accumulate(
                                tile_sums, tile_start, slice, transfer, y_item, stats,
                            );
                        }
                    }
                }
            }
        }
    }

    /// Splits each input of the chunk into DAC levels and records the driven word lines per
    /// (item, input slice, row group).
    fn drive(&self, x_chunk: &[u32], driven: &mut DrivenRows) {
        let in_features = self.weights.in_features;
        let dac_bits = self.weights.slicing.dac_bits;
        let level_mask = (1_u32 << dac_bits) - 1;
        driven.rows.clear();
        driven.levels.clear();
        driven.bounds.clear();
        for x in x_chunk.chunks_exact(in_features) {
            for slice in 0..self.input_slices {
                let shift = slice as u32 * dac_bits;
                for group in &self.weights.groups {
                    driven.bounds.push(driven.rows.len());
                    for (row, &value) in x.iter().enumerate().skip(group.start).take(group.len) {
                        let level = (value >> shift) & level_mask;
                        if level != 0 {
                            driven.rows.push(row as u32);
                            // At most 8 DAC bits.
                            driven.levels.push(level as u16);
                        }
                    }
                }
            }
        }
        driven.bounds.push(driven.rows.len());
    }

    /// Digitises one read's column sums and adds them, shifted by their input and weight
    /// significance and signed by their polarity half, to the item's outputs.
    fn convert_and_accumulate<S: ColumnSum>(
        &self,
        tile_sums: &[S],
        tile_start: usize,
        input_slice: usize,
        transfer: &AdcTransfer,
        y_item: &mut [i64],
        stats: &mut AdcStats,
    ) {
        let out_features = self.weights.out_features;
        let weight_slices = self.weights.weight_slices;
        let input_shift = input_slice as u32 * self.weights.slicing.dac_bits;
        let mut column = tile_start;
        let tile_end = tile_start + tile_sums.len();
        while column < tile_end {
            // A block is one (half, weight slice) across all neurons.
            let block = column / out_features;
            let first_neuron = column % out_features;
            let block_end = ((block + 1) * out_features).min(tile_end);
            let (half, weight_slice) = (block / weight_slices, block % weight_slices);
            let shift = input_shift + weight_slice as u32 * self.weights.slicing.cell_bits;
            let sums = &tile_sums[column - tile_start..block_end - tile_start];
            let outputs = &mut y_item[first_neuron..first_neuron + sums.len()];
            // The positive half adds, the negative half subtracts (after the ADC).
            if half == 0 {
                digitise_into(sums, outputs, shift, transfer, stats, |out, v| *out += v);
            } else {
                digitise_into(sums, outputs, shift, transfer, stats, |out, v| *out -= v);
            }
            column = block_end;
        }
    }
}

/// Converts `sums` through the ADC and merges `digitised << shift` into `outputs` with `merge`.
/// One loop per ADC mode, so the per-column work has no mode branches.
#[inline]
fn digitise_into<S: ColumnSum>(
    sums: &[S],
    outputs: &mut [i64],
    shift: u32,
    transfer: &AdcTransfer,
    stats: &mut AdcStats,
    merge: impl Fn(&mut i64, i64),
) {
    let pairs = outputs.iter_mut().zip(sums);
    if transfer.clips {
        let clipped = sums
            .iter()
            .filter(|&&sum| transfer.clip(sum.partial_sum()).1)
            .count();
        for (out, &sum) in pairs {
            merge(out, i64::from(transfer.clip(sum.partial_sum()).0) << shift);
        }
        stats.clipped += clipped as u64;
    } else if transfer.step_log2 == 0 {
        for (out, &sum) in pairs {
            merge(out, i64::from(sum.partial_sum()) << shift);
        }
    } else {
        // Counting in its own pass keeps both loops free of loop-carried branches.
        let rounded = sums
            .iter()
            .filter(|&&sum| transfer.round(sum.partial_sum()).1)
            .count();
        for (out, &sum) in pairs {
            merge(out, i64::from(transfer.round(sum.partial_sum()).0) << shift);
        }
        stats.rounded += rounded as u64;
    }
}
