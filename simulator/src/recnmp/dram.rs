//! Cycle-level DDR4 command scheduling for a group of ranks sharing one data bus.
//!
//! Per-bank state (open row, ACT time, last READ, earliest next ACT), per-rank tRRD_S/L, tFAW
//! and tCCD_S/L, all-bank refresh, and an FR-FCFS scheduler over a bounded request window:
//! ready row hits first, then the oldest request whose next command can issue. One command
//! per cycle per controller (one command bus). Close to Ramulator's DDR4 model for reads; writes
//! are not modelled because SparseLengthsSum only reads embedding rows.

use std::collections::VecDeque;

use super::config::{DramOrganisation, DramTiming};

/// One read of `bursts` consecutive 64 B bursts from one row of one bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DramRequest {
    /// Cycle at which the request enters the controller's queue.
    pub arrival_cycle: u64,
    /// Rank within this controller.
    pub rank: u32,
    /// Bank group.
    pub bank_group: u32,
    /// Bank within the group.
    pub bank: u32,
    /// DRAM row.
    pub row: u32,
    /// 64 B bursts to read.
    pub bursts: u32,
}

/// Command counts and timing of one controller run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DramStats {
    /// ACT commands (each one is eventually paired with a PRE, counted in its energy).
    pub activates: u64,
    /// READ bursts.
    pub read_bursts: u64,
    /// Requests served without an ACT of their own.
    pub row_hits: u64,
    /// All-bank refreshes per rank, summed over ranks.
    pub refreshes: u64,
    /// Cycles with at least one open bank, summed over ranks (active standby).
    pub active_standby_cycles: u64,
    /// Cycle at which the last data burst ends.
    pub end_cycle: u64,
}

/// Result of a controller run: the completion cycle of each request (same order as the input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DramRun {
    /// Cycle at which each request's last burst has arrived.
    pub completion_cycles: Vec<u64>,
    /// Counts and timing.
    pub stats: DramStats,
}

#[derive(Debug, Clone, Default)]
struct BankState {
    open_row: Option<u32>,
    act_cycle: u64,
    next_act_cycle: u64,
    last_read_cycle: Option<u64>,
}

#[derive(Debug, Clone)]
struct RankState {
    banks: Vec<BankState>,
    last_act_in_group: Vec<Option<u64>>,
    last_act: Option<u64>,
    recent_acts: VecDeque<u64>,
    last_read_in_group: Vec<Option<u64>>,
    last_read: Option<u64>,
    next_refresh_cycle: u64,
    open_banks: u32,
    open_since_cycle: u64,
    active_cycles: u64,
}

impl RankState {
    fn new(organisation: &DramOrganisation, timing: &DramTiming) -> Self {
        Self {
            banks: vec![BankState::default(); organisation.banks_per_rank() as usize],
            last_act_in_group: vec![None; organisation.bank_groups as usize],
            last_act: None,
            recent_acts: VecDeque::with_capacity(4),
            last_read_in_group: vec![None; organisation.bank_groups as usize],
            last_read: None,
            next_refresh_cycle: timing.trefi,
            open_banks: 0,
            open_since_cycle: 0,
            active_cycles: 0,
        }
    }

    fn bank_opened(&mut self, cycle: u64) {
        if self.open_banks == 0 {
            self.open_since_cycle = cycle;
        }
        self.open_banks += 1;
    }

