//! Running every design and baseline on one workload and forming the ratios.

use super::assumptions::{assumptions, Assumption};
use super::attribute::attribute_by_class;
use super::baseline::Baseline;
use super::class::{split_by_class, OpClass};
use super::figures::{ClassFigures, DesignFigures, DesignRole, EnergyPart, Figures};
use super::host::HostCpu;
use super::lookups::{gather_shape, resolve, LookupSource, Lookups};
use crate::error::{Result, SearchError};
use rayon::prelude::*;
use recpim_sim::recnmp::{simulate as simulate_recnmp, EnergySplit, RecnmpConfig, RecnmpReport};
use recpim_sim::{simulate_analytic, HwConfig, Op, Workload};
use serde::Serialize;

/// Bits per element of RecNMP's embedding tables: its rank-NMP adders are FP32
/// (baselines.md §1.2 [R]), so tables are stored in FP32 whatever the ReRAM designs use.
pub const RECNMP_ELEMENT_BITS: u32 = 32;

/// Bytes of one DDR4 burst; RecNMP vectors are whole bursts.
pub const RECNMP_BURST_BYTES: u64 = 64;

/// Everything besides the workload and the designs that decides a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareSettings {
    /// The RecNMP (and host DRAM) model's configuration.
    pub recnmp: RecnmpConfig,
    /// The host CPU that runs the non-embedding ops of the `recnmp` and `cpu` baselines.
    pub host: HostCpu,
    /// Where the embedding lookups come from.
    pub lookups: LookupSource,
}

impl CompareSettings {
    /// The shipped RecNMP preset (`hwconfigs/baselines/recnmp.toml`), the default host CPU and a
    /// trace generated from the workload's gather ops with seed 1.
    pub fn builtin() -> Result<CompareSettings> {
        let recnmp = RecnmpConfig::builtin().map_err(|source| SearchError::Recnmp {
            context: "loading the built-in RecNMP config".to_string(),
            source,
        })?;
        Ok(CompareSettings {
            recnmp,
            host: HostCpu::default(),
            lookups: LookupSource::Workload { seed: 1 },
        })
    }
}

/// Where a ratio applies: one operator class or the whole workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// One operator class (its share of the run, or its own ops on a DRAM baseline).
    Class(OpClass),
    /// The whole workload.
    EndToEnd,
}

impl Scope {
    /// The name used in tables (`mlp`, ..., `end-to-end`).
    pub fn name(self) -> &'static str {
        match self {
            Scope::Class(class) => class.name(),
            Scope::EndToEnd => "end-to-end",
        }
    }
}

/// A design against a baseline on one scope. Every ratio is baseline / design, so > 1 means
/// the design is better.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ratio {
    /// The design's name.
    pub design: String,
    /// The baseline's name.
    pub baseline: String,
    /// Class or end to end.
    pub scope: Scope,
    /// Baseline latency / design latency.
    pub speedup: f64,
    /// Baseline energy / design energy.
    pub energy_ratio: f64,
    /// Baseline EDP / design EDP.
    pub edp_ratio: f64,
}

impl Ratio {
    /// The ratios of `design` against `baseline` on one scope; `None` when either side lacks
    /// the scope or has a zero latency or energy there (no finite ratio).
    pub fn between(
        design: &DesignFigures,
        baseline: &DesignFigures,
        scope: Scope,
    ) -> Option<Ratio> {
        let (d, b) = match scope {
            Scope::Class(class) => (design.class(class)?, baseline.class(class)?),
            Scope::EndToEnd => (&design.end_to_end, &baseline.end_to_end),
        };
        let positive = |f: &Figures| f.latency_ns > 0.0 && f.energy_pj > 0.0;
        if !(positive(d) && positive(b)) {
            return None;
        }
        Some(Ratio {
            design: design.name.clone(),
            baseline: baseline.name.clone(),
            scope,
            speedup: b.latency_ns / d.latency_ns,
            energy_ratio: b.energy_pj / d.energy_pj,
            edp_ratio: b.edp_pj_ns() / d.edp_pj_ns(),
        })
    }
}

/// A finished comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// What the workload is (a file, a genotype and its bits).
    pub workload: String,
    /// Where the embedding lookups came from.
    pub lookups: String,
    /// Designs under study first (in the order given), then baselines.
    pub designs: Vec<DesignFigures>,
    /// Every design against every baseline, per class then end to end.
    pub ratios: Vec<Ratio>,
    /// What the figures assume.
    pub assumptions: Vec<Assumption>,
    /// RecNMP's own report on the lookups (RecNMP and the host DRAM baseline), when a DRAM
    /// baseline was asked for.
    pub recnmp: Option<RecnmpReport>,
}

