//! Operator classes of a comparison: which part of a recommender an op belongs to.
//!
//! Only the DRAM baselines run a class on its own ([`split_by_class`]: the host CPU and the DRAM
//! models cost each op independently); ReRAM designs get per-class shares of one end-to-end run
//! (`attribute.rs`).

use recpim_sim::{Op, Workload};
use serde::Serialize;

/// The part of a recommender an op belongs to. Figures are reported per class and end to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpClass {
    // Declared in `ALL` order: `index` relies on it.
    /// Weight-stationary matrix-vector products (`Mvm`): dense FCs, embedded FCs, projections.
    Mlp,
    /// Pairwise interactions and other dynamic arithmetic (`Digital`): dot product, FM, attention.
    Interaction,
    /// Embedding lookups (`Gather`).
    Embedding,
    /// Activations, residual adds, gating, normalisation, requantisation (`Elementwise`).
    Elementwise,
}

impl OpClass {
    /// Every class in report order.
    pub const ALL: [OpClass; 4] = [
        OpClass::Mlp,
        OpClass::Interaction,
        OpClass::Embedding,
        OpClass::Elementwise,
    ];

    /// The class of an op: decided by the op kind alone, so every design sees the same split.
    pub fn of(op: &Op) -> OpClass {
        match op {
            Op::Mvm { .. } => OpClass::Mlp,
            Op::Digital { .. } => OpClass::Interaction,
            Op::Gather { .. } => OpClass::Embedding,
            Op::Elementwise { .. } => OpClass::Elementwise,
        }
    }

    /// Position in [`OpClass::ALL`] (for per-class arrays).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in tables and CSV files.
    pub fn name(self) -> &'static str {
        match self {
            OpClass::Mlp => "mlp",
            OpClass::Interaction => "interaction",
            OpClass::Embedding => "embedding",
            OpClass::Elementwise => "elementwise",
        }
    }
}

impl std::fmt::Display for OpClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The ops of one class, in workload order (a class absent from the workload is left out).
///
/// The DRAM baselines cost each part on its own (their models are additive per op); a part keeps
/// its ops' relative order.
pub fn split_by_class(workload: &Workload) -> Vec<(OpClass, Workload)> {
    OpClass::ALL
        .iter()
        .filter_map(|&class| {
            let ops: Vec<Op> = workload
                .ops
                .iter()
                .filter(|op| OpClass::of(op) == class)
                .cloned()
                .collect();
            (!ops.is_empty()).then_some((class, Workload { ops }))
        })
        .collect()
}
