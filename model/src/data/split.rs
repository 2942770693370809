//! Seeded stratified splits: of label vectors (in memory) and of files (`recpim data split`).
//!
//! Within each class (label 0, label 1) the row indices are shuffled with a ChaCha8 stream
//! seeded from `seed`, then cut at `round(n_class * cumulative_fraction)`. Each part's count of
//! each class is therefore within one row of `n_class * fraction`, every row lands in exactly
//! one part, and the parts list their rows in the original (file) order. Unlike the NASRec
//! split scripts (nasrec-spec §4) no row is lost to a header off-by-one.

use crate::data::format::DataFormat;
use crate::data::raw::RawRow;
use crate::data::reader::{MalformedReport, ReadOptions, RowReader};
use crate::data::source::{detect_compression, DataWriter};
use crate::error::{ModelError, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

/// The NASRec split seed (`StratifiedKFold(random_state=2018)`, nasrec-spec §4).
pub const DEFAULT_SPLIT_SEED: u64 = 2018;
/// Default train/val/test fractions.
pub const DEFAULT_FRACTIONS: [f64; 3] = [0.8, 0.1, 0.1];

/// Checks fractions: 1 to 3 of them, each in [0, 1], summing to 1 (within 1e-6).
pub fn check_fractions(fractions: &[f64]) -> Result<()> {
    let bad = |allowed: &str| ModelError::InvalidOption {
        name: "fractions".into(),
        value: fractions
            .iter()
            .map(f64::to_string)
            .collect::<Vec<_>>()
            .join(","),
        allowed: allowed.into(),
    };
    if fractions.is_empty() || fractions.len() > 3 {
        return Err(bad("1 to 3 comma-separated fractions (train[,val[,test]])"));
    }
    if fractions
        .iter()
        .any(|f| !f.is_finite() || *f < 0.0 || *f > 1.0)
    {
        return Err(bad("each fraction in [0, 1]"));
    }
    let sum: f64 = fractions.iter().sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(bad("fractions summing to 1"));
    }
    Ok(())
}

/// Part index of every row: stratified by `labels` (> 0.5 is positive), seeded.
pub fn stratified_assignment(labels: &[f32], fractions: &[f64], seed: u64) -> Result<Vec<u8>> {
    check_fractions(fractions)?;
    let mut assignment = vec![0u8; labels.len()];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for positive in [false, true] {
        let mut members: Vec<usize> = (0..labels.len())
            .filter(|&i| (labels[i] > 0.5) == positive)
            .collect();
        members.shuffle(&mut rng);
        let n = members.len() as f64;
        let mut start = 0usize;
        let mut cumulative = 0.0;
        for (part, fraction) in fractions.iter().enumerate() {
            cumulative += fraction;
            let end = if part + 1 == fractions.len() {
                members.len()
            } else {
                ((n * cumulative).round() as usize).clamp(start, members.len())
            };
            for &i in &members[start..end] {
                assignment[i] = part as u8;
            }
            start = end;
        }
    }
    Ok(assignment)
}

/// Row indices of each part (ascending), stratified by label and seeded.
pub fn stratified_split_indices(
    labels: &[f32],
    fractions: &[f64],
    seed: u64,
) -> Result<Vec<Vec<usize>>> {
    let assignment = stratified_assignment(labels, fractions, seed)?;
    let mut parts = vec![Vec::new(); fractions.len()];
    for (i, &part) in assignment.iter().enumerate() {
        parts[part as usize].push(i);
    }
    Ok(parts)
}

/// Names of the parts for 1, 2 or 3 fractions.
pub fn part_names(n_parts: usize) -> &'static [&'static str] {
    match n_parts {
        1 => &["train"],
        2 => &["train", "val"],
        _ => &["train", "val", "test"],
    }
}

/// Options of `split_file`.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitOptions {
    /// Seed of the shuffle within each class.
    pub seed: u64,
    /// `train[,val[,test]]` fractions.
    pub fractions: Vec<f64>,
    /// Reading options (strict mode, avazu id).
    pub read: ReadOptions,
}

impl Default for SplitOptions {
    fn default() -> Self {
        Self {
            seed: DEFAULT_SPLIT_SEED,
            fractions: DEFAULT_FRACTIONS.to_vec(),
            read: ReadOptions::default(),
        }
    }
}

/// One written part.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SplitPart {
    /// `train`, `val` or `test`.
    pub name: String,
    /// The file written.
    pub path: PathBuf,
    /// Data rows written (header excluded).
    pub rows: u64,
    /// Positive rows written.
    pub positives: u64,
}

/// What `split_file` did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SplitSummary {
    /// The parts, in fraction order.
    pub parts: Vec<SplitPart>,
    /// Malformed rows of the input (not written anywhere).
    pub report: MalformedReport,
}

/// Splits a data file into `train`/`val`/`test` files of the same format (header repeated in
/// each for CSV formats; the input's compression kept) in `out_dir`. Two passes over the
/// input: labels first (memory: one byte per row), then the lines are copied byte for byte.
/// Malformed rows are reported and left out (or, strict, the first is an error).
pub fn split_file(
    path: &Path,
    format: DataFormat,
    out_dir: &Path,
    options: &SplitOptions,
) -> Result<SplitSummary> {
    check_fractions(&options.fractions)?;
    let mut labels = Vec::new();
    let mut row = RawRow::default();
    let mut reader = RowReader::open(path, format, &options.read)?;
    while reader.next_row(&mut row)?.is_some() {
        labels.push(row.label);
    }
    let report = reader.into_report();
    let assignment = stratified_assignment(&labels, &options.fractions, options.seed)?;

    std::fs::create_dir_all(out_dir).map_err(|e| ModelError::Io {
        path: out_dir.to_path_buf(),
        source: e,
    })?;
    let compression = detect_compression(path)?;
    let names = part_names(options.fractions.len());
    let mut writers = Vec::with_capacity(names.len());
    let mut parts = Vec::with_capacity(names.len());
    for name in names {
        let file = out_dir.join(format!(
            "{name}.{}{}",
            format.extension(),
            compression.suffix()
        ));
        writers.push(DataWriter::create(&file, compression)?);
        parts.push(SplitPart {
            name: (*name).to_string(),
            path: file,
            rows: 0,
            positives: 0,
        });
    }

    // Second pass with the same parser: exactly the rows of the first pass, in the same order.
    let mut reader = RowReader::open(path, format, &options.read)?;
    if let Some(header) = reader.header() {
        for writer in &mut writers {
            writer.write_line(header)?;
        }
    }
    let mut index = 0usize;
    while let Some((line, bytes)) = reader.next_row_with_line(&mut row)? {
        let Some(&part) = assignment.get(index) else {
            return Err(ModelError::Data(format!(
                "{}:{line}: the file changed between the two passes of the split",
                path.display()
            )));
        };
        let part = part as usize;
        writers[part].write_line(bytes)?;
        parts[part].rows += 1;
        if row.label > 0.5 {
            parts[part].positives += 1;
        }
        index += 1;
    }
    if index != assignment.len() {
        return Err(ModelError::Data(format!(
            "{}: the file changed between the two passes of the split",
            path.display()
        )));
    }
    for writer in writers {
        writer.finish()?;
    }
    Ok(SplitSummary { parts, report })
}