/// A ReRAM design on `workload` with the analytic engine: one end-to-end run, split into
/// per-class shares (`attribute.rs`).
pub fn evaluate_reram(
    name: &str,
    source: &str,
    role: DesignRole,
    hw: &HwConfig,
    workload: &Workload,
) -> Result<DesignFigures> {
    let report = simulate_analytic(hw, workload).map_err(|source_error| SearchError::Hardware {
        context: format!("simulating the workload on {name} ({source})"),
        source: Box::new(source_error),
    })?;
    let per_class = attribute_by_class(&report, workload)?
        .into_iter()
        .map(|(class, figures)| ClassFigures {
            class,
            figures,
            placement: reram_placement(class, hw),
        })
        .collect();
    let energy_split = report
        .energy_breakdown_pj
        .entries()
        .iter()
        .map(|(component, energy_pj)| EnergyPart {
            component: (*component).to_string(),
            energy_pj: *energy_pj,
        })
        .collect();
    Ok(DesignFigures {
        name: name.to_string(),
        role,
        source: source.to_string(),
        config_hash: hw.config_hash(),
        per_class,
        end_to_end: Figures {
            latency_ns: report.latency_ns,
            energy_pj: report.energy_pj,
            area_mm2: Some(report.area_mm2),
        },
        energy_split,
    })
}

fn reram_placement(class: OpClass, hw: &HwConfig) -> String {
    match class {
        OpClass::Mlp => "reram crossbars".to_string(),
        OpClass::Interaction | OpClass::Elementwise => "digital units".to_string(),
        OpClass::Embedding => match hw.embedding() {
            recpim_sim::hwconfig::Embedding::Dram { .. } => "dram (hwconfig embedding)".to_string(),
            recpim_sim::hwconfig::Embedding::Reram { .. } => "reram storage arrays".to_string(),
        },
    }
}

/// Bytes of one embedding vector on RecNMP: `dim` FP32 elements padded to whole 64 B bursts.
pub fn recnmp_vector_bytes(dim: u64) -> Result<u32> {
    let bytes = dim.saturating_mul(u64::from(RECNMP_ELEMENT_BITS) / 8);
    let padded = bytes
        .div_ceil(RECNMP_BURST_BYTES)
        .saturating_mul(RECNMP_BURST_BYTES);
    u32::try_from(padded).map_err(|_| SearchError::Compare {
        what: "embedding dim".to_string(),
        reason: format!("{dim} elements do not fit a RecNMP vector"),
    })
}

/// A DRAM baseline (`recnmp` or `cpu`) from RecNMP's report on the lookups and the host CPU.
fn evaluate_dram_baseline(
    baseline: &Baseline,
    workload: &Workload,
    report: Option<&RecnmpReport>,
    host: &HostCpu,
) -> Result<DesignFigures> {
    let recnmp = matches!(baseline, Baseline::Recnmp);
    let mut per_class = Vec::new();
    let mut energy_split = Vec::new();
    let mut host_pj = 0.0;
    for (class, part) in split_by_class(workload) {
        let (figures, placement) = if class == OpClass::Embedding {
            let report = report.ok_or_else(|| SearchError::Compare {
                what: baseline.name().to_string(),
                reason: "the workload has gather ops but no lookup trace was resolved".to_string(),
            })?;
            let design = if recnmp { &report.nmp } else { &report.host };
            energy_split.extend(dram_energy_split(&design.energy));
            let placement = if recnmp {
                format!("recnmp dimms ({} ranks)", report.ranks)
            } else {
                "host cpu over the ddr4 channel".to_string()
            };
            (
                Figures {
                    latency_ns: design.latency_ns,
                    energy_pj: design.energy.total_pj,
                    area_mm2: None,
                },
                placement,
            )
        } else {
            let figures = host.run(&part)?;
            host_pj += figures.energy_pj;
            (figures, "host cpu".to_string())
        };
        per_class.push(ClassFigures {
            class,
            figures,
            placement,
        });
    }
    // The embedding lookups finish before the host runs the rest of the model ([A]: no overlap).
    let mut end_to_end: Option<Figures> = None;
    for class in &per_class {
        end_to_end = Some(match end_to_end {
            None => class.figures,
            Some(sum) => sum.then(&class.figures),
        });
    }
    let end_to_end = end_to_end.ok_or_else(|| SearchError::Compare {
        what: "workload".to_string(),
        reason: "it has no ops".to_string(),
    })?;
    if host_pj > 0.0 {
        energy_split.push(EnergyPart {
            component: "host cpu".to_string(),
            energy_pj: host_pj,
        });
    }
    Ok(DesignFigures {
        name: baseline.name().to_string(),
        role: DesignRole::Baseline,
        source: baseline.source(),
        config_hash: String::new(),
        per_class,
        end_to_end,
        energy_split,
    })
}

