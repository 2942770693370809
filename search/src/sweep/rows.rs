//! The sweep CSV: one row per point, and the CSV reading/writing shared by the runner and merge.
//!
//! Columns, in order:
//! `point, config_hash, hw_hash, seed, engine, workload, <every swept key>, latency_ns,
//! energy_pj, area_mm2, edp_pj_ns, crossbars, [log_loss_ideal, log_loss_hardware,] error`
//! (the log losses only in a sweep with accuracy, see [`super::accuracy`]).
//! * `config_hash`: 16 hex digits of FNV-1a over the resolved hwconfig's hash, the workload's
//!   content and the engine, so equal rows from different runs or shards share it and `merge`
//!   can drop duplicates;
//! * `seed`: the space's sampling seed (0 for grids): `(seed, point)` rebuilds the point;
//! * `edp_pj_ns`: energy-delay product, energy_pj x latency_ns;
//! * `error`: empty for an evaluated point; otherwise why it was skipped (a combination of
//!   values the hwconfig checks reject, or a workload the chip cannot hold), with the figures
//!   left empty.
//!
//! Numbers are written with Rust's shortest round-trip formatting and lines end in `\n`, so the
//! same results always give the same bytes. Messages are kept to one line, which lets the
//! runner's journal be cut at its last newline after a kill.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, SearchError};

/// Columns before the swept keys.
pub const LEADING_COLUMNS: [&str; 6] = [
    "point",
    "config_hash",
    "hw_hash",
    "seed",
    "engine",
    "workload",
];

/// Columns after the swept keys.
pub const TRAILING_COLUMNS: [&str; 6] = [
    "latency_ns",
    "energy_pj",
    "area_mm2",
    "edp_pj_ns",
    "crossbars",
    "error",
];

/// The objectives of a sweep's Pareto front, all minimised.
pub const SWEEP_OBJECTIVES: [&str; 3] = ["latency_ns", "energy_pj", "area_mm2"];

/// Simulated figures of one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointMetrics {
    /// Latency of one workload run in ns.
    pub latency_ns: f64,
    /// Energy of one workload run in pJ.
    pub energy_pj: f64,
    /// Chip area in mm^2.
    pub area_mm2: f64,
    /// Crossbars occupied.
    pub crossbars: u64,
    /// `(log_loss_ideal, log_loss_hardware)` of an accuracy sweep (see [`super::accuracy`]).
    pub log_losses: Option<(f64, f64)>,
}

impl PointMetrics {
    /// Energy-delay product in pJ x ns.
    pub fn edp_pj_ns(&self) -> f64 {
        self.energy_pj * self.latency_ns
    }
}

/// One row of the sweep CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// Point index in the space.
    pub point: u64,
    /// Hash keying the row (see the module docs).
    pub config_hash: String,
    /// The resolved hwconfig's own hash; empty when the configuration was rejected.
    pub hw_hash: String,
    /// The space's sampling seed.
    pub seed: u64,
    /// `analytic` or `cycle`.
    pub engine: &'static str,
    /// Workload name.
    pub workload: String,
    /// Text of each swept value, in axis order.
    pub values: Vec<String>,
    /// The figures, or why the point was skipped.
    pub outcome: std::result::Result<PointMetrics, String>,
    /// Whether the rows carry the accuracy columns (before `error`).
    pub accuracy_columns: bool,
}

impl SweepRow {
    /// The row's fields in column order.
    pub fn fields(&self) -> Vec<String> {
        let mut fields = vec![
            self.point.to_string(),
            self.config_hash.clone(),
            self.hw_hash.clone(),
            self.seed.to_string(),
            self.engine.to_string(),
            self.workload.clone(),
        ];
        fields.extend(self.values.iter().cloned());
        let accuracy_columns = if self.accuracy_columns { 2 } else { 0 };
        match &self.outcome {
            Ok(m) => {
                fields.extend([
                    m.latency_ns.to_string(),
                    m.energy_pj.to_string(),
                    m.area_mm2.to_string(),
                    m.edp_pj_ns().to_string(),
                    m.crossbars.to_string(),
                ]);
                if self.accuracy_columns {
                    match m.log_losses {
                        Some((ideal, hardware)) => {
                            fields.extend([ideal.to_string(), hardware.to_string()])
                        }
                        None => fields.extend([String::new(), String::new()]),
                    }
                }
                fields.push(String::new());
            }
            Err(reason) => {
                fields.extend(std::iter::repeat_n(String::new(), 5 + accuracy_columns));
                fields.push(one_line(reason));
            }
        }
        fields
    }
}

