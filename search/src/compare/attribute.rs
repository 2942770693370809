//! Splitting one end-to-end run of a ReRAM design into per-class figures.
//!
//! Running each class alone would drop what the classes do to each other in the real run (an
//! elementwise op between two FCs breaks their layer pipelining, a chip sized for one class
//! leaks less), so its class figures would not explain the end-to-end figures. Instead every
//! class gets its share of the one end-to-end run: its ops' dynamic energy, its share of the
//! run time and the chip's leakage over that share. The shares add up to the end-to-end latency
//! and energy.

use super::class::OpClass;
use super::figures::Figures;
use crate::error::{Result, SearchError};
use recpim_sim::{Report, Workload};

/// Per-class figures of `report`, the end-to-end run of `workload`, in [`OpClass::ALL`] order
/// (classes without ops are left out).
///
/// Time: the run is cut at every op start and end; a slice is shared equally by the classes
/// with an op running in it, and an idle slice goes to the class of the next op to start (it
/// waits for that op). Energy: the class's ops' dynamic energy plus the chip's leakage power
/// times the class's time. Area: the chip's, as every class runs on the same silicon.
pub fn attribute_by_class(report: &Report, workload: &Workload) -> Result<Vec<(OpClass, Figures)>> {
    if report.layers.len() != workload.ops.len() {
        return Err(SearchError::Compare {
            what: format!("the report of {}", report.hw_name),
            reason: format!(
                "it has {} layers for {} ops",
                report.layers.len(),
                workload.ops.len()
            ),
        });
    }
    let classes: Vec<OpClass> = workload.ops.iter().map(OpClass::of).collect();
    let mut time_ns = [0.0f64; OpClass::ALL.len()];
    let mut dynamic_pj = [0.0f64; OpClass::ALL.len()];
    let mut present = [false; OpClass::ALL.len()];
    for (class, layer) in classes.iter().zip(&report.layers) {
        let i = class.index();
        present[i] = true;
        dynamic_pj[i] += layer.energy_pj;
    }

    // Cut points: 0, every op start and end, the end of the run.
    let mut cuts: Vec<f64> = vec![0.0, report.latency_ns];
    for layer in &report.layers {
        cuts.push(layer.start_ns);
        cuts.push(layer.end_ns);
    }
    cuts.retain(|t| t.is_finite());
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    // Ops sorted by start, for the idle-slice rule.
    let mut by_start: Vec<(f64, OpClass)> = report
        .layers
        .iter()
        .zip(&classes)
        .map(|(layer, class)| (layer.start_ns, *class))
        .collect();
    by_start.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in cuts.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        if to <= from || from >= report.latency_ns {
            continue;
        }
        let mut active = [false; OpClass::ALL.len()];
        for (layer, class) in report.layers.iter().zip(&classes) {
            if layer.start_ns <= from && layer.end_ns >= to && layer.end_ns > layer.start_ns {
                active[class.index()] = true;
            }
        }
        let sharing = active.iter().filter(|a| **a).count();
        if sharing == 0 {
            let waiting_for = by_start
                .iter()
                .find(|(start, _)| *start >= to)
                .or(by_start.last())
                .map(|(_, class)| *class);
            if let Some(class) = waiting_for {
                time_ns[class.index()] += to - from;
            }
            continue;
        }
        let share = (to - from) / sharing as f64;
        for (i, is_active) in active.iter().enumerate() {
            if *is_active {
                time_ns[i] += share;
            }
        }
    }

    let leakage_mw = if report.latency_ns > 0.0 {
        report.energy_breakdown_pj.leakage / report.latency_ns
    } else {
        0.0
    };
    Ok(OpClass::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| present[*i])
        .map(|(i, class)| {
            (
                *class,
                Figures {
                    latency_ns: time_ns[i],
                    // mW x ns = pJ.
                    energy_pj: dynamic_pj[i] + leakage_mw * time_ns[i],
                    area_mm2: Some(report.area_mm2),
                },
            )
        })
        .collect())
}
