//! RecNMP configuration: raw TOML (`deny_unknown_fields`) checked into a validated config.
//!
//! The shipped preset is `hwconfigs/baselines/recnmp.toml` (DDR4-2400, baselines.md §1.4-1.5);
//! every key is documented in `hwconfigs/baselines/README.md`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cacti::sram_figures;
use super::error::RecnmpError;

/// The shipped preset, compiled in so the model runs without the repository checkout.
const BUILTIN_TOML: &str = include_str!("../../../hwconfigs/baselines/recnmp.toml");
const BUILTIN_ORIGIN: &str = "built-in hwconfigs/baselines/recnmp.toml";

/// Rank counts RecNMP was evaluated with (1, 2 or 4 DIMMs x 2 ranks; baselines.md §1.2).
pub const ALLOWED_RANKS: [u32; 3] = [2, 4, 8];

/// `[dram]` as written in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawDram {
    pub standard: String,
    pub tck_ns: f64,
    pub cl_cycles: u64,
    pub cwl_cycles: u64,
    pub trcd_cycles: u64,
    pub trp_cycles: u64,
    pub tras_cycles: u64,
    pub trc_cycles: u64,
    pub trrd_s_cycles: u64,
    pub trrd_l_cycles: u64,
    pub tfaw_cycles: u64,
    pub tccd_s_cycles: u64,
    pub tccd_l_cycles: u64,
    pub trtp_cycles: u64,
    pub tbl_cycles: u64,
    pub trtrs_cycles: u64,
    pub trfc_cycles: u64,
    pub trefi_cycles: u64,
    pub refresh: bool,
    pub vdd_v: f64,
    pub idd0_ma: f64,
    pub idd2n_ma: f64,
    pub idd3n_ma: f64,
    pub idd4r_ma: f64,
    pub idd5b_ma: f64,
    pub chips_per_rank: u32,
    pub bank_groups: u32,
    pub banks_per_group: u32,
    pub rows_per_bank: u32,
    pub row_bytes_per_rank: u32,
}

/// `[topology]` as written in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawTopology {
    pub ranks: u32,
    pub ranks_per_dimm: u32,
    pub placement: Placement,
}

/// Where embedding vectors live (see [`super::address`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Every table interleaved over all ranks of the channel.
    RankInterleaved,
    /// Each table on one DIMM, interleaved over that DIMM's ranks.
    TablePerDimm,
}

/// `[nmp]` as written in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawNmp {
    pub inst_bits: u32,
    pub packet_bits: u32,
    pub rankcache_kb: u32,
    pub rankcache_hit_cycles: u64,
    pub table_aware: bool,
    pub hot_entry_profiling: bool,
    pub rank_queue_entries: u32,
    pub dimm_reduce_cycles: u64,
    pub fp32_add_pj: f64,
    #[serde(default)]
    pub rankcache_read_pj: Option<f64>,
    #[serde(default)]
    pub rankcache_write_pj: Option<f64>,
    #[serde(default)]
    pub rankcache_leakage_mw: Option<f64>,
}

/// `[channel]` as written in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawChannel {
    pub io_pj_per_bit: f64,
    pub host_queue_entries: u32,
}

/// The whole file, unchecked. Edit fields (e.g. from CLI flags), then [`RawRecnmpConfig::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RawRecnmpConfig {
    pub name: String,
    pub dram: RawDram,
    pub topology: RawTopology,
    pub nmp: RawNmp,
    pub channel: RawChannel,
    /// Where the text came from (file path or built-in); used in error messages.
    #[serde(skip)]
    pub origin: String,
}

