//! The searched designs against the baselines (handcrafted ReRAM presets, RecNMP) through the
//! comparison library ([`crate::compare`]): each chosen front design's workload (its model and
//! bits) is costed on its own searched hwconfig and on every baseline with the same engine and
//! assumptions, giving end-to-end speed-up and energy ratio (baseline / design).
//!
//! Plot marks use the best-accuracy design's model (the best-EDP one when no accuracy is
//! measured): a ReRAM baseline's log loss is measured by the evaluator on that baseline's
//! hardware (with the functional path for the built-in evaluator); a digital baseline (RecNMP,
//! CPU) computes exactly, so it gets the model's quantized-ideal log loss.

use super::objectives::DesignMetrics;
use super::problem::DesignEvaluator;
use super::report::{choose_designs, BaselineMark, ComparisonRow};
use super::run::CodesignOutcome;
use super::space::CodesignSpace;
use crate::compare::{compare, to_markdown, Baseline, CompareSettings, DesignRole, Scope};
use crate::error::Result;

/// Baselines compared by default.
pub const DEFAULT_BASELINES: [&str; 2] = ["isaac-handcrafted", "recnmp"];

/// Plot marks, table rows and the comparison library's full Markdown for the best-EDP design.
#[derive(Debug, Clone, Default)]
pub struct BaselineComparison {
    /// Marks for the plot (best-accuracy model on each baseline).
    pub marks: Vec<BaselineMark>,
    /// End-to-end speed-up and energy ratio of each chosen design against each baseline.
    pub rows: Vec<ComparisonRow>,
    /// `compare` Markdown (per-class figures, assumptions) of the best-EDP design.
    pub detail_markdown: String,
}

/// Compares the chosen designs of `outcome` with `baselines`.
pub fn compare_with_baselines(
    evaluator: &dyn DesignEvaluator,
    outcome: &CodesignOutcome,
    space: &CodesignSpace,
    baselines: &[Baseline],
    settings: &CompareSettings,
    seed: u64,
) -> Result<BaselineComparison> {
    let mut out = BaselineComparison::default();
    if baselines.is_empty() {
        return Ok(out);
    }
    let chosen_designs = choose_designs(&outcome.records, &outcome.front);
    let marked = if chosen_designs.iter().any(|c| c.label == "best accuracy") {
        "best accuracy"
    } else {
        "best EDP"
    };
    for chosen in chosen_designs {
        let record = &outcome.records[chosen.index];
        let workload = evaluator.workload(&record.genome)?;
        let hw = space.hwconfig_of(&record.genome.hardware)?;
        let name = format!("{} {}", chosen.label, record.design_hash());
        let designs = vec![(name.clone(), "searched".to_string(), hw)];
        let cmp = compare(&name, &workload, &designs, baselines, settings)?;
        for r in cmp
            .ratios
            .iter()
            .filter(|r| r.scope == Scope::EndToEnd && r.design == name)
        {
            let figures = cmp
                .designs
                .iter()
                .find(|d| d.role == DesignRole::Baseline && d.name == r.baseline);
            out.rows.push(ComparisonRow {
                design: format!("{} `{}`", chosen.label, record.design_hash()),
                baseline: r.baseline.clone(),
                speedup: r.speedup,
                energy_ratio: r.energy_ratio,
                baseline_latency_ns: figures.map_or(f64::NAN, |d| d.end_to_end.latency_ns),
                baseline_energy_pj: figures.map_or(f64::NAN, |d| d.end_to_end.energy_pj),
            });
        }
        if chosen.label == marked {
            for (baseline, figures) in baselines.iter().zip(
                cmp.designs
                    .iter()
                    .filter(|d| d.role == DesignRole::Baseline),
            ) {
                let log_loss = match baseline {
                    Baseline::Reram { hw, .. } => {
                        let m: DesignMetrics = evaluator.evaluate(&record.genome, hw, seed)?;
                        m.accuracy_log_loss()
                    }
                    _ => record.metrics.log_loss_ideal,
                };
                out.marks.push(BaselineMark {
                    label: figures.name.clone(),
                    log_loss,
                    latency_ns: figures.end_to_end.latency_ns,
                    energy_pj: figures.end_to_end.energy_pj,
                    area_mm2: figures.end_to_end.area_mm2,
                });
            }
        }
        if chosen.label == "best EDP" {
            out.detail_markdown = to_markdown(&cmp);
        }
    }
    Ok(out)
}
