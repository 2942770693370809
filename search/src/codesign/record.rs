//! One evaluated co-design candidate as the run keeps it (history, checkpoint) and reports it.

use serde::{Deserialize, Serialize};

use super::genome::JointGenome;
use super::objectives::DesignMetrics;

/// An evaluated design: its genome, where it came from, and what it measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignRecord {
    /// Candidate id within the run (initial population 0..P, then children in order).
    pub candidate_id: u64,
    /// Generation that produced it (0 = initial population).
    pub generation: u32,
    /// The joint genome.
    pub genome: JointGenome,
    /// Measured figures.
    pub metrics: DesignMetrics,
    /// `config_hash()` of the design's resolved hwconfig.
    pub hw_config_hash: String,
    /// Searched hardware settings as `key=value;...` text.
    pub hardware_settings: String,
    /// Sum of relative excesses over the run's constraints (0 = feasible).
    pub constraint_violation: f64,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl DesignRecord {
    /// The design's identity across runs and islands: 64-bit FNV-1a over the architecture hash,
    /// the bits and the resolved hwconfig's hash (not the space's value indices, so the same
    /// design found by runs over different space files has the same key). This is the
    /// `config_hash` column that `recpim merge` de-duplicates on.
    pub fn design_hash(&self) -> String {
        let mut h = FNV_OFFSET;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h ^= u64::from(b);
                h = h.wrapping_mul(FNV_PRIME);
            }
        };
        eat(&self.genome.arch.hash().to_le_bytes());
        eat(self.genome.bits_text().as_bytes());
        eat(b"|");
        eat(self.hw_config_hash.as_bytes());
        format!("{h:016x}")
    }
}