impl RawRecnmpConfig {
    /// Parses TOML text; `origin` names the file in error messages.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, RecnmpError> {
        let mut raw: Self = toml::from_str(text).map_err(|error| RecnmpError::ConfigSyntax {
            origin: origin.to_string(),
            message: error.to_string(),
        })?;
        raw.origin = origin.to_string();
        Ok(raw)
    }

    /// Reads and parses a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, RecnmpError> {
        let text = std::fs::read_to_string(path).map_err(|error| RecnmpError::ConfigIo {
            path: path.to_path_buf(),
            reason: error.to_string(),
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// The shipped DDR4-2400, 8-rank preset.
    pub fn builtin() -> Result<Self, RecnmpError> {
        Self::from_toml_str(BUILTIN_TOML, BUILTIN_ORIGIN)
    }

    fn value_error(&self, key: &'static str, value: impl ToString, allowed: &str) -> RecnmpError {
        RecnmpError::ConfigValue {
            origin: self.origin.clone(),
            key,
            value: value.to_string(),
            allowed: allowed.to_string(),
        }
    }

    fn positive_f64(&self, key: &'static str, value: f64) -> Result<f64, RecnmpError> {
        if value.is_finite() && value > 0.0 {
            Ok(value)
        } else {
            Err(self.value_error(key, value, "finite and > 0"))
        }
    }

    fn non_negative_f64(&self, key: &'static str, value: f64) -> Result<f64, RecnmpError> {
        if value.is_finite() && value >= 0.0 {
            Ok(value)
        } else {
            Err(self.value_error(key, value, "finite and >= 0"))
        }
    }

    fn cycles(&self, key: &'static str, value: u64, max: u64) -> Result<u64, RecnmpError> {
        if (1..=max).contains(&value) {
            Ok(value)
        } else {
            Err(self.value_error(key, value, &format!("1..={max} cycles")))
        }
    }

    /// Validates every key and returns the config the simulator accepts.
    pub fn check(&self) -> Result<RecnmpConfig, RecnmpError> {
        let d = &self.dram;
        let timing = DramTiming {
            tck_ns: self.positive_f64("dram.tck_ns", d.tck_ns)?,
            cl: self.cycles("dram.cl_cycles", d.cl_cycles, 100)?,
            cwl: self.cycles("dram.cwl_cycles", d.cwl_cycles, 100)?,
            trcd: self.cycles("dram.trcd_cycles", d.trcd_cycles, 100)?,
            trp: self.cycles("dram.trp_cycles", d.trp_cycles, 100)?,
            tras: self.cycles("dram.tras_cycles", d.tras_cycles, 200)?,
            trc: self.cycles("dram.trc_cycles", d.trc_cycles, 300)?,
            trrd_s: self.cycles("dram.trrd_s_cycles", d.trrd_s_cycles, 100)?,
            trrd_l: self.cycles("dram.trrd_l_cycles", d.trrd_l_cycles, 100)?,
            tfaw: self.cycles("dram.tfaw_cycles", d.tfaw_cycles, 200)?,
            tccd_s: self.cycles("dram.tccd_s_cycles", d.tccd_s_cycles, 100)?,
            tccd_l: self.cycles("dram.tccd_l_cycles", d.tccd_l_cycles, 100)?,
            trtp: self.cycles("dram.trtp_cycles", d.trtp_cycles, 100)?,
            tbl: self.cycles("dram.tbl_cycles", d.tbl_cycles, 16)?,
            trtrs: if d.trtrs_cycles <= 100 {
                d.trtrs_cycles
            } else {
                return Err(self.value_error(
                    "dram.trtrs_cycles",
                    d.trtrs_cycles,
                    "0..=100 cycles",
                ));
            },
            trfc: self.cycles("dram.trfc_cycles", d.trfc_cycles, 10_000)?,
            trefi: self.cycles("dram.trefi_cycles", d.trefi_cycles, 1_000_000)?,
            refresh: d.refresh,
        };
        if timing.trc < timing.tras + timing.trp {
            return Err(self.value_error(
                "dram.trc_cycles",
                timing.trc,
                &format!(">= tras + trp = {}", timing.tras + timing.trp),
            ));
        }
        if timing.trefi <= timing.trfc {
            return Err(self.value_error(
                "dram.trefi_cycles",
                timing.trefi,
                &format!("> trfc_cycles = {}", timing.trfc),
            ));
        }
        let power = DramPower {
            vdd_v: self.positive_f64("dram.vdd_v", d.vdd_v)?,
            idd0_ma: self.positive_f64("dram.idd0_ma", d.idd0_ma)?,
            idd2n_ma: self.positive_f64("dram.idd2n_ma", d.idd2n_ma)?,
            idd3n_ma: self.positive_f64("dram.idd3n_ma", d.idd3n_ma)?,
            idd4r_ma: self.positive_f64("dram.idd4r_ma", d.idd4r_ma)?,
            idd5b_ma: self.positive_f64("dram.idd5b_ma", d.idd5b_ma)?,
            chips_per_rank: if (1..=18).contains(&d.chips_per_rank) {
                d.chips_per_rank
            } else {
                return Err(self.value_error("dram.chips_per_rank", d.chips_per_rank, "1..=18"));
            },
        };
        if power.idd4r_ma <= power.idd3n_ma || power.idd5b_ma <= power.idd3n_ma {
            return Err(self.value_error(
                "dram.idd4r_ma / dram.idd5b_ma",
                format!("{} / {}", power.idd4r_ma, power.idd5b_ma),
                &format!("both > idd3n_ma = {}", power.idd3n_ma),
            ));
        }
        if power.act_pre_energy_pj_per_device(&timing) <= 0.0 {
            return Err(self.value_error(
                "dram.idd0_ma",
                power.idd0_ma,
                "large enough that IDD0*tRC > IDD3N*tRAS + IDD2N*(tRC-tRAS)",
            ));
        }
        let power_of_two = |value: u32| value.is_power_of_two();
        if !(1..=8).contains(&d.bank_groups) || !power_of_two(d.bank_groups) {
            return Err(self.value_error("dram.bank_groups", d.bank_groups, "1, 2, 4 or 8"));
        }
        if !(1..=8).contains(&d.banks_per_group) || !power_of_two(d.banks_per_group) {
            return Err(self.value_error(
                "dram.banks_per_group",
                d.banks_per_group,
                "1, 2, 4 or 8",
            ));
        }
        if !(1024..=1 << 20).contains(&d.rows_per_bank) {
            return Err(self.value_error("dram.rows_per_bank", d.rows_per_bank, "1024..=1048576"));
        }
        if !(64..=65536).contains(&d.row_bytes_per_rank) || !d.row_bytes_per_rank.is_multiple_of(64)
        {
            return Err(self.value_error(
                "dram.row_bytes_per_rank",
                d.row_bytes_per_rank,
                "a multiple of 64 in 64..=65536",
            ));
        }
        let organisation = DramOrganisation {
            bank_groups: d.bank_groups,
            banks_per_group: d.banks_per_group,
            rows_per_bank: d.rows_per_bank,
            row_bytes_per_rank: d.row_bytes_per_rank,
        };
        let t = &self.topology;
        if !ALLOWED_RANKS.contains(&t.ranks) {
            return Err(self.value_error("topology.ranks", t.ranks, "2, 4 or 8"));
        }
        if t.ranks_per_dimm == 0
            || !t.ranks.is_multiple_of(t.ranks_per_dimm)
            || t.ranks_per_dimm > t.ranks
        {
            return Err(self.value_error(
                "topology.ranks_per_dimm",
                t.ranks_per_dimm,
                &format!("a divisor of topology.ranks = {}", t.ranks),
            ));
        }
        let n = &self.nmp;
        if !(8..=512).contains(&n.inst_bits) {
            return Err(self.value_error("nmp.inst_bits", n.inst_bits, "8..=512"));
        }
        if n.packet_bits < n.inst_bits || !n.packet_bits.is_multiple_of(512) || n.packet_bits > 4096
        {
            return Err(self.value_error(
                "nmp.packet_bits",
                n.packet_bits,
                "a multiple of 512 (one 64 B burst) up to 4096, >= inst_bits",
            ));
        }
        if n.rankcache_kb > 1024 {
            return Err(self.value_error("nmp.rankcache_kb", n.rankcache_kb, "0..=1024"));
        }
        let cacti = sram_figures(n.rankcache_kb);
        let sram_value = |key: &'static str,
                          explicit: Option<f64>,
                          from_table: Option<f64>|
         -> Result<f64, RecnmpError> {
            match (explicit, from_table) {
                (Some(value), _) => self.non_negative_f64(key, value),
                (None, Some(value)) => Ok(value),
                (None, None) if n.rankcache_kb == 0 => Ok(0.0),
                (None, None) => Err(self.value_error(
                    "nmp.rankcache_kb",
                    n.rankcache_kb,
                    "0, or 2/4/8/16/32/64/128/256/512/1024 (the CACTI 32 nm table), or set \
                     nmp.rankcache_read_pj, nmp.rankcache_write_pj and nmp.rankcache_leakage_mw",
                )),
            }
        };
        let rankcache = RankCacheSettings {
            size_kb: n.rankcache_kb,
            hit_cycles: if n.rankcache_hit_cycles <= 100 {
                n.rankcache_hit_cycles
            } else {
                return Err(self.value_error(
                    "nmp.rankcache_hit_cycles",
                    n.rankcache_hit_cycles,
                    "0..=100 cycles",
                ));
            },
            read_pj_per_64b: sram_value(
                "nmp.rankcache_read_pj",
                n.rankcache_read_pj,
                cacti.map(|c| c.read_energy_pj),
            )?,
            write_pj_per_64b: sram_value(
                "nmp.rankcache_write_pj",
                n.rankcache_write_pj,
                cacti.map(|c| c.write_energy_pj),
            )?,
            leakage_mw: sram_value(
                "nmp.rankcache_leakage_mw",
                n.rankcache_leakage_mw,
                cacti.map(|c| c.leakage_mw),
            )?,
        };
        if !(1..=4096).contains(&n.rank_queue_entries) {
            return Err(self.value_error(
                "nmp.rank_queue_entries",
                n.rank_queue_entries,
                "1..=4096",
            ));
        }
        if n.dimm_reduce_cycles > 1000 {
            return Err(self.value_error(
                "nmp.dimm_reduce_cycles",
                n.dimm_reduce_cycles,
                "0..=1000 cycles",
            ));
        }
        let nmp = NmpSettings {
            inst_bits: n.inst_bits,
            packet_bits: n.packet_bits,
            rankcache,
            table_aware: n.table_aware,
            hot_entry_profiling: n.hot_entry_profiling,
            rank_queue_entries: n.rank_queue_entries,
            dimm_reduce_cycles: n.dimm_reduce_cycles,
            fp32_add_pj: self.non_negative_f64("nmp.fp32_add_pj", n.fp32_add_pj)?,
        };
        let c = &self.channel;
        if !(1..=4096).contains(&c.host_queue_entries) {
            return Err(self.value_error(
                "channel.host_queue_entries",
                c.host_queue_entries,
                "1..=4096",
            ));
        }
        let channel = ChannelSettings {
            io_pj_per_bit: self.non_negative_f64("channel.io_pj_per_bit", c.io_pj_per_bit)?,
            host_queue_entries: c.host_queue_entries,
        };
        Ok(RecnmpConfig {
            name: self.name.clone(),
            standard: d.standard.clone(),
            timing,
            power,
            organisation,
            ranks: t.ranks,
            ranks_per_dimm: t.ranks_per_dimm,
            placement: t.placement,
            nmp,
            channel,
        })
    }
}

/// DRAM timing in memory-clock cycles (tCK).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(missing_docs)]
pub struct DramTiming {
    pub tck_ns: f64,
    pub cl: u64,
    pub cwl: u64,
    pub trcd: u64,
    pub trp: u64,
    pub tras: u64,
    pub trc: u64,
    pub trrd_s: u64,
    pub trrd_l: u64,
    pub tfaw: u64,
    pub tccd_s: u64,
    pub tccd_l: u64,
    pub trtp: u64,
    pub tbl: u64,
    pub trtrs: u64,
    pub trfc: u64,
    pub trefi: u64,
    /// Whether all-bank refresh (tRFC every tREFI) is modelled.
    pub refresh: bool,
}

/// IDD currents (per device, mA) and supply voltage.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(missing_docs)]
pub struct DramPower {
    pub vdd_v: f64,
    pub idd0_ma: f64,
    pub idd2n_ma: f64,
    pub idd3n_ma: f64,
    pub idd4r_ma: f64,
    pub idd5b_ma: f64,
    pub chips_per_rank: u32,
}

impl DramPower {
    /// Micron-style ACT+PRE energy of one device, pJ:
    /// VDD·(IDD0·tRC − IDD3N·tRAS − IDD2N·(tRC − tRAS)) (baselines.md §1.5). mA·V·ns = pJ.
    pub fn act_pre_energy_pj_per_device(&self, timing: &DramTiming) -> f64 {
        let trc_ns = timing.trc as f64 * timing.tck_ns;
        let tras_ns = timing.tras as f64 * timing.tck_ns;
        self.vdd_v
            * (self.idd0_ma * trc_ns - self.idd3n_ma * tras_ns - self.idd2n_ma * (trc_ns - tras_ns))
    }

    /// Read energy of one 64 B burst (BL8) of one device, pJ: VDD·(IDD4R − IDD3N)·tBL.
    pub fn read_burst_energy_pj_per_device(&self, timing: &DramTiming) -> f64 {
        self.vdd_v * (self.idd4r_ma - self.idd3n_ma) * timing.tbl as f64 * timing.tck_ns
    }

    /// All-bank refresh energy of one device, pJ: VDD·(IDD5B − IDD3N)·tRFC.
    pub fn refresh_energy_pj_per_device(&self, timing: &DramTiming) -> f64 {
        self.vdd_v * (self.idd5b_ma - self.idd3n_ma) * timing.trfc as f64 * timing.tck_ns
    }

    /// Precharge-standby power of one device, mW: VDD·IDD2N.
    pub fn precharge_standby_mw_per_device(&self) -> f64 {
        self.vdd_v * self.idd2n_ma
    }

    /// Active-standby power of one device, mW: VDD·IDD3N.
    pub fn active_standby_mw_per_device(&self) -> f64 {
        self.vdd_v * self.idd3n_ma
    }
}

/// Banks, rows and page size.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(missing_docs)]
pub struct DramOrganisation {
    pub bank_groups: u32,
    pub banks_per_group: u32,
    pub rows_per_bank: u32,
    pub row_bytes_per_rank: u32,
}

impl DramOrganisation {
    /// Banks per rank.
    pub fn banks_per_rank(&self) -> u32 {
        self.bank_groups * self.banks_per_group
    }
}

/// The per-rank SRAM cache of embedding vectors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankCacheSettings {
    /// Capacity in KiB per rank; 0 disables the cache.
    pub size_kb: u32,
    /// Cycles (tCK) from instruction decode to a hit's data.
    pub hit_cycles: u64,
    /// Energy of one 64 B SRAM read, pJ.
    pub read_pj_per_64b: f64,
    /// Energy of one 64 B SRAM write, pJ.
    pub write_pj_per_64b: f64,
    /// Leakage of one rank's cache, mW.
    pub leakage_mw: f64,
}

