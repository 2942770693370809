//! Runs one shard of a sweep: points evaluated in parallel, rows journaled in point order,
//! resumable after a kill, finished into the deduplicated CSV, its front and its plot.
//!
//! Output directory of a shard:
//! * `manifest.json`: what is being swept (hashes of the space, base hwconfig and workloads, the
//!   engine, the shard, the header, the provenance of every workload a model backend
//!   produced, and the accuracy settings of a sweep with accuracy); `--resume` refuses a
//!   directory of another sweep;
//! * `journal.csv`: the header, then one row per point of the shard *in point order*, appended
//!   a chunk at a time. Each chunk is evaluated in parallel (rayon, one point per task), collected
//!   in order and written with one `write` (and `fsync`ed at least every 2 s). A kill can therefore only leave a
//!   partial last line, which `--resume` cuts off before continuing with the next point; the
//!   journal's bytes never depend on the thread count, the chunk size or where the kills fell;
//! * `rows.csv`: the journal without repeated `config_hash`es (first point kept; repeats occur
//!   only when random samples draw the same configuration), written whole at the end;
//! * `rows.front.csv`, `rows.svg`: the Pareto front over latency, energy and area, and the
//!   energy/latency plot (see [`super::merge`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use recpim_sim::hwconfig::apply_overrides;
use recpim_sim::{simulate_analytic, simulate_cycle, HwConfig, Workload};
use serde::{Deserialize, Serialize};

use super::accuracy::{AccuracySettings, SweepAccuracy};
use super::merge::{dedupe_sorted, default_objectives, write_front_outputs, FrontSummary};
use super::rows::{
    csv_bytes, fnv1a_hex, parse_table, sweep_header_with, write_table, PointMetrics, SweepRow,
    SWEEP_OBJECTIVES,
};
use super::shard::Shard;
use super::space::{apply_workload_keys, value_text, NamedWorkload, SweepPoint, SweepSpace};
use crate::backend::BackendProvenance;
use crate::error::{Result, SearchError};

/// File names inside a shard's output directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The append-only journal.
pub const JOURNAL_FILE: &str = "journal.csv";
/// The finished, deduplicated rows.
pub const ROWS_FILE: &str = "rows.csv";

/// Default points per journal write.
pub const DEFAULT_CHUNK_POINTS: usize = 256;

/// Longest time between two `fsync`s of the journal.
const SYNC_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Which simulator engine evaluates the points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SweepEngine {
    /// Closed-form fast path.
    Analytic,
    /// Cycle-level engine.
    Cycle,
}

impl SweepEngine {
    /// Name in the CSV.
    pub fn name(self) -> &'static str {
        match self {
            SweepEngine::Analytic => "analytic",
            SweepEngine::Cycle => "cycle",
        }
    }
}

/// Everything one shard of a sweep needs.
#[derive(Debug, Clone)]
pub struct SweepJob<'a> {
    /// The space.
    pub space: &'a SweepSpace,
    /// Workloads (the space's, or the command line's), at least one.
    pub workloads: &'a [NamedWorkload],
    /// Engine.
    pub engine: SweepEngine,
    /// Which slice of the points.
    pub shard: Shard,
    /// Output directory of this shard.
    pub out_dir: PathBuf,
    /// Continue a journal in `out_dir` instead of refusing to touch it.
    pub resume: bool,
    /// Worker threads; 0 = rayon's default (one per core).
    pub threads: usize,
    /// Points evaluated between journal writes (>= 1).
    pub chunk_points: usize,
    /// A trained model whose log losses every evaluated point gets (two more columns).
    pub accuracy: Option<&'a SweepAccuracy>,
}

/// What a finished shard produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepOutcome {
    /// Points in the whole space.
    pub total_points: u64,
    /// Points of this shard.
    pub shard_points: u64,
    /// Points found in the journal when resuming.
    pub resumed_points: u64,
    /// Points evaluated by this call.
    pub evaluated_points: u64,
    /// Rows in `rows.csv`.
    pub rows: usize,
    /// Rows that were skipped (rejected configuration or workload).
    pub skipped: usize,
    /// The deduplicated rows.
    pub rows_path: PathBuf,
    /// Front CSV and plot.
    pub front: FrontSummary,
}

