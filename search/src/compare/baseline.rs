//! The baselines a design is judged against: RecNMP, the host CPU and handcrafted ReRAM designs.

use crate::error::{Result, SearchError};
use recpim_sim::HwConfig;
use std::path::Path;

/// The built-in baseline names, as `--baseline` takes them.
pub const BASELINE_NAMES: [&str; 5] = [
    "recnmp",
    "cpu",
    "isaac-handcrafted",
    "rerec-like",
    "mnsim-default",
];

const ISAAC_HANDCRAFTED_TOML: &str =
    include_str!("../../../hwconfigs/baselines/isaac-handcrafted.toml");
const REREC_LIKE_TOML: &str = include_str!("../../../hwconfigs/baselines/rerec-like.toml");
const MNSIM_DEFAULT_TOML: &str = include_str!("../../../hwconfigs/mnsim-default.toml");

/// A design to compare against.
#[derive(Debug, Clone, PartialEq)]
pub enum Baseline {
    /// RecNMP (Ke et al., ISCA 2020): embedding lookups in the DIMMs' rank-NMP units; MLPs,
    /// interactions and elementwise ops on the host CPU.
    Recnmp,
    /// RecNMP's own baseline: the host CPU reads every embedding row over the DDR4 channel and
    /// runs the rest of the model too.
    Cpu,
    /// A handcrafted ReRAM design: the whole workload on its hwconfig, as for any design.
    Reram {
        /// The name used in tables (built-in name, or the hwconfig's `name`).
        name: String,
        /// Where it came from (`built-in hwconfigs/...` or the file path).
        source: String,
        /// The checked hwconfig.
        hw: Box<HwConfig>,
    },
}

impl Baseline {
    /// A built-in baseline by name ([`BASELINE_NAMES`]), or a ReRAM hwconfig file when the
    /// argument ends in `.toml`.
    pub fn from_name(name: &str) -> Result<Baseline> {
        let builtin = |file: &str, text: &str| -> Result<Baseline> {
            let source = format!("built-in hwconfigs/{file}");
            let hw = HwConfig::from_toml_str(text, &source).map_err(|source_error| {
                SearchError::Hardware {
                    context: format!("loading the {name} baseline"),
                    source: Box::new(source_error),
                }
            })?;
            Ok(Baseline::Reram {
                name: name.to_string(),
                source,
                hw: Box::new(hw),
            })
        };
        match name {
            "recnmp" => Ok(Baseline::Recnmp),
            "cpu" => Ok(Baseline::Cpu),
            "isaac-handcrafted" => {
                builtin("baselines/isaac-handcrafted.toml", ISAAC_HANDCRAFTED_TOML)
            }
            "rerec-like" => builtin("baselines/rerec-like.toml", REREC_LIKE_TOML),
            "mnsim-default" => builtin("mnsim-default.toml", MNSIM_DEFAULT_TOML),
            other if other.ends_with(".toml") => Baseline::from_file(Path::new(other)),
            other => Err(SearchError::Compare {
                what: format!("baseline `{other}`"),
                reason: format!(
                    "unknown baseline (allowed: {}, or a ReRAM hwconfig file ending in .toml)",
                    BASELINE_NAMES.join(", ")
                ),
            }),
        }
    }

    /// A ReRAM hwconfig file used as a baseline; its `name` key names it.
    pub fn from_file(path: &Path) -> Result<Baseline> {
        let hw = HwConfig::load(path).map_err(|source| SearchError::Hardware {
            context: format!("loading the baseline hwconfig {}", path.display()),
            source: Box::new(source),
        })?;
        Ok(Baseline::Reram {
            name: hw.name().to_string(),
            source: path.display().to_string(),
            hw: Box::new(hw),
        })
    }

    /// The name used in tables.
    pub fn name(&self) -> &str {
        match self {
            Baseline::Recnmp => "recnmp",
            Baseline::Cpu => "cpu",
            Baseline::Reram { name, .. } => name,
        }
    }

    /// Where the baseline came from.
    pub fn source(&self) -> String {
        match self {
            Baseline::Recnmp => "RecNMP model (recpim_sim::recnmp) + host CPU model".to_string(),
            Baseline::Cpu => {
                "host DRAM model (recpim_sim::recnmp host baseline) + host CPU model".to_string()
            }
            Baseline::Reram { source, .. } => source.clone(),
        }
    }
}
