//! The co-design search space file (`hwconfigs/spaces/*.toml`, format in
//! `hwconfigs/spaces/README.md`): a base hwconfig, fixed overrides applied to every design, the
//! searched hardware keys with their allowed values (dotted hwconfig keys, applied through
//! [`recpim_sim::hwconfig::apply_overrides`] so a searched design is always a valid hwconfig), the
//! NASRec architecture space and the allowed bitwidths.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use recpim_model::genotype::SearchSpace;
use recpim_sim::hwconfig::{apply_overrides, HwOverride};
use recpim_sim::HwConfig;
use serde::Deserialize;

use crate::error::{Result, SearchError};

/// Smallest and largest bitwidth a space may list (the quantizer accepts 2..=16).
pub const BITS_RANGE: std::ops::RangeInclusive<u32> = 2..=16;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpaceFile {
    name: String,
    base_hwconfig: PathBuf,
    architecture: RawArchitecture,
    #[serde(default)]
    fixed: toml::Table,
    hardware: toml::Table,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArchitecture {
    space: String,
    bits: Vec<u32>,
}

/// One searched hardware key and its allowed values, in the file's order.
#[derive(Debug, Clone, PartialEq)]
pub struct HardwareKey {
    /// Dotted hwconfig key, e.g. `adc.bits`.
    pub key: String,
    /// The allowed values (at least one).
    pub values: Vec<toml::Value>,
}

/// A checked co-design search space.
#[derive(Debug, Clone)]
pub struct CodesignSpace {
    /// Name of the space (reports).
    pub name: String,
    /// Where the space came from (a path, or a name for in-memory spaces).
    pub origin: String,
    /// Path of the base hwconfig as resolved (relative paths are relative to the space file).
    pub base_hwconfig_path: PathBuf,
    /// Text of the base hwconfig (overrides are applied to it).
    pub base_hwconfig_text: String,
    /// Overrides applied to every design before the searched ones.
    pub fixed: Vec<HwOverride>,
    /// Searched hardware keys, sorted by key (the genome indexes them in this order).
    pub hardware: Vec<HardwareKey>,
    /// The NASRec architecture space.
    pub arch_space: SearchSpace,
    /// Allowed weight and activation bitwidths, ascending, without duplicates.
    pub bits: Vec<u32>,
}

fn key_error(path: &str, key: &str, reason: impl Into<String>) -> SearchError {
    SearchError::SpaceKey {
        path: path.to_string(),
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// Flattens nested tables into (dotted key, leaf value) pairs in sorted key order.
fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
    let sorted: BTreeMap<&String, &toml::Value> = table.iter().collect();
    for (name, value) in sorted {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&key, inner, out),
            leaf => out.push((key, leaf.clone())),
        }
    }
}

