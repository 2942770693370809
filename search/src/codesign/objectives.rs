//! What a co-design candidate is judged on: its log loss (quantized-ideal and through the
//! hardware's functional crossbar path) and the simulator's latency, energy and area, plus the
//! user's constraints (e.g. `--max-area-mm2`), turned into a constrained Pareto point.
//!
//! A log loss is only present when the evaluator measures it ([`AccuracyMeasures`]): the
//! built-in evaluator measures both, a plugin backend at most the ideal one (its accuracy
//! function does not see the hardware) and none when it has no accuracy model. A run then
//! ranks designs only on what was measured ([`Objective::defaults_for`]); nothing is made up.
//!
//! All objectives are minimised. A constraint violation is the sum of the relative excesses over
//! the limits (`value / limit - 1` where positive), so a design 10 % over its area budget ranks
//! behind every feasible design and ahead of one 50 % over (Deb's constrained domination, as
//! [`crate::pareto`] implements it).

use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};
use crate::pareto::{Objectives, ParetoPoint};

/// Measured figures of one design (model x bits x hardware).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DesignMetrics {
    /// Validation log loss with fake-quantized weights and activations, ideal arithmetic (for a
    /// plugin backend: what its accuracy function reports); `None` when not measured.
    pub log_loss_ideal: Option<f64>,
    /// Validation log loss with every crossbar product computed through the functional path
    /// (bit slicing, active rows, ADC resolution and clipping); `None` when not measured.
    pub log_loss_hardware: Option<f64>,
    /// Latency of the mapped workload on the design (analytic engine), ns.
    pub latency_ns: f64,
    /// Energy of the mapped workload on the design, pJ.
    pub energy_pj: f64,
    /// Chip area of the design for the workload, mm².
    pub area_mm2: f64,
}

impl DesignMetrics {
    /// Energy-delay product, pJ·ns.
    pub fn edp_pj_ns(&self) -> f64 {
        self.energy_pj * self.latency_ns
    }

    /// The log loss accuracy is judged by: through the hardware when measured, else the ideal
    /// one; `None` when the evaluator measures no accuracy.
    pub fn accuracy_log_loss(&self) -> Option<f64> {
        self.log_loss_hardware.or(self.log_loss_ideal)
    }

    /// Checks that every figure is finite (and the hardware ones not negative).
    pub fn check(&self) -> Result<()> {
        let figures = [
            ("log_loss_ideal", self.log_loss_ideal),
            ("log_loss_hardware", self.log_loss_hardware),
            ("latency_ns", Some(self.latency_ns)),
            ("energy_pj", Some(self.energy_pj)),
            ("area_mm2", Some(self.area_mm2)),
        ];
        for (name, value) in figures {
            if let Some(value) = value.filter(|v| !v.is_finite() || *v < 0.0) {
                return Err(SearchError::InvalidMetric { name, value });
            }
        }
        Ok(())
    }

    /// The value of one objective; `None` for a log loss that was not measured.
    pub fn objective(&self, objective: Objective) -> Option<f64> {
        match objective {
            Objective::LogLossHardware => self.log_loss_hardware,
            Objective::LogLossIdeal => self.log_loss_ideal,
            Objective::LatencyNs => Some(self.latency_ns),
            Objective::EnergyPj => Some(self.energy_pj),
            Objective::AreaMm2 => Some(self.area_mm2),
            Objective::EdpPjNs => Some(self.edp_pj_ns()),
        }
    }
}

/// Which validation log losses an evaluator measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccuracyMeasures {
    /// `log_loss_ideal` is measured.
    pub ideal: bool,
    /// `log_loss_hardware` is measured.
    pub hardware: bool,
}

impl AccuracyMeasures {
    /// Both log losses (the built-in evaluator).
    pub const BOTH: AccuracyMeasures = AccuracyMeasures {
        ideal: true,
        hardware: true,
    };

    /// No accuracy at all (a backend without an accuracy model).
    pub const NONE: AccuracyMeasures = AccuracyMeasures {
        ideal: false,
        hardware: false,
    };

