//! The assumptions table every comparison carries: what each figure rests on and its source.

use super::baseline::Baseline;
use super::evaluate::{CompareSettings, RECNMP_ELEMENT_BITS};
use recpim_sim::recnmp::RecnmpReport;
use serde::Serialize;

/// One assumption of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assumption {
    /// What it is about.
    pub topic: String,
    /// What is assumed (with the value used).
    pub assumption: String,
    /// Where it comes from: `[V]` verified, `[R]` recalled from a paper, `[A]` ours
    /// (tags of /work/shared/reference/baselines.md).
    pub source: String,
}

fn row(topic: &str, assumption: String, source: &str) -> Assumption {
    Assumption {
        topic: topic.to_string(),
        assumption,
        source: source.to_string(),
    }
}

/// The assumptions of a comparison with these settings and baselines.
pub fn assumptions(
    settings: &CompareSettings,
    baselines: &[Baseline],
    recnmp: Option<&RecnmpReport>,
    has_embedding: bool,
) -> Vec<Assumption> {
    let mut rows = vec![
        row(
            "operator classes",
            "mlp = Mvm ops (FCs, embedded FCs, projections); interaction = Digital ops (dot product, FM, attention); embedding = Gather ops; elementwise = Elementwise ops (activations, residual adds, norms)".to_string(),
            "[A] by op kind, the same split for every design",
        ),
        row(
            "per-class figures",
            "each class's ops run alone, in workload order, on the design (its own latency, energy incl. leakage over that time, and the area it maps to); end to end is one run of the whole workload, so class figures need not add up to it (pipelining between layers, leakage)".to_string(),
            "[A]",
        ),
        row(
            "ratios",
            "speed-up = baseline latency / design latency, energy ratio = baseline energy / design energy, EDP ratio likewise; > 1 means the design is better".to_string(),
            "[A] the seed paper's convention (1.5x speed-up, 1.8x energy vs handcrafted ReRAM)",
        ),
        row(
            "ReRAM engine",
            "analytic engine of recpim-sim (held equal to the cycle-level engine by simulator/tests/engines_agree.rs); embeddings stored as each hwconfig's [embedding] section says".to_string(),
            "recpim-sim",
        ),
    ];
    if has_embedding {
        rows.push(row(
            "embedding lookups",
            settings.lookups.describe(),
            "[A] baselines.md §4.2 (Zipf 1.05, shuffled ids; Criteo is one-hot)",
        ));
    }
    let dram = baselines
        .iter()
        .any(|b| matches!(b, Baseline::Recnmp | Baseline::Cpu));
    if dram {
        let config = &settings.recnmp;
        rows.push(row(
            "RecNMP scope",
            "RecNMP accelerates only the embedding lookups (SparseLengthsSum in the DIMMs); the MLP, interaction and elementwise ops run on the host CPU".to_string(),
            "[R] baselines.md §1.2 (RecNMP, Ke et al. ISCA 2020)",
        ));
        rows.push(row(
            "host CPU throughput",
            format!(
                "{} FP32 MAC/ns for MLP and interaction ops, {} elementwise ops/ns; weights cache resident (no memory stalls); FP32 whatever the ReRAM bitwidths",
                settings.host.macs_per_ns, settings.host.elementwise_per_ns
            ),
            "[A] one AVX-512 core: 2 FMA x 16 lanes x 2.5 GHz = 80 MAC/ns peak, half sustained",
        ));
        rows.push(row(
            "host CPU energy",
            format!("{} mW busy power x host latency", settings.host.power_mw),
            "[A] 205 W TDP / 28 cores of a Xeon Platinum 8180-class server",
        ));
        rows.push(row(
            "DRAM baseline overlap",
            "embedding lookups finish before the host runs the rest (latencies and energies add); the CPU's power while it waits for lookups is not counted".to_string(),
            "[A]",
        ));
        rows.push(row(
            "RecNMP vectors",
            format!("{RECNMP_ELEMENT_BITS}-bit (FP32) elements, each vector padded to whole 64 B bursts, whatever the ReRAM designs' element bits"),
            "[R] RecNMP's rank-NMP adders are FP32 (baselines.md §1.2)",
        ));
        rows.push(row(
            "RecNMP configuration",
            format!(
                "{} ({}): {} ranks, {} ranks per DIMM, RankCache {} KiB per rank, table-aware {}, hot-entry profiling {}",
                config.name,
                config.standard,
                config.ranks,
                config.ranks_per_dimm,
                config.nmp.rankcache.size_kb,
                config.nmp.table_aware,
                config.nmp.hot_entry_profiling
            ),
            "[V] DDR4 timing/currents, [R] topology and optimisations (hwconfigs/baselines/README.md)",
        ));
        rows.push(row(
            "channel I/O energy",
            format!(
                "{} pJ per bit crossing the host-DIMM channel",
                config.channel.io_pj_per_bit
            ),
            "[A] calibrate before quoting; not in the IDD currents (baselines.md §1.5)",
        ));
        rows.push(row(
            "DRAM baseline area",
            "not modelled: RecNMP's NMP logic synthesis figures are unverified and the host CPU's area is not a design parameter; area and area ratios are left empty".to_string(),
            "[R] unverified (baselines.md §1.2)",
        ));
        if let Some(report) = recnmp {
            rows.push(row(
                "RecNMP run",
                format!(
                    "{} lookups in {} SLS ops, {} B vectors; RankCache hit rate {:.3}; RecNMP vs host DRAM on the lookups: {:.2}x speed-up, {:.2}x energy{}",
                    report.lookups,
                    report.sls_ops,
                    report.vector_bytes,
                    report.rankcache.hit_rate,
                    report.speedup,
                    report.energy_ratio,
                    if report.footprint_bytes > report.capacity_bytes {
                        "; tables exceed the ranks' capacity, DRAM rows alias"
                    } else {
                        ""
                    }
                ),
                "recpim_sim::recnmp",
            ));
        }
    }
    if baselines
        .iter()
        .any(|b| matches!(b, Baseline::Reram { .. }))
    {
        rows.push(row(
            "handcrafted ReRAM baselines",
            "run exactly as the designs under study (same workload, same engine); their hwconfigs carry their own sources".to_string(),
            "hwconfigs/baselines/README.md, baselines.md §2",
        ));
    }
    rows
}