impl CodesignSpace {
    /// Reads and checks a space file; a relative `base_hwconfig` is resolved against the file's
    /// directory.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| SearchError::Io {
            action: "reading the co-design space",
            path: path.to_path_buf(),
            source,
        })?;
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        Self::from_toml_str(&text, &path.display().to_string(), dir)
    }

    /// Parses and checks a space given as text; `origin` names it in errors and `base_dir`
    /// resolves a relative `base_hwconfig`.
    pub fn from_toml_str(text: &str, origin: &str, base_dir: &Path) -> Result<Self> {
        let raw: RawSpaceFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            SearchError::SpaceParse {
                path: origin.to_string(),
                line,
                message: e.message().to_string(),
            }
        })?;
        let arch_space = SearchSpace::from_name(&raw.architecture.space).ok_or_else(|| {
            key_error(
                origin,
                "architecture.space",
                format!(
                    "unknown space {:?}; allowed: small (autoctr), full (xlarge)",
                    raw.architecture.space
                ),
            )
        })?;
        let mut bits = raw.architecture.bits.clone();
        bits.sort_unstable();
        bits.dedup();
        if bits.is_empty() {
            return Err(key_error(
                origin,
                "architecture.bits",
                "needs at least one bitwidth, e.g. [4, 8]",
            ));
        }
        if let Some(&bad) = bits.iter().find(|b| !BITS_RANGE.contains(b)) {
            return Err(key_error(
                origin,
                "architecture.bits",
                format!(
                    "{bad} is out of range; allowed: {}..={}",
                    BITS_RANGE.start(),
                    BITS_RANGE.end()
                ),
            ));
        }
        let base_hwconfig_path = if raw.base_hwconfig.is_absolute() {
            raw.base_hwconfig.clone()
        } else {
            base_dir.join(&raw.base_hwconfig)
        };
        let base_hwconfig_text =
            std::fs::read_to_string(&base_hwconfig_path).map_err(|source| SearchError::Io {
                action: "reading the base hwconfig of the co-design space",
                path: base_hwconfig_path.clone(),
                source,
            })?;
        let mut fixed_pairs = Vec::new();
        flatten("", &raw.fixed, &mut fixed_pairs);
        let fixed: Vec<HwOverride> = fixed_pairs
            .into_iter()
            .map(|(key, value)| HwOverride::new(key, value))
            .collect();
        let mut hardware_pairs = Vec::new();
        flatten("", &raw.hardware, &mut hardware_pairs);
        if hardware_pairs.is_empty() {
            return Err(key_error(
                origin,
                "hardware",
                "needs at least one searched key, e.g. adc.bits = [5, 6, 7]",
            ));
        }
        let mut hardware = Vec::with_capacity(hardware_pairs.len());
        for (key, value) in hardware_pairs {
            let full_key = format!("hardware.{key}");
            let toml::Value::Array(values) = value else {
                return Err(key_error(
                    origin,
                    &full_key,
                    format!(
                        "expected a list of allowed values, got a {}",
                        value.type_str()
                    ),
                ));
            };
            if values.is_empty() {
                return Err(key_error(
                    origin,
                    &full_key,
                    "the list of allowed values is empty",
                ));
            }
            hardware.push(HardwareKey { key, values });
        }
        let space = CodesignSpace {
            name: raw.name,
            origin: origin.to_string(),
            base_hwconfig_path,
            base_hwconfig_text,
            fixed,
            hardware,
            arch_space,
            bits,
        };
        space.check_values()?;
        Ok(space)
    }

    /// Every fixed override together, and each searched value on its own on top of them, must
    /// give a valid hwconfig; the error names the key, the value and the simulator's reason.
    fn check_values(&self) -> Result<()> {
        apply_overrides(&self.base_hwconfig_text, &self.base_origin(), &self.fixed).map_err(
            |e| {
                key_error(
                    &self.origin,
                    "fixed",
                    format!("the fixed overrides fail: {e}"),
                )
            },
        )?;
        for hk in &self.hardware {
            for value in &hk.values {
                let mut overrides = self.fixed.clone();
                overrides.push(HwOverride::new(hk.key.clone(), value.clone()));
                apply_overrides(&self.base_hwconfig_text, &self.base_origin(), &overrides)
                    .map_err(|e| {
                        key_error(
                            &self.origin,
                            &format!("hardware.{}", hk.key),
                            format!("value {value} is not a valid hwconfig setting: {e}"),
                        )
                    })?;
            }
        }
        Ok(())
    }

    /// The origin name used for the base hwconfig in simulator errors.
    pub fn base_origin(&self) -> String {
        self.base_hwconfig_path.display().to_string()
    }

    /// Number of hardware designs in the space (product of the value counts; saturating).
    pub fn hardware_design_count(&self) -> u128 {
        self.hardware
            .iter()
            .fold(1u128, |n, hk| n.saturating_mul(hk.values.len() as u128))
    }

    /// The overrides of the hardware choice `choice` (one value index per searched key, in
    /// [`CodesignSpace::hardware`] order): the fixed ones first, then the searched ones.
    pub fn overrides_of(&self, choice: &[usize]) -> Result<Vec<HwOverride>> {
        if choice.len() != self.hardware.len() {
            return Err(SearchError::GenomeMismatch {
                what: "hardware choice",
                expected: self.hardware.len(),
                found: choice.len(),
            });
        }
        let mut overrides = self.fixed.clone();
        for (hk, &index) in self.hardware.iter().zip(choice) {
            let value = hk.values.get(index).ok_or(SearchError::IndexOutOfRange {
                what: "hardware choice value",
                index,
                len: hk.values.len(),
            })?;
            overrides.push(HwOverride::new(hk.key.clone(), value.clone()));
        }
        Ok(overrides)
    }

    /// The checked hwconfig of a hardware choice; `Err` when the combination is invalid (e.g.
    /// more active rows than rows), which sampling and mutation treat as "draw again".
    pub fn hwconfig_of(&self, choice: &[usize]) -> Result<HwConfig> {
        let overrides = self.overrides_of(choice)?;
        apply_overrides(&self.base_hwconfig_text, &self.base_origin(), &overrides).map_err(
            |source| SearchError::Hardware {
                context: format!("hardware design of space {}", self.origin),
                source: Box::new(source),
            },
        )
    }

    /// `key=value` text of a hardware choice's searched settings, in key order, e.g.
    /// `adc.bits=6;crossbar.rows=128` (CSV column and report text).
    pub fn settings_text(&self, choice: &[usize]) -> String {
        self.hardware
            .iter()
            .zip(choice)
            .map(|(hk, &i)| match hk.values.get(i) {
                Some(v) => format!("{}={}", hk.key, value_text(v)),
                None => format!("{}=?", hk.key),
            })
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// A TOML value as written in a CSV cell: strings without quotes, numbers and booleans as TOML.
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
