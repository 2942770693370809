//! `recpim merge`: joins sweep shards (or co-design island runs) into one result, dropping
//! duplicates by `config_hash`, and rebuilds the Pareto front and its plot.
//!
//! Any CSV with a `config_hash` column merges: a sweep's `rows.csv` and the co-design's
//! `pareto.csv` alike, as long as every input has the same header. Rows are ordered by the
//! `point` column when there is one, then by `config_hash`, then by their text; the first row of
//! each `config_hash` in that order is kept. The order of the inputs therefore never matters,
//! and merging all shards of a sweep gives exactly the bytes of the unsharded run (the runner
//! dedupes its own rows the same way).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Result, SearchError};
use crate::pareto::{non_dominated_indices, Objectives, ParetoPoint};
use crate::plot::{write_front_svg, Axis, FrontPlot};

use super::rows::{companion_paths, read_table, write_table, SWEEP_OBJECTIVES};

/// Column every mergeable CSV has.
pub const HASH_COLUMN: &str = "config_hash";
/// Column that orders sweep rows.
pub const POINT_COLUMN: &str = "point";
/// Column holding why a row has no figures (empty when it has).
pub const ERROR_COLUMN: &str = "error";
/// File names a directory given to merge contributes (searched recursively).
pub const MERGEABLE_NAMES: [&str; 2] = ["rows.csv", "pareto.csv"];

/// The front file and plot written next to a result CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontSummary {
    /// The objective columns, all minimised; the plot shows the first two.
    pub objectives: Vec<String>,
    /// Rows with figures (not skipped).
    pub evaluated_rows: usize,
    /// Rows on the front.
    pub front_rows: usize,
    /// `<stem>.front.csv`.
    pub front_path: PathBuf,
    /// `<stem>.svg`, unless there was nothing to plot.
    pub plot_path: Option<PathBuf>,
}

/// What a merge produced.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeOutcome {
    /// The CSV files read, in the order found.
    pub inputs: Vec<PathBuf>,
    /// Rows read over all inputs.
    pub input_rows: usize,
    /// Rows written (after dropping duplicates).
    pub rows: usize,
    /// The merged CSV.
    pub out_path: PathBuf,
    /// Front and plot.
    pub front: FrontSummary,
}

/// Expands directories into the mergeable files below them (sorted by path); files are kept
/// as given. `exclude` (the output) is never an input.
pub fn collect_inputs(paths: &[PathBuf], exclude: &Path) -> Result<Vec<PathBuf>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.sort();
            inputs.extend(found);
        } else if path.is_file() {
            inputs.push(path.clone());
        } else {
            return Err(SearchError::SweepOutput {
                path: path.clone(),
                reason: "no such file or directory".to_string(),
            });
        }
    }
    let excluded = std::fs::canonicalize(exclude).ok();
    inputs.retain(|p| excluded.is_none() || std::fs::canonicalize(p).ok() != excluded);
    if inputs.is_empty() {
        return Err(SearchError::SweepOutput {
            path: paths.first().cloned().unwrap_or_default(),
            reason: format!(
                "nothing to merge: no {} found",
                MERGEABLE_NAMES.join(" or ")
            ),
        });
    }
    Ok(inputs)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|source| SearchError::Io {
        action: "listing",
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| SearchError::Io {
            action: "listing",
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| MERGEABLE_NAMES.contains(&n))
        {
            found.push(path);
        }
    }
    Ok(())
}

/// The objectives of a result CSV when none are given: hardware log loss, energy and latency
/// for co-design fronts (a column starting with `log_loss`, preferring one naming the hardware),
/// latency, energy and area for sweeps.
pub fn default_objectives(header: &[String]) -> Option<Vec<String>> {
    let has = |name: &str| header.iter().any(|h| h == name);
    let log_losses: Vec<&String> = header
        .iter()
        .filter(|h| h.starts_with("log_loss"))
        .collect();
    let log_loss = log_losses
        .iter()
        .find(|h| h.contains("hw") || h.contains("hardware"))
        .or_else(|| log_losses.first())
        .copied();
    if let Some(log_loss) = log_loss {
        let mut objectives = vec![];
        if has("energy_pj") {
            objectives.push("energy_pj".to_string());
        }
        objectives.push(log_loss.clone());
        if has("latency_ns") {
            objectives.push("latency_ns".to_string());
        }
        return (objectives.len() >= 2).then_some(objectives);
    }
    SWEEP_OBJECTIVES
        .iter()
        .all(|c| has(c))
        .then(|| SWEEP_OBJECTIVES.iter().map(|s| s.to_string()).collect())
}

