//! The outputs of a co-design run, written into its directory:
//! - `pareto.csv`: one row per feasible non-dominated design (columns in [`CSV_COLUMNS`]);
//! - `pareto.svg`: log loss against energy and against latency, every evaluated design, the
//!   front, and the baselines marked;
//! - `designs/<config_hash>/{genotype.json, bits.json, hw.toml, workload.toml}` for every front design, so that
//!   `recpim simulate --genotype .. --bits .. --hw ..` reproduces the row's latency, energy and area;
//! - `report.md`: the front, the chosen designs (best accuracy, best EDP, knee), the comparison
//!   with the baselines, the hypervolume per generation and the command reproducing each point.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::architecture::Architecture;
use super::objectives::DesignMetrics;
use super::problem::DesignEvaluator;
use super::record::DesignRecord;
use super::space::CodesignSpace;
use crate::error::{Result, SearchError};
use crate::plot::{write_front_panels_svg, Axis, FrontPlot};

/// Header of `pareto.csv`. `config_hash` is the design's identity ([`DesignRecord::design_hash`]),
/// `hw_config_hash` the resolved hwconfig's own hash, `genotype_hash` the architecture hash.
pub const CSV_COLUMNS: [&str; 17] = [
    "config_hash",
    "seed",
    "island",
    "candidate_id",
    "generation",
    "genotype_hash",
    "bits",
    "hardware",
    "hw_config_hash",
    "log_loss_ideal",
    "log_loss_hardware",
    "latency_ns",
    "energy_pj",
    "area_mm2",
    "edp_pj_ns",
    "constraint_violation",
    "design_dir",
];

/// A reference design marked on the plot and compared in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineMark {
    /// Label, e.g. "isaac-handcrafted (best-accuracy model)".
    pub label: String,
    /// Log loss the model reaches on that hardware (`None` when accuracy is not measured).
    pub log_loss: Option<f64>,
    /// Latency, ns.
    pub latency_ns: f64,
    /// Energy, pJ.
    pub energy_pj: f64,
    /// Area, mm², when the baseline has one.
    pub area_mm2: Option<f64>,
}

/// One line of the comparison table: a chosen design against a baseline running the same model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonRow {
    /// The chosen design's label (e.g. "best EDP").
    pub design: String,
    /// The baseline's label.
    pub baseline: String,
    /// Baseline latency / design latency.
    pub speedup: f64,
    /// Baseline energy / design energy.
    pub energy_ratio: f64,
    /// Baseline's latency, ns.
    pub baseline_latency_ns: f64,
    /// Baseline's energy, pJ.
    pub baseline_energy_pj: f64,
}

/// A design picked out of the front for people.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenDesign {
    /// "best accuracy", "best EDP" or "knee".
    pub label: &'static str,
    /// Index into the history.
    pub index: usize,
}

/// Picks the front's best log loss ([`DesignMetrics::accuracy_log_loss`]; none when no log loss
/// is measured), best EDP and knee. The knee is the front design closest (Euclidean) to the
/// ideal point after scaling log loss (when measured), energy and latency to [0, 1] over the
/// front; ties go to the earlier index.
pub fn choose_designs(history: &[DesignRecord], front: &[usize]) -> Vec<ChosenDesign> {
    let measured = |i: &usize| {
        history
            .get(*i)
            .is_some_and(|r| r.metrics.accuracy_log_loss().is_some())
    };
    let accuracy_measured = !front.is_empty() && front.iter().all(measured);
    let pick = |key: &dyn Fn(&DesignMetrics) -> f64| {
        front
            .iter()
            .copied()
            .filter(|&i| i < history.len())
            .min_by(|&a, &b| {
                key(&history[a].metrics)
                    .total_cmp(&key(&history[b].metrics))
                    .then(a.cmp(&b))
            })
    };
    // Only read when `accuracy_measured`, i.e. every front design has a log loss.
    let log_loss = |m: &DesignMetrics| m.accuracy_log_loss().unwrap_or(f64::INFINITY);
    let mut chosen = Vec::new();
    if accuracy_measured {
        if let Some(i) = pick(&log_loss) {
            chosen.push(ChosenDesign {
                label: "best accuracy",
                index: i,
            });
        }
    }
    if let Some(i) = pick(&|m| m.edp_pj_ns()) {
        chosen.push(ChosenDesign {
            label: "best EDP",
            index: i,
        });
    }
    let mut axes: Vec<fn(&DesignMetrics) -> f64> = Vec::with_capacity(3);
    if accuracy_measured {
        axes.push(log_loss);
    }
    axes.push(|m| m.energy_pj);
    axes.push(|m| m.latency_ns);
    let ranges: Vec<(f64, f64)> = axes
        .iter()
        .map(|f| {
            front
                .iter()
                .filter_map(|&i| history.get(i).map(|r| f(&r.metrics)))
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                })
        })
        .collect();
    let distance = |m: &DesignMetrics| {
        axes.iter()
            .zip(&ranges)
            .map(|(f, &(lo, hi))| {
                let span = hi - lo;
                let x = if span > 0.0 { (f(m) - lo) / span } else { 0.0 };
                x * x
            })
            .sum::<f64>()
    };
    if let Some(i) = pick(&distance) {
        chosen.push(ChosenDesign {
            label: "knee",
            index: i,
        });
    }
    chosen
}

