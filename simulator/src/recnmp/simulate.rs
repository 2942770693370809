//! RecNMP and the host baseline on one lookup trace.
//!
//! RecNMP: the host packs one NMP instruction per lookup into packets sent as DDR write bursts
//! (packets go first on the channel, so rank-NMPs get work as early as possible); each rank-NMP
//! probes its RankCache, reads misses from its own rank through its own FR-FCFS scheduler (all
//! ranks in parallel) and accumulates partial sums; each DIMM-NMP adds its ranks' partial sums
//! and returns one pooled vector per op it touched; the host adds the DIMM partials.
//! Host: the CPU reads every row over the shared channel (one rank transfers at a time) and sums.

use std::collections::HashMap;

use super::address::{AddressMap, VectorLocation};
use super::config::RecnmpConfig;
use super::dram::{simulate_reads, DramRequest, DramStats};
use super::error::RecnmpError;
use super::rankcache::RankCache;
use super::report::{DesignResult, EnergySplit, RankCacheReport, RecnmpReport, TableCacheStats};
use crate::trace::LookupTrace;

/// Bits of one 64 B burst.
const BURST_BITS: u64 = 512;
/// Bytes of one FP32 element.
const FP32_BYTES: u32 = 4;

/// Checks the vector size: whole 64 B bursts, at most one DRAM row.
pub fn check_vector_bytes(config: &RecnmpConfig, vector_bytes: u32) -> Result<(), RecnmpError> {
    let max = config.organisation.row_bytes_per_rank.min(4096);
    if vector_bytes == 0 || !vector_bytes.is_multiple_of(64) || vector_bytes > max {
        return Err(RecnmpError::InvalidOption {
            name: "vector_bytes",
            value: vector_bytes.to_string(),
            allowed: format!("a multiple of 64 in 64..={max}"),
        });
    }
    Ok(())
}

struct Prepared {
    map: AddressMap,
    vector_ids: Vec<u64>,
    locations: Vec<VectorLocation>,
    op_of_lookup: Vec<usize>,
    ops: usize,
}

fn prepare(
    config: &RecnmpConfig,
    trace: &LookupTrace,
    vector_bytes: u32,
) -> Result<Prepared, RecnmpError> {
    check_vector_bytes(config, vector_bytes)?;
    if trace.lookups.is_empty() {
        return Err(RecnmpError::EmptyTrace);
    }
    let map = AddressMap::new(config, trace, vector_bytes);
    let mut vector_ids = Vec::with_capacity(trace.lookups.len());
    let mut locations = Vec::with_capacity(trace.lookups.len());
    let mut op_index: HashMap<(u32, u32, u32), usize> = HashMap::new();
    let mut op_of_lookup = Vec::with_capacity(trace.lookups.len());
    for (index, lookup) in trace.lookups.iter().enumerate() {
        let rows = trace
            .table_rows
            .get(lookup.table as usize)
            .copied()
            .unwrap_or(0);
        if lookup.row >= rows {
            return Err(RecnmpError::LookupOutOfRange {
                index,
                table: lookup.table,
                row: lookup.row,
                tables: trace.table_rows.len(),
            });
        }
        vector_ids.push(map.vector_id(index, lookup.table, lookup.row)?);
        locations.push(map.locate(lookup.table, lookup.row));
        let next = op_index.len();
        let op = *op_index
            .entry((lookup.batch, lookup.sample, lookup.table))
            .or_insert(next);
        op_of_lookup.push(op);
    }
    Ok(Prepared {
        map,
        vector_ids,
        locations,
        op_of_lookup,
        ops: op_index.len(),
    })
}

/// DRAM-side energies shared by both designs.
fn dram_energy(config: &RecnmpConfig, stats: &DramStats, latency_cycles: u64) -> EnergySplit {
    let timing = &config.timing;
    let power = &config.power;
    let chips = f64::from(power.chips_per_rank);
    let ranks = f64::from(config.ranks);
    let latency_ns = latency_cycles as f64 * timing.tck_ns;
    let active_ns = stats.active_standby_cycles as f64 * timing.tck_ns;
    // mW x ns = pJ.
    let background_pj = chips
        * (power.precharge_standby_mw_per_device() * latency_ns * ranks
            + (power.active_standby_mw_per_device() - power.precharge_standby_mw_per_device())
                * active_ns);
    EnergySplit {
        act_pre_pj: stats.activates as f64 * chips * power.act_pre_energy_pj_per_device(timing),
        read_pj: stats.read_bursts as f64 * chips * power.read_burst_energy_pj_per_device(timing),
        // Average refresh power: ranks x (run time / tREFI) refreshes, fractional on purpose so
        // short runs are not quantised to whole refreshes.
        refresh_pj: if timing.refresh {
            ranks
                * (latency_cycles as f64 / timing.trefi as f64)
                * chips
                * power.refresh_energy_pj_per_device(timing)
        } else {
            0.0
        },
        background_pj,
        ..EnergySplit::default()
    }
}

