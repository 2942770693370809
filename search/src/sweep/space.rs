//! The sweep-space file: which hwconfig keys (and workload bitwidths) a sweep varies, over
//! which values, as a full grid or a seeded random sample.
//!
//! ```toml
//! base_hw = "../default.toml"                          # relative to this file
//! workloads = ["../workloads/nasrec-7block.toml"]      # optional; `--workload` replaces it
//! mode = "grid"                                        # or "random" (then `samples`, `seed`)
//!
//! [keys]
//! "adc.bits" = [5, 6, 7, 8]
//! "crossbar.rows" = [64, 128, 256]
//! "workload.weight_bits" = [4, 8]                      # every MVM op of the workload
//! ```
//!
//! Axes are ordered by key name (so the order never depends on how the TOML table is stored);
//! with several workloads the workload is the slowest axis. Grid point `p` is the mixed-radix
//! decoding of `p` with the last axis fastest; random point `p` draws from its own ChaCha8 stream
//! (`seeds::candidate_rng(seed, p, SWEEP_SAMPLE)`), so any point can be built without the others,
//! which is what sharding relies on. Key and type errors are caught here; a value that is only
//! invalid in combination (e.g. `crossbar.active_rows` above `crossbar.rows`) becomes a skipped
//! row of the sweep with the simulator's reason.

use std::path::{Path, PathBuf};

use rand::Rng;
use recpim_sim::hwconfig::{apply_overrides, HwOverride};
use recpim_sim::{SimError, Workload};
use serde::Deserialize;

use crate::backend::BackendProvenance;
use crate::error::{Result, SearchError};
use crate::seeds::{candidate_rng, StreamPurpose};

/// Keys under `workload.` change the workload rather than the hardware.
pub const WORKLOAD_KEY_PREFIX: &str = "workload.";

/// The workload keys a space may sweep: they set the field on every op that has it.
pub const WORKLOAD_KEYS: [&str; 3] = [
    "workload.weight_bits",
    "workload.input_bits",
    "workload.element_bits",
];

/// Largest allowed bitwidth for the workload keys (the simulator checks the exact per-op range).
const MAX_WORKLOAD_BITS: i64 = 32;

/// Largest number of points a space may describe (keeps indices and CSV sizes sane).
pub const MAX_POINTS: u64 = 1 << 40;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpace {
    base_hw: String,
    #[serde(default)]
    workloads: Vec<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    samples: Option<u64>,
    #[serde(default)]
    seed: Option<u64>,
    keys: toml::Table,
}

/// How the points of a space are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// Every combination of the listed values.
    Grid,
    /// `samples` points drawn independently from seeded per-point streams.
    Random {
        /// Number of points.
        samples: u64,
        /// Seed of the per-point streams.
        seed: u64,
    },
}

/// The values one axis takes.
#[derive(Debug, Clone, PartialEq)]
pub enum AxisValues {
    /// An explicit list (grid or random choice).
    List(Vec<toml::Value>),
    /// Integers drawn uniformly from `min..=max` (random mode only).
    IntRange {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// Floats drawn uniformly from `[min, max]` (random mode only).
    FloatRange {
        /// Smallest value.
        min: f64,
        /// Largest value.
        max: f64,
    },
}

/// One swept key and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepAxis {
    /// Dotted hwconfig key (`adc.bits`) or workload key (`workload.weight_bits`).
    pub key: String,
    /// The values it takes.
    pub values: AxisValues,
}

impl SweepAxis {
    /// Whether the key changes the workload instead of the hardware.
    pub fn is_workload_key(&self) -> bool {
        self.key.starts_with(WORKLOAD_KEY_PREFIX)
    }

    /// The keys this axis sets: `a+b` ties several keys to one value (e.g. square crossbars
    /// with one DAC per row: `"crossbar.rows+crossbar.cols+dac.per_crossbar"`).
    pub fn tied_keys(&self) -> impl Iterator<Item = &str> {
        self.key.split('+').map(str::trim)
    }

