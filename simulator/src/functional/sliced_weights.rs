//! A weight matrix programmed onto crossbar cells: polarity halves, weight slices, row groups.

use super::bit_slicing::BitSlicing;
use super::error::FunctionalError;
use super::matrix::IntMatrix;
use crate::conventions::Polarity;

/// A contiguous run of word lines read together: one ADC conversion per column per read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowGroup {
    /// First input feature (word line) of the group, counted over the whole layer.
    pub start: usize,
    /// Word lines in the group: `active_rows`, or fewer at the end of a crossbar.
    pub len: usize,
}

/// A `[out, in]` weight matrix sliced the way the crossbars store it, computed once per layer
/// and reused for every batch.
///
/// Cell levels are laid out like the crossbar itself: one row per word line (input feature),
/// and along it every bit line of the layer, `[in][half][weight slice][out]`. Driving a word
/// line adds its whole row of cells to the column sums, so the kernel streams contiguous rows.
#[derive(Debug, Clone)]
pub struct SlicedWeights {
    pub(crate) slicing: BitSlicing,
    pub(crate) weight_bits: u32,
    pub(crate) out_features: usize,
    pub(crate) in_features: usize,
    pub(crate) halves: usize,
    pub(crate) weight_slices: usize,
    /// Cell levels, `[in][half][slice][out]` (at most 8 bits each).
    pub(crate) cells: Vec<u16>,
    /// Row groups of the whole layer, crossbar after crossbar.
    pub(crate) groups: Vec<RowGroup>,
    /// Digital offset per input unit: `2^(weight_bits-1)` for offset-column storage, else 0.
    pub(crate) offset: i64,
}

impl SlicedWeights {
    /// Slices `weights` (`[out, in]`, signed, within `weight_bits`) onto cells.
    ///
    /// Fails on an invalid slicing, a precision outside `2..=16`, an empty input dimension or a
    /// weight that the polarity scheme cannot store (see [`BitSlicing::weight_range`]).
    pub fn new(
        slicing: &BitSlicing,
        weights: &IntMatrix,
        weight_bits: u32,
    ) -> Result<Self, FunctionalError> {
        slicing.validate()?;
        slicing.check_weight_bits(weight_bits)?;
        let out_features = weights.rows();
        let in_features = weights.cols();
        if in_features == 0 {
            return Err(FunctionalError::ShapeMismatch {
                what: "weights [out, in]",
                expected: "at least 1 input feature".to_string(),
                found: "0 input features".to_string(),
            });
        }
        let (min_weight, max_weight) = slicing.weight_range(weight_bits);
        let polarity_name = match slicing.polarity {
            Polarity::Differential => "differential",
            Polarity::OffsetColumn => "offset-column",
        };
        let halves = slicing.polarity_halves() as usize;
        let weight_slices = slicing.weight_slices(weight_bits) as usize;
        let cell_bits = slicing.cell_bits;
        let cell_mask = (1_i64 << cell_bits) - 1;
        let offset = match slicing.polarity {
            Polarity::Differential => 0,
            Polarity::OffsetColumn => 1_i64 << (weight_bits - 1),
        };

        // Bit lines of one word line: every (half, slice, neuron).
        let columns = halves * weight_slices * out_features;
        let mut cells = vec![0_u16; in_features * columns];
        for (index, &weight) in weights.values().iter().enumerate() {
            let weight = i64::from(weight);
            if weight < min_weight || weight > max_weight {
                return Err(FunctionalError::WeightOutOfRange {
                    row: index / in_features,
                    col: index % in_features,
                    value: weight,
                    weight_bits,
                    min: min_weight,
                    max: max_weight,
                    polarity: polarity_name,
                });
            }
            let (neuron, input) = (index / in_features, index % in_features);
            // (half, unsigned magnitude stored in that half)
            let stored: [(usize, i64); 2] = match slicing.polarity {
                Polarity::Differential => [(0, weight.max(0)), (1, (-weight).max(0))],
                Polarity::OffsetColumn => [(0, weight + offset), (0, 0)],
            };
            for &(half, magnitude) in stored.iter().take(halves) {
                for slice in 0..weight_slices {
                    let level = (magnitude >> (slice as u32 * cell_bits)) & cell_mask;
                    let column = (half * weight_slices + slice) * out_features + neuron;
                    // A cell holds at most 8 bits, so the level fits in u16.
                    cells[input * columns + column] = level as u16;
                }
            }
        }

        let groups = row_groups(in_features, slicing.crossbar_rows, slicing.active_rows);

        Ok(Self {
            slicing: *slicing,
            weight_bits,
            out_features,
            in_features,
            halves,
            weight_slices,
            cells,
            groups,
            offset,
        })
    }

    /// The slicing the weights were programmed with.
    pub fn slicing(&self) -> &BitSlicing {
        &self.slicing
    }

    /// The weight precision.
    pub fn weight_bits(&self) -> u32 {
        self.weight_bits
    }

    /// Output neurons (rows of W).
    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// Input features (columns of W, word lines of the layer).
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// Weight slices per weight and polarity half.
    pub fn weight_slices(&self) -> usize {
        self.weight_slices
    }

    /// Row groups of the layer (each read is one ADC conversion per column).
    pub fn row_groups(&self) -> &[RowGroup] {
        &self.groups
    }

    /// Crossbars holding the layer: polarity halves x row blocks x column blocks, where the
    /// columns are `out x weight slices` packed `crossbar_cols` to a crossbar.
    pub fn crossbars(&self) -> usize {
        let row_blocks = self.in_features.div_ceil(self.slicing.crossbar_rows);
        let col_blocks =
            (self.out_features * self.weight_slices).div_ceil(self.slicing.crossbar_cols);
        self.halves * row_blocks * col_blocks
    }
}

/// Splits `in_features` word lines into crossbars of `crossbar_rows` rows and each crossbar into
/// groups of `active_rows`; a group never spans two crossbars.
pub(crate) fn row_groups(
    in_features: usize,
    crossbar_rows: usize,
    active_rows: usize,
) -> Vec<RowGroup> {
    let mut groups = Vec::new();
    let mut crossbar_start = 0;
    while crossbar_start < in_features {
        let crossbar_end = (crossbar_start + crossbar_rows).min(in_features);
        let mut start = crossbar_start;
        while start < crossbar_end {
            let len = active_rows.min(crossbar_end - start);
            groups.push(RowGroup { start, len });
            start += len;
        }
        crossbar_start = crossbar_end;
    }
    groups
}
