//! The joint genome of the co-design search: a model architecture (a NASRec genotype, or a
//! backend's fixed model, see [`super::architecture`]), one weight and one activation bitwidth
//! per quantizable operator of that architecture, and one value index per searched hardware key
//! of the space.
//!
//! The hardware and bit genes are mutated here; NASRec architecture genes by the NASRec
//! mutations of [`crate::nas`] (the paper's six kinds). The hash covers all three parts, so two
//! candidates with the same model on different hardware are different designs.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::architecture::Architecture;
use super::space::CodesignSpace;
use crate::error::{Result, SearchError};

/// How many times sampling or mutation redraws a hardware choice whose combination the
/// simulator rejects (e.g. more active rows than rows) before giving up.
pub const HARDWARE_REDRAWS: usize = 64;

/// One co-design candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JointGenome {
    /// The model architecture.
    pub arch: Architecture,
    /// Weight bits per quantizable operator, in the mapping's canonical operator order.
    pub weight_bits: Vec<u32>,
    /// Activation (input) bits per quantizable operator, same order.
    pub activation_bits: Vec<u32>,
    /// Value index per searched hardware key, in [`CodesignSpace::hardware`] order.
    pub hardware: Vec<usize>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

impl JointGenome {
    /// 64-bit FNV-1a over the architecture hash, the bits and the hardware choice (stable
    /// across machines and runs).
    pub fn hash(&self) -> u64 {
        let mut h = fnv(FNV_OFFSET, &self.arch.hash().to_le_bytes());
        for part in [&self.weight_bits, &self.activation_bits] {
            h = fnv(h, &(part.len() as u64).to_le_bytes());
            for &b in part {
                h = fnv(h, &b.to_le_bytes());
            }
        }
        h = fnv(h, &(self.hardware.len() as u64).to_le_bytes());
        for &i in &self.hardware {
            h = fnv(h, &(i as u64).to_le_bytes());
        }
        h
    }

    /// [`JointGenome::hash`] as 16 lower-case hex digits.
    pub fn hash_hex(&self) -> String {
        format!("{:016x}", self.hash())
    }