    /// The overrides this axis applies for `value`.
    pub fn overrides(&self, value: &toml::Value) -> Vec<HwOverride> {
        self.tied_keys()
            .map(|key| HwOverride::new(key, value.clone()))
            .collect()
    }
}

/// A workload with the name it carries in the CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedWorkload {
    /// Name in the `workload` column (the path as given, or `<backend>:<genotype>`).
    pub name: String,
    /// The checked workload.
    pub workload: Workload,
    /// The model backend that produced it (recorded in the manifest); `None` for a file.
    pub backend: Option<BackendProvenance>,
}

impl NamedWorkload {
    /// Loads a workload file; `name` is what the rows will show.
    pub fn load(path: &Path, name: impl Into<String>) -> Result<NamedWorkload> {
        let workload = Workload::load(path).map_err(|source| SearchError::Hardware {
            context: format!("workload {}", path.display()),
            source: Box::new(source),
        })?;
        Ok(NamedWorkload {
            name: name.into(),
            workload,
            backend: None,
        })
    }

    /// A workload a model backend produced (`recpim sweep --backend`); its provenance goes
    /// into the sweep's manifest.
    pub fn from_backend(
        name: impl Into<String>,
        workload: Workload,
        backend: BackendProvenance,
    ) -> NamedWorkload {
        NamedWorkload {
            name: name.into(),
            workload,
            backend: Some(backend),
        }
    }
}

/// One point of a space: its index and the value of every axis.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// Index in `0..point_count`.
    pub index: u64,
    /// Index into the sweep's workload list.
    pub workload: usize,
    /// One value per axis, in axis order.
    pub values: Vec<toml::Value>,
}

/// A parsed, checked sweep space.
#[derive(Debug, Clone)]
pub struct SweepSpace {
    /// The space file (for messages).
    pub path: PathBuf,
    /// Text of the space file (hashed into the run manifest).
    pub text: String,
    /// The base hwconfig file.
    pub base_hw_path: PathBuf,
    /// `base_hw` as written in the space: names the base in row messages, so the rows do not
    /// depend on where the checkout lives.
    pub base_hw_name: String,
    /// Its text; overrides are applied to it for every point.
    pub base_hw_text: String,
    /// Workload files named by the space (resolved against its directory), in file order.
    pub workload_paths: Vec<(String, PathBuf)>,
    /// Grid or random sample.
    pub sampling: Sampling,
    /// The swept keys, sorted by key.
    pub axes: Vec<SweepAxis>,
}

impl SweepSpace {
    /// Reads and checks a space file.
    pub fn load(path: &Path) -> Result<SweepSpace> {
        let text = std::fs::read_to_string(path).map_err(|source| SearchError::Io {
            action: "reading the sweep space",
            path: path.to_path_buf(),
            source,
        })?;
        SweepSpace::from_toml_str(&text, path)
    }

