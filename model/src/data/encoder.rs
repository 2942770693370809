//! Vocabularies fitted on the training split: categorical keys -> embedding rows, and the
//! dense transform `log(max(x,0)+1)`.
//!
//! Row layout of every field's table:
//! - row 0: missing value (empty column, absent field);
//! - row 1: out of vocabulary (seen fewer than `min_count` times in training, or never seen);
//! - rows 2..: the kept values, in order of first appearance in the training rows.
//!
//! When a field keeps more values than fit under `max_table_rows`, it switches to modulo
//! hashing into the capped table as NASRec does (nasrec-spec §4): a kept value goes to row
//! `2 + key % (max_table_rows - 2)`. With `min_count <= 1` every non-missing value is hashed
//! (seen or not, exactly the reference's behaviour, and nothing is stored); with a larger
//! `min_count` the kept keys are stored so rare/unseen values still go to row 1.

use crate::batch::DataSchema;
use crate::data::dataset::EncodedDataset;
use crate::data::format::MISSING_KEY;
use crate::data::hash::KeyMap;
use crate::data::raw::{RawRow, RawRows};
use crate::error::{ModelError, Result};
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use std::path::Path;

/// Embedding row of a missing value.
pub const MISSING_ROW: u32 = 0;
/// Embedding row shared by out-of-vocabulary values.
pub const OOV_ROW: u32 = 1;
/// Rows reserved at the top of every table (missing, out of vocabulary).
pub const RESERVED_ROWS: usize = 2;
/// Default cap on rows per table (the reference's search-time cap, nasrec-spec §4).
pub const DEFAULT_MAX_TABLE_ROWS: usize = 500_000;

/// How vocabularies are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EncoderOptions {
    /// A value needs at least this many training occurrences for its own row (>= 1).
    pub min_count: u32,
    /// Cap on rows per table, reserved rows included (>= 3); beyond it, modulo hashing.
    pub max_table_rows: usize,
}

impl Default for EncoderOptions {
    /// `min_count` 2 (so the out-of-vocabulary row is trained on the rare values it will serve
    /// for unseen ones at test time) and the 500,000-row cap.
    fn default() -> Self {
        Self {
            min_count: 2,
            max_table_rows: DEFAULT_MAX_TABLE_ROWS,
        }
    }
}

impl EncoderOptions {
    /// Checks the ranges.
    pub fn check(&self) -> Result<()> {
        if self.min_count == 0 {
            return Err(ModelError::InvalidOption {
                name: "min_count".into(),
                value: "0".into(),
                allowed: "an integer >= 1".into(),
            });
        }
        if self.max_table_rows < RESERVED_ROWS + 1 || self.max_table_rows > u32::MAX as usize {
            return Err(ModelError::InvalidOption {
                name: "max_table_rows".into(),
                value: self.max_table_rows.to_string(),
                allowed: format!("an integer in {}..={}", RESERVED_ROWS + 1, u32::MAX),
            });
        }
        Ok(())
    }
}

/// How one field maps keys to rows (the serialised form).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
enum FieldRepr {
    /// Kept keys in row order: key `keys[i]` -> row `2 + i`.
    Exact { keys: Vec<u64> },
    /// `2 + key % (rows - 2)` for kept keys; `kept: None` keeps every non-missing key.
    Hashed { rows: usize, kept: Option<Vec<u64>> },
}

/// One categorical field's vocabulary.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "FieldRepr", into = "FieldRepr")]
pub struct FieldVocab {
    repr: FieldRepr,
    index: KeyMap<u32>,
}

impl PartialEq for FieldVocab {
    fn eq(&self, other: &Self) -> bool {
        self.repr == other.repr
    }
}

impl TryFrom<FieldRepr> for FieldVocab {
    type Error = String;

    /// Rebuilds the lookup index; rejects tables a hand-edited file made impossible.
    fn try_from(repr: FieldRepr) -> std::result::Result<Self, String> {
        let rows = match &repr {
            FieldRepr::Exact { keys } => RESERVED_ROWS + keys.len(),
            FieldRepr::Hashed { rows, .. } => *rows,
        };
        if rows <= RESERVED_ROWS || rows > u32::MAX as usize {
            if let FieldRepr::Hashed { .. } = repr {
                return Err(format!(
                    "hashed table rows = {rows}: must be in {}..={}",
                    RESERVED_ROWS + 1,
                    u32::MAX
                ));
            }
        }
        if rows > u32::MAX as usize {
            return Err(format!("table rows = {rows}: must be at most {}", u32::MAX));
        }
        Ok(Self::from_valid(repr))
    }
}

impl FieldVocab {
    fn from_valid(repr: FieldRepr) -> Self {
        let mut index = KeyMap::default();
        match &repr {
            FieldRepr::Exact { keys } => {
                index.reserve(keys.len());
                for (i, &k) in keys.iter().enumerate() {
                    index.insert(k, (RESERVED_ROWS + i) as u32);
                }
            }
            FieldRepr::Hashed {
                kept: Some(keys), ..
            } => {
                index.reserve(keys.len());
                for &k in keys {
                    index.insert(k, 0);
                }
            }
            FieldRepr::Hashed { kept: None, .. } => {}
        }
        Self { repr, index }
    }
}

