//! CTR data: readers for Criteo, Avazu, KDD Cup 2012, libsvm and libffm files (plain, gzip or
//! zstd), malformed-row accounting, vocabularies fitted on the training split, stratified
//! splits, a bounded-memory streaming reader and a synthetic generator with known click
//! probabilities.
//!
//! # The common case (in memory)
//! ```no_run
//! use recpim_model::data::{load_dataset, DataFormat, LoadOptions};
//! # fn main() -> recpim_model::Result<()> {
//! let options = LoadOptions { fractions: vec![0.9, 0.1], ..LoadOptions::default() };
//! let data = load_dataset("train.txt".as_ref(), DataFormat::Criteo, Some("test.txt".as_ref()), &options)?;
//! let schema = data.encoder.schema(); // n_dense, table_rows: build the model from this
//! for epoch in 0..3u64 {
//!     for batch in data.train.batches(256, epoch)? {
//!         // model.train_step(&batch, &hyper);
//!         # let _ = (&batch, &schema);
//!     }
//! }
//! # Ok(()) }
//! ```
//! Without a file, `load_synthetic(SyntheticShape::Criteo, rows, seed, &options)` gives the
//! same `LoadedData` plus `true_p` (the true click probabilities of each split), so
//! `bayes_logloss(val.labels, true_p.val)` is the limit a model is judged against.
//!
//! # Step by step
//! - `read_rows(path, format, &ReadOptions) -> (RawRows, MalformedReport)`: parse a file.
//!   Malformed rows (wrong column count, unparsable number, bad label, invalid UTF-8, empty
//!   line) are skipped and counted with their line numbers; `ReadOptions::strict` makes the
//!   first one a `ModelError::MalformedRow { path, line, message }`.
//! - `stratified_split_indices(labels, &[0.8, 0.1, 0.1], seed)` -> row indices per part;
//!   `RawRows::subset(&indices)`.
//! - `Encoder::fit(&train_rows, &EncoderOptions { min_count, max_table_rows })`, then
//!   `encoder.encode(&rows) -> EncodedDataset` for every split; `encoder.schema()` is the
//!   `DataSchema`; `encoder.save(path)`/`Encoder::load(path)` keep it with a checkpoint.
//! - `EncodedDataset::batches(batch_size, seed)` (shuffled epoch), `batches_in_order`,
//!   `stratified_split(&[0.9, 0.1], seed)`, `batch_of(&indices)`, `fill_batch` (no allocation).
//!
//! # Files larger than memory
//! `fit_encoder_streaming(path, format, &read, &encoder_options)` counts values in one pass,
//! then `BatchStream::open(path, format, &encoder, &StreamOptions, StreamPosition)` yields
//! `Result<Batch>` through a bounded, seeded shuffle buffer; `stream.position()` (epoch, rows
//! emitted) is saved with a checkpoint and passed back to `open` to resume exactly.
//! `split_file` (CLI `recpim data split`) makes train/val/test files first.
//!
//! # Encoding rules
//! Dense: `log(max(x,0)+1)`, missing -> 0. Categorical tables: row 0 missing, row 1 out of
//! vocabulary (fewer than `min_count` training occurrences, or unseen), rows 2.. kept values by
//! first appearance; beyond `max_table_rows` (default 500,000) modulo hashing into the capped
//! table as NASRec does. See `encoder` for the details and `DataFormat` for each format's
//! columns (Avazu: `id` dropped by default, one all-zero pseudo dense feature; libsvm/libffm:
//! no dense features, value 0 = absent).

pub mod dataset;
pub mod encoder;
pub mod format;
pub mod hash;
pub mod load;
pub mod parse;
pub mod raw;
pub mod reader;
pub mod source;
pub mod split;
pub mod stream;
pub mod synthetic;

pub use dataset::{BatchIter, EncodedDataset};
pub use encoder::{
    transform_dense, Encoder, EncoderOptions, FieldVocab, VocabularyBuilder,
    DEFAULT_MAX_TABLE_ROWS, MISSING_ROW, OOV_ROW,
};
pub use format::{DataFormat, ALL_FORMATS, MISSING_KEY};
pub use load::{load_dataset, load_synthetic, LoadOptions, LoadedData, TrueProbabilities};
pub use raw::{RawRow, RawRows};
pub use reader::{read_rows, MalformedLine, MalformedReport, ReadOptions, RowReader};
pub use source::{detect_compression, open_data_file, Compression};
pub use split::{
    split_file, stratified_assignment, stratified_split_indices, SplitOptions, SplitPart,
    SplitSummary, DEFAULT_FRACTIONS, DEFAULT_SPLIT_SEED,
};
pub use stream::{fit_encoder_streaming, BatchStream, StreamOptions, StreamPosition};
pub use synthetic::{
    bayes_logloss, constant_logloss, generate, logloss, write_synthetic, SyntheticShape,
};
