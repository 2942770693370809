//! The mini-batch that data readers produce and models consume.

use ndarray::{Array1, Array2};

/// One mini-batch in the model's input form.
///
/// Dense features are already transformed (`log(max(x,0)+1)`); sparse features are already
/// row indices into each field's own embedding table (row 0 is "missing / out of vocabulary").
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// `[batch, n_dense]` transformed dense features.
    pub dense: Array2<f32>,
    /// `[batch, n_sparse]` embedding row of each categorical field.
    pub sparse: Array2<u32>,
    /// `[batch]` click labels in {0, 1}.
    pub labels: Array1<f32>,
}

impl Batch {
    /// Number of examples in the batch.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the batch holds no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// What a model needs to know about a dataset to be built for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataSchema {
    /// Number of dense (numeric) features.
    pub n_dense: usize,
    /// Rows of each categorical field's embedding table (including the missing/OOV row 0).
    pub table_rows: Vec<usize>,
}

impl DataSchema {
    /// Number of categorical fields.
    pub fn n_sparse(&self) -> usize {
        self.table_rows.len()
    }
}