    /// Whether `objective` has a value for every design.
    pub fn measures(self, objective: Objective) -> bool {
        match objective {
            Objective::LogLossHardware => self.hardware,
            Objective::LogLossIdeal => self.ideal,
            _ => true,
        }
    }

    /// Whether any log loss is measured.
    pub fn any(self) -> bool {
        self.ideal || self.hardware
    }
}

/// One minimised quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Hardware-functional validation log loss.
    LogLossHardware,
    /// Quantized-ideal validation log loss.
    LogLossIdeal,
    /// Latency, ns.
    LatencyNs,
    /// Energy, pJ.
    EnergyPj,
    /// Area, mm².
    AreaMm2,
    /// Energy-delay product, pJ·ns.
    EdpPjNs,
}

impl Objective {
    /// The search's default objectives: hardware log loss, energy, latency and area (four, the
    /// most the exact hypervolume supports).
    pub const DEFAULT: [Objective; 4] = [
        Objective::LogLossHardware,
        Objective::EnergyPj,
        Objective::LatencyNs,
        Objective::AreaMm2,
    ];

    /// The default objectives for what an evaluator measures: [`Objective::DEFAULT`] when the
    /// hardware log loss is measured; the ideal log loss in its place when only that is; energy,
    /// latency and area alone when no accuracy is measured.
    pub fn defaults_for(measures: AccuracyMeasures) -> Vec<Objective> {
        let mut objectives = Vec::with_capacity(4);
        if measures.hardware {
            objectives.push(Objective::LogLossHardware);
        } else if measures.ideal {
            objectives.push(Objective::LogLossIdeal);
        }
        objectives.extend([
            Objective::EnergyPj,
            Objective::LatencyNs,
            Objective::AreaMm2,
        ]);
        objectives
    }

    /// Column / flag name.
    pub fn name(self) -> &'static str {
        match self {
            Objective::LogLossHardware => "log_loss_hardware",
            Objective::LogLossIdeal => "log_loss_ideal",
            Objective::LatencyNs => "latency_ns",
            Objective::EnergyPj => "energy_pj",
            Objective::AreaMm2 => "area_mm2",
            Objective::EdpPjNs => "edp_pj_ns",
        }
    }
}

/// Upper limits a design must meet; `None` = unconstrained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    /// Largest allowed area, mm².
    pub max_area_mm2: Option<f64>,
    /// Largest allowed latency, ns.
    pub max_latency_ns: Option<f64>,
    /// Largest allowed energy, pJ.
    pub max_energy_pj: Option<f64>,
    /// Largest allowed log loss (the hardware one when measured, else the ideal one; see
    /// [`DesignMetrics::accuracy_log_loss`]).
    pub max_log_loss: Option<f64>,
}

impl Constraints {
    /// Checks that every given limit is finite and positive; `flag` names are the CLI's.
    pub fn check(&self) -> Result<()> {
        let limits = [
            ("--max-area-mm2", self.max_area_mm2),
            ("--max-latency-ns", self.max_latency_ns),
            ("--max-energy-pj", self.max_energy_pj),
            ("--max-log-loss", self.max_log_loss),
        ];
        for (flag, limit) in limits {
            if let Some(value) = limit {
                if !value.is_finite() || value <= 0.0 {
                    return Err(SearchError::InvalidConstraint { flag, value });
                }
            }
        }
        Ok(())
    }

    /// Sum of relative excesses over the limits (0 = feasible). A log-loss limit on a design
    /// without a measured log loss adds nothing; runs refuse that combination up front.
    pub fn violation(&self, m: &DesignMetrics) -> f64 {
        let pairs = [
            (self.max_area_mm2, Some(m.area_mm2)),
            (self.max_latency_ns, Some(m.latency_ns)),
            (self.max_energy_pj, Some(m.energy_pj)),
            (self.max_log_loss, m.accuracy_log_loss()),
        ];
        pairs
            .iter()
            .filter_map(|&(limit, value)| Some((value? / limit? - 1.0).max(0.0)))
            // fold from +0.0: `sum` of no f64 is -0.0, which would print as "-0".
            .fold(0.0, |acc, x| acc + x)
    }

