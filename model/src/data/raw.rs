//! Parsed, not yet encoded rows: labels, raw dense values and categorical keys.

use crate::data::format::MISSING_KEY;

/// One parsed row (reused across lines by the parsers to avoid allocation).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawRow {
    /// Click label, 0.0 or 1.0.
    pub label: f32,
    /// Raw dense values before `log(max(x,0)+1)`; NaN marks a missing value.
    pub dense: Vec<f32>,
    /// Categorical keys per field (see `DataFormat::categorical_key`); `MISSING_KEY` when absent.
    pub sparse: Vec<u64>,
}

impl RawRow {
    /// Clears the row for reuse, keeping the allocations.
    pub fn clear(&mut self) {
        self.label = 0.0;
        self.dense.clear();
        self.sparse.clear();
    }
}

/// Many parsed rows, stored column-compact (row-major flat arrays) rather than one `Vec` per
/// row, so a few million rows stay cheap.
///
/// The number of categorical fields can grow while reading (libsvm/libffm rows may name more
/// fields than earlier rows); earlier rows then read the new fields as missing.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRows {
    n_dense: usize,
    n_sparse: usize,
    labels: Vec<f32>,
    dense: Vec<f32>,
    sparse: Vec<u64>,
}

impl RawRows {
    /// An empty set with `n_dense` dense and `n_sparse` categorical fields.
    pub fn new(n_dense: usize, n_sparse: usize) -> Self {
        Self {
            n_dense,
            n_sparse,
            labels: Vec::new(),
            dense: Vec::new(),
            sparse: Vec::new(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of dense features.
    pub fn n_dense(&self) -> usize {
        self.n_dense
    }

    /// Number of categorical fields.
    pub fn n_sparse(&self) -> usize {
        self.n_sparse
    }

    /// All labels.
    pub fn labels(&self) -> &[f32] {
        &self.labels
    }

    /// Raw dense values of row `i` (NaN = missing). Panics if `i >= len()`, like slice indexing.
    pub fn dense_row(&self, i: usize) -> &[f32] {
        &self.dense[i * self.n_dense..(i + 1) * self.n_dense]
    }

    /// Categorical keys of row `i` (`MISSING_KEY` = missing). Panics if `i >= len()`.
    pub fn sparse_row(&self, i: usize) -> &[u64] {
        &self.sparse[i * self.n_sparse..(i + 1) * self.n_sparse]
    }

    /// Row `i` copied into `out`. Panics if `i >= len()`.
    pub fn row_into(&self, i: usize, out: &mut RawRow) {
        out.label = self.labels[i];
        out.dense.clear();
        out.dense.extend_from_slice(self.dense_row(i));
        out.sparse.clear();
        out.sparse.extend_from_slice(self.sparse_row(i));
    }

    /// Fraction of rows with label 1 (0 for an empty set).
    pub fn positive_rate(&self) -> f64 {
        positive_rate(&self.labels)
    }

    /// Widens every row to `n_sparse` categorical fields (new fields missing).
    fn widen_sparse(&mut self, n_sparse: usize) {
        if n_sparse <= self.n_sparse {
            return;
        }
        let mut widened = Vec::with_capacity(self.len() * n_sparse);
        for i in 0..self.len() {
            widened.extend_from_slice(self.sparse_row(i));
            widened.resize((i + 1) * n_sparse, MISSING_KEY);
        }
        self.sparse = widened;
        self.n_sparse = n_sparse;
    }

    /// Appends a row. Dense values beyond `n_dense` are dropped and missing ones are NaN (the
    /// parsers always give the format's count); categorical fields beyond the current width
    /// widen the set, fewer read as missing.
    pub fn push(&mut self, row: &RawRow) {
        if row.sparse.len() > self.n_sparse {
            self.widen_sparse(row.sparse.len());
        }
        self.labels.push(row.label);
        let take = row.dense.len().min(self.n_dense);
        self.dense.extend_from_slice(&row.dense[..take]);
        self.dense
            .resize(self.labels.len() * self.n_dense, f32::NAN);
        self.sparse.extend_from_slice(&row.sparse);
        self.sparse
            .resize(self.labels.len() * self.n_sparse, MISSING_KEY);
    }

    /// The rows at `indices`, in that order. Panics on an index `>= len()`.
    pub fn subset(&self, indices: &[usize]) -> RawRows {
        let mut out = RawRows::new(self.n_dense, self.n_sparse);
        out.labels.reserve(indices.len());
        out.dense.reserve(indices.len() * self.n_dense);
        out.sparse.reserve(indices.len() * self.n_sparse);
        for &i in indices {
            out.labels.push(self.labels[i]);
            out.dense.extend_from_slice(self.dense_row(i));
            out.sparse.extend_from_slice(self.sparse_row(i));
        }
        out
    }

    /// Reserves room for `additional` more rows.
    pub fn reserve(&mut self, additional: usize) {
        self.labels.reserve(additional);
        self.dense.reserve(additional * self.n_dense);
        self.sparse.reserve(additional * self.n_sparse);
    }
}

/// Fraction of labels equal to 1 (0 for none).
pub fn positive_rate(labels: &[f32]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    labels.iter().filter(|&&y| y > 0.5).count() as f64 / labels.len() as f64
}
