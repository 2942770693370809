//! Batches from a file larger than memory: rows are parsed and encoded as they are read and
//! shuffled through a bounded buffer.
//!
//! Shuffle: the buffer is filled with the first `shuffle_buffer_rows` rows; then each emitted
//! example is a uniformly drawn buffer slot (ChaCha8 seeded by `seed` and the epoch), which is
//! refilled by the next row of the file; at the end of the file the buffer drains in random
//! order. Memory is `shuffle_buffer_rows` encoded rows plus one batch, whatever the file size.
//!
//! Position and resume: `position()` counts the examples emitted in this epoch. Opening a
//! stream at `StreamPosition { epoch, rows_emitted }` replays the same shuffle and skips those
//! examples, so a resumed run sees exactly the batches the interrupted run would have seen
//! next. (The replay re-reads the file prefix; it costs one partial pass, not memory.)

use crate::batch::Batch;
use crate::data::encoder::Encoder;
use crate::data::format::DataFormat;
use crate::data::hash::mix64;
use crate::data::raw::RawRow;
use crate::data::reader::{MalformedReport, ReadOptions, RowReader};
use crate::error::{ModelError, Result};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// Where a stream is within its data: the epoch and the examples already emitted in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreamPosition {
    /// Epoch number (each epoch uses its own shuffle stream).
    pub epoch: u64,
    /// Examples emitted so far in this epoch.
    pub rows_emitted: u64,
}

/// Options of a `BatchStream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOptions {
    /// Examples per batch (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Rows held for shuffling (1 = file order).
    pub shuffle_buffer_rows: usize,
    /// Shuffle seed (combined with the epoch).
    pub seed: u64,
    /// Reading options.
    pub read: ReadOptions,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            batch_size: 256,
            shuffle_buffer_rows: 65_536,
            seed: 0,
            read: ReadOptions::default(),
        }
    }
}

/// Encoded rows waiting to be drawn, in flat arrays.
struct ShuffleBuffer {
    n_dense: usize,
    n_sparse: usize,
    dense: Vec<f32>,
    sparse: Vec<u32>,
    labels: Vec<f32>,
}

impl ShuffleBuffer {
    fn len(&self) -> usize {
        self.labels.len()
    }

    /// Moves slot `j` out (into the batch row `slot`, if any) and the last row into `j`.
    fn take(&mut self, j: usize, out: Option<(&mut Batch, usize)>) {
        let (d, s) = (self.n_dense, self.n_sparse);
        if let Some((batch, slot)) = out {
            for (k, v) in self.dense[j * d..(j + 1) * d].iter().enumerate() {
                batch.dense[[slot, k]] = *v;
            }
            for (k, v) in self.sparse[j * s..(j + 1) * s].iter().enumerate() {
                batch.sparse[[slot, k]] = *v;
            }
            batch.labels[slot] = self.labels[j];
        }
        let last = self.len() - 1;
        if j != last {
            self.dense.copy_within(last * d..(last + 1) * d, j * d);
            self.sparse.copy_within(last * s..(last + 1) * s, j * s);
            self.labels[j] = self.labels[last];
        }
        self.dense.truncate(last * d);
        self.sparse.truncate(last * s);
        self.labels.truncate(last);
    }
}

/// An epoch of shuffled, encoded batches read from a file.
pub struct BatchStream {
    reader: RowReader,
    encoder: Encoder,
    options: StreamOptions,
    buffer: ShuffleBuffer,
    rng: ChaCha8Rng,
    row: RawRow,
    position: StreamPosition,
    end_of_file: bool,
    failed: bool,
}

impl BatchStream {
    /// Opens `path` for the epoch and offset in `position`, encoding with `encoder` (fitted on
    /// the training data beforehand, e.g. with `fit_encoder_streaming`).
    pub fn open(
        path: &Path,
        format: DataFormat,
        encoder: &Encoder,
        options: &StreamOptions,
        position: StreamPosition,
    ) -> Result<Self> {
        if options.batch_size == 0 {
            return Err(ModelError::InvalidOption {
                name: "batch_size".into(),
                value: "0".into(),
                allowed: "an integer >= 1".into(),
            });
        }
        if options.shuffle_buffer_rows == 0 {
            return Err(ModelError::InvalidOption {
                name: "shuffle_buffer_rows".into(),
                value: "0".into(),
                allowed: "an integer >= 1".into(),
            });
        }
        let reader = RowReader::open(path, format, &options.read)?;
        let buffer = ShuffleBuffer {
            n_dense: encoder.n_dense,
            n_sparse: encoder.n_sparse(),
            dense: Vec::new(),
            sparse: Vec::new(),
            labels: Vec::new(),
        };
        let rng =
            ChaCha8Rng::seed_from_u64(options.seed ^ mix64(position.epoch.wrapping_add(0x5eed)));
        let mut stream = Self {
            reader,
            encoder: encoder.clone(),
            options: options.clone(),
            buffer,
            rng,
            row: RawRow::default(),
            position: StreamPosition {
                epoch: position.epoch,
                rows_emitted: 0,
            },
            end_of_file: false,
            failed: false,
        };
        for _ in 0..position.rows_emitted {
            if !stream.emit_one(None)? {
                break;
            }
        }
        Ok(stream)
    }