impl From<FieldVocab> for FieldRepr {
    fn from(vocab: FieldVocab) -> Self {
        vocab.repr
    }
}

impl FieldVocab {
    /// Rows of this field's table (reserved rows included).
    pub fn table_rows(&self) -> usize {
        match &self.repr {
            FieldRepr::Exact { keys } => RESERVED_ROWS + keys.len(),
            FieldRepr::Hashed { rows, .. } => *rows,
        }
    }

    /// True when the field was capped and hashes its values.
    pub fn is_hashed(&self) -> bool {
        matches!(self.repr, FieldRepr::Hashed { .. })
    }

    /// Values with their own row (exact mode) or kept values (hashed mode, `None` = all).
    pub fn kept_values(&self) -> Option<usize> {
        match &self.repr {
            FieldRepr::Exact { keys } => Some(keys.len()),
            FieldRepr::Hashed { kept, .. } => kept.as_ref().map(Vec::len),
        }
    }

    /// The embedding row of `key`.
    #[inline]
    pub fn row_of(&self, key: u64) -> u32 {
        if key == MISSING_KEY {
            return MISSING_ROW;
        }
        match &self.repr {
            FieldRepr::Exact { .. } => self.index.get(&key).copied().unwrap_or(OOV_ROW),
            FieldRepr::Hashed { rows, kept } => {
                if kept.is_some() && !self.index.contains_key(&key) {
                    return OOV_ROW;
                }
                (RESERVED_ROWS as u64 + key % (*rows - RESERVED_ROWS) as u64) as u32
            }
        }
    }
}

/// Counts categorical values row by row (for files too large to hold), then builds an `Encoder`.
#[derive(Debug, Clone)]
pub struct VocabularyBuilder {
    n_dense: usize,
    /// Per field: key -> index into `order`.
    counts: Vec<KeyMap<u32>>,
    /// Per field: (key, count) in order of first appearance.
    order: Vec<Vec<(u64, u32)>>,
}

impl VocabularyBuilder {
    /// A builder for rows with `n_dense` dense features (fields are added as rows show them).
    pub fn new(n_dense: usize) -> Self {
        Self {
            n_dense,
            counts: Vec::new(),
            order: Vec::new(),
        }
    }

    fn ensure_fields(&mut self, n_sparse: usize) {
        while self.counts.len() < n_sparse {
            self.counts.push(KeyMap::default());
            self.order.push(Vec::new());
        }
    }

    /// Counts one row's categorical values.
    pub fn add_row(&mut self, row: &RawRow) {
        self.ensure_fields(row.sparse.len());
        for (field, &key) in row.sparse.iter().enumerate() {
            count_key(&mut self.counts[field], &mut self.order[field], key);
        }
    }

    /// Builds the encoder.
    pub fn finish(self, options: &EncoderOptions) -> Result<Encoder> {
        options.check()?;
        let fields = self
            .order
            .into_iter()
            .map(|order| build_field(order, options))
            .collect();
        Ok(Encoder {
            n_dense: self.n_dense,
            options: *options,
            fields,
        })
    }
}

#[inline]
fn count_key(counts: &mut KeyMap<u32>, order: &mut Vec<(u64, u32)>, key: u64) {
    if key == MISSING_KEY {
        return;
    }
    match counts.get(&key) {
        Some(&i) => order[i as usize].1 = order[i as usize].1.saturating_add(1),
        None => {
            counts.insert(key, order.len() as u32);
            order.push((key, 1));
        }
    }
}

fn build_field(order: Vec<(u64, u32)>, options: &EncoderOptions) -> FieldVocab {
    let kept: Vec<u64> = order
        .iter()
        .filter(|(_, c)| *c >= options.min_count)
        .map(|(k, _)| *k)
        .collect();
    let repr = if RESERVED_ROWS + kept.len() <= options.max_table_rows {
        FieldRepr::Exact { keys: kept }
    } else if options.min_count <= 1 {
        FieldRepr::Hashed {
            rows: options.max_table_rows,
            kept: None,
        }
    } else {
        FieldRepr::Hashed {
            rows: options.max_table_rows,
            kept: Some(kept),
        }
    };
    FieldVocab::from_valid(repr)
}

/// Turns raw rows into model input: fitted vocabularies plus the dense transform.
/// Serialisable with serde_json (`save`/`load`) so checkpoints and test sets encode alike.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Encoder {
    /// Dense features per row.
    pub n_dense: usize,
    /// The options it was fitted with.
    pub options: EncoderOptions,
    /// One vocabulary per categorical field.
    pub fields: Vec<FieldVocab>,
}