/// The header of a sweep over `keys`.
pub fn sweep_header(keys: &[&str]) -> Vec<String> {
    sweep_header_with(keys, false)
}

/// The header of a sweep over `keys`, with the accuracy columns (before `error`) when
/// `accuracy` is set.
pub fn sweep_header_with(keys: &[&str], accuracy: bool) -> Vec<String> {
    let (figures, error) = TRAILING_COLUMNS.split_at(TRAILING_COLUMNS.len() - 1);
    let accuracy_columns: &[&str] = if accuracy {
        &super::accuracy::ACCURACY_COLUMNS
    } else {
        &[]
    };
    LEADING_COLUMNS
        .iter()
        .chain(keys)
        .chain(figures)
        .chain(accuracy_columns)
        .chain(error)
        .map(|s| s.to_string())
        .collect()
}

/// 16 hex digits of 64-bit FNV-1a over `bytes`.
pub fn fnv1a_hex(bytes: &[u8]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = bytes
        .iter()
        .fold(OFFSET, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(PRIME));
    format!("{hash:016x}")
}

/// Replaces line breaks so a message stays on one CSV line.
pub fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// A CSV file in memory: its header and records (each record keeps its 1-based line).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CsvTable {
    /// Column names.
    pub header: Vec<String>,
    /// Records, each `(line, fields)`.
    pub records: Vec<(u64, Vec<String>)>,
}

impl CsvTable {
    /// Index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

/// Reads a whole CSV file; every record must have the header's field count.
pub fn read_table(path: &Path) -> Result<CsvTable> {
    let bytes = std::fs::read(path).map_err(|source| SearchError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    parse_table(&bytes, path)
}

/// Parses CSV bytes; `path` names them in errors.
pub fn parse_table(bytes: &[u8], path: &Path) -> Result<CsvTable> {
    let csv_error = |line: Option<u64>, reason: String| SearchError::SweepCsv {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(Some(1), e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    if header.is_empty() || header.iter().all(String::is_empty) {
        return Err(csv_error(Some(1), "empty file: no header line".to_string()));
    }
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line());
            csv_error(line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        records.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(CsvTable { header, records })
}

/// CSV bytes of `rows` (and the header first when given), `\n`-terminated.
pub fn csv_bytes<'a>(
    header: Option<&[String]>,
    rows: impl IntoIterator<Item = &'a [String]>,
) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail; the field counts are the caller's.
    if let Some(header) = header {
        let _ = writer.write_record(header);
    }
    for row in rows {
        let _ = writer.write_record(row);
    }
    writer.into_inner().unwrap_or_default()
}

/// Writes a CSV file whole, through a temporary file renamed into place, so a reader (or a
/// kill) never sees half of it.
pub fn write_table(path: &Path, header: &[String], rows: &[&[String]]) -> Result<()> {
    write_atomically(path, &csv_bytes(Some(header), rows.iter().copied()))
}

/// Writes `bytes` to `path` through a temporary sibling and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_sibling(path);
    let io = |action: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| SearchError::Io {
            action,
            path: p,
            source,
        }
    };
    let mut file = std::fs::File::create(&tmp).map_err(io("creating", &tmp))?;
    file.write_all(bytes).map_err(io("writing", &tmp))?;
    file.sync_all().map_err(io("writing", &tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io("renaming into", path))
}

fn temporary_sibling(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// The front CSV and plot written next to a result CSV: `x.csv` -> `x.front.csv`, `x.svg`.
pub fn companion_paths(csv_path: &Path) -> (PathBuf, PathBuf) {
    let stem = csv_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rows".to_string());
    (
        csv_path.with_file_name(format!("{stem}.front.csv")),
        csv_path.with_file_name(format!("{stem}.svg")),
    )
}