/// The DRAM model's energy terms as parts of a design's energy.
fn dram_energy_split(energy: &EnergySplit) -> Vec<EnergyPart> {
    [
        ("dram act+pre", energy.act_pre_pj),
        ("dram read", energy.read_pj),
        ("dram refresh", energy.refresh_pj),
        ("dram background", energy.background_pj),
        ("channel io", energy.io_pj),
        ("rankcache", energy.rankcache_pj),
        ("fp32 adders", energy.adder_pj),
    ]
    .into_iter()
    .map(|(component, energy_pj)| EnergyPart {
        component: component.to_string(),
        energy_pj,
    })
    .collect()
}

/// Compares `designs` (name, source, hwconfig) against `baselines` on `workload`.
///
/// Every design and ReRAM baseline runs the same workload (with the resolved lookups); the
/// DRAM baselines run the same lookups as a trace on the RecNMP model and the rest of the
/// workload on the host CPU. Names must be unique across designs and baselines.
pub fn compare(
    workload_description: &str,
    workload: &Workload,
    designs: &[(String, String, HwConfig)],
    baselines: &[Baseline],
    settings: &CompareSettings,
) -> Result<Comparison> {
    if designs.is_empty() && baselines.is_empty() {
        return Err(SearchError::Compare {
            what: "compare".to_string(),
            reason: "nothing to compare: give at least one design (--hw) or baseline".to_string(),
        });
    }
    let mut names: Vec<&str> = designs.iter().map(|(name, _, _)| name.as_str()).collect();
    names.extend(baselines.iter().map(Baseline::name));
    for (index, name) in names.iter().enumerate() {
        if names[..index].contains(name) {
            return Err(SearchError::Compare {
                what: format!("design `{name}`"),
                reason: "two designs or baselines share this name; give the hwconfigs distinct `name` keys".to_string(),
            });
        }
    }
    workload
        .check(workload_description)
        .map_err(|source| SearchError::Hardware {
            context: "checking the workload".to_string(),
            source: Box::new(source),
        })?;
    settings.host.check()?;
    let lookups: Lookups = resolve(workload, &settings.lookups)?;

    let needs_dram = baselines
        .iter()
        .any(|b| matches!(b, Baseline::Recnmp | Baseline::Cpu));
    let recnmp_report = match (&lookups.trace, needs_dram) {
        (Some(trace), true) => {
            let shape = gather_shape(&lookups.workload)?.ok_or_else(|| SearchError::Compare {
                what: "workload".to_string(),
                reason: "a lookup trace exists but the workload has no gather op".to_string(),
            })?;
            let vector_bytes = recnmp_vector_bytes(shape.dim)?;
            Some(
                simulate_recnmp(&settings.recnmp, trace, vector_bytes).map_err(|source| {
                    SearchError::Recnmp {
                        context: format!("running the lookups ({}) on RecNMP", lookups.description),
                        source,
                    }
                })?,
            )
        }
        _ => None,
    };

    // Designs and ReRAM baselines are independent: evaluate them in parallel, in order.
    let mut jobs: Vec<(String, String, DesignRole, &HwConfig)> = designs
        .iter()
        .map(|(name, source, hw)| (name.clone(), source.clone(), DesignRole::Design, hw))
        .collect();
    for baseline in baselines {
        if let Baseline::Reram { name, source, hw } = baseline {
            jobs.push((
                name.clone(),
                source.clone(),
                DesignRole::Baseline,
                hw.as_ref(),
            ));
        }
    }
    let reram: Vec<DesignFigures> = jobs
        .par_iter()
        .map(|(name, source, role, hw)| evaluate_reram(name, source, *role, hw, &lookups.workload))
        .collect::<Result<Vec<_>>>()?;
    let mut reram = reram.into_iter();
    let mut all: Vec<DesignFigures> = reram.by_ref().take(designs.len()).collect();
    for baseline in baselines {
        let figures = match baseline {
            Baseline::Reram { .. } => reram.next().ok_or_else(|| SearchError::Compare {
                what: baseline.name().to_string(),
                reason: "its ReRAM evaluation is missing".to_string(),
            })?,
            Baseline::Recnmp | Baseline::Cpu => evaluate_dram_baseline(
                baseline,
                &lookups.workload,
                recnmp_report.as_ref(),
                &settings.host,
            )?,
        };
        all.push(figures);
    }

    let mut ratios = Vec::new();
    let (design_figures, baseline_figures) = all.split_at(designs.len());
    for design in design_figures {
        for baseline in baseline_figures {
            for scope in OpClass::ALL
                .iter()
                .map(|&c| Scope::Class(c))
                .chain([Scope::EndToEnd])
            {
                ratios.extend(Ratio::between(design, baseline, scope));
            }
        }
    }
    let has_embedding = lookups
        .workload
        .ops
        .iter()
        .any(|op| matches!(op, Op::Gather { .. }));
    Ok(Comparison {
        workload: workload_description.to_string(),
        lookups: lookups.description.clone(),
        assumptions: assumptions(settings, designs, baselines, has_embedding),
        designs: all,
        ratios,
        recnmp: recnmp_report,
    })
}
