//! Markdown and CSV forms of a comparison.

use super::evaluate::Comparison;
use super::figures::{DesignRole, Figures};
use crate::error::{Result, SearchError};
use std::path::{Path, PathBuf};

/// Header of the figures CSV (one row per design and scope).
pub const FIGURES_HEADER: [&str; 10] = [
    "design",
    "role",
    "scope",
    "placement",
    "latency_ns",
    "energy_pj",
    "area_mm2",
    "edp_pj_ns",
    "config_hash",
    "source",
];

/// Header of the ratios CSV (one row per design, baseline and scope).
pub const RATIOS_HEADER: [&str; 6] = [
    "design",
    "baseline",
    "scope",
    "speedup",
    "energy_ratio",
    "edp_ratio",
];

fn role_name(role: DesignRole) -> &'static str {
    match role {
        DesignRole::Design => "design",
        DesignRole::Baseline => "baseline",
    }
}

/// Four significant digits, plain for moderate magnitudes and scientific otherwise.
fn sig(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 {
        "0".to_string()
    } else if (1e-3..1e6).contains(&magnitude) {
        let decimals = (3 - magnitude.log10().floor() as i32).max(0) as usize;
        format!("{value:.decimals$}")
    } else {
        format!("{value:.3e}")
    }
}

fn area_text(area_mm2: Option<f64>, exact: bool) -> String {
    match area_mm2 {
        Some(a) if exact => a.to_string(),
        Some(a) => sig(a),
        None if exact => String::new(),
        None => "n/a".to_string(),
    }
}

/// (design, role, scope, placement, figures, hash, source) rows in report order.
fn figure_rows(
    comparison: &Comparison,
) -> Vec<(&str, DesignRole, &str, &str, Figures, &str, &str)> {
    let mut rows = Vec::new();
    for design in &comparison.designs {
        for class in &design.per_class {
            rows.push((
                design.name.as_str(),
                design.role,
                class.class.name(),
                class.placement.as_str(),
                class.figures,
                design.config_hash.as_str(),
                design.source.as_str(),
            ));
        }
        rows.push((
            design.name.as_str(),
            design.role,
            "end-to-end",
            "",
            design.end_to_end,
            design.config_hash.as_str(),
            design.source.as_str(),
        ));
    }
    rows
}

/// The comparison as Markdown: designs' figures, ratios against each baseline, assumptions.
pub fn to_markdown(comparison: &Comparison) -> String {
    let mut out = String::new();
    out.push_str("# recpim compare\n\n");
    out.push_str(&format!("Workload: {}\n\n", comparison.workload));
    out.push_str(&format!("Embedding lookups: {}\n\n", comparison.lookups));

    let end_to_end: Vec<_> = comparison
        .ratios
        .iter()
        .filter(|r| r.scope == super::evaluate::Scope::EndToEnd)
        .collect();
    if !end_to_end.is_empty() {
        out.push_str("## End to end\n\n");
        out.push_str(
            "| design | baseline | speed-up | energy ratio | EDP ratio |\n|---|---|---|---|---|\n",
        );
        for r in end_to_end {
            out.push_str(&format!(
                "| {} | {} | {}x | {}x | {}x |\n",
                r.design,
                r.baseline,
                sig(r.speedup),
                sig(r.energy_ratio),
                sig(r.edp_ratio)
            ));
        }
        out.push_str(
            "\nRatios are baseline / design: above 1 the design is faster or uses less energy.\n\n",
        );
    }

    out.push_str("## Figures\n\n");
    out.push_str(
        "Per-class rows are shares of the end-to-end run (see `per_class_split` below); they add up to the end-to-end row.\n\n",
    );
    out.push_str("| design | role | scope | runs on | latency (ns) | energy (pJ) | area (mm^2) | EDP (pJ*ns) |\n|---|---|---|---|---|---|---|---|\n");
    for (name, role, scope, placement, f, _, _) in figure_rows(comparison) {
        out.push_str(&format!(
            "| {name} | {} | {scope} | {placement} | {} | {} | {} | {} |\n",
            role_name(role),
            sig(f.latency_ns),
            sig(f.energy_pj),
            area_text(f.area_mm2, false),
            sig(f.edp_pj_ns())
        ));
    }

    if !comparison.ratios.is_empty() {
        out.push_str("\n## Ratios per operator class\n\n");
        out.push_str("| design | baseline | scope | speed-up | energy ratio | EDP ratio |\n|---|---|---|---|---|---|\n");
        for r in &comparison.ratios {
            out.push_str(&format!(
                "| {} | {} | {} | {}x | {}x | {}x |\n",
                r.design,
                r.baseline,
                r.scope.name(),
                sig(r.speedup),
                sig(r.energy_ratio),
                sig(r.edp_ratio)
            ));
        }
    }

    out.push_str("\n## Designs\n\n| design | role | source | config hash |\n|---|---|---|---|\n");
    for design in &comparison.designs {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            design.name,
            role_name(design.role),
            design.source,
            if design.config_hash.is_empty() {
                "-"
            } else {
                &design.config_hash
            }
        ));
    }

    out.push_str(
        "\n## Energy split (end to end)\n\n| design | component | energy (pJ) | share |\n|---|---|---|---|\n",
    );
    for design in &comparison.designs {
        let total = design.end_to_end.energy_pj;
        for part in design.energy_split.iter().filter(|p| p.energy_pj > 0.0) {
            out.push_str(&format!(
                "| {} | {} | {} | {:.1}% |\n",
                design.name,
                part.component,
                sig(part.energy_pj),
                100.0 * part.energy_pj / total
            ));
        }
    }

    if let Some(r) = &comparison.recnmp {
        out.push_str(&format!(
            "\nRecNMP on the lookups: {} lookups in {} SLS ops, {} B vectors, {} ranks; RankCache hit rate {:.3}; \
             against the host reading every row: {:.2}x speed-up, {:.2}x energy{}.\n",
            r.lookups,
            r.sls_ops,
            r.vector_bytes,
            r.ranks,
            r.rankcache.hit_rate,
            r.speedup,
            r.energy_ratio,
            if r.footprint_bytes > r.capacity_bytes {
                "; the tables exceed the ranks' capacity, so DRAM rows alias"
            } else {
                ""
            }
        ));
    }

    out.push_str(
        "\n## Assumptions\n\n| key | value | unit | assumption | source |\n|---|---|---|---|---|\n",
    );
    for a in &comparison.assumptions {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            a.key,
            a.value.replace('|', "/"),
            a.unit,
            a.detail.replace('|', "/"),
            a.source.replace('|', "/")
        ));
    }
    out
}