/// The dense transform of NASRec (nasrec-spec §4): `log(max(x,0)+1)`; missing (NaN) -> 0.
#[inline]
pub fn transform_dense(x: f32) -> f32 {
    if x.is_nan() {
        0.0
    } else {
        x.max(0.0).ln_1p()
    }
}

impl Encoder {
    /// Fits vocabularies on `rows` (the training split only). Fields are counted in parallel.
    pub fn fit(rows: &RawRows, options: &EncoderOptions) -> Result<Self> {
        options.check()?;
        let n = rows.len();
        let fields = (0..rows.n_sparse())
            .into_par_iter()
            .map(|field| {
                let mut counts = KeyMap::default();
                let mut order = Vec::new();
                for i in 0..n {
                    count_key(&mut counts, &mut order, rows.sparse_row(i)[field]);
                }
                build_field(order, options)
            })
            .collect();
        Ok(Self {
            n_dense: rows.n_dense(),
            options: *options,
            fields,
        })
    }

    /// Dense count and table sizes for building a model.
    pub fn schema(&self) -> DataSchema {
        DataSchema {
            n_dense: self.n_dense,
            table_rows: self.fields.iter().map(FieldVocab::table_rows).collect(),
        }
    }

    /// Number of categorical fields.
    pub fn n_sparse(&self) -> usize {
        self.fields.len()
    }

    fn check_shape(&self, n_dense: usize, n_sparse: usize) -> Result<()> {
        if n_dense != self.n_dense || n_sparse > self.fields.len() {
            return Err(ModelError::Data(format!(
                "rows have {n_dense} dense and {n_sparse} categorical features, the encoder was fitted on {} and {}",
                self.n_dense,
                self.fields.len()
            )));
        }
        Ok(())
    }

    /// Encodes one row into `dense` (`n_dense` values) and `sparse` (`n_sparse()` rows);
    /// fields the row lacks are missing.
    pub fn encode_row_into(
        &self,
        row: &RawRow,
        dense: &mut [f32],
        sparse: &mut [u32],
    ) -> Result<()> {
        self.check_shape(row.dense.len(), row.sparse.len())?;
        for (out, &x) in dense.iter_mut().zip(&row.dense) {
            *out = transform_dense(x);
        }
        for (field, out) in sparse.iter_mut().enumerate() {
            *out = match row.sparse.get(field) {
                Some(&key) => self.fields[field].row_of(key),
                None => MISSING_ROW,
            };
        }
        Ok(())
    }

    /// Encodes many rows (in parallel over row chunks; the result does not depend on threads).
    pub fn encode(&self, rows: &RawRows) -> Result<EncodedDataset> {
        self.check_shape(rows.n_dense(), rows.n_sparse())?;
        let n = rows.len();
        let n_dense = self.n_dense;
        let n_sparse = self.fields.len();
        let mut dense = vec![0.0f32; n * n_dense];
        let mut sparse = vec![MISSING_ROW; n * n_sparse];
        const CHUNK_ROWS: usize = 4096;
        if n_dense > 0 {
            dense
                .par_chunks_mut(CHUNK_ROWS * n_dense)
                .enumerate()
                .for_each(|(c, chunk)| {
                    for (r, out) in chunk.chunks_mut(n_dense).enumerate() {
                        for (o, &x) in out.iter_mut().zip(rows.dense_row(c * CHUNK_ROWS + r)) {
                            *o = transform_dense(x);
                        }
                    }
                });
        }
        if n_sparse > 0 {
            sparse
                .par_chunks_mut(CHUNK_ROWS * n_sparse)
                .enumerate()
                .for_each(|(c, chunk)| {
                    for (r, out) in chunk.chunks_mut(n_sparse).enumerate() {
                        let keys = rows.sparse_row(c * CHUNK_ROWS + r);
                        for (field, o) in out.iter_mut().enumerate() {
                            *o = keys
                                .get(field)
                                .map_or(MISSING_ROW, |&k| self.fields[field].row_of(k));
                        }
                    }
                });
        }
        let dense = Array2::from_shape_vec((n, n_dense), dense)
            .map_err(|e| ModelError::Data(e.to_string()))?;
        let sparse = Array2::from_shape_vec((n, n_sparse), sparse)
            .map_err(|e| ModelError::Data(e.to_string()))?;
        EncodedDataset::new(
            self.schema(),
            dense,
            sparse,
            Array1::from(rows.labels().to_vec()),
        )
    }

    /// The encoder as JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| ModelError::Data(format!("encoder to JSON: {e}")))
    }

    /// An encoder from JSON written by `to_json`/`save`.
    pub fn from_json(text: &str) -> Result<Self> {
        let encoder: Self = serde_json::from_str(text)
            .map_err(|e| ModelError::Data(format!("encoder JSON: {e}")))?;
        encoder.options.check()?;
        Ok(encoder)
    }

    /// Writes the encoder as JSON to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_json()?).map_err(|e| ModelError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    }

    /// Reads an encoder saved with `save`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::from_json(&text).map_err(|e| ModelError::Data(format!("{}: {e}", path.display())))
    }
}