    fn bank_closed(&mut self, cycle: u64) {
        self.open_banks = self.open_banks.saturating_sub(1);
        if self.open_banks == 0 {
            self.active_cycles += cycle.saturating_sub(self.open_since_cycle);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Activate,
    Precharge,
    Read,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    index: usize,
    remaining_bursts: u32,
    activated: bool,
}

fn after(cycle: Option<u64>, delay: u64) -> u64 {
    cycle.map_or(0, |c| c + delay)
}

/// Simulates `requests` on `ranks` ranks that share one command bus and one data bus.
///
/// Requests enter the window (at most `window` entries) in arrival order once their arrival
/// cycle has passed. Requests with zero bursts complete at their arrival.
pub fn simulate_reads(
    timing: &DramTiming,
    organisation: &DramOrganisation,
    ranks: u32,
    window: usize,
    requests: &[DramRequest],
) -> DramRun {
    let window = window.max(1);
    let banks_per_group = organisation.banks_per_group as usize;
    let mut rank_states: Vec<RankState> = (0..ranks.max(1))
        .map(|_| RankState::new(organisation, timing))
        .collect();
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by_key(|&i| requests[i].arrival_cycle);
    let mut completion = vec![0u64; requests.len()];
    let mut stats = DramStats::default();
    let mut pending: Vec<Pending> = Vec::with_capacity(window);
    let mut next_to_enter = 0usize;
    let mut bus_free_cycle = 0u64;
    let mut bus_last_rank: Option<u32> = None;
    let mut now = 0u64;

    loop {
        if timing.refresh {
            for state in rank_states.iter_mut() {
                while now >= state.next_refresh_cycle {
                    refresh(state, timing, &mut stats);
                }
            }
        }
        while pending.len() < window && next_to_enter < order.len() {
            let index = order[next_to_enter];
            let request = &requests[index];
            if request.arrival_cycle > now {
                break;
            }
            next_to_enter += 1;
            if request.bursts == 0 {
                completion[index] = request.arrival_cycle;
                continue;
            }
            pending.push(Pending {
                index,
                remaining_bursts: request.bursts,
                activated: false,
            });
        }
        if pending.is_empty() {
            match order.get(next_to_enter) {
                Some(&index) => {
                    now = now.max(requests[index].arrival_cycle);
                    continue;
                }
                None => break,
            }
        }

        let mut chosen: Option<(usize, Command)> = None;
        let mut earliest = u64::MAX;
        for (position, entry) in pending.iter().enumerate() {
            let request = &requests[entry.index];
            let rank = &rank_states[request.rank as usize];
            let group = request.bank_group as usize;
            let bank_index = group * banks_per_group + request.bank as usize;
            let bank = &rank.banks[bank_index];
            let (command, ready) = match bank.open_row {
                Some(row) if row == request.row => {
                    let switch = match bus_last_rank {
                        Some(last) if last != request.rank => timing.trtrs,
                        _ => 0,
                    };
                    let bus_ready = (bus_free_cycle + switch).saturating_sub(timing.cl);
                    let ready = (bank.act_cycle + timing.trcd)
                        .max(after(rank.last_read_in_group[group], timing.tccd_l))
                        .max(after(rank.last_read, timing.tccd_s))
                        .max(bus_ready);
                    (Command::Read, ready)
                }
                Some(open_row) => {
                    let ready = (bank.act_cycle + timing.tras)
                        .max(after(bank.last_read_cycle, timing.trtp));
                    // FR-FCFS never closes a row a queued request still hits. Checked only when
                    // the PRE could issue now; a later PRE at worst adds one idle time step.
                    if ready <= now
                        && pending.iter().any(|other| {
                            let o = &requests[other.index];
                            o.rank == request.rank
                                && o.bank_group == request.bank_group
                                && o.bank == request.bank
                                && o.row == open_row
                        })
                    {
                        continue;
                    }
                    (Command::Precharge, ready)
                }
                None => {
                    let faw = if rank.recent_acts.len() >= 4 {
                        rank.recent_acts.front().map_or(0, |&c| c + timing.tfaw)
                    } else {
                        0
                    };
                    let ready = bank
                        .next_act_cycle
                        .max(after(rank.last_act_in_group[group], timing.trrd_l))
                        .max(after(rank.last_act, timing.trrd_s))
                        .max(faw);
                    (Command::Activate, ready)
                }
            };
            let ready = ready.max(now);
            earliest = earliest.min(ready);
            if ready == now {
                if command == Command::Read {
                    // The oldest ready row hit wins outright.
                    chosen = Some((position, command));
                    break;
                }
                if chosen.is_none() {
                    chosen = Some((position, command));
                }
            }
        }

        let Some((position, command)) = chosen else {
            let mut next = earliest;
            if pending.len() < window {
                if let Some(&index) = order.get(next_to_enter) {
                    next = next.min(requests[index].arrival_cycle);
                }
            }
            if timing.refresh {
                for state in &rank_states {
                    next = next.min(state.next_refresh_cycle);
                }
            }
            now = next.max(now + 1);
            continue;
        };

        let entry = pending[position];
        let request = requests[entry.index];
        let group = request.bank_group as usize;
        let bank_index = group * banks_per_group + request.bank as usize;
        let rank = &mut rank_states[request.rank as usize];
        match command {
            Command::Activate => {
                let bank = &mut rank.banks[bank_index];
                bank.open_row = Some(request.row);
                bank.act_cycle = now;
                bank.next_act_cycle = now + timing.trc;
                rank.last_act_in_group[group] = Some(now);
                rank.last_act = Some(now);
                if rank.recent_acts.len() >= 4 {
                    rank.recent_acts.pop_front();
                }
                rank.recent_acts.push_back(now);
                rank.bank_opened(now);
                stats.activates += 1;
                pending[position].activated = true;
            }
            Command::Precharge => {
                let bank = &mut rank.banks[bank_index];
                bank.open_row = None;
                bank.next_act_cycle = bank.next_act_cycle.max(now + timing.trp);
                rank.bank_closed(now);
                pending[position].activated = true;
            }
            Command::Read => {
                rank.banks[bank_index].last_read_cycle = Some(now);
                rank.last_read_in_group[group] = Some(now);
                rank.last_read = Some(now);
                let data_end = now + timing.cl + timing.tbl;
                bus_free_cycle = data_end;
                bus_last_rank = Some(request.rank);
                stats.read_bursts += 1;
                stats.end_cycle = stats.end_cycle.max(data_end);
                let remaining = entry.remaining_bursts - 1;
                if remaining == 0 {
                    completion[entry.index] = data_end;
                    if !entry.activated {
                        stats.row_hits += 1;
                    }
                    pending.remove(position);
                } else {
                    pending[position].remaining_bursts = remaining;
                }
            }
        }
        now += 1;
    }

    // Banks left open count as active standby until the last data burst.
    let end = stats.end_cycle;
    for state in rank_states.iter_mut() {
        if state.open_banks > 0 {
            state.active_cycles += end.saturating_sub(state.open_since_cycle);
        }
        stats.active_standby_cycles += state.active_cycles;
    }
    DramRun {
        completion_cycles: completion,
        stats,
    }
}

/// All-bank refresh at the rank's scheduled refresh cycle: precharge all, then tRFC.
fn refresh(state: &mut RankState, timing: &DramTiming, stats: &mut DramStats) {
    let scheduled = state.next_refresh_cycle;
    let mut start = scheduled;
    let mut any_open = false;
    for bank in &state.banks {
        if bank.open_row.is_some() {
            any_open = true;
            start = start
                .max(bank.act_cycle + timing.tras)
                .max(after(bank.last_read_cycle, timing.trtp));
        }
    }
    if any_open {
        state.active_cycles += start.saturating_sub(state.open_since_cycle);
        state.open_banks = 0;
        start += timing.trp;
    }
    let done = start + timing.trfc;
    for bank in state.banks.iter_mut() {
        bank.open_row = None;
        bank.next_act_cycle = bank.next_act_cycle.max(done);
    }
    state.next_refresh_cycle = scheduled + timing.trefi;
    stats.refreshes += 1;
}