/// Identity of a sweep, compared on `--resume`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Manifest {
    format: String,
    space_file: String,
    space_fnv: String,
    base_hw_fnv: String,
    workloads: Vec<(String, String)>,
    engine: SweepEngine,
    shard: String,
    total_points: u64,
    header: Vec<String>,
    /// (workload name, backend) of every workload a model backend produced. Absent from
    /// manifests of file-only sweeps, so those keep their bytes (and older ones still resume).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    backends: Vec<(String, BackendProvenance)>,
    /// What the accuracy columns are computed from; absent without them (same bytes as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    accuracy: Option<AccuracySettings>,
}

const MANIFEST_FORMAT: &str = "recpim-sweep/1";

/// Precomputed per-sweep state shared by the point evaluations.
struct Evaluator<'a> {
    space: &'a SweepSpace,
    workloads: &'a [NamedWorkload],
    /// Hash of each workload's content, for points that do not change it.
    workload_fnv: Vec<String>,
    base_origin: String,
    base_fnv: String,
    engine: SweepEngine,
    seed: u64,
    accuracy: Option<&'a SweepAccuracy>,
}

impl Evaluator<'_> {
    fn evaluate(&self, point: &SweepPoint) -> SweepRow {
        let named = &self.workloads[point.workload.min(self.workloads.len() - 1)];
        let mut overrides = Vec::new();
        let mut workload_keys = Vec::new();
        for (axis, value) in self.space.axes.iter().zip(&point.values) {
            if axis.is_workload_key() {
                if let toml::Value::Integer(bits) = value {
                    workload_keys.push((axis.key.as_str(), *bits));
                }
            } else {
                overrides.extend(axis.overrides(value));
            }
        }
        let changed;
        let (workload, workload_fnv): (&Workload, String) = if workload_keys.is_empty() {
            (&named.workload, self.workload_fnv[point.workload].clone())
        } else {
            changed = apply_workload_keys(&named.workload, &workload_keys);
            let fnv = fnv1a_hex(changed.to_toml_string().as_bytes());
            (&changed, fnv)
        };
        let values: Vec<String> = point.values.iter().map(value_text).collect();
        let engine = self.engine.name();
        let row = |config_hash: String, hw_hash: String, outcome| SweepRow {
            point: point.index,
            config_hash,
            hw_hash,
            seed: self.seed,
            engine,
            workload: named.name.clone(),
            values: values.clone(),
            outcome,
            accuracy_columns: self.accuracy.is_some(),
        };
        let hw = match apply_overrides(&self.space.base_hw_text, &self.base_origin, &overrides) {
            Ok(hw) => hw,
            Err(e) => {
                let assignment: Vec<String> = self
                    .space
                    .axes
                    .iter()
                    .zip(&values)
                    .map(|(a, v)| format!("{}={v}", a.key))
                    .collect();
                let key = format!(
                    "invalid|{}|{}|{workload_fnv}|{engine}",
                    self.base_fnv,
                    assignment.join(";")
                );
                return row(fnv1a_hex(key.as_bytes()), String::new(), Err(e.to_string()));
            }
        };
        let hw_hash = hw.config_hash();
        let config_hash = fnv1a_hex(format!("{hw_hash}|{workload_fnv}|{engine}").as_bytes());
        let outcome = simulate(&hw, workload, self.engine).and_then(|mut metrics| {
            if let Some(accuracy) = self.accuracy {
                metrics.log_losses = Some(accuracy.log_losses(&hw)?);
            }
            Ok(metrics)
        });
        row(config_hash, hw_hash, outcome)
    }
}

