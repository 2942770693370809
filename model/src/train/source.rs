//! Where the trainer takes its examples from: any in-memory set that can gather rows.

use crate::batch::Batch;
use ndarray::Axis;

/// A data set the trainer can draw batches from by row index.
pub trait BatchSource: Sync {
    /// Number of examples.
    fn num_rows(&self) -> usize;

    /// The examples at `rows`, in that order, as one batch.
    fn gather(&self, rows: &[usize]) -> Batch;
}

/// A `Batch` holding a whole data set is a source: rows are gathered by index.
impl BatchSource for Batch {
    fn num_rows(&self) -> usize {
        self.len()
    }

    fn gather(&self, rows: &[usize]) -> Batch {
        Batch {
            dense: self.dense.select(Axis(0), rows),
            sparse: self.sparse.select(Axis(0), rows),
            labels: self.labels.select(Axis(0), rows),
        }
    }
}

/// An encoded data set is a source (rows gathered from its matrices).
impl BatchSource for crate::data::EncodedDataset {
    fn num_rows(&self) -> usize {
        self.len()
    }

    fn gather(&self, rows: &[usize]) -> Batch {
        Batch {
            dense: self.dense().select(Axis(0), rows),
            sparse: self.sparse().select(Axis(0), rows),
            labels: self.labels().select(Axis(0), rows),
        }
    }
}