fn csv_error(what: &str, error: impl std::fmt::Display) -> SearchError {
    SearchError::Compare {
        what: what.to_string(),
        reason: error.to_string(),
    }
}

fn csv_string(what: &str, header: &[&str], rows: Vec<Vec<String>>) -> Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(header)
        .map_err(|e| csv_error(what, e))?;
    for record in rows {
        writer
            .write_record(&record)
            .map_err(|e| csv_error(what, e))?;
    }
    let bytes = writer.into_inner().map_err(|e| csv_error(what, e))?;
    String::from_utf8(bytes).map_err(|e| csv_error(what, e))
}

/// The figures CSV ([`FIGURES_HEADER`]): full-precision numbers, an empty area where unknown.
pub fn figures_csv(comparison: &Comparison) -> Result<String> {
    let rows = figure_rows(comparison)
        .into_iter()
        .map(|(name, role, scope, placement, f, hash, source)| {
            vec![
                name.to_string(),
                role_name(role).to_string(),
                scope.to_string(),
                placement.to_string(),
                f.latency_ns.to_string(),
                f.energy_pj.to_string(),
                area_text(f.area_mm2, true),
                f.edp_pj_ns().to_string(),
                hash.to_string(),
                source.to_string(),
            ]
        })
        .collect();
    csv_string("figures CSV", &FIGURES_HEADER, rows)
}

/// The ratios CSV ([`RATIOS_HEADER`]).
pub fn ratios_csv(comparison: &Comparison) -> Result<String> {
    let rows = comparison
        .ratios
        .iter()
        .map(|r| {
            vec![
                r.design.clone(),
                r.baseline.clone(),
                r.scope.name().to_string(),
                r.speedup.to_string(),
                r.energy_ratio.to_string(),
                r.edp_ratio.to_string(),
            ]
        })
        .collect();
    csv_string("ratios CSV", &RATIOS_HEADER, rows)
}

/// Writes `compare.md`, `figures.csv`, `ratios.csv` and `compare.json` into `dir` (created if
/// missing) and returns their paths. Everything is rendered first and each file is written to a
/// temporary name then renamed, so a failure never leaves a half-written file in place of a
/// previous one.
pub fn write_outputs(comparison: &Comparison, dir: &Path) -> Result<Vec<PathBuf>> {
    let json =
        serde_json::to_string_pretty(comparison).map_err(|e| csv_error("compare.json", e))?;
    let files = [
        ("compare.md", to_markdown(comparison)),
        ("figures.csv", figures_csv(comparison)?),
        ("ratios.csv", ratios_csv(comparison)?),
        ("compare.json", json),
    ];
    std::fs::create_dir_all(dir).map_err(|source| SearchError::Io {
        action: "creating the directory",
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::with_capacity(files.len());
    for (file, text) in files {
        let path = dir.join(file);
        let temporary = dir.join(format!(".{file}.tmp"));
        std::fs::write(&temporary, text).map_err(|source| SearchError::Io {
            action: "writing",
            path: temporary.clone(),
            source,
        })?;
        std::fs::rename(&temporary, &path).map_err(|source| SearchError::Io {
            action: "renaming into place",
            path: path.clone(),
            source,
        })?;
        paths.push(path);
    }
    Ok(paths)
}