fn simulate(
    hw: &HwConfig,
    workload: &Workload,
    engine: SweepEngine,
) -> std::result::Result<PointMetrics, String> {
    let report = match engine {
        SweepEngine::Analytic => simulate_analytic(hw, workload),
        SweepEngine::Cycle => simulate_cycle(hw, workload, None),
    }
    .map_err(|e| e.to_string())?;
    Ok(PointMetrics {
        latency_ns: report.latency_ns,
        energy_pj: report.energy_pj,
        area_mm2: report.area_mm2,
        crossbars: report.crossbars,
        log_losses: None,
    })
}

/// Evaluates the points `indices` of `space` (in parallel when called inside a rayon pool),
/// returning their rows in the order given. Used by the runner and the benchmark.
pub fn evaluate_points(
    space: &SweepSpace,
    workloads: &[NamedWorkload],
    engine: SweepEngine,
    indices: &[u64],
) -> Result<Vec<SweepRow>> {
    let evaluator = evaluator(space, workloads, engine, None)?;
    Ok(indices
        .par_iter()
        .map(|&p| evaluator.evaluate(&space.point(p, workloads.len())))
        .collect())
}

fn evaluator<'a>(
    space: &'a SweepSpace,
    workloads: &'a [NamedWorkload],
    engine: SweepEngine,
    accuracy: Option<&'a SweepAccuracy>,
) -> Result<Evaluator<'a>> {
    if workloads.is_empty() {
        return Err(SearchError::SweepSpace {
            path: space.path.display().to_string(),
            line: None,
            key: "workloads".to_string(),
            reason: "no workload: list workloads = [...] in the space or give --workload FILE"
                .to_string(),
        });
    }
    Ok(Evaluator {
        space,
        workloads,
        workload_fnv: workloads
            .iter()
            .map(|w| fnv1a_hex(w.workload.to_toml_string().as_bytes()))
            .collect(),
        base_origin: space.base_hw_name.clone(),
        base_fnv: fnv1a_hex(space.base_hw_text.as_bytes()),
        engine,
        seed: space.seed(),
        accuracy,
    })
}

/// The CSV header of a sweep of `space`.
pub fn header_of(space: &SweepSpace) -> Vec<String> {
    header_with(space, false)
}

/// The CSV header of a sweep of `space`, with the accuracy columns when `accuracy` is set.
pub fn header_with(space: &SweepSpace, accuracy: bool) -> Vec<String> {
    let keys: Vec<&str> = space.axes.iter().map(|a| a.key.as_str()).collect();
    sweep_header_with(&keys, accuracy)
}