    /// Parses and checks a space; `path` names it in errors and anchors relative paths.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<SweepSpace> {
        let origin = path.display().to_string();
        let raw: RawSpace = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| line_of_offset(text, span.start));
            SearchError::SweepSpace {
                path: origin.clone(),
                line,
                key: "(file)".to_string(),
                reason: e.message().to_string(),
            }
        })?;
        let key_error = |key: &str, reason: String| SearchError::SweepSpace {
            path: origin.clone(),
            line: line_of_key(text, key),
            key: key.to_string(),
            reason,
        };
        let dir = path.parent().unwrap_or_else(|| Path::new("."));

        let base_hw_path = dir.join(&raw.base_hw);
        let base_hw_text = std::fs::read_to_string(&base_hw_path).map_err(|e| {
            key_error(
                "base_hw",
                format!("cannot read {}: {e}", base_hw_path.display()),
            )
        })?;
        let base_origin = base_hw_path.display().to_string();
        // The base must be a valid hwconfig on its own.
        apply_overrides(&base_hw_text, &base_origin, &[])
            .map_err(|e| key_error("base_hw", e.to_string()))?;

        let workload_paths = raw
            .workloads
            .iter()
            .map(|name| (name.clone(), dir.join(name)))
            .collect();

        let sampling = match raw.mode.as_deref().unwrap_or("grid") {
            "grid" => {
                for (key, value) in [("samples", raw.samples), ("seed", raw.seed)] {
                    if value.is_some() {
                        return Err(key_error(
                            key,
                            "only allowed with mode = \"random\"".to_string(),
                        ));
                    }
                }
                Sampling::Grid
            }
            "random" => {
                let samples = raw.samples.ok_or_else(|| {
                    key_error(
                        "samples",
                        "mode = \"random\" needs samples = N (1..=2^40)".to_string(),
                    )
                })?;
                if samples == 0 || samples > MAX_POINTS {
                    return Err(key_error(
                        "samples",
                        format!("{samples} is out of range; allowed: 1..={MAX_POINTS}"),
                    ));
                }
                Sampling::Random {
                    samples,
                    seed: raw.seed.unwrap_or(0),
                }
            }
            other => {
                return Err(key_error(
                    "mode",
                    format!("\"{other}\" is not a mode; allowed: \"grid\", \"random\""),
                ))
            }
        };

        if raw.keys.is_empty() {
            return Err(key_error(
                "keys",
                "no keys to sweep; allowed: at least one `\"section.key\" = [values]`".to_string(),
            ));
        }
        let mut names: Vec<&String> = raw.keys.keys().collect();
        names.sort();
        let mut axes = Vec::with_capacity(names.len());
        for key in names {
            let value = &raw.keys[key.as_str()];
            let values =
                parse_axis_values(key, value, sampling).map_err(|reason| key_error(key, reason))?;
            let axis = SweepAxis {
                key: key.clone(),
                values,
            };
            if axis.is_workload_key() {
                check_workload_axis(&axis).map_err(|reason| key_error(key, reason))?;
            } else {
                check_hw_axis(&axis, &base_hw_text, &base_origin)
                    .map_err(|reason| key_error(key, reason))?;
            }
            axes.push(axis);
        }

        let space = SweepSpace {
            path: path.to_path_buf(),
            text: text.to_string(),
            base_hw_path,
            base_hw_name: raw.base_hw.clone(),
            base_hw_text,
            workload_paths,
            sampling,
            axes,
        };
        // Reject spaces too large to index.
        space.point_count(1.max(space.workload_paths.len()))?;
        Ok(space)
    }

    /// Loads the workloads the space names (used when the command line gives none).
    pub fn load_workloads(&self) -> Result<Vec<NamedWorkload>> {
        self.workload_paths
            .iter()
            .map(|(name, path)| NamedWorkload::load(path, name.clone()))
            .collect()
    }

    /// Number of points with `workloads` workloads.
    pub fn point_count(&self, workloads: usize) -> Result<u64> {
        let too_many = |count: String| SearchError::SweepSpace {
            path: self.path.display().to_string(),
            line: None,
            key: "keys".to_string(),
            reason: format!("the space has {count} points; allowed: at most {MAX_POINTS}"),
        };
        match self.sampling {
            Sampling::Random { samples, .. } => Ok(samples),
            Sampling::Grid => {
                let mut count = workloads.max(1) as u64;
                for axis in &self.axes {
                    let len = match &axis.values {
                        AxisValues::List(values) => values.len() as u64,
                        // Ranges are rejected in grid mode at parse time.
                        AxisValues::IntRange { .. } | AxisValues::FloatRange { .. } => 1,
                    };
                    count = count
                        .checked_mul(len)
                        .filter(|&c| c <= MAX_POINTS)
                        .ok_or_else(|| too_many("more than 2^40".to_string()))?;
                }
                Ok(count)
            }
        }
    }

    /// The point with index `index` (`< point_count(workloads)`), built without the others.
    pub fn point(&self, index: u64, workloads: usize) -> SweepPoint {
        let workloads = workloads.max(1);
        match self.sampling {
            Sampling::Grid => {
                let mut rest = index;
                let mut values = vec![toml::Value::Boolean(false); self.axes.len()];
                for (slot, axis) in values.iter_mut().zip(&self.axes).rev() {
                    if let AxisValues::List(list) = &axis.values {
                        let len = list.len().max(1) as u64;
                        let pick = (rest % len) as usize;
                        rest /= len;
                        if let Some(v) = list.get(pick) {
                            *slot = v.clone();
                        }
                    }
                }
                SweepPoint {
                    index,
                    workload: (rest % workloads as u64) as usize,
                    values,
                }
            }
            Sampling::Random { seed, .. } => {
                let mut rng = candidate_rng(seed, index, StreamPurpose::SWEEP_SAMPLE);
                let workload = rng.random_range(0..workloads);
                let values = self
                    .axes
                    .iter()
                    .map(|axis| match &axis.values {
                        AxisValues::List(list) => {
                            let pick = rng.random_range(0..list.len().max(1));
                            list.get(pick)
                                .cloned()
                                .unwrap_or(toml::Value::Boolean(false))
                        }
                        AxisValues::IntRange { min, max } => {
                            toml::Value::Integer(rng.random_range(*min..=*max))
                        }
                        AxisValues::FloatRange { min, max } => {
                            toml::Value::Float(rng.random_range(*min..=*max))
                        }
                    })
                    .collect();
                SweepPoint {
                    index,
                    workload,
                    values,
                }
            }
        }
    }

    /// The seed written in every row: the sampling seed, 0 for grids.
    pub fn seed(&self) -> u64 {
        match self.sampling {
            Sampling::Grid => 0,
            Sampling::Random { seed, .. } => seed,
        }
    }
}

