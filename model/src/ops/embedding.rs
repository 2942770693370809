//! Embedding lookup with sparse row gradients.
//!
//! The forward gathers rows of a `[rows, dim]` table; the backward never materialises a dense
//! table-sized gradient: [`SparseRowGrad`] merges the gradient of every looked-up row once per
//! unique row, so a sparse Adagrad touches only the rows the batch used (nasrec-spec §7.3).

use std::collections::HashMap;

use ndarray::{Array2, Array3, ArrayBase, ArrayView1, ArrayView2, ArrayView3, Axis, Data, Ix2};

use super::Real;

/// Gradients of the rows of one embedding table, merged per unique row. Rows are kept in the
/// order of their first appearance, so iteration is deterministic.
#[derive(Debug, Clone)]
pub struct SparseRowGrad<T> {
    dim: usize,
    rows: Vec<u32>,
    grads: Vec<T>,
    slot_of_row: HashMap<u32, usize>,
}

impl<T: Real> SparseRowGrad<T> {
    /// An empty gradient for a table with rows of length `dim`.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            rows: Vec::new(),
            grads: Vec::new(),
            slot_of_row: HashMap::new(),
        }
    }

    /// Row length of the table.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Forgets all rows but keeps the allocations (for reuse across steps).
    pub fn clear(&mut self) {
        self.rows.clear();
        self.grads.clear();
        self.slot_of_row.clear();
    }

    /// Number of unique rows touched.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row was touched.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The touched rows, in order of first appearance.
    pub fn rows(&self) -> &[u32] {
        &self.rows
    }

    /// The gradient of the `slot`-th touched row (see [`Self::rows`]).
    ///
    /// # Panics
    /// If `slot >= self.len()`.
    pub fn grad(&self, slot: usize) -> &[T] {
        &self.grads[slot * self.dim..(slot + 1) * self.dim]
    }

    /// The gradient of table row `row`, if it was touched.
    pub fn grad_of_row(&self, row: u32) -> Option<&[T]> {
        self.slot_of_row.get(&row).map(|&s| self.grad(s))
    }

    /// `(row, gradient)` pairs in order of first appearance.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[T])> + '_ {
        self.rows
            .iter()
            .copied()
            .zip(self.grads.chunks_exact(self.dim.max(1)))
    }

    /// Adds `grad` to the gradient of `row`.
    ///
    /// # Panics
    /// If `grad.len() != self.dim()`.
    pub fn add_row(&mut self, row: u32, grad: ArrayView1<T>) {
        assert_eq!(
            grad.len(),
            self.dim,
            "SparseRowGrad: gradient of length {} for rows of length {}",
            grad.len(),
            self.dim
        );
        let slot = match self.slot_of_row.get(&row) {
            Some(&s) => s,
            None => {
                let s = self.rows.len();
                self.rows.push(row);
                self.grads.resize(self.grads.len() + self.dim, T::zero());
                self.slot_of_row.insert(row, s);
                s
            }
        };
        let dst = &mut self.grads[slot * self.dim..(slot + 1) * self.dim];
        for (d, &g) in dst.iter_mut().zip(grad.iter()) {
            *d += g;
        }
    }

    /// Sum of squares of all merged gradients (for global gradient-norm clipping).
    pub fn sum_squares(&self) -> T {
        self.grads.iter().map(|&g| g * g).sum()
    }

    /// Multiplies every merged gradient by `factor` (for clipping).
    pub fn scale(&mut self, factor: T) {
        self.grads.iter_mut().for_each(|g| *g = *g * factor);
    }
}

/// Looks up `rows` in `table [table_rows, dim]`: returns `[rows.len(), dim]`.
///
/// # Panics
/// If a row index is not below `table.nrows()` (the data layer maps every value into its table).
pub fn gather<T: Real>(table: ArrayView2<T>, rows: ArrayView1<u32>) -> Array2<T> {
    let mut out = Array2::zeros((rows.len(), table.ncols()));
    for (mut o, &r) in out.rows_mut().into_iter().zip(rows.iter()) {
        o.assign(&table.row(checked_row(r, table.nrows())));
    }
    out
}

fn checked_row(r: u32, table_rows: usize) -> usize {
    let r = r as usize;
    assert!(
        r < table_rows,
        "embedding: row {r} is outside the table of {table_rows} rows"
    );
    r
}

/// Backward of [`gather`]: adds row `i` of `dy [rows.len(), dim]` to the gradient of table row
/// `rows[i]` (repeated rows are merged).
///
/// # Panics
/// If `dy` does not have one row of the table's dim per looked-up row.
pub fn scatter_add<T: Real>(
    rows: ArrayView1<u32>,
    dy: ArrayView2<T>,
    grad_rows: &mut SparseRowGrad<T>,
) {
    assert_eq!(
        dy.nrows(),
        rows.len(),
        "embedding scatter: {} gradient rows for {} lookups",
        dy.nrows(),
        rows.len()
    );
    for (&r, g) in rows.iter().zip(dy.rows()) {
        grad_rows.add_row(r, g);
    }
}

/// Gathers one row per field: `sparse [B, n_fields]` indexes `tables[f]` for field f; returns
/// `[B, n_fields, dim]` (NASRec's `sparse0`).
///
/// # Panics
/// If the number of tables differs from the number of fields, the tables differ in dim, or an
/// index is outside its table.
pub fn gather_fields<T: Real, S: Data<Elem = T>>(
    tables: &[ArrayBase<S, Ix2>],
    sparse: ArrayView2<u32>,
) -> Array3<T> {
    let (batch, fields) = sparse.dim();
    assert_eq!(
        tables.len(),
        fields,
        "embedding: {} tables for {fields} sparse fields",
        tables.len()
    );
    let dim = tables.first().map_or(0, |t| t.ncols());
    assert!(
        tables.iter().all(|t| t.ncols() == dim),
        "embedding: tables differ in dim"
    );
    let mut out = Array3::zeros((batch, fields, dim));
    for (mut ob, sb) in out.outer_iter_mut().zip(sparse.rows()) {
        for ((mut o, &r), t) in ob.rows_mut().into_iter().zip(sb.iter()).zip(tables.iter()) {
            o.assign(&t.row(checked_row(r, t.nrows())));
        }
    }
    out
}

/// Backward of [`gather_fields`]: `dy [B, n_fields, dim]` goes into `grads[f]` for field f.
///
/// # Panics
/// If the shapes do not agree.
pub fn scatter_fields<T: Real>(
    sparse: ArrayView2<u32>,
    dy: ArrayView3<T>,
    grads: &mut [SparseRowGrad<T>],
) {
    let (batch, fields) = sparse.dim();
    assert_eq!(
        grads.len(),
        fields,
        "embedding scatter: {} gradients for {fields} fields",
        grads.len()
    );
    assert_eq!(
        (dy.dim().0, dy.dim().1),
        (batch, fields),
        "embedding scatter: dy is {:?} for {batch}x{fields} lookups",
        dy.dim()
    );
    for (f, g) in grads.iter_mut().enumerate() {
        scatter_add(sparse.column(f), dy.index_axis(Axis(1), f), g);
    }
}