/// Runs (or resumes) one shard; `progress(done, total)` is called after every chunk.
pub fn run_sweep(job: &SweepJob<'_>, progress: &mut dyn FnMut(u64, u64)) -> Result<SweepOutcome> {
    if let Some(axis) = job
        .accuracy
        .and_then(|_| job.space.axes.iter().find(|a| a.is_workload_key()))
    {
        return Err(SearchError::SweepSpace {
            path: job.space.path.display().to_string(),
            line: None,
            key: axis.key.clone(),
            reason: "a sweep with accuracy evaluates one trained model at its bits; workload.* keys would change the mapped bits but not the model's".to_string(),
        });
    }
    let evaluator = evaluator(job.space, job.workloads, job.engine, job.accuracy)?;
    let total_points = job.space.point_count(job.workloads.len())?;
    let shard_points = job.shard.len(total_points);
    let header = header_with(job.space, job.accuracy.is_some());
    let manifest = Manifest {
        format: MANIFEST_FORMAT.to_string(),
        space_file: job.space.path.display().to_string(),
        space_fnv: fnv1a_hex(job.space.text.as_bytes()),
        base_hw_fnv: evaluator.base_fnv.clone(),
        workloads: job
            .workloads
            .iter()
            .zip(&evaluator.workload_fnv)
            .map(|(w, fnv)| (w.name.clone(), fnv.clone()))
            .collect(),
        engine: job.engine,
        shard: job.shard.to_string(),
        total_points,
        header: header.clone(),
        backends: job
            .workloads
            .iter()
            .filter_map(|w| w.backend.clone().map(|b| (w.name.clone(), b)))
            .collect(),
        accuracy: job.accuracy.map(|a| a.settings.clone()),
    };

    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| SearchError::Io {
            action,
            path,
            source,
        }
    };
    std::fs::create_dir_all(&job.out_dir).map_err(io("creating", &job.out_dir))?;
    let manifest_path = job.out_dir.join(MANIFEST_FILE);
    let journal_path = job.out_dir.join(JOURNAL_FILE);
    let rows_path = job.out_dir.join(ROWS_FILE);

    let done = open_journal(job, &manifest, &manifest_path, &journal_path, &rows_path)?;
    let mut journal = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal_path)
        .map_err(io("opening", &journal_path))?;

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(job.threads)
        .build()
        .map_err(|e| SearchError::SweepOutput {
            path: job.out_dir.clone(),
            reason: format!("cannot start {} worker threads: {e}", job.threads),
        })?;
    let chunk = job.chunk_points.max(1) as u64;
    let mut next = done;
    let mut last_sync = std::time::Instant::now();
    progress(next, shard_points);
    while next < shard_points {
        let end = (next + chunk).min(shard_points);
        let points: Vec<SweepPoint> = (next..end)
            .map(|k| job.space.point(job.shard.point(k), job.workloads.len()))
            .collect();
        let rows: Vec<Vec<String>> = pool.install(|| {
            points
                .par_iter()
                .map(|p| evaluator.evaluate(p).fields())
                .collect()
        });
        let bytes = csv_bytes(None, rows.iter().map(Vec::as_slice));
        journal
            .write_all(&bytes)
            .map_err(io("appending to", &journal_path))?;
        // A written chunk survives a killed process at once; fsync (against a crashed node)
        // costs milliseconds, so it is paced rather than done per chunk.
        if last_sync.elapsed() >= SYNC_INTERVAL {
            journal
                .sync_data()
                .map_err(io("appending to", &journal_path))?;
            last_sync = std::time::Instant::now();
        }
        next = end;
        progress(next, shard_points);
    }
    journal
        .sync_data()
        .map_err(io("appending to", &journal_path))?;
    drop(journal);

    // Finish: dedupe, then the front and the plot.
    let table = super::rows::read_table(&journal_path)?;
    let hash_column = 1;
    let kept = dedupe_sorted(&table.records, hash_column);
    let skipped = kept
        .iter()
        .filter(|r| r.last().is_some_and(|e| !e.is_empty()))
        .count();
    let kept_refs: Vec<&[String]> = kept.iter().map(|r| r.as_slice()).collect();
    write_table(&rows_path, &table.header, &kept_refs)?;
    // The objectives `merge` would pick for this header, so merged shards give the same front.
    let objectives: Vec<String> = default_objectives(&table.header)
        .unwrap_or_else(|| SWEEP_OBJECTIVES.iter().map(|s| s.to_string()).collect());
    let title = format!(
        "sweep {} ({} engine{})",
        job.space
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        job.engine.name(),
        if job.shard.is_whole() {
            String::new()
        } else {
            format!(", shard {}", job.shard)
        }
    );
    let front = write_front_outputs(&rows_path, &table.header, &kept, &objectives, &title)?;
    Ok(SweepOutcome {
        total_points,
        shard_points,
        resumed_points: done,
        evaluated_points: shard_points - done,
        rows: kept.len(),
        skipped,
        rows_path,
        front,
    })
}