    /// True when no limit is set.
    pub fn is_empty(&self) -> bool {
        self.max_area_mm2.is_none()
            && self.max_latency_ns.is_none()
            && self.max_energy_pj.is_none()
            && self.max_log_loss.is_none()
    }
}

/// The constrained Pareto point of a design under `objectives` and `constraints`; fails when an
/// objective was not measured for the design.
pub fn pareto_point(
    m: &DesignMetrics,
    objectives: &[Objective],
    constraints: &Constraints,
) -> Result<ParetoPoint> {
    let values = objectives
        .iter()
        .map(|&o| {
            m.objective(o).ok_or_else(|| SearchError::Codesign {
                what: format!("objective {}", o.name()),
                reason:
                    "was not measured for this design (the backend has no such accuracy figure)"
                        .to_string(),
            })
        })
        .collect::<Result<Vec<f64>>>()?;
    ParetoPoint::with_violation(Objectives::new(values)?, constraints.violation(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(loss: f64, area_mm2: f64) -> DesignMetrics {
        DesignMetrics {
            log_loss_ideal: Some(loss),
            log_loss_hardware: Some(loss),
            latency_ns: 100.0,
            energy_pj: 50.0,
            area_mm2,
        }
    }

    #[test]
    fn violation_is_the_relative_excess() {
        let c = Constraints {
            max_area_mm2: Some(2.0),
            ..Constraints::default()
        };
        assert_eq!(c.violation(&metrics(0.4, 1.0)), 0.0);
        assert!((c.violation(&metrics(0.4, 3.0)) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn infeasible_design_loses_to_a_feasible_worse_one() {
        let c = Constraints {
            max_area_mm2: Some(2.0),
            ..Constraints::default()
        };
        let small = pareto_point(&metrics(0.5, 1.0), &Objective::DEFAULT, &c).unwrap();
        let big = pareto_point(&metrics(0.3, 2.5), &Objective::DEFAULT, &c).unwrap();
        assert!(small.dominates(&big));
    }

    #[test]
    fn bad_limits_and_metrics_are_rejected() {
        let c = Constraints {
            max_latency_ns: Some(-1.0),
            ..Constraints::default()
        };
        assert!(c
            .check()
            .unwrap_err()
            .to_string()
            .contains("--max-latency-ns"));
        let mut m = metrics(0.4, 1.0);
        m.energy_pj = f64::NAN;
        assert!(m.check().unwrap_err().to_string().contains("energy_pj"));
    }

    #[test]
    fn unmeasured_log_losses_drop_out_of_defaults_and_points() {
        assert_eq!(
            Objective::defaults_for(AccuracyMeasures::BOTH),
            Objective::DEFAULT.to_vec()
        );
        let ideal_only = AccuracyMeasures {
            ideal: true,
            hardware: false,
        };
        assert_eq!(
            Objective::defaults_for(ideal_only)[0],
            Objective::LogLossIdeal
        );
        let costs = Objective::defaults_for(AccuracyMeasures::NONE);
        assert_eq!(
            costs,
            vec![
                Objective::EnergyPj,
                Objective::LatencyNs,
                Objective::AreaMm2
            ]
        );
        let mut m = metrics(0.4, 1.0);
        m.log_loss_ideal = None;
        m.log_loss_hardware = None;
        assert!(m.check().is_ok());
        assert!(pareto_point(&m, &costs, &Constraints::default()).is_ok());
        let err = pareto_point(&m, &Objective::DEFAULT, &Constraints::default()).unwrap_err();
        assert!(err.to_string().contains("log_loss_hardware"), "{err}");
        // The ideal log loss stands in for the hardware one in a log-loss limit.
        m.log_loss_ideal = Some(0.5);
        let limit = Constraints {
            max_log_loss: Some(0.25),
            ..Constraints::default()
        };
        assert!((limit.violation(&m) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn edp_is_energy_times_latency() {
        assert_eq!(metrics(0.4, 1.0).edp_pj_ns(), 5000.0);
    }
}
