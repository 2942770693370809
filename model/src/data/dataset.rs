//! An encoded data set held in memory, its seeded shuffled batches and stratified splits.

use crate::batch::{Batch, DataSchema};
use crate::data::split::stratified_split_indices;
use crate::error::{ModelError, Result};
use ndarray::{Array1, Array2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Encoded examples: dense matrix, embedding-row matrix, labels, and the schema they fit.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedDataset {
    schema: DataSchema,
    dense: Array2<f32>,
    sparse: Array2<u32>,
    labels: Array1<f32>,
}

impl EncodedDataset {
    /// Builds a data set, checking that the shapes agree with each other and with `schema` and
    /// that every embedding row is inside its table.
    pub fn new(
        schema: DataSchema,
        dense: Array2<f32>,
        sparse: Array2<u32>,
        labels: Array1<f32>,
    ) -> Result<Self> {
        let n = labels.len();
        if dense.nrows() != n || sparse.nrows() != n {
            return Err(ModelError::Data(format!(
                "{n} labels but {} dense and {} sparse rows",
                dense.nrows(),
                sparse.nrows()
            )));
        }
        if dense.ncols() != schema.n_dense || sparse.ncols() != schema.n_sparse() {
            return Err(ModelError::Data(format!(
                "matrices are {}x{} dense and {}x{} sparse, the schema says {} dense and {} sparse",
                n,
                dense.ncols(),
                n,
                sparse.ncols(),
                schema.n_dense,
                schema.n_sparse()
            )));
        }
        for (field, column) in sparse.axis_iter(Axis(1)).enumerate() {
            let rows = schema.table_rows[field];
            if let Some(bad) = column.iter().find(|&&r| r as usize >= rows) {
                return Err(ModelError::Data(format!(
                    "field {field}: row {bad} outside its table of {rows} rows"
                )));
            }
        }
        if let Some(bad) = labels.iter().find(|&&y| y != 0.0 && y != 1.0) {
            return Err(ModelError::Data(format!("label {bad} is not 0 or 1")));
        }
        Ok(Self {
            schema,
            dense,
            sparse,
            labels,
        })
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True without examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Dense count and table sizes.
    pub fn schema(&self) -> &DataSchema {
        &self.schema
    }

    /// `[n, n_dense]` transformed dense features.
    pub fn dense(&self) -> &Array2<f32> {
        &self.dense
    }

    /// `[n, n_sparse]` embedding rows.
    pub fn sparse(&self) -> &Array2<u32> {
        &self.sparse
    }

    /// `[n]` labels in {0, 1}.
    pub fn labels(&self) -> &Array1<f32> {
        &self.labels
    }

    /// Fraction of positive labels.
    pub fn positive_rate(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        self.labels.iter().filter(|&&y| y > 0.5).count() as f64 / self.len() as f64
    }

    /// The examples at `indices`, in that order, as one batch. Errors on an index `>= len()`.
    pub fn batch_of(&self, indices: &[usize]) -> Result<Batch> {
        let mut batch = Batch {
            dense: Array2::zeros((0, self.schema.n_dense)),
            sparse: Array2::zeros((0, self.schema.n_sparse())),
            labels: Array1::zeros(0),
        };
        self.fill_batch(indices, &mut batch)?;
        Ok(batch)
    }

    /// Like `batch_of`, reusing `batch`'s allocations when its shape already fits.
    pub fn fill_batch(&self, indices: &[usize], batch: &mut Batch) -> Result<()> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(ModelError::Data(format!(
                "example index {bad} outside a data set of {}",
                self.len()
            )));
        }
        let b = indices.len();
        if batch.dense.dim() != (b, self.schema.n_dense) {
            batch.dense = Array2::zeros((b, self.schema.n_dense));
        }
        if batch.sparse.dim() != (b, self.schema.n_sparse()) {
            batch.sparse = Array2::zeros((b, self.schema.n_sparse()));
        }
        if batch.labels.len() != b {
            batch.labels = Array1::zeros(b);
        }
        for (slot, &i) in indices.iter().enumerate() {
            batch.dense.row_mut(slot).assign(&self.dense.row(i));
            batch.sparse.row_mut(slot).assign(&self.sparse.row(i));
            batch.labels[slot] = self.labels[i];
        }
        Ok(())
    }

    /// The examples at `indices` as a new data set (same schema).
    pub fn subset(&self, indices: &[usize]) -> Result<EncodedDataset> {
        let batch = self.batch_of(indices)?;
        Ok(Self {
            schema: self.schema.clone(),
            dense: batch.dense,
            sparse: batch.sparse,
            labels: batch.labels,
        })
    }

    /// The whole set as one batch (for evaluation).
    pub fn as_batch(&self) -> Batch {
        Batch {
            dense: self.dense.clone(),
            sparse: self.sparse.clone(),
            labels: self.labels.clone(),
        }
    }

    /// Batches of `batch_size` in a seeded random order (one epoch; the last batch may be
    /// smaller). Same seed, same batches.
    pub fn batches(&self, batch_size: usize, seed: u64) -> Result<BatchIter<'_>> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        BatchIter::new(self, order, batch_size)
    }

    /// Batches of `batch_size` in file order (for evaluation).
    pub fn batches_in_order(&self, batch_size: usize) -> Result<BatchIter<'_>> {
        BatchIter::new(self, (0..self.len()).collect(), batch_size)
    }

    /// Seeded stratified split by label into parts of the given fractions (e.g. `[0.9, 0.1]`
    /// or `[0.8, 0.1, 0.1]`); see `stratified_split_indices`.
    pub fn stratified_split(&self, fractions: &[f64], seed: u64) -> Result<Vec<EncodedDataset>> {
        let labels = self.labels.to_vec();
        stratified_split_indices(&labels, fractions, seed)?
            .iter()
            .map(|part| self.subset(part))
            .collect()
    }
}

/// Iterator over the batches of an `EncodedDataset` in a fixed order.
pub struct BatchIter<'a> {
    data: &'a EncodedDataset,
    order: Vec<usize>,
    batch_size: usize,
    next: usize,
}

impl<'a> BatchIter<'a> {
    fn new(data: &'a EncodedDataset, order: Vec<usize>, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(ModelError::InvalidOption {
                name: "batch_size".into(),
                value: "0".into(),
                allowed: "an integer >= 1".into(),
            });
        }
        Ok(Self {
            data,
            order,
            batch_size,
            next: 0,
        })
    }

    /// The example order of this epoch.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Number of batches in the epoch (the last one may be partial).
    pub fn n_batches(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }
}

impl Iterator for BatchIter<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.next >= self.order.len() {
            return None;
        }
        let end = (self.next + self.batch_size).min(self.order.len());
        let indices = &self.order[self.next..end];
        self.next = end;
        // Indices come from 0..len, so gathering cannot fail.
        self.data.batch_of(indices).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.order.len() - self.next).div_ceil(self.batch_size);
        (left, Some(left))
    }
}