/// Creates a fresh journal, or validates and trims an existing one on `--resume`; returns the
/// number of shard points already journaled.
fn open_journal(
    job: &SweepJob<'_>,
    manifest: &Manifest,
    manifest_path: &Path,
    journal_path: &Path,
    rows_path: &Path,
) -> Result<u64> {
    let existing = [manifest_path, journal_path, rows_path]
        .into_iter()
        .find(|p| p.exists());
    let manifest_text = serde_json::to_string_pretty(manifest).unwrap_or_default() + "\n";
    // A kill between writing the manifest and the journal leaves no journal: start afresh.
    if !job.resume || !manifest_path.exists() || !journal_path.exists() {
        if let Some(path) = existing {
            if !job.resume {
                return Err(SearchError::SweepOutput {
                    path: path.to_path_buf(),
                    reason: "already holds a sweep; pass --resume to continue it, or choose another --out"
                        .to_string(),
                });
            }
        }
        super::rows::write_atomically(manifest_path, manifest_text.as_bytes())?;
        super::rows::write_atomically(journal_path, &csv_bytes(Some(&manifest.header), []))?;
        return Ok(0);
    }

    let found_text = std::fs::read_to_string(manifest_path).map_err(|source| SearchError::Io {
        action: "reading",
        path: manifest_path.to_path_buf(),
        source,
    })?;
    let found: Manifest =
        serde_json::from_str(&found_text).map_err(|e| SearchError::SweepOutput {
            path: manifest_path.to_path_buf(),
            reason: format!("not a sweep manifest: {e}"),
        })?;
    if let Some(field) = manifest_difference(&found, manifest) {
        return Err(SearchError::SweepOutput {
            path: manifest_path.to_path_buf(),
            reason: format!(
                "belongs to another sweep ({field} differs); --resume needs the same space, base hwconfig, workloads (and backend), engine, shard and accuracy settings"
            ),
        });
    }

    let bytes = std::fs::read(journal_path).map_err(|source| SearchError::Io {
        action: "reading",
        path: journal_path.to_path_buf(),
        source,
    })?;
    // A kill can only leave a partial last line: keep everything up to the last newline.
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let table = parse_table(&bytes[..complete], journal_path).map_err(|e| match e {
        SearchError::SweepCsv { line, reason, .. } if complete == 0 => SearchError::SweepCsv {
            path: journal_path.to_path_buf(),
            line,
            reason: format!("{reason} (the journal lost its header; start the sweep afresh)"),
        },
        other => other,
    })?;
    if table.header != manifest.header {
        return Err(SearchError::SweepCsv {
            path: journal_path.to_path_buf(),
            line: Some(1),
            reason: "the header does not match the manifest".to_string(),
        });
    }
    for (k, (line, fields)) in table.records.iter().enumerate() {
        let expected = job.shard.point(k as u64).to_string();
        if fields.first() != Some(&expected) {
            return Err(SearchError::SweepCsv {
                path: journal_path.to_path_buf(),
                line: Some(*line),
                reason: format!(
                    "expected point {expected} here (rows are journaled in point order); the journal was edited or mixed"
                ),
            });
        }
    }
    let done = table.records.len() as u64;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(journal_path)
        .map_err(|source| SearchError::Io {
            action: "opening",
            path: journal_path.to_path_buf(),
            source,
        })?;
    file.set_len(complete as u64)
        .and_then(|()| file.sync_all())
        .map_err(|source| SearchError::Io {
            action: "trimming",
            path: journal_path.to_path_buf(),
            source,
        })?;
    Ok(done)
}

/// The first manifest field that differs, if any.
fn manifest_difference(found: &Manifest, wanted: &Manifest) -> Option<&'static str> {
    [
        ("format", found.format == wanted.format),
        ("space file content", found.space_fnv == wanted.space_fnv),
        ("base hwconfig", found.base_hw_fnv == wanted.base_hw_fnv),
        ("workloads", found.workloads == wanted.workloads),
        ("engine", found.engine == wanted.engine),
        ("shard", found.shard == wanted.shard),
        ("point count", found.total_points == wanted.total_points),
        ("header", found.header == wanted.header),
        ("workload backends", found.backends == wanted.backends),
        ("accuracy settings", found.accuracy == wanted.accuracy),
    ]
    .into_iter()
    .find(|(_, same)| !same)
    .map(|(name, _)| name)
}
