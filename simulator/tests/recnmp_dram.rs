//! DDR4-2400 command timing and energy, and the RankCache, against hand-derived goldens.
//! Timing goldens follow from the DRAMsim3/Ramulator DDR4-2400 parameters in baselines.md §1.4
//! (CL = tRCD = tRP = 16, tRAS 39, tRC 55, tRRD_S/L 4/6, tFAW 26, tCCD_S/L 4/6, tRTP 9, tBL 4).

use recpim_sim::recnmp::dram::{simulate_reads, DramRequest};
use recpim_sim::recnmp::rankcache::RankCache;
use recpim_sim::recnmp::RecnmpConfig;

fn request(rank: u32, bank_group: u32, bank: u32, row: u32) -> DramRequest {
    DramRequest {
        arrival_cycle: 0,
        rank,
        bank_group,
        bank,
        row,
        bursts: 1,
    }
}

fn run(ranks: u32, requests: &[DramRequest]) -> Vec<u64> {
    let config = RecnmpConfig::builtin().unwrap();
    simulate_reads(&config.timing, &config.organisation, ranks, 32, requests).completion_cycles
}

#[test]
fn closed_bank_read_takes_trcd_plus_cl_plus_burst() {
    // ACT at 0, RD at tRCD = 16, data ends at 16 + CL 16 + tBL 4 = 36.
    assert_eq!(run(1, &[request(0, 0, 0, 7)]), vec![36]);
}

#[test]
fn row_hit_waits_only_tccd_l_in_the_same_bank_group() {
    // Second RD to the open row at 16 + tCCD_L 6 = 22, data ends at 42; one ACT, one row hit.
    let config = RecnmpConfig::builtin().unwrap();
    let requests = [request(0, 0, 0, 7), request(0, 0, 0, 7)];
    let outcome = simulate_reads(&config.timing, &config.organisation, 1, 32, &requests);
    assert_eq!(outcome.completion_cycles, vec![36, 42]);
    assert_eq!(outcome.stats.activates, 1);
    assert_eq!(outcome.stats.row_hits, 1);
    assert_eq!(outcome.stats.read_bursts, 2);
}

#[test]
fn row_conflict_pays_tras_and_trp() {
    // PRE at max(tRAS 39, RD 16 + tRTP 9) = 39; ACT at max(tRC 55, 39 + tRP 16) = 55;
    // RD at 71; data ends at 71 + 20 = 91.
    assert_eq!(
        run(1, &[request(0, 0, 0, 7), request(0, 0, 0, 8)]),
        vec![36, 91]
    );
}

#[test]
fn fifth_activate_waits_for_tfaw() {
    // ACTs at 0, 4, 8, 12 (tRRD_S across bank groups); the fifth (bank group 0 again) waits
    // for tFAW: 0 + 26, RD at 42, data ends at 62. Reads 1-4 at 16, 20, 24, 28 (tCCD_S).
    let requests = [
        request(0, 0, 0, 1),
        request(0, 1, 0, 1),
        request(0, 2, 0, 1),
        request(0, 3, 0, 1),
        request(0, 0, 1, 1),
    ];
    assert_eq!(run(1, &requests), vec![36, 40, 44, 48, 62]);
}

#[test]
fn rank_switch_on_the_shared_bus_costs_trtrs() {
    // Rank 0: ACT 0, RD 16, data 32..36. Rank 1: ACT 1 (one command per cycle); its data may
    // start only at 36 + tRTRS 2 = 38, so RD at 22 and data ends at 42.
    assert_eq!(
        run(2, &[request(0, 0, 0, 1), request(1, 0, 0, 1)]),
        vec![36, 42]
    );
}

#[test]
fn micron_energies_match_baselines_section_1_5() {
    // baselines.md §1.5: E_act+pre = 0.42 nJ/device, E_rd(64 B) = 0.37 nJ/device,
    // active standby 51.6 mW, precharge standby 40.8 mW (DRAMsim3 DDR4_8Gb_x8_2400 currents).
    let config = RecnmpConfig::builtin().unwrap();
    let (timing, power) = (&config.timing, &config.power);
    let act_pre_nj = power.act_pre_energy_pj_per_device(timing) / 1e3;
    let read_nj = power.read_burst_energy_pj_per_device(timing) / 1e3;
    assert!((act_pre_nj - 0.42).abs() < 0.005, "{act_pre_nj}");
    assert!((read_nj - 0.37).abs() < 0.005, "{read_nj}");
    assert!((power.active_standby_mw_per_device() - 51.6).abs() < 1e-9);
    assert!((power.precharge_standby_mw_per_device() - 40.8).abs() < 1e-9);
    // Refresh: 1.2 V x (250 - 43) mA x 350 ns = 86.9 nJ per device.
    let refresh_nj = power.refresh_energy_pj_per_device(timing) / 1e3;
    assert!((refresh_nj - 86.9).abs() < 0.2, "{refresh_nj}");
    // 19.2 GB/s channel peak for DDR4-2400 x64 (baselines.md §1.2).
    assert!((config.channel_peak_gbps() - 19.2).abs() < 0.05);
}

#[test]
fn refresh_blocks_the_rank_for_trfc() {
    // A request arriving just after the first tREFI (9364) waits for the refresh:
    // ACT at 9364 + tRFC 420 = 9784, data ends at 9784 + 36 = 9820.
    let mut late = request(0, 0, 0, 1);
    late.arrival_cycle = 9364;
    let config = RecnmpConfig::builtin().unwrap();
    let outcome = simulate_reads(&config.timing, &config.organisation, 1, 32, &[late]);
    assert_eq!(outcome.completion_cycles, vec![9820]);
    assert_eq!(outcome.stats.refreshes, 1);
}

#[test]
fn rankcache_is_lru() {
    let mut cache = RankCache::new(2);
    assert!(!cache.access(1));
    assert!(cache.insert(1));
    assert!(cache.insert(2));
    assert!(cache.access(1)); // 2 is now least recently used
    assert!(cache.insert(3)); // evicts 2
    assert!(!cache.access(2));
    assert!(cache.access(1));
    assert!(cache.access(3));
    assert!(!cache.insert(3)); // already present
    assert_eq!(cache.len(), 2);
    let mut disabled = RankCache::new(0);
    assert!(!disabled.insert(1));
    assert!(disabled.is_empty());
}