/// Near-memory processing settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NmpSettings {
    /// Bits of one NMP instruction.
    pub inst_bits: u32,
    /// Bits of one NMP packet (sent as DDR write bursts).
    pub packet_bits: u32,
    /// The RankCache.
    pub rankcache: RankCacheSettings,
    /// Group a batch's instructions by table before sending them.
    pub table_aware: bool,
    /// Insert only rows used more than once in the batch into the RankCache.
    pub hot_entry_profiling: bool,
    /// FR-FCFS window of a rank-NMP's DRAM scheduler.
    pub rank_queue_entries: u32,
    /// Cycles of the DIMM-NMP cross-rank add per pooled vector.
    pub dimm_reduce_cycles: u64,
    /// Energy of one FP32 add, pJ.
    pub fp32_add_pj: f64,
}

impl NmpSettings {
    /// Instructions that fit in one packet.
    pub fn insts_per_packet(&self) -> u32 {
        self.packet_bits / self.inst_bits
    }
}

/// The host-DIMM channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelSettings {
    /// I/O and termination energy per bit crossing the channel, pJ [A].
    pub io_pj_per_bit: f64,
    /// FR-FCFS window of the host memory controller.
    pub host_queue_entries: u32,
}

/// A validated RecNMP configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecnmpConfig {
    /// Preset name.
    pub name: String,
    /// DRAM standard label.
    pub standard: String,
    /// Timing.
    pub timing: DramTiming,
    /// Currents.
    pub power: DramPower,
    /// Banks, rows, page size.
    pub organisation: DramOrganisation,
    /// Ranks on the channel (2, 4 or 8).
    pub ranks: u32,
    /// Ranks per DIMM (one DIMM-NMP per DIMM).
    pub ranks_per_dimm: u32,
    /// Where embedding vectors live.
    pub placement: Placement,
    /// NMP settings.
    pub nmp: NmpSettings,
    /// Channel settings.
    pub channel: ChannelSettings,
}

impl RecnmpConfig {
    /// The shipped preset, checked.
    pub fn builtin() -> Result<Self, RecnmpError> {
        RawRecnmpConfig::builtin()?.check()
    }

    /// DIMMs on the channel.
    pub fn dimms(&self) -> u32 {
        self.ranks / self.ranks_per_dimm
    }

    /// Peak channel bandwidth in GB/s (64-bit bus, two transfers per clock).
    pub fn channel_peak_gbps(&self) -> f64 {
        64.0 / self.timing.tbl as f64 / self.timing.tck_ns
    }
}
