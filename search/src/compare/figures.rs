//! What a comparison measures for one design: latency, energy, area and EDP, per class and end
//! to end.

use super::class::OpClass;
use serde::Serialize;

/// Latency, energy and area of one design on one piece of work.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figures {
    /// Time from the first op's start to the last op's end, ns.
    pub latency_ns: f64,
    /// Total energy (dynamic and static), pJ.
    pub energy_pj: f64,
    /// Silicon area the work needs, mm^2; `None` where the design's area is not modelled
    /// (RecNMP's NMP logic and the host CPU: see the assumptions table).
    pub area_mm2: Option<f64>,
}

impl Figures {
    /// Energy-delay product in pJ x ns.
    pub fn edp_pj_ns(&self) -> f64 {
        self.energy_pj * self.latency_ns
    }

    /// Two pieces of work run one after the other on the same design: latencies and energies
    /// add; the area is the larger of the two (the same silicon serves both), unknown if either
    /// is unknown.
    pub fn then(&self, next: &Figures) -> Figures {
        let area_mm2 = match (self.area_mm2, next.area_mm2) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        Figures {
            latency_ns: self.latency_ns + next.latency_ns,
            energy_pj: self.energy_pj + next.energy_pj,
            area_mm2,
        }
    }
}

/// Whether a design is one of the designs under study or a baseline it is judged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DesignRole {
    /// A design under study (a `--hw` file, e.g. the searched or the default design).
    Design,
    /// A baseline (`--baseline`).
    Baseline,
}

/// One class's figures on one design.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassFigures {
    /// The class.
    pub class: OpClass,
    /// Its figures: its share of the end-to-end run on a ReRAM design, its own ops on a DRAM
    /// baseline (where the classes run one after the other, so they add up either way).
    pub figures: Figures,
    /// Where the class runs on this design (e.g. `reram crossbars`, `host cpu`, `recnmp dimms`).
    pub placement: String,
}

/// One component's part of a design's end-to-end energy (where the energy goes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnergyPart {
    /// The component: a simulator bucket for ReRAM designs (`adc`, `leakage`, ...), a DRAM
    /// energy term (`dram background`, `channel io`, ...) or `host cpu` for the DRAM baselines.
    pub component: String,
    /// Its energy, pJ.
    pub energy_pj: f64,
}

/// One design's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesignFigures {
    /// The design's name (hwconfig `name`, or the baseline's name).
    pub name: String,
    /// Design under study or baseline.
    pub role: DesignRole,
    /// Where the design came from (hwconfig file, built-in preset).
    pub source: String,
    /// The hwconfig hash for ReRAM designs (`HwConfig::config_hash`), empty otherwise.
    pub config_hash: String,
    /// Per class, in [`OpClass::ALL`] order; classes absent from the workload are left out.
    pub per_class: Vec<ClassFigures>,
    /// The whole workload.
    pub end_to_end: Figures,
    /// The end-to-end energy by component; the parts add up to `end_to_end.energy_pj`.
    pub energy_split: Vec<EnergyPart>,
}

impl DesignFigures {
    /// The figures of one class, if the workload has it.
    pub fn class(&self, class: OpClass) -> Option<&Figures> {
        self.per_class
            .iter()
            .find(|c| c.class == class)
            .map(|c| &c.figures)
    }
}
