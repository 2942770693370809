//! The assumptions table every comparison carries: what each figure rests on, the value used and
//! its source.
//!
//! Every row has a stable `key`. `hwconfigs/baselines/README.md` ("Assumptions of `recpim
//! compare`") lists every key with the shipped value, and `search/tests/compare_assumptions.rs`
//! checks that the two agree, so a new or changed assumption cannot go undocumented.

use super::baseline::Baseline;
use super::evaluate::{CompareSettings, RECNMP_BURST_BYTES, RECNMP_ELEMENT_BITS};
use super::lookups::LookupSource;
use recpim_sim::hwconfig::Embedding;
use recpim_sim::recnmp::config::Placement;
use recpim_sim::trace::{DEFAULT_UNIFORM_BELOW_ROWS, DEFAULT_ZIPF_ALPHA};
use recpim_sim::HwConfig;
use serde::Serialize;

/// One assumption of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assumption {
    /// Stable identifier (the first column of the README's assumptions table).
    pub key: String,
    /// The value used, as text (`5`, `on`, `by op kind`).
    pub value: String,
    /// Unit of `value` (`-` when it is a choice, not a quantity).
    pub unit: String,
    /// What is assumed, in words.
    pub detail: String,
    /// Where it comes from: `[V]` verified, `[R]` recalled from a paper, `[A]` ours
    /// (tags of /work/shared/reference/baselines.md), or the file that holds it.
    pub source: String,
}

fn row(key: &str, value: impl ToString, unit: &str, detail: &str, source: &str) -> Assumption {
    Assumption {
        key: key.to_string(),
        value: value.to_string(),
        unit: unit.to_string(),
        detail: detail.to_string(),
        source: source.to_string(),
    }
}

fn on_off(flag: bool) -> &'static str {
    if flag {
        "on"
    } else {
        "off"
    }
}