/// Whole refreshes the ranks perform over `latency_cycles` (one per rank per tREFI).
fn refreshes_over(config: &RecnmpConfig, latency_cycles: u64) -> u64 {
    if config.timing.refresh {
        u64::from(config.ranks) * (latency_cycles / config.timing.trefi)
    } else {
        0
    }
}

fn host_baseline(config: &RecnmpConfig, prepared: &Prepared, vector_bytes: u32) -> DesignResult {
    let bursts = vector_bytes / 64;
    let requests: Vec<DramRequest> = prepared
        .locations
        .iter()
        .map(|&location| DramRequest {
            arrival_cycle: 0,
            rank: location.rank,
            bank_group: location.bank_group,
            bank: location.bank,
            row: location.row,
            bursts,
        })
        .collect();
    let run = simulate_reads(
        &config.timing,
        &config.organisation,
        config.ranks,
        config.channel.host_queue_entries as usize,
        &requests,
    );
    let latency_cycles = run.stats.end_cycle;
    let refreshes = refreshes_over(config, latency_cycles);
    let lookups = prepared.vector_ids.len() as u64;
    let channel_bits = lookups * u64::from(bursts) * BURST_BITS;
    let adds = lookups * u64::from(vector_bytes / FP32_BYTES);
    let mut energy = dram_energy(config, &run.stats, latency_cycles);
    energy.io_pj = channel_bits as f64 * config.channel.io_pj_per_bit;
    energy.adder_pj = adds as f64 * config.nmp.fp32_add_pj;
    DesignResult {
        latency_ns: latency_cycles as f64 * config.timing.tck_ns,
        latency_cycles,
        energy: energy.finish(),
        activates: run.stats.activates,
        read_bursts: run.stats.read_bursts,
        row_hits: run.stats.row_hits,
        refreshes,
        channel_bits,
    }
}

/// One instruction as a rank-NMP sees it.
struct RankInstruction {
    lookup: usize,
    arrival_cycle: u64,
    hot: bool,
}

struct NmpOutcome {
    result: DesignResult,
    rankcache: RankCacheReport,
    packets: u64,
    result_vectors: u64,
}