/// Where a front design's files live, relative to the run directory.
pub fn design_dir(record: &DesignRecord) -> PathBuf {
    Path::new("designs").join(record.design_hash())
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> SearchError {
    SearchError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| io_error("writing", path, e))
}

/// Bits file in the plugin ABI's JSON form (`{"weight_bits": [..], "activation_bits": [..]}`).
pub fn bits_json(record: &DesignRecord) -> String {
    #[derive(Serialize)]
    struct Bits<'a> {
        weight_bits: &'a [u32],
        activation_bits: &'a [u32],
    }
    let bits = Bits {
        weight_bits: &record.genome.weight_bits,
        activation_bits: &record.genome.activation_bits,
    };
    // Serialising two integer vectors cannot fail.
    serde_json::to_string_pretty(&bits).unwrap_or_default() + "\n"
}

/// Writes `designs/<config_hash>/{genotype.json, bits.json, hw.toml, workload.toml}` under
/// `run_dir`.
pub fn write_design_files(
    run_dir: &Path,
    record: &DesignRecord,
    space: &CodesignSpace,
    evaluator: &dyn DesignEvaluator,
) -> Result<()> {
    let dir = run_dir.join(design_dir(record));
    std::fs::create_dir_all(&dir).map_err(|e| io_error("creating", &dir, e))?;
    let genotype = match &record.genome.arch {
        Architecture::Nasrec(genotype) => {
            let mut genotype = genotype.clone();
            genotype.test_loss = record.metrics.log_loss_ideal;
            genotype.to_json_string()
        }
        // Serialising a JSON value cannot fail.
        Architecture::Fixed(model) => {
            serde_json::to_string_pretty(&model.genotype).unwrap_or_default() + "\n"
        }
    };
    write_text(&dir.join("genotype.json"), &genotype)?;
    write_text(&dir.join("bits.json"), &bits_json(record))?;
    let hw = space.hwconfig_of(&record.genome.hardware)?;
    write_text(&dir.join("hw.toml"), &hw.to_toml_string())?;
    let workload = evaluator.workload(&record.genome)?;
    write_text(&dir.join("workload.toml"), &workload.to_toml_string())?;
    Ok(())
}

/// Identity of the run written into every CSV row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunIdentity {
    /// The run's seed (an island's own seed for island runs).
    pub seed: u64,
    /// Island index, when the run is one island of several.
    pub island: Option<u32>,
}

/// `pareto.csv` text for the front designs (`front` indexes `history`).
pub fn pareto_csv(history: &[DesignRecord], front: &[usize], id: RunIdentity) -> Result<String> {
    rows_csv(history, front, id, &|_| true)
}