/// The assumptions of a comparison of `designs` (name, source, hwconfig) against `baselines`
/// with these settings; `has_embedding` says whether the workload has embedding lookups.
pub fn assumptions(
    settings: &CompareSettings,
    designs: &[(String, String, HwConfig)],
    baselines: &[Baseline],
    has_embedding: bool,
) -> Vec<Assumption> {
    let mut rows = vec![
        row(
            "operator_classes",
            "by op kind",
            "-",
            "mlp = Mvm ops (FCs, embedded FCs, projections); interaction = Digital ops (dot product, FM, attention); embedding = Gather ops; elementwise = Elementwise ops (activations, residual adds, norms); the same split for every design",
            "[A]",
        ),
        row(
            "per_class_split",
            "shares of one run",
            "-",
            "ReRAM designs run the workload once; a class gets its ops' dynamic energy, an equal share of the time its ops run alongside others (idle time goes to the next op's class) and the chip's leakage over that time; its area is the chip's. DRAM baselines run the classes one after the other. Either way the classes add up to end to end",
            "[A]",
        ),
        row(
            "ratio_convention",
            "baseline / design",
            "-",
            "speed-up = baseline latency / design latency, energy ratio = baseline energy / design energy, EDP ratio likewise; > 1 means the design is better",
            "[A] the seed paper's convention (1.5x speed-up, 1.8x energy vs handcrafted ReRAM)",
        ),
    ];
    let reram: Vec<(&str, &HwConfig)> = designs
        .iter()
        .map(|(name, _, hw)| (name.as_str(), hw))
        .chain(baselines.iter().filter_map(|b| match b {
            Baseline::Reram { name, hw, .. } => Some((name.as_str(), hw.as_ref())),
            _ => None,
        }))
        .collect();
    if !reram.is_empty() {
        rows.push(row(
            "reram_engine",
            "analytic",
            "-",
            "recpim-sim's analytic engine (held equal to the cycle-level engine by simulator/tests/engines_agree.rs)",
            "recpim-sim",
        ));
        rows.push(row(
            "reram_buffer_leakage",
            "CACTI 32 nm itrs-hp, 350 K",
            "-",
            "every PE's input and output SRAM buffer leaks for the whole run (about 0.3 mW per KiB); a hwconfig with a fixed `tiles` count leaks all its tiles, otherwise only the tiles the workload maps to",
            "[V] CACTI 7.0 table (pim-components.md §3), [A] the cell type",
        ));
    }
    for (name, hw) in &reram {
        let (value, detail) = match hw.embedding() {
            Embedding::Dram {
                bandwidth_gbps,
                energy_pj_per_bit,
                access_latency_ns,
            } => (
                "dram",
                format!("off-chip DRAM at {bandwidth_gbps} Gb/s, {energy_pj_per_bit} pJ per bit read, {access_latency_ns} ns to the first access of a gather op (no activation, I/O or background energy unless the pJ/bit includes it)"),
            ),
            Embedding::Reram {
                sense_energy_pj_per_bit,
                sense_latency_ns,
                parallel_reads,
            } => (
                "reram",
                format!("crossbars used as memory, rows read out ({sense_energy_pj_per_bit} pJ per bit sensed, {sense_latency_ns} ns sense, {parallel_reads} rows at a time) and summed in the digital units"),
            ),
        };
        rows.push(row(
            &format!("embedding_storage.{name}"),
            value,
            "-",
            &detail,
            &format!("the hwconfig's [embedding] section ({})", hw.origin()),
        ));
    }
    if has_embedding {
        let (value, generated) = match &settings.lookups {
            LookupSource::Trace { .. } => ("trace file", false),
            LookupSource::Shape { shape, .. } => (shape.name(), true),
            LookupSource::Workload { .. } => ("the workload's gather ops", true),
        };
        rows.push(row(
            "embedding_lookups",
            value,
            "-",
            &settings.lookups.describe(),
            "[A] baselines.md §4.2 (Criteo is one-hot); both sides serve these lookups",
        ));
        if generated {
            rows.push(row(
                "zipf_alpha",
                DEFAULT_ZIPF_ALPHA,
                "-",
                "Zipf exponent of the generated lookups on large tables, ids shuffled by a hash permutation",
                "[A] baselines.md §4.2 (alpha 1.05 for tables above 1M rows)",
            ));
            rows.push(row(
                "zipf_uniform_below_rows",
                DEFAULT_UNIFORM_BELOW_ROWS,
                "rows",
                "smaller tables are sampled uniformly",
                "[A] baselines.md §4.2",
            ));
        }
    }
    if baselines
        .iter()
        .any(|b| matches!(b, Baseline::Reram { .. }))
    {
        rows.push(row(
            "reram_baselines",
            "run as designs",
            "-",
            "handcrafted ReRAM baselines run exactly as the designs under study (same workload, same engine); their hwconfigs carry their own sources",
            "hwconfigs/baselines/README.md, baselines.md §2",
        ));
    }
    if baselines
        .iter()
        .any(|b| matches!(b, Baseline::Recnmp | Baseline::Cpu))
    {
        rows.extend(dram_rows(settings));
    }
    rows
}

