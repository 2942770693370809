//! Reading a whole file (or streaming it row by row) with malformed-row accounting.

use crate::data::format::DataFormat;
use crate::data::parse::LineParser;
use crate::data::raw::{RawRow, RawRows};
use crate::data::source::LineSource;
use crate::error::{ModelError, Result};
use std::fmt;
use std::path::{Path, PathBuf};

/// How to read a data file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadOptions {
    /// Make the first malformed row an error (naming file:line and the problem) instead of
    /// skipping and counting it.
    pub strict: bool,
    /// How many malformed line numbers (with their reasons) the report keeps.
    pub keep_malformed_lines: usize,
    /// Stop after this many valid rows (`None`: read everything).
    pub max_rows: Option<u64>,
    /// Keep Avazu's `id` column as a categorical field (NASRec's 23 fields). Default false: the
    /// id is unique per impression, so every value would land in the out-of-vocabulary row.
    pub avazu_keep_id: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            strict: false,
            keep_malformed_lines: 20,
            max_rows: None,
            avazu_keep_id: false,
        }
    }
}

/// One malformed line: where and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MalformedLine {
    /// 1-based line number in the file (the header, if any, is line 1).
    pub line: u64,
    /// What is wrong with it.
    pub message: String,
}

/// What reading a file found: valid rows and the malformed ones skipped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MalformedReport {
    /// The file read.
    pub path: PathBuf,
    /// Valid rows read.
    pub rows_read: u64,
    /// Malformed rows skipped.
    pub malformed_rows: u64,
    /// The first malformed lines (at most `ReadOptions::keep_malformed_lines`).
    pub first_malformed: Vec<MalformedLine>,
}

impl MalformedReport {
    /// An empty report for `path`.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            rows_read: 0,
            malformed_rows: 0,
            first_malformed: Vec::new(),
        }
    }

    /// Line numbers of the kept malformed lines.
    pub fn malformed_line_numbers(&self) -> Vec<u64> {
        self.first_malformed.iter().map(|m| m.line).collect()
    }
}

impl fmt::Display for MalformedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} rows read, {} malformed skipped",
            self.path.display(),
            self.rows_read,
            self.malformed_rows
        )?;
        for m in &self.first_malformed {
            write!(f, "\n  line {}: {}", m.line, m.message)?;
        }
        if self.malformed_rows > self.first_malformed.len() as u64 {
            write!(
                f,
                "\n  ... and {} more",
                self.malformed_rows - self.first_malformed.len() as u64
            )?;
        }
        Ok(())
    }
}

/// Reads valid rows one at a time (header handled, malformed rows counted or, when strict, an
/// error). Memory use does not depend on the file size.
pub struct RowReader {
    source: LineSource,
    parser: LineParser,
    report: MalformedReport,
    options: ReadOptions,
    header: Option<Vec<u8>>,
}

impl RowReader {
    /// Opens `path` and reads its header when the format has one.
    pub fn open(path: &Path, format: DataFormat, options: &ReadOptions) -> Result<Self> {
        let mut source = LineSource::open(path)?;
        let mut parser = LineParser::new(format, options.avazu_keep_id);
        let mut header = None;
        if parser.needs_header() {
            match source.advance()? {
                Some(line) => {
                    let bytes = source.current();
                    parser
                        .parse_header(bytes)
                        .map_err(|message| ModelError::MalformedRow {
                            path: path.to_path_buf(),
                            line,
                            message: format!("bad {format} header: {message}"),
                        })?;
                    header = Some(bytes.to_vec());
                }
                None => {
                    return Err(ModelError::MalformedRow {
                        path: path.to_path_buf(),
                        line: 1,
                        message: format!("empty file: the {format} format needs a header line"),
                    })
                }
            }
        }
        Ok(Self {
            source,
            parser,
            report: MalformedReport::new(path),
            options: options.clone(),
            header,
        })
    }

    /// The header line (CSV formats), byte for byte.
    pub fn header(&self) -> Option<&[u8]> {
        self.header.as_deref()
    }

    /// Dense features per row.
    pub fn n_dense(&self) -> usize {
        self.parser.n_dense()
    }

    /// Categorical fields per row known from the format/header (libsvm/libffm: 0, they grow).
    pub fn n_sparse(&self) -> usize {
        self.parser.n_sparse()
    }

    /// The accounting so far.
    pub fn report(&self) -> &MalformedReport {
        &self.report
    }

    /// The final accounting.
    pub fn into_report(self) -> MalformedReport {
        self.report
    }

    /// The next valid row into `out`, with its line number and raw bytes; `None` at the end of
    /// the file or after `max_rows` rows. Malformed rows are skipped and counted (or an error
    /// when strict).
    pub fn next_row_with_line(&mut self, out: &mut RawRow) -> Result<Option<(u64, &[u8])>> {
        if let Some(max) = self.options.max_rows {
            if self.report.rows_read >= max {
                return Ok(None);
            }
        }
        loop {
            let Some(line) = self.source.advance()? else {
                return Ok(None);
            };
            match self.parser.parse_row(self.source.current(), out) {
                Ok(()) => {
                    self.report.rows_read += 1;
                    return Ok(Some((line, self.source.current())));
                }
                Err(message) => {
                    if self.options.strict {
                        return Err(ModelError::MalformedRow {
                            path: self.source.path().to_path_buf(),
                            line,
                            message,
                        });
                    }
                    self.report.malformed_rows += 1;
                    if self.report.first_malformed.len() < self.options.keep_malformed_lines {
                        self.report
                            .first_malformed
                            .push(MalformedLine { line, message });
                    }
                }
            }
        }
    }

    /// The next valid row into `out` and its line number (see `next_row_with_line`).
    pub fn next_row(&mut self, out: &mut RawRow) -> Result<Option<u64>> {
        Ok(self.next_row_with_line(out)?.map(|(line, _)| line))
    }
}

/// Reads every valid row of `path` into memory.
pub fn read_rows(
    path: &Path,
    format: DataFormat,
    options: &ReadOptions,
) -> Result<(RawRows, MalformedReport)> {
    let mut reader = RowReader::open(path, format, options)?;
    let mut rows = RawRows::new(reader.n_dense(), reader.n_sparse());
    let mut row = RawRow::default();
    while reader.next_row(&mut row)?.is_some() {
        rows.push(&row);
    }
    Ok((rows, reader.into_report()))
}
