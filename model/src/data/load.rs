//! One call from a file (or the built-in synthetic data) to encoded train/val/test sets.

use crate::data::dataset::EncodedDataset;
use crate::data::encoder::{Encoder, EncoderOptions};
use crate::data::format::DataFormat;
use crate::data::raw::RawRows;
use crate::data::reader::{read_rows, MalformedReport, ReadOptions};
use crate::data::split::{check_fractions, stratified_split_indices, DEFAULT_SPLIT_SEED};
use crate::data::synthetic::{generate, SyntheticShape};
use crate::error::{ModelError, Result};
use std::path::Path;

/// Options of `load_dataset` / `load_synthetic`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    /// Reading options.
    pub read: ReadOptions,
    /// Vocabulary options (fitted on the train part only).
    pub encoder: EncoderOptions,
    /// Split of the main file: `[train, val]` or `[train, val, test]` fractions. With a separate
    /// test file only two are allowed.
    pub fractions: Vec<f64>,
    /// Seed of the stratified split.
    pub split_seed: u64,
}

impl Default for LoadOptions {
    /// Reads leniently, `min_count` 2, 500,000-row cap, 80/10/10 split with seed 2018.
    fn default() -> Self {
        Self {
            read: ReadOptions::default(),
            encoder: EncoderOptions::default(),
            fractions: vec![0.8, 0.1, 0.1],
            split_seed: DEFAULT_SPLIT_SEED,
        }
    }
}

/// True click probabilities of the synthetic splits (to measure the gap to the Bayes limit).
#[derive(Debug, Clone, PartialEq)]
pub struct TrueProbabilities {
    /// Of the train examples, in the train set's order.
    pub train: Vec<f32>,
    /// Of the validation examples.
    pub val: Vec<f32>,
    /// Of the test examples (empty without a test part).
    pub test: Vec<f32>,
}

/// Encoded splits ready for training.
#[derive(Debug, Clone)]
pub struct LoadedData {
    /// The encoder fitted on `train` (save it with a checkpoint).
    pub encoder: Encoder,
    /// Training examples.
    pub train: EncodedDataset,
    /// Validation examples (early stopping).
    pub val: EncodedDataset,
    /// Test examples: from the test file, or the third fraction; `None` otherwise.
    pub test: Option<EncodedDataset>,
    /// Malformed rows of the main file.
    pub report: MalformedReport,
    /// Malformed rows of the test file, if one was given.
    pub test_report: Option<MalformedReport>,
    /// Synthetic data only: the true click probabilities of each split.
    pub true_p: Option<TrueProbabilities>,
}

fn encode_parts(
    rows: &RawRows,
    parts: &[Vec<usize>],
    test_rows: Option<&RawRows>,
    options: &EncoderOptions,
) -> Result<(
    Encoder,
    EncodedDataset,
    EncodedDataset,
    Option<EncodedDataset>,
)> {
    let train_raw = rows.subset(&parts[0]);
    let encoder = Encoder::fit(&train_raw, options)?;
    let train = encoder.encode(&train_raw)?;
    let val = encoder.encode(&rows.subset(parts.get(1).map_or(&[][..], Vec::as_slice)))?;
    let test = match (test_rows, parts.get(2)) {
        (Some(t), _) => Some(encoder.encode(t)?),
        (None, Some(part)) => Some(encoder.encode(&rows.subset(part))?),
        (None, None) => None,
    };
    Ok((encoder, train, val, test))
}

fn check_load_fractions(options: &LoadOptions, has_test_file: bool) -> Result<()> {
    check_fractions(&options.fractions)?;
    let n = options.fractions.len();
    if n < 2 || (has_test_file && n != 2) {
        return Err(ModelError::InvalidOption {
            name: "fractions".into(),
            value: options
                .fractions
                .iter()
                .map(f64::to_string)
                .collect::<Vec<_>>()
                .join(","),
            allowed: if has_test_file {
                "two fractions (train,val) when a test file is given".into()
            } else {
                "two (train,val) or three (train,val,test) fractions".into()
            },
        });
    }
    Ok(())
}

/// Reads `path`, splits it (stratified, seeded) by `options.fractions`, fits the encoder on
/// the train part and encodes every part. With `test_path` the test set comes from that file
/// (same format, same encoder) and `fractions` must be `[train, val]`.
pub fn load_dataset(
    path: &Path,
    format: DataFormat,
    test_path: Option<&Path>,
    options: &LoadOptions,
) -> Result<LoadedData> {
    check_load_fractions(options, test_path.is_some())?;
    let (rows, report) = read_rows(path, format, &options.read)?;
    if rows.is_empty() {
        return Err(ModelError::Data(format!(
            "{}: no valid {format} rows\n{report}",
            path.display()
        )));
    }
    let (test_rows, test_report) = match test_path {
        Some(p) => {
            let (t, r) = read_rows(p, format, &options.read)?;
            (Some(t), Some(r))
        }
        None => (None, None),
    };
    let parts = stratified_split_indices(rows.labels(), &options.fractions, options.split_seed)?;
    let (encoder, train, val, test) =
        encode_parts(&rows, &parts, test_rows.as_ref(), &options.encoder)?;
    Ok(LoadedData {
        encoder,
        train,
        val,
        test,
        report,
        test_report,
        true_p: None,
    })
}

/// The built-in synthetic data of `shape` (`rows` rows, `seed`), split and encoded like a
/// file, with the true probabilities of each split.
pub fn load_synthetic(
    shape: SyntheticShape,
    rows: usize,
    seed: u64,
    options: &LoadOptions,
) -> Result<LoadedData> {
    check_load_fractions(options, false)?;
    if rows == 0 {
        return Err(ModelError::InvalidOption {
            name: "rows".into(),
            value: "0".into(),
            allowed: "an integer >= 1".into(),
        });
    }
    let (raw, p) = generate(shape, rows, seed);
    let parts = stratified_split_indices(raw.labels(), &options.fractions, options.split_seed)?;
    let (encoder, train, val, test) = encode_parts(&raw, &parts, None, &options.encoder)?;
    let pick = |part: Option<&Vec<usize>>| {
        part.map_or_else(Vec::new, |ix| ix.iter().map(|&i| p[i]).collect())
    };
    let true_p = TrueProbabilities {
        train: pick(parts.first()),
        val: pick(parts.get(1)),
        test: pick(parts.get(2)),
    };
    let report = MalformedReport {
        rows_read: rows as u64,
        ..MalformedReport::new(Path::new("<synthetic>"))
    };
    Ok(LoadedData {
        encoder,
        train,
        val,
        test,
        report,
        test_report: None,
        true_p: Some(true_p),
    })
}