    /// Examples emitted so far in this epoch (save it with a checkpoint).
    pub fn position(&self) -> StreamPosition {
        self.position
    }

    /// Malformed-row accounting so far.
    pub fn report(&self) -> &MalformedReport {
        self.reader.report()
    }

    /// Reads and encodes rows until the buffer is full or the file ends.
    fn refill(&mut self) -> Result<()> {
        let (d, s) = (self.buffer.n_dense, self.buffer.n_sparse);
        while !self.end_of_file && self.buffer.len() < self.options.shuffle_buffer_rows {
            if self.reader.next_row(&mut self.row)?.is_none() {
                self.end_of_file = true;
                break;
            }
            let at = self.buffer.len();
            self.buffer.dense.resize((at + 1) * d, 0.0);
            self.buffer.sparse.resize((at + 1) * s, 0);
            self.buffer.labels.push(self.row.label);
            let result = self.encoder.encode_row_into(
                &self.row,
                &mut self.buffer.dense[at * d..],
                &mut self.buffer.sparse[at * s..],
            );
            if let Err(e) = result {
                self.buffer.take(at, None);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Draws one example into `out` (or drops it); false when the epoch is over.
    fn emit_one(&mut self, out: Option<(&mut Batch, usize)>) -> Result<bool> {
        self.refill()?;
        if self.buffer.len() == 0 {
            return Ok(false);
        }
        let j = self.rng.random_range(0..self.buffer.len());
        self.buffer.take(j, out);
        self.position.rows_emitted += 1;
        Ok(true)
    }

    fn next_batch(&mut self) -> Result<Option<Batch>> {
        let b = self.options.batch_size;
        let mut batch = Batch {
            dense: Array2::zeros((b, self.buffer.n_dense)),
            sparse: Array2::zeros((b, self.buffer.n_sparse)),
            labels: Array1::zeros(b),
        };
        let mut filled = 0;
        while filled < b && self.emit_one(Some((&mut batch, filled)))? {
            filled += 1;
        }
        if filled == 0 {
            return Ok(None);
        }
        if filled < b {
            batch.dense = batch.dense.slice(ndarray::s![..filled, ..]).to_owned();
            batch.sparse = batch.sparse.slice(ndarray::s![..filled, ..]).to_owned();
            batch.labels = batch.labels.slice(ndarray::s![..filled]).to_owned();
        }
        Ok(Some(batch))
    }
}

impl Iterator for BatchStream {
    type Item = Result<Batch>;

    /// The next batch; after an error the stream ends.
    fn next(&mut self) -> Option<Result<Batch>> {
        if self.failed {
            return None;
        }
        match self.next_batch() {
            Ok(Some(batch)) => Some(Ok(batch)),
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Fits an encoder on a file in one streaming pass (memory: the vocabularies only).
pub fn fit_encoder_streaming(
    path: &Path,
    format: DataFormat,
    read: &ReadOptions,
    options: &crate::data::encoder::EncoderOptions,
) -> Result<(Encoder, MalformedReport)> {
    let mut reader = RowReader::open(path, format, read)?;
    let mut builder = crate::data::encoder::VocabularyBuilder::new(reader.n_dense());
    let mut row = RawRow::default();
    let mut n_sparse = reader.n_sparse();
    while reader.next_row(&mut row)?.is_some() {
        n_sparse = n_sparse.max(row.sparse.len());
        builder.add_row(&row);
    }
    // Fields named by the header but never filled still get (empty) tables.
    row.clear();
    row.sparse
        .resize(n_sparse, crate::data::format::MISSING_KEY);
    builder.add_row(&row);
    let encoder = builder.finish(options)?;
    Ok((encoder, reader.into_report()))
}
