//! Reading and writing lookup traces as CSV.
//!
//! Format (one lookup per line, `#` lines are comments):
//! ```text
//! # recpim lookup trace v1
//! # table_rows=1460,583,10131227,...
//! batch,sample,table,row
//! 0,0,0,1187
//! ```
//! `batch` and `sample` identify the SparseLengthsSum op together with `table`: every line with
//! the same (batch, sample, table) is summed into one pooled vector. `table_rows` (optional) gives
//! each table's size; without it the size is inferred as the largest row seen plus one
//! (the `dlrm_datasets` convention).

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use super::error::TraceError;
use super::{Lookup, LookupTrace};

/// The header line of the CSV body.
pub const TRACE_HEADER: &str = "batch,sample,table,row";
const TABLE_ROWS_PREFIX: &str = "table_rows=";

/// Writes `trace` to `path` in the documented CSV format.
pub fn write_trace(trace: &LookupTrace, path: &Path) -> Result<(), TraceError> {
    let io_error = |error: std::io::Error| TraceError::io(path, &error);
    let file = std::fs::File::create(path).map_err(io_error)?;
    let mut out = BufWriter::new(file);
    let rows: Vec<String> = trace.table_rows.iter().map(|r| r.to_string()).collect();
    writeln!(out, "# recpim lookup trace v1").map_err(io_error)?;
    writeln!(out, "# {TABLE_ROWS_PREFIX}{}", rows.join(",")).map_err(io_error)?;
    writeln!(out, "{TRACE_HEADER}").map_err(io_error)?;
    for lookup in &trace.lookups {
        writeln!(
            out,
            "{},{},{},{}",
            lookup.batch, lookup.sample, lookup.table, lookup.row
        )
        .map_err(io_error)?;
    }
    out.flush().map_err(io_error)
}

fn parse_field<T: std::str::FromStr>(
    text: Option<&str>,
    name: &str,
    path: &Path,
    line: usize,
) -> Result<T, TraceError> {
    let text = text.ok_or_else(|| TraceError::Parse {
        path: path.to_path_buf(),
        line,
        message: format!("missing field `{name}` (expected `{TRACE_HEADER}`)"),
    })?;
    text.trim().parse().map_err(|_| TraceError::Parse {
        path: path.to_path_buf(),
        line,
        message: format!("field `{name}` = `{text}` is not a non-negative integer"),
    })
}

/// Reads a trace written by [`write_trace`] (or by hand in the same format).
pub fn read_trace(path: &Path) -> Result<LookupTrace, TraceError> {
    let io_error = |error: std::io::Error| TraceError::io(path, &error);
    let file = std::fs::File::open(path).map_err(io_error)?;
    let reader = BufReader::new(file);
    let mut declared_rows: Option<Vec<u64>> = None;
    let mut seen_header = false;
    let mut lookups = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line_number = index + 1;
        let line = line.map_err(io_error)?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(list) = comment.trim().strip_prefix(TABLE_ROWS_PREFIX) {
                let rows = list
                    .split(',')
                    .map(|item| parse_field::<u64>(Some(item), "table_rows", path, line_number))
                    .collect::<Result<Vec<_>, _>>()?;
                declared_rows = Some(rows);
            }
            continue;
        }
        if !seen_header {
            if line.replace(' ', "") != TRACE_HEADER {
                return Err(TraceError::Parse {
                    path: path.to_path_buf(),
                    line: line_number,
                    message: format!("expected the header `{TRACE_HEADER}`, found `{line}`"),
                });
            }
            seen_header = true;
            continue;
        }
        let mut fields = line.split(',');
        let lookup = Lookup {
            batch: parse_field(fields.next(), "batch", path, line_number)?,
            sample: parse_field(fields.next(), "sample", path, line_number)?,
            table: parse_field(fields.next(), "table", path, line_number)?,
            row: parse_field(fields.next(), "row", path, line_number)?,
        };
        if fields.next().is_some() {
            return Err(TraceError::Parse {
                path: path.to_path_buf(),
                line: line_number,
                message: format!("too many fields (expected `{TRACE_HEADER}`)"),
            });
        }
        if let Some(rows) = &declared_rows {
            let table_rows = rows
                .get(lookup.table as usize)
                .ok_or_else(|| TraceError::Parse {
                    path: path.to_path_buf(),
                    line: line_number,
                    message: format!(
                        "table {} does not exist (table_rows declares {} tables)",
                        lookup.table,
                        rows.len()
                    ),
                })?;
            if lookup.row >= *table_rows {
                return Err(TraceError::Parse {
                    path: path.to_path_buf(),
                    line: line_number,
                    message: format!(
                        "row {} is outside table {} (0..{})",
                        lookup.row, lookup.table, table_rows
                    ),
                });
            }
        }
        lookups.push(lookup);
    }
    if lookups.is_empty() {
        return Err(TraceError::Empty {
            path: path.to_path_buf(),
        });
    }
    let table_rows = match declared_rows {
        Some(rows) => rows,
        None => infer_table_rows(&lookups),
    };
    Ok(LookupTrace {
        table_rows,
        lookups,
    })
}

fn infer_table_rows(lookups: &[Lookup]) -> Vec<u64> {
    let tables = lookups
        .iter()
        .map(|l| l.table as usize + 1)
        .max()
        .unwrap_or(0);
    let mut rows = vec![1u64; tables];
    for lookup in lookups {
        if let Some(slot) = rows.get_mut(lookup.table as usize) {
            *slot = (*slot).max(lookup.row + 1);
        }
    }
    rows
}