fn recnmp(
    config: &RecnmpConfig,
    trace: &LookupTrace,
    prepared: &Prepared,
    vector_bytes: u32,
) -> NmpOutcome {
    let timing = &config.timing;
    let nmp = &config.nmp;
    let bursts = vector_bytes / 64;
    let floats = u64::from(vector_bytes / FP32_BYTES);
    let lookups = &trace.lookups;

    // Send order: table-aware scheduling groups a batch's lookups by table.
    let mut order: Vec<usize> = (0..lookups.len()).collect();
    if nmp.table_aware {
        order.sort_by_key(|&i| (lookups[i].batch, lookups[i].table, lookups[i].sample));
    } else {
        order.sort_by_key(|&i| lookups[i].batch);
    }

    // Hot-entry profiling: a pre-scan of each batch flags rows used more than once.
    let mut hot = vec![!nmp.hot_entry_profiling; lookups.len()];
    if nmp.hot_entry_profiling {
        let mut start = 0;
        while start < order.len() {
            let batch = lookups[order[start]].batch;
            let end = start
                + order[start..]
                    .iter()
                    .take_while(|&&i| lookups[i].batch == batch)
                    .count();
            let mut uses: HashMap<u64, u32> = HashMap::new();
            for &i in &order[start..end] {
                *uses.entry(prepared.vector_ids[i]).or_insert(0) += 1;
            }
            for &i in &order[start..end] {
                hot[i] = uses.get(&prepared.vector_ids[i]).copied().unwrap_or(0) > 1;
            }
            start = end;
        }
    }

    // Packets travel back to back as write bursts; an instruction is usable once its packet landed.
    let per_packet = nmp.insts_per_packet().max(1) as usize;
    let packets = order.len().div_ceil(per_packet) as u64;
    let mut per_rank: Vec<Vec<RankInstruction>> = (0..config.ranks).map(|_| Vec::new()).collect();
    for (position, &lookup) in order.iter().enumerate() {
        let packet = (position / per_packet) as u64;
        let rank = prepared.locations[lookup].rank as usize;
        if let Some(list) = per_rank.get_mut(rank) {
            list.push(RankInstruction {
                lookup,
                arrival_cycle: timing.cwl + (packet + 1) * timing.tbl,
                hot: hot[lookup],
            });
        }
    }

    let tables = trace.table_rows.len();
    let mut per_table: Vec<TableCacheStats> = (0..tables)
        .map(|t| TableCacheStats {
            table: t as u32,
            ..TableCacheStats::default()
        })
        .collect();
    let cache_settings = &nmp.rankcache;
    let capacity_vectors = (cache_settings.size_kb as usize * 1024) / vector_bytes as usize;
    let cache_enabled = capacity_vectors > 0;
    let mut completion = vec![0u64; lookups.len()];
    let mut stats_total = DramStats::default();
    let mut cache_report = RankCacheReport {
        size_kb: cache_settings.size_kb,
        ..RankCacheReport::default()
    };
    let mut cache_dynamic_pj = 0.0;
    let mut ranks_end = 0u64;
    for instructions in &per_rank {
        let mut cache = RankCache::new(capacity_vectors);
        // For a hit: the lookup whose DRAM read filled the entry (its data must have arrived).
        let mut filled_by: HashMap<u64, usize> = HashMap::new();
        let mut hits: Vec<(usize, usize)> = Vec::new();
        let mut requests = Vec::new();
        let mut request_lookup = Vec::new();
        for instruction in instructions {
            let vector = prepared.vector_ids[instruction.lookup];
            let table = lookups[instruction.lookup].table as usize;
            if cache_enabled {
                cache_report.accesses += 1;
                if let Some(entry) = per_table.get_mut(table) {
                    entry.accesses += 1;
                }
                if cache.access(vector) {
                    cache_report.hits += 1;
                    if let Some(entry) = per_table.get_mut(table) {
                        entry.hits += 1;
                    }
                    cache_dynamic_pj += f64::from(bursts) * cache_settings.read_pj_per_64b;
                    completion[instruction.lookup] =
                        instruction.arrival_cycle + cache_settings.hit_cycles;
                    if let Some(&filler) = filled_by.get(&vector) {
                        hits.push((instruction.lookup, filler));
                    }
                    continue;
                }
                // A miss costs one probe of the data array [A].
                cache_dynamic_pj += cache_settings.read_pj_per_64b;
                if instruction.hot && cache.insert(vector) {
                    cache_report.inserts += 1;
                    cache_dynamic_pj += f64::from(bursts) * cache_settings.write_pj_per_64b;
                    filled_by.insert(vector, instruction.lookup);
                }
            }
            let location = prepared.locations[instruction.lookup];
            requests.push(DramRequest {
                arrival_cycle: instruction.arrival_cycle,
                rank: 0,
                bank_group: location.bank_group,
                bank: location.bank,
                row: location.row,
                bursts,
            });
            request_lookup.push(instruction.lookup);
        }
        let run = simulate_reads(
            timing,
            &config.organisation,
            1,
            nmp.rank_queue_entries as usize,
            &requests,
        );
        for (&lookup, &done) in request_lookup.iter().zip(&run.completion_cycles) {
            completion[lookup] = done;
        }
        for (lookup, filler) in hits {
            completion[lookup] = completion[lookup].max(completion[filler]);
        }
        for instruction in instructions {
            ranks_end = ranks_end.max(completion[instruction.lookup]);
        }
        stats_total.activates += run.stats.activates;
        stats_total.read_bursts += run.stats.read_bursts;
        stats_total.row_hits += run.stats.row_hits;
        stats_total.active_standby_cycles += run.stats.active_standby_cycles;
    }

    // DIMM-NMP: one partial per (op, DIMM) once all its ranks' partial sums are done.
    let dimms = config.dimms() as usize;
    let mut partial_ready = vec![0u64; prepared.ops * dimms];
    let mut partial_ranks = vec![0u32; prepared.ops * dimms];
    for (lookup, &op) in prepared.op_of_lookup.iter().enumerate() {
        let rank = prepared.locations[lookup].rank;
        let dimm = (rank / config.ranks_per_dimm) as usize;
        let slot = op * dimms + dimm;
        partial_ready[slot] = partial_ready[slot].max(completion[lookup]);
        partial_ranks[slot] |= 1 << rank;
    }
    let mut results: Vec<(u64, usize)> = Vec::new();
    let mut adds = lookups.len() as u64 * floats;
    let mut dimms_per_op = vec![0u64; prepared.ops];
    for (slot, (&ready, &ranks_mask)) in partial_ready.iter().zip(&partial_ranks).enumerate() {
        if ranks_mask == 0 {
            continue;
        }
        adds += u64::from(ranks_mask.count_ones() - 1) * floats;
        dimms_per_op[slot / dimms] += 1;
        results.push((ready + nmp.dimm_reduce_cycles, slot % dimms));
    }
    adds += dimms_per_op
        .iter()
        .map(|&d| d.saturating_sub(1) * floats)
        .sum::<u64>();
    results.sort_unstable();

    // Channel: packets first (back to back), then the pooled results in ready order.
    let mut bus_free = timing.cwl + packets * timing.tbl;
    let mut last_source: Option<usize> = None;
    for &(ready, dimm) in &results {
        let switch = if last_source == Some(dimm) {
            0
        } else {
            timing.trtrs
        };
        let start = (ready + timing.cl).max(bus_free + switch);
        bus_free = start + u64::from(bursts) * timing.tbl;
        last_source = Some(dimm);
    }
    let latency_cycles = bus_free.max(ranks_end);
    let latency_ns = latency_cycles as f64 * timing.tck_ns;
    let result_vectors = results.len() as u64;
    let channel_bits =
        packets * u64::from(nmp.packet_bits) + result_vectors * u64::from(bursts) * BURST_BITS;
    let refreshes = refreshes_over(config, latency_cycles);
    let mut energy = dram_energy(config, &stats_total, latency_cycles);
    energy.io_pj = channel_bits as f64 * config.channel.io_pj_per_bit;
    energy.rankcache_pj = if cache_enabled {
        cache_dynamic_pj + cache_settings.leakage_mw * f64::from(config.ranks) * latency_ns
    } else {
        0.0
    };
    energy.adder_pj = adds as f64 * nmp.fp32_add_pj;

    for entry in per_table.iter_mut() {
        entry.hit_rate = ratio(entry.hits, entry.accesses);
    }
    cache_report.hit_rate = ratio(cache_report.hits, cache_report.accesses);
    cache_report.per_table = per_table;
    NmpOutcome {
        result: DesignResult {
            latency_ns,
            latency_cycles,
            energy: energy.finish(),
            activates: stats_total.activates,
            read_bursts: stats_total.read_bursts,
            row_hits: stats_total.row_hits,
            refreshes,
            channel_bits,
        },
        rankcache: cache_report,
        packets,
        result_vectors,
    }
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// Runs RecNMP and the host baseline on `trace` with embedding vectors of `vector_bytes`.
pub fn simulate(
    config: &RecnmpConfig,
    trace: &LookupTrace,
    vector_bytes: u32,
) -> Result<RecnmpReport, RecnmpError> {
    let prepared = prepare(config, trace, vector_bytes)?;
    let host = host_baseline(config, &prepared, vector_bytes);
    let outcome = recnmp(config, trace, &prepared, vector_bytes);
    let nmp = outcome.result;
    let speedup = host.latency_ns / nmp.latency_ns;
    let energy_ratio = host.energy.total_pj / nmp.energy.total_pj;
    Ok(RecnmpReport {
        config_name: config.name.clone(),
        ranks: config.ranks,
        dimms: config.dimms(),
        vector_bytes,
        lookups: trace.lookups.len() as u64,
        sls_ops: prepared.ops as u64,
        table_aware: config.nmp.table_aware,
        hot_entry_profiling: config.nmp.hot_entry_profiling,
        packets: outcome.packets,
        result_vectors: outcome.result_vectors,
        footprint_bytes: prepared.map.footprint_bytes,
        capacity_bytes: prepared.map.capacity_bytes,
        speedup,
        energy_ratio,
        energy_saving_fraction: 1.0 - nmp.energy.total_pj / host.energy.total_pj,
        nmp,
        host,
        rankcache: outcome.rankcache,
    })
}