    /// `w8a8;w4a8;...` text of the bits (CSV column).
    pub fn bits_text(&self) -> String {
        self.weight_bits
            .iter()
            .zip(&self.activation_bits)
            .map(|(w, a)| format!("w{w}a{a}"))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// The bits as the backend ABI takes them: `{"weight_bits": [..], "activation_bits": [..]}`.
    pub fn bits_json(&self) -> String {
        serde_json::json!({
            "weight_bits": self.weight_bits,
            "activation_bits": self.activation_bits,
        })
        .to_string()
    }
}

/// A random hardware choice of `space` that the simulator accepts.
pub fn sample_hardware<R: Rng>(space: &CodesignSpace, rng: &mut R) -> Result<Vec<usize>> {
    for _ in 0..HARDWARE_REDRAWS {
        let choice: Vec<usize> = space
            .hardware
            .iter()
            .map(|hk| rng.random_range(0..hk.values.len()))
            .collect();
        if space.hwconfig_of(&choice).is_ok() {
            return Ok(choice);
        }
    }
    Err(no_valid_hardware(space))
}

fn no_valid_hardware(space: &CodesignSpace) -> SearchError {
    SearchError::SpaceKey {
        path: space.origin.clone(),
        key: "hardware".to_string(),
        reason: format!(
            "{HARDWARE_REDRAWS} random draws gave no valid hwconfig; the combinations of the \
             listed values are mostly invalid (check e.g. active_rows <= rows, per_crossbar <= cols)"
        ),
    }
}

/// Changes one hardware key with more than one allowed value to another of its values, redrawing
/// while the combination is invalid. With no such key the choice is returned unchanged.
pub fn mutate_hardware<R: Rng>(
    space: &CodesignSpace,
    choice: &[usize],
    rng: &mut R,
) -> Result<Vec<usize>> {
    let mutable: Vec<usize> = (0..space.hardware.len())
        .filter(|&k| space.hardware[k].values.len() > 1)
        .collect();
    if mutable.is_empty() {
        return Ok(choice.to_vec());
    }
    for _ in 0..HARDWARE_REDRAWS {
        let k = mutable[rng.random_range(0..mutable.len())];
        let n = space.hardware[k].values.len();
        let mut next = choice.to_vec();
        let current = choice.get(k).copied().unwrap_or(0);
        // A different value: draw among the n - 1 others.
        let step = rng.random_range(1..n);
        next[k] = (current + step) % n;
        if space.hwconfig_of(&next).is_ok() {
            return Ok(next);
        }
    }
    Ok(choice.to_vec())
}

/// Initial bits of a random genome: one weight and one activation bitwidth drawn from the
/// allowed values and given to all `operators`. A uniform start (w8a8, w4a8, ...) keeps the
/// initial population's models sensible; per-operator mixes then come from mutation, which
/// changes one operator at a time (drawing every operator independently would put about half of
/// a 20-operator model at the lowest width from the start).
pub fn sample_bits<R: Rng>(
    allowed: &[u32],
    operators: usize,
    rng: &mut R,
) -> Result<(Vec<u32>, Vec<u32>)> {
    if allowed.is_empty() {
        return Err(SearchError::TooFewPoints {
            what: "allowed bitwidths",
            needed: 1,
            found: 0,
        });
    }
    let weight = allowed[rng.random_range(0..allowed.len())];
    let activation = allowed[rng.random_range(0..allowed.len())];
    Ok((vec![weight; operators], vec![activation; operators]))
}

/// Changes the weight or the activation bits of one operator to another allowed value. With a
/// single allowed value or no operator the bits are returned unchanged.
pub fn mutate_bits<R: Rng>(
    allowed: &[u32],
    weight_bits: &[u32],
    activation_bits: &[u32],
    rng: &mut R,
) -> (Vec<u32>, Vec<u32>) {
    let mut w = weight_bits.to_vec();
    let mut a = activation_bits.to_vec();
    let operators = w.len().min(a.len());
    if allowed.len() < 2 || operators == 0 {
        return (w, a);
    }
    let op = rng.random_range(0..operators);
    let target = if rng.random_bool(0.5) { &mut w } else { &mut a };
    let others: Vec<u32> = allowed
        .iter()
        .copied()
        .filter(|&b| b != target[op])
        .collect();
    target[op] = others[rng.random_range(0..others.len())];
    (w, a)
}

/// Carries bits over an architecture change: an operator keeps its bits when an operator of the
/// same name existed before; new operators get `default_bits`.
pub fn carry_bits(
    old_names: &[String],
    old_weight_bits: &[u32],
    old_activation_bits: &[u32],
    new_names: &[String],
    default_bits: u32,
) -> (Vec<u32>, Vec<u32>) {
    let lookup = |name: &String, bits: &[u32]| {
        old_names
            .iter()
            .position(|n| n == name)
            .and_then(|i| bits.get(i).copied())
            .unwrap_or(default_bits)
    };
    (
        new_names
            .iter()
            .map(|n| lookup(n, old_weight_bits))
            .collect(),
        new_names
            .iter()
            .map(|n| lookup(n, old_activation_bits))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn bit_mutation_changes_exactly_one_gene_to_an_allowed_value() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let w = vec![8, 8, 4];
        let a = vec![8, 4, 4];
        for _ in 0..50 {
            let (w2, a2) = mutate_bits(&[4, 8], &w, &a, &mut rng);
            let changed = w.iter().zip(&w2).filter(|(x, y)| x != y).count()
                + a.iter().zip(&a2).filter(|(x, y)| x != y).count();
            assert_eq!(changed, 1);
            assert!(w2.iter().chain(&a2).all(|b| [4, 8].contains(b)));
        }
        assert_eq!(mutate_bits(&[8], &w, &a, &mut rng), (w.clone(), a.clone()));
    }

    #[test]
    fn carried_bits_follow_operator_names() {
        let old = vec!["b0.dense".to_string(), "b0.sparse".to_string()];
        let new = vec![
            "b0.sparse".to_string(),
            "b1.dense".to_string(),
            "b0.dense".to_string(),
        ];
        let (w, a) = carry_bits(&old, &[4, 8], &[8, 4], &new, 8);
        assert_eq!(w, vec![8, 8, 4]);
        assert_eq!(a, vec![4, 8, 8]);
    }
}