/// CSV of the designs `rows` (indices into `history`); `has_files(i)` says whether design `i`'s
/// files are written (else its `design_dir` cell is empty).
fn rows_csv(
    history: &[DesignRecord],
    rows: &[usize],
    id: RunIdentity,
    has_files: &dyn Fn(usize) -> bool,
) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| SearchError::Codesign {
        what: "pareto.csv".to_string(),
        reason: e.to_string(),
    };
    w.write_record(CSV_COLUMNS).map_err(csv_err)?;
    for &i in rows {
        let Some(r) = history.get(i) else {
            return Err(SearchError::IndexOutOfRange {
                what: "front",
                index: i,
                len: history.len(),
            });
        };
        let m = &r.metrics;
        // An unmeasured log loss is an empty cell (merge and front tools skip those).
        let cell = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        let row = [
            r.design_hash(),
            id.seed.to_string(),
            id.island.map_or(String::new(), |i| i.to_string()),
            r.candidate_id.to_string(),
            r.generation.to_string(),
            r.genome.arch.hash_hex(),
            r.genome.bits_text(),
            r.hardware_settings.clone(),
            r.hw_config_hash.clone(),
            cell(m.log_loss_ideal),
            cell(m.log_loss_hardware),
            m.latency_ns.to_string(),
            m.energy_pj.to_string(),
            m.area_mm2.to_string(),
            m.edp_pj_ns().to_string(),
            r.constraint_violation.to_string(),
            if has_files(i) {
                design_dir(r).display().to_string()
            } else {
                String::new()
            },
        ];
        w.write_record(&row).map_err(csv_err)?;
    }
    let bytes = w.into_inner().map_err(|e| SearchError::Codesign {
        what: "pareto.csv".to_string(),
        reason: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|e| SearchError::Codesign {
        what: "pareto.csv".to_string(),
        reason: e.to_string(),
    })
}

/// Writes `pareto.svg`: log loss (the hardware one, else the ideal one) against energy (left)
/// and against latency (right), every evaluated feasible design as a point, baselines marked.
/// When no design has a log loss (a backend without accuracy) the panels are latency and area
/// against energy instead. Energy and latency use logarithmic axes (designs span orders of
/// magnitude).
pub fn write_pareto_svg(
    path: &Path,
    history: &[DesignRecord],
    baselines: &[BaselineMark],
) -> Result<()> {
    let feasible: Vec<&DesignRecord> = history
        .iter()
        .filter(|r| r.constraint_violation == 0.0)
        .collect();
    let with_accuracy = feasible
        .iter()
        .all(|r| r.metrics.accuracy_log_loss().is_some());
    let hardware_measured = feasible
        .iter()
        .all(|r| r.metrics.log_loss_hardware.is_some());
    type Value<T> = fn(&T) -> Option<f64>;
    let panel = |title: &str,
                 x_axis: Axis,
                 y_axis: Axis,
                 (x, y): (Value<DesignMetrics>, Value<DesignMetrics>),
                 (bx, by): (Value<BaselineMark>, Value<BaselineMark>)| {
        let points = feasible
            .iter()
            .filter_map(|r| Some((x(&r.metrics)?, y(&r.metrics)?)))
            .collect();
        let mut plot = FrontPlot::new(title, x_axis, y_axis, points);
        for b in baselines {
            if let (Some(bx), Some(by)) = (bx(b), by(b)) {
                plot = plot.with_baseline(b.label.clone(), bx, by);
            }
        }
        plot
    };
    let energy = || Axis::log10("energy per inference batch", "pJ");
    let latency = || Axis::log10("latency per inference batch", "ns");
    let plots = if with_accuracy {
        let loss = || {
            Axis::linear(
                if hardware_measured {
                    "validation log loss (hardware)"
                } else {
                    "validation log loss (backend, ideal arithmetic)"
                },
                "1",
            )
        };
        [
            panel(
                "Log loss vs energy",
                energy(),
                loss(),
                (|m| Some(m.energy_pj), |m| m.accuracy_log_loss()),
                (|b| Some(b.energy_pj), |b| b.log_loss),
            ),
            panel(
                "Log loss vs latency",
                latency(),
                loss(),
                (|m| Some(m.latency_ns), |m| m.accuracy_log_loss()),
                (|b| Some(b.latency_ns), |b| b.log_loss),
            ),
        ]
    } else {
        [
            panel(
                "Latency vs energy (no accuracy measured)",
                energy(),
                latency(),
                (|m| Some(m.energy_pj), |m| Some(m.latency_ns)),
                (|b| Some(b.energy_pj), |b| Some(b.latency_ns)),
            ),
            panel(
                "Area vs energy (no accuracy measured)",
                energy(),
                Axis::linear("chip area", "mm2"),
                (|m| Some(m.energy_pj), |m| Some(m.area_mm2)),
                (|b| Some(b.energy_pj), |b| b.area_mm2),
            ),
        ]
    };
    write_front_panels_svg(&plots, path)
}