/// Keeps the first row of every value in column `hash_column`, in the given order.
pub fn dedupe_sorted(rows: &[(u64, Vec<String>)], hash_column: usize) -> Vec<Vec<String>> {
    let mut seen = HashSet::new();
    rows.iter()
        .filter(|(_, fields)| {
            fields
                .get(hash_column)
                .is_none_or(|hash| seen.insert(hash.clone()))
        })
        .map(|(_, fields)| fields.clone())
        .collect()
}

/// Merges `paths` (files or directories) into `out`, then writes `<out stem>.front.csv` and
/// `<out stem>.svg`. `objectives` defaults to [`default_objectives`].
pub fn merge_files(
    paths: &[PathBuf],
    out: &Path,
    objectives: Option<&[String]>,
) -> Result<MergeOutcome> {
    let inputs = collect_inputs(paths, out)?;
    let mut header: Option<(Vec<String>, PathBuf)> = None;
    let mut keyed: Vec<(Option<u64>, String, Vec<String>)> = Vec::new();
    let mut input_rows = 0;
    for input in &inputs {
        let table = read_table(input)?;
        match &header {
            None => header = Some((table.header.clone(), input.clone())),
            Some((first, first_path)) if *first != table.header => {
                return Err(SearchError::SweepCsv {
                    path: input.clone(),
                    line: Some(1),
                    reason: format!(
                        "header [{}] differs from {}'s [{}]; only results of the same sweep (or search space) merge",
                        table.header.join(","),
                        first_path.display(),
                        first.join(",")
                    ),
                })
            }
            Some(_) => {}
        }
        let hash_column = table
            .column(HASH_COLUMN)
            .ok_or_else(|| SearchError::SweepCsv {
                path: input.clone(),
                line: Some(1),
                reason: format!("no `{HASH_COLUMN}` column; rows are merged by it"),
            })?;
        let point_column = table.column(POINT_COLUMN);
        input_rows += table.records.len();
        for (line, fields) in table.records {
            let point = match point_column {
                None => None,
                Some(c) => Some(
                    fields[c]
                        .parse::<u64>()
                        .map_err(|_| SearchError::SweepCsv {
                            path: input.clone(),
                            line: Some(line),
                            reason: format!(
                                "`{POINT_COLUMN}` = {:?} is not a non-negative integer",
                                fields[c]
                            ),
                        })?,
                ),
            };
            let hash = fields[hash_column].clone();
            if hash.is_empty() {
                return Err(SearchError::SweepCsv {
                    path: input.clone(),
                    line: Some(line),
                    reason: format!("empty `{HASH_COLUMN}`"),
                });
            }
            keyed.push((point, hash, fields));
        }
    }
    let Some((header, _)) = header else {
        return Err(SearchError::SweepOutput {
            path: out.to_path_buf(),
            reason: "nothing to merge".to_string(),
        });
    };
    keyed.sort();
    let mut seen = HashSet::new();
    let rows: Vec<Vec<String>> = keyed
        .into_iter()
        .filter(|(_, hash, _)| seen.insert(hash.clone()))
        .map(|(_, _, fields)| fields)
        .collect();

    let objectives = match objectives {
        Some(given) => given.to_vec(),
        None => default_objectives(&header).ok_or_else(|| SearchError::SweepCsv {
            path: inputs[0].clone(),
            line: Some(1),
            reason: "cannot tell the objectives from the header; give them (e.g. --objectives latency_ns,energy_pj)".to_string(),
        })?,
    };
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| SearchError::Io {
            action: "creating",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let refs: Vec<&[String]> = rows.iter().map(Vec::as_slice).collect();
    write_table(out, &header, &refs)?;
    let title = format!("merged: {} rows from {} files", rows.len(), inputs.len());
    let front = write_front_outputs(out, &header, &rows, &objectives, &title)?;
    Ok(MergeOutcome {
        inputs,
        input_rows,
        rows: rows.len(),
        out_path: out.to_path_buf(),
        front,
    })
}

/// Computes the Pareto front of `rows` over the `objectives` columns (rows with a non-empty
/// `error` or an empty objective are left out) and writes `<stem>.front.csv` next to
/// `rows_path` and, when any row has figures, the plot `<stem>.svg` of the first two objectives.
pub fn write_front_outputs(
    rows_path: &Path,
    header: &[String],
    rows: &[Vec<String>],
    objectives: &[String],
    title: &str,
) -> Result<FrontSummary> {
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| SearchError::SweepCsv {
                path: rows_path.to_path_buf(),
                line: Some(1),
                reason: format!(
                    "objective column `{name}` not in the header [{}]",
                    header.join(",")
                ),
            })
    };
    if objectives.len() < 2 {
        return Err(SearchError::SweepCsv {
            path: rows_path.to_path_buf(),
            line: None,
            reason: format!(
                "a front needs at least 2 objectives, got [{}]",
                objectives.join(",")
            ),
        });
    }
    let columns = objectives
        .iter()
        .map(|o| column(o))
        .collect::<Result<Vec<_>>>()?;
    let error_column = header.iter().position(|h| h == ERROR_COLUMN);
    let hash_column = header.iter().position(|h| h == HASH_COLUMN);

    let mut evaluated: Vec<usize> = Vec::new();
    let mut points: Vec<ParetoPoint> = Vec::new();
    for (i, fields) in rows.iter().enumerate() {
        if error_column.is_some_and(|c| fields.get(c).is_some_and(|e| !e.is_empty())) {
            continue;
        }
        let texts: Vec<&str> = columns
            .iter()
            .map(|&c| fields.get(c).map_or("", String::as_str))
            .collect();
        if texts.iter().any(|t| t.is_empty()) {
            continue;
        }
        let mut values = Vec::with_capacity(texts.len());
        for (text, name) in texts.iter().zip(objectives) {
            let value = text.parse::<f64>().ok().filter(|v| v.is_finite());
            let Some(value) = value else {
                let who = hash_column.and_then(|c| fields.get(c)).map_or_else(
                    || format!("row {}", i + 1),
                    |h| format!("row {HASH_COLUMN} {h}"),
                );
                return Err(SearchError::SweepCsv {
                    path: rows_path.to_path_buf(),
                    line: None,
                    reason: format!("{who}: `{name}` = {text:?} is not a finite number"),
                });
            };
            values.push(value);
        }
        points.push(ParetoPoint::feasible(Objectives::new(values)?));
        evaluated.push(i);
    }
    let front = non_dominated_indices(&points)?;
    let (front_path, plot_path) = companion_paths(rows_path);
    let front_rows: Vec<&[String]> = front
        .iter()
        .map(|&k| rows[evaluated[k]].as_slice())
        .collect();
    write_table(&front_path, header, &front_rows)?;

    let plot_path = if points.is_empty() {
        None
    } else {
        let xy: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (p.objectives().values()[0], p.objectives().values()[1]))
            .collect();
        let axis = |name: &str, k: usize| axis_for(name, xy.iter().all(|p| [p.0, p.1][k] > 0.0));
        let plot = FrontPlot::new(title, axis(&objectives[0], 0), axis(&objectives[1], 1), xy);
        write_front_svg(&plot, &plot_path)?;
        Some(plot_path)
    };
    Ok(FrontSummary {
        objectives: objectives.to_vec(),
        evaluated_rows: points.len(),
        front_rows: front.len(),
        front_path,
        plot_path,
    })
}

/// A plot axis for a column named with its unit (`latency_ns`, `energy_pj`, `area_mm2`);
/// logarithmic when every value is positive, since swept figures span decades.
fn axis_for(column: &str, all_positive: bool) -> Axis {
    let (name, unit) = if let Some(name) = column.strip_suffix("_pj_ns") {
        (name, "pJ ns")
    } else {
        match column.rsplit_once('_') {
            Some((name, "ns")) => (name, "ns"),
            Some((name, "pj")) => (name, "pJ"),
            Some((name, "mm2")) => (name, "mm^2"),
            Some((name, "um2")) => (name, "um^2"),
            _ => (column, "1"),
        }
    };
    let name = name.replace('_', " ");
    if all_positive && unit != "1" {
        Axis::log10(name, unit)
    } else {
        Axis::linear(name, unit)
    }
}