/// Text of a swept value as it appears in the CSV (strings without quotes).
pub fn value_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => format!("{f:?}"),
        toml::Value::Boolean(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn parse_axis_values(
    key: &str,
    value: &toml::Value,
    sampling: Sampling,
) -> std::result::Result<AxisValues, String> {
    match value {
        toml::Value::Array(list) => {
            if list.is_empty() {
                return Err("empty list; allowed: at least one value".to_string());
            }
            for (i, v) in list.iter().enumerate() {
                if matches!(
                    v,
                    toml::Value::Array(_) | toml::Value::Table(_) | toml::Value::Datetime(_)
                ) {
                    return Err(format!(
                        "value {i} is a {}; allowed: integers, floats, strings, booleans",
                        v.type_str()
                    ));
                }
                if list[..i].contains(v) {
                    return Err(format!(
                        "value {} is listed twice; allowed: distinct values",
                        value_text(v)
                    ));
                }
            }
            Ok(AxisValues::List(list.clone()))
        }
        toml::Value::Table(range) => {
            if sampling == Sampling::Grid {
                return Err(
                    "a { min, max } range needs mode = \"random\"; a grid takes a list".to_string(),
                );
            }
            if let Some(extra) = range.keys().find(|k| *k != "min" && *k != "max") {
                return Err(format!(
                    "unknown range key `{extra}`; allowed: min, max"
                ));
            }
            match (range.get("min"), range.get("max")) {
                (Some(toml::Value::Integer(min)), Some(toml::Value::Integer(max))) => {
                    if min > max {
                        return Err(format!("min {min} > max {max}"));
                    }
                    Ok(AxisValues::IntRange {
                        min: *min,
                        max: *max,
                    })
                }
                (Some(min), Some(max)) => {
                    let as_f64 = |v: &toml::Value| match v {
                        toml::Value::Integer(i) => Some(*i as f64),
                        toml::Value::Float(f) => Some(*f),
                        _ => None,
                    };
                    match (as_f64(min), as_f64(max)) {
                        (Some(lo), Some(hi)) if lo.is_finite() && hi.is_finite() && lo <= hi => {
                            Ok(AxisValues::FloatRange { min: lo, max: hi })
                        }
                        _ => Err(format!(
                            "range min = {min}, max = {max}; allowed: finite numbers with min <= max"
                        )),
                    }
                }
                _ => Err("a range needs both min and max".to_string()),
            }
        }
        other => Err(format!(
            "{key} = {other} is a single {}; allowed: a list [v1, v2, ...] (or {{ min, max }} in random mode)",
            other.type_str()
        )),
    }
}

/// Values tried when checking an axis against the base hwconfig.
fn probe_values(axis: &SweepAxis) -> Vec<toml::Value> {
    match &axis.values {
        AxisValues::List(list) => list.clone(),
        AxisValues::IntRange { min, max } => {
            vec![toml::Value::Integer(*min), toml::Value::Integer(*max)]
        }
        AxisValues::FloatRange { min, max } => {
            vec![toml::Value::Float(*min), toml::Value::Float(*max)]
        }
    }
}

/// Unknown keys and values of the wrong type are errors of the space; range errors are not
/// (they may depend on other swept keys) and surface as skipped rows.
fn check_hw_axis(
    axis: &SweepAxis,
    base_text: &str,
    base_origin: &str,
) -> std::result::Result<(), String> {
    if axis.tied_keys().any(|k| k.starts_with(WORKLOAD_KEY_PREFIX)) {
        return Err(format!(
            "workload keys cannot be tied to hwconfig keys; allowed alone: {}",
            WORKLOAD_KEYS.join(", ")
        ));
    }
    for value in probe_values(axis) {
        match apply_overrides(base_text, base_origin, &axis.overrides(&value)) {
            Ok(_) => {}
            Err(SimError::Override { reason, .. })
            | Err(SimError::Parse {
                message: reason, ..
            }) => {
                return Err(format!(
                    "value {} does not fit the hwconfig format: {reason}",
                    value_text(&value)
                ));
            }
            Err(_) => {}
        }
    }
    Ok(())
}

fn check_workload_axis(axis: &SweepAxis) -> std::result::Result<(), String> {
    if !WORKLOAD_KEYS.contains(&axis.key.as_str()) {
        return Err(format!(
            "unknown workload key; allowed: {}",
            WORKLOAD_KEYS.join(", ")
        ));
    }
    for value in probe_values(axis) {
        match value {
            toml::Value::Integer(bits) if (1..=MAX_WORKLOAD_BITS).contains(&bits) => {}
            other => {
                return Err(format!(
                    "value {} is out of range; allowed: integers 1..={MAX_WORKLOAD_BITS}",
                    value_text(&other)
                ))
            }
        }
    }
    Ok(())
}

/// Applies the workload keys of a point to a copy of `workload`.
pub fn apply_workload_keys(workload: &Workload, keys: &[(&str, i64)]) -> Workload {
    let mut out = workload.clone();
    for op in &mut out.ops {
        for &(key, bits) in keys {
            let bits = u32::try_from(bits).unwrap_or(u32::MAX);
            match (key, &mut *op) {
                ("workload.weight_bits", recpim_sim::Op::Mvm { weight_bits, .. }) => {
                    *weight_bits = bits
                }
                ("workload.input_bits", recpim_sim::Op::Mvm { input_bits, .. }) => {
                    *input_bits = bits
                }
                ("workload.element_bits", recpim_sim::Op::Gather { element_bits, .. }) => {
                    *element_bits = bits
                }
                _ => {}
            }
        }
    }
    out
}

/// 1-based line of a byte offset.
fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// 1-based line where `key` is assigned (quoted or bare), if it can be found.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    let forms = [format!("\"{key}\""), format!("'{key}'"), key.to_string()];
    text.lines()
        .position(|line| {
            let trimmed = line.trim_start();
            if key == "keys" && trimmed.starts_with("[keys]") {
                return true;
            }
            forms.iter().any(|form| {
                trimmed
                    .strip_prefix(form.as_str())
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
        })
        .map(|i| i + 1)
}