/// What `report.md` is written from.
#[derive(Debug, Clone)]
pub struct ReportContext<'a> {
    /// Run name (title).
    pub run_name: &'a str,
    /// The command line that produced the run.
    pub command_line: &'a str,
    /// Seed and island.
    pub identity: RunIdentity,
    /// The space searched.
    pub space: &'a CodesignSpace,
    /// The model part of the search, e.g. `NASRec-Small` or `the fixed genotype of plugin dlrm
    /// 0.1.0`.
    pub architecture: &'a str,
    /// Every evaluated design.
    pub history: &'a [DesignRecord],
    /// Indices of the front in `history`.
    pub front: &'a [usize],
    /// (generation, hypervolume of the feasible front so far).
    pub hypervolume: &'a [(u32, f64)],
    /// Reference point of the hypervolume (objective order as `objective_names`).
    pub hypervolume_reference: &'a [f64],
    /// Names of the searched objectives.
    pub objective_names: &'a [&'a str],
    /// Baselines (plot marks and table).
    pub baselines: &'a [BaselineMark],
    /// Chosen designs against the baselines.
    pub comparisons: &'a [ComparisonRow],
    /// Flags `recpim simulate` needs besides `--genotype/--bits/--hw` (e.g. `--shape criteo
    /// --engine analytic`); `None`: reproduce from the design's `workload.toml` instead.
    pub simulate_flags: Option<&'a str>,
    /// Facts about the data and budget, one per line (shown as a list).
    pub notes: &'a [String],
    /// The comparison library's detailed Markdown (per-class figures, assumptions), if any.
    pub baseline_detail: &'a str,
}

fn reproduce_in(d: &str, simulate_flags: Option<&str>) -> String {
    match simulate_flags {
        Some(flags) => format!(
            "recpim simulate --genotype {d}/genotype.json --bits {d}/bits.json --hw {d}/hw.toml {flags}"
        ),
        None => format!(
            "recpim simulate --workload {d}/workload.toml --hw {d}/hw.toml --engine analytic"
        ),
    }
}

/// The command that reproduces a front design's latency, energy and area, run from the run
/// directory.
pub fn reproduce_command(r: &DesignRecord, simulate_flags: Option<&str>) -> String {
    reproduce_in(&design_dir(r).display().to_string(), simulate_flags)
}