/// The rows of the `recnmp` and `cpu` baselines.
fn dram_rows(settings: &CompareSettings) -> Vec<Assumption> {
    let config = &settings.recnmp;
    let host = &settings.host;
    vec![
        row(
            "recnmp_scope",
            "embedding lookups only",
            "-",
            "RecNMP accelerates SparseLengthsSum in the DIMMs; the MLP, interaction and elementwise ops of both DRAM baselines run on the host CPU",
            "[R] baselines.md §1.2",
        ),
        row(
            "host_macs_per_ns",
            host.macs_per_ns,
            "MAC/ns",
            "sustained FP32 multiply-accumulates of the host for MLP and interaction ops; weights cache resident (no memory stalls); FP32 whatever the ReRAM bit widths",
            "[A] one AVX-512 core: 2 FMA x 16 lanes x 2.5 GHz = 80 MAC/ns peak, half sustained",
        ),
        row(
            "host_elementwise_per_ns",
            host.elementwise_per_ns,
            "op/ns",
            "sustained FP32 elementwise operations of the host",
            "[A] as host_macs_per_ns",
        ),
        row(
            "host_power_mw",
            host.power_mw,
            "mW",
            "busy power of the host core with its share of the uncore; host energy = this x host time",
            "[A] 205 W TDP / 28 cores of a Xeon Platinum 8180-class server (RecNMP's DDR4-2400 generation)",
        ),
        row(
            "host_overlap",
            "none",
            "-",
            "the embedding lookups finish before the host runs the rest (latencies and energies add); the CPU's power while it waits for lookups is not counted",
            "[A]",
        ),
        row(
            "host_dram_reads",
            "no CPU caches",
            "-",
            "the cpu baseline reads every looked-up row over the DDR4 channel with the same DRAM timing model; its adds overlap with the reads",
            "[A] hwconfigs/baselines/README.md (recnmp model)",
        ),
        row(
            "recnmp_element_bits",
            RECNMP_ELEMENT_BITS,
            "bit",
            "RecNMP's tables are FP32 whatever the ReRAM designs' element bits",
            "[R] baselines.md §1.2 (FP32 rank-NMP adders)",
        ),
        row(
            "recnmp_vector_padding",
            RECNMP_BURST_BYTES,
            "B",
            "each vector is padded to whole DDR4 bursts",
            "[V] BL8 x 64-bit bus, baselines.md §1.4",
        ),
        row(
            "dram_device",
            &config.standard,
            "-",
            "x8 8 Gb devices, 8 per rank; timing and IDD currents turned into Micron-style per-operation energies",
            "[V] baselines.md §1.4-1.5 (DRAMsim3, Ramulator)",
        ),
        row(
            "recnmp_ranks",
            config.ranks,
            "ranks",
            "ranks on the channel, one rank-NMP each",
            "[R] RecNMP sweeps 2, 4, 8 (baselines.md §1.2)",
        ),
        row(
            "recnmp_ranks_per_dimm",
            config.ranks_per_dimm,
            "ranks",
            "ranks per DIMM, one DIMM-NMP per DIMM",
            "[R] baselines.md §1.2",
        ),
        row(
            "recnmp_placement",
            match config.placement {
                Placement::TablePerDimm => "table-per-dimm",
                Placement::RankInterleaved => "rank-interleaved",
            },
            "-",
            "where the embedding vectors live (see the recnmp.toml placement notes)",
            "[A] the paper's placement is not verified",
        ),
        row(
            "rankcache_kb",
            config.nmp.rankcache.size_kb,
            "KiB per rank",
            "RankCache capacity, LRU",
            "[A] inside the paper's 8 KB - 1 MB sweep [R]",
        ),
        row(
            "table_aware",
            on_off(config.nmp.table_aware),
            "-",
            "table-aware packet scheduling (a batch's instructions grouped by table)",
            "[R] RecNMP-opt",
        ),
        row(
            "hot_entry_profiling",
            on_off(config.nmp.hot_entry_profiling),
            "-",
            "only rows used more than once in the batch are inserted into the RankCache",
            "[R] RecNMP-opt, [A] the more-than-once rule",
        ),
        row(
            "io_pj_per_bit",
            config.channel.io_pj_per_bit,
            "pJ/bit",
            "channel I/O and termination energy per bit crossing the host-DIMM channel (data, NMP packets, pooled results); not in the IDD currents, and what NMP saves",
            "[A] calibrate before quoting (baselines.md §1.5, §6)",
        ),
        row(
            "fp32_add_pj",
            config.nmp.fp32_add_pj,
            "pJ",
            "one FP32 add of the pooling (rank-NMP, DIMM-NMP, host)",
            "[R] Horowitz, ISSCC 2014, 45 nm",
        ),
        row(
            "dram_baseline_area",
            "not modelled",
            "-",
            "RecNMP's NMP logic synthesis figures are unverified and the host CPU's area is not a design parameter; area and area ratios are left empty",
            "[R] unverified (baselines.md §1.2)",
        ),
    ]
}
