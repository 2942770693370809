//! What one RecNMP-vs-host run reports.

use serde::Serialize;

/// Energy of one design, split by where it goes (all pJ).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EnergySplit {
    /// Row activations and their precharges (Micron E_act+pre per ACT).
    pub act_pre_pj: f64,
    /// READ bursts inside the DRAM devices (E_rd per 64 B burst).
    pub read_pj: f64,
    /// All-bank refreshes over the run.
    pub refresh_pj: f64,
    /// Precharge and active standby over the run.
    pub background_pj: f64,
    /// Bits crossing the host-DIMM channel (data, NMP packets, pooled results).
    pub io_pj: f64,
    /// RankCache probes, hits, inserts and leakage (0 for the host).
    pub rankcache_pj: f64,
    /// FP32 adds of the pooling (rank-NMP, DIMM-NMP and host).
    pub adder_pj: f64,
    /// Sum of the above.
    pub total_pj: f64,
}

impl EnergySplit {
    pub(crate) fn finish(mut self) -> Self {
        self.total_pj = self.act_pre_pj
            + self.read_pj
            + self.refresh_pj
            + self.background_pj
            + self.io_pj
            + self.rankcache_pj
            + self.adder_pj;
        self
    }
}

/// Latency, energy and DRAM command counts of one design on the trace.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DesignResult {
    /// Time from the first command to the last pooled result at the host, ns.
    pub latency_ns: f64,
    /// The same in memory-clock cycles.
    pub latency_cycles: u64,
    /// Energy split.
    pub energy: EnergySplit,
    /// ACT commands.
    pub activates: u64,
    /// 64 B READ bursts inside the DRAM.
    pub read_bursts: u64,
    /// DRAM requests that found their row open.
    pub row_hits: u64,
    /// All-bank refreshes (per rank, summed) over the run.
    pub refreshes: u64,
    /// Bits sent over the channel.
    pub channel_bits: u64,
}

/// RankCache accesses of one table (summed over ranks).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TableCacheStats {
    /// Table index.
    pub table: u32,
    /// Lookups of the table.
    pub accesses: u64,
    /// Lookups served from a RankCache.
    pub hits: u64,
    /// hits / accesses (0 when there were no accesses).
    pub hit_rate: f64,
}

/// RankCache behaviour over the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RankCacheReport {
    /// Capacity per rank, KiB (0 = no RankCache).
    pub size_kb: u32,
    /// Lookups that probed a RankCache.
    pub accesses: u64,
    /// Lookups served from a RankCache.
    pub hits: u64,
    /// Vectors written into a RankCache.
    pub inserts: u64,
    /// hits / accesses.
    pub hit_rate: f64,
    /// Per-table figures.
    pub per_table: Vec<TableCacheStats>,
}

/// RecNMP against the host baseline on one trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecnmpReport {
    /// Config preset name.
    pub config_name: String,
    /// Ranks on the channel.
    pub ranks: u32,
    /// DIMMs on the channel.
    pub dimms: u32,
    /// Bytes per embedding vector.
    pub vector_bytes: u32,
    /// Lookups in the trace.
    pub lookups: u64,
    /// SparseLengthsSum ops (pooled vectors) in the trace.
    pub sls_ops: u64,
    /// Whether table-aware packet scheduling was on.
    pub table_aware: bool,
    /// Whether hot-entry profiling was on.
    pub hot_entry_profiling: bool,
    /// NMP packets sent.
    pub packets: u64,
    /// Pooled partial vectors returned to the host (one per DIMM touched per op).
    pub result_vectors: u64,
    /// Bytes of all embedding tables.
    pub footprint_bytes: u64,
    /// Bytes of all ranks (rows alias when the footprint exceeds it).
    pub capacity_bytes: u64,
    /// The RecNMP design.
    pub nmp: DesignResult,
    /// The host baseline.
    pub host: DesignResult,
    /// RankCache figures.
    pub rankcache: RankCacheReport,
    /// host latency / RecNMP latency.
    pub speedup: f64,
    /// host energy / RecNMP energy.
    pub energy_ratio: f64,
    /// 1 - RecNMP energy / host energy.
    pub energy_saving_fraction: f64,
}