/// `report.md` text.
pub fn report_markdown(c: &ReportContext<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Co-design run `{}`\n", c.run_name);
    let _ = writeln!(s, "Command: `{}`\n", c.command_line);
    let _ = writeln!(
        s,
        "- space: `{}` ({}; {} hardware designs x {} x bits {:?}), base hwconfig `{}`",
        c.space.origin,
        c.space.name,
        c.space.hardware_design_count(),
        c.architecture,
        c.space.bits,
        c.space.base_hwconfig_path.display()
    );
    let _ = writeln!(
        s,
        "- seed {}{}; {} designs evaluated; {} on the front",
        c.identity.seed,
        c.identity
            .island
            .map_or(String::new(), |i| format!(", island {i}")),
        c.history.len(),
        c.front.len()
    );
    let _ = writeln!(
        s,
        "- objectives (all minimised): {}",
        c.objective_names.join(", ")
    );
    for note in c.notes {
        let _ = writeln!(s, "- {note}");
    }
    if !c.history.is_empty()
        && c.history
            .iter()
            .all(|r| r.metrics.accuracy_log_loss().is_none())
    {
        let _ = writeln!(
            s,
            "\n**Accuracy was not measured**: the model backend has no accuracy model, so the \
             log-loss objective is dropped. Designs are ranked on energy, latency and area only; \
             the log-loss columns are empty and there is no \"best accuracy\" design."
        );
    }
    let _ = writeln!(
        s,
        "\nLatency and energy are those of the mapped workload on the design (analytic engine); \
         area is the chip area the workload occupies. `edp_pj_ns` = energy x latency.\n"
    );

    let _ = writeln!(s, "## Chosen designs\n");
    let chosen = choose_designs(c.history, c.front);
    let _ = writeln!(
        s,
        "| choice | config_hash | bits | hardware | log loss ideal | log loss hw | latency ns | energy pJ | area mm² | EDP pJ·ns |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    for ch in &chosen {
        let r = &c.history[ch.index];
        let m = &r.metrics;
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {} | {} | {:.1} | {:.1} | {:.4} | {:.4e} |",
            ch.label,
            r.design_hash(),
            r.genome.bits_text(),
            r.hardware_settings,
            loss_text(m.log_loss_ideal),
            loss_text(m.log_loss_hardware),
            m.latency_ns,
            m.energy_pj,
            m.area_mm2,
            m.edp_pj_ns()
        );
    }
    let _ = writeln!(s, "\nReproduce each from this directory:\n");
    for ch in &chosen {
        let r = &c.history[ch.index];
        let _ = writeln!(
            s,
            "- {}: `{}`",
            ch.label,
            reproduce_command(r, c.simulate_flags)
        );
    }

    let _ = writeln!(s, "\n## Against the baselines\n");
    if c.comparisons.is_empty() {
        let _ = writeln!(s, "No baseline figures were available for this run.");
    } else {
        let _ = writeln!(
            s,
            "Each chosen design's model and bits on the baseline hardware, against the searched hardware \
             (speed-up = baseline latency / design latency; energy ratio = baseline energy / design energy).\n"
        );
        let _ = writeln!(
            s,
            "| design | baseline | baseline latency ns | baseline energy pJ | speed-up | energy ratio |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for row in c.comparisons {
            let _ = writeln!(
                s,
                "| {} | {} | {:.1} | {:.1} | {:.2}x | {:.2}x |",
                row.design,
                row.baseline,
                row.baseline_latency_ns,
                row.baseline_energy_pj,
                row.speedup,
                row.energy_ratio
            );
        }
    }

    if !c.baseline_detail.is_empty() {
        let _ = writeln!(
            s,
            "\n<details><summary>Best-EDP design against the baselines, per operator class</summary>\n\n{}\n</details>",
            c.baseline_detail
        );
    }

    let _ = writeln!(s, "\n## Pareto front ({} designs)\n", c.front.len());
    let _ = writeln!(
        s,
        "| config_hash | gen | bits | hardware | log loss ideal | log loss hw | latency ns | energy pJ | area mm² |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    let mut order: Vec<usize> = c.front.to_vec();
    // By log loss when measured (unmeasured last), then by energy.
    let key = |i: usize| {
        let m = &c.history[i].metrics;
        (m.accuracy_log_loss().unwrap_or(f64::INFINITY), m.energy_pj)
    };
    order.sort_by(|&a, &b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.total_cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(a.cmp(&b))
    });
    for &i in &order {
        let r = &c.history[i];
        let m = &r.metrics;
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.4} |",
            r.design_hash(),
            r.generation,
            r.genome.bits_text(),
            r.hardware_settings,
            loss_text(m.log_loss_ideal),
            loss_text(m.log_loss_hardware),
            m.latency_ns,
            m.energy_pj,
            m.area_mm2
        );
    }
    let _ = writeln!(
        s,
        "\nEvery front design's files are in `designs/<config_hash>/`; reproduce any row with\n`{}`.",
        reproduce_command_template(c.simulate_flags)
    );

    let _ = writeln!(s, "\n## Hypervolume per generation\n");
    let _ = writeln!(
        s,
        "Reference point ({}): {:?}\n",
        c.objective_names.join(", "),
        c.hypervolume_reference
    );
    let _ = writeln!(s, "| generation | hypervolume |");
    let _ = writeln!(s, "|---|---|");
    for (g, hv) in c.hypervolume {
        let _ = writeln!(s, "| {g} | {hv:.6e} |");
    }
    let _ = writeln!(
        s,
        "\n![front](pareto.svg)\n\nAll rows: `pareto.csv`. Every evaluated design: `history.csv`."
    );
    s
}

/// A log loss for the Markdown tables; "n/a" when not measured.
fn loss_text(value: Option<f64>) -> String {
    value.map_or("n/a".to_string(), |v| format!("{v:.5}"))
}

fn reproduce_command_template(simulate_flags: Option<&str>) -> String {
    reproduce_in("designs/<config_hash>", simulate_flags)
}

/// `history.csv`: every evaluated design (same columns as `pareto.csv`, `design_dir` empty for
/// designs off the front).
pub fn history_csv(history: &[DesignRecord], front: &[usize], id: RunIdentity) -> Result<String> {
    let all: Vec<usize> = (0..history.len()).collect();
    rows_csv(history, &all, id, &|i| front.contains(&i))
}

/// Writes `pareto.csv`, `history.csv`, `pareto.svg`, `report.md` and the front designs' files
/// into `run_dir` (which must exist).
pub fn write_run_outputs(
    run_dir: &Path,
    c: &ReportContext<'_>,
    evaluator: &dyn DesignEvaluator,
) -> Result<()> {
    for &i in c.front {
        if let Some(r) = c.history.get(i) {
            write_design_files(run_dir, r, c.space, evaluator)?;
        }
    }
    write_text(
        &run_dir.join("pareto.csv"),
        &pareto_csv(c.history, c.front, c.identity)?,
    )?;
    write_text(
        &run_dir.join("history.csv"),
        &history_csv(c.history, c.front, c.identity)?,
    )?;
    if c.history.iter().any(|r| r.constraint_violation == 0.0) {
        write_pareto_svg(&run_dir.join("pareto.svg"), c.history, c.baselines)?;
    }
    write_text(&run_dir.join("report.md"), &report_markdown(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codesign::genome::JointGenome;
    use recpim_model::genotype::SearchSpace;
    use recpim_model::net::full_path_genotype;

    fn record(id: u64, loss: f64, energy_pj: f64, latency_ns: f64) -> DesignRecord {
        DesignRecord {
            candidate_id: id,
            generation: 0,
            genome: JointGenome {
                arch: full_path_genotype(SearchSpace::Small, 2, 16, 16).into(),
                weight_bits: vec![8],
                activation_bits: vec![4],
                hardware: vec![0],
            },
            metrics: DesignMetrics {
                log_loss_ideal: Some(loss),
                log_loss_hardware: Some(loss),
                latency_ns,
                energy_pj,
                area_mm2: 1.0,
            },
            hw_config_hash: format!("hw{id}"),
            hardware_settings: "adc.bits=6".to_string(),
            constraint_violation: 0.0,
        }
    }

    #[test]
    fn chosen_designs_are_best_accuracy_best_edp_and_knee() {
        // Front of three: accurate but costly, cheap but inaccurate, and a balanced middle.
        let history = [
            record(0, 0.40, 1000.0, 1000.0),
            record(1, 0.60, 10.0, 10.0),
            record(2, 0.42, 100.0, 100.0),
        ];
        let chosen = choose_designs(&history, &[0, 1, 2]);
        let pick = |label: &str| chosen.iter().find(|c| c.label == label).map(|c| c.index);
        assert_eq!(pick("best accuracy"), Some(0));
        assert_eq!(pick("best EDP"), Some(1));
        assert_eq!(pick("knee"), Some(2));
        assert!(choose_designs(&history, &[]).is_empty());

        // Without accuracy: no "best accuracy", and the knee over energy and latency alone.
        let costs_only: Vec<DesignRecord> = history
            .iter()
            .cloned()
            .map(|mut r| {
                r.metrics.log_loss_ideal = None;
                r.metrics.log_loss_hardware = None;
                r
            })
            .collect();
        let chosen = choose_designs(&costs_only, &[0, 1, 2]);
        let labels: Vec<&str> = chosen.iter().map(|c| c.label).collect();
        assert_eq!(labels, ["best EDP", "knee"]);
        assert!(chosen.iter().all(|c| c.index == 1));
        let text = history_csv(
            &costs_only,
            &[1],
            RunIdentity {
                seed: 0,
                island: None,
            },
        )
        .unwrap();
        let row: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
        assert_eq!(
            (row[9], row[10]),
            ("", ""),
            "unmeasured log losses are empty"
        );
    }

    #[test]
    fn csv_has_the_documented_columns_and_exact_figures() {
        let history = [record(0, 0.4, 12.5, 3.0), record(1, 0.5, 1.0, 1.0)];
        let id = RunIdentity {
            seed: 9,
            island: Some(2),
        };
        let text = history_csv(&history, &[1], id).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(CSV_COLUMNS.join(",").as_str()));
        let first: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(first.len(), CSV_COLUMNS.len());
        assert_eq!(first[0], history[0].design_hash());
        assert_eq!((first[1], first[2]), ("9", "2"));
        assert_eq!(first[6], "w8a4");
        assert_eq!(first[14], "37.5", "edp = energy x latency");
        assert_eq!(first[16], "", "off-front designs have no files");
        let second: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(second[16], format!("designs/{}", history[1].design_hash()));
        // Same model and bits on another hwconfig is another design.
        assert_ne!(history[0].design_hash(), history[1].design_hash());
    }
}
