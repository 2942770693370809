//! A stable architecture hash for de-duplicating genotypes (the reference tokenizer's idea,
//! nasrec-spec.md §2: per block the connection bits, a node bitmap, the width indices and the
//! two merger flags).
//!
//! Source order inside `dense_idx` / `sparse_idx` and the node order do not change the hash
//! (they are sets in the token), nor do `use_layernorm` and `test_loss` (they are not part of
//! the architecture). The bytes go through 64-bit FNV-1a, which has no key and no per-process
//! randomness, so the hash is the same on every machine and in every run.

use super::space::{DENSE_DIMS, SPARSE_DIMS};
use super::types::Genotype;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Streaming 64-bit FNV-1a.
struct Fnv1a(u64);

impl Fnv1a {
    fn bytes(&mut self, data: &[u8]) {
        for &b in data {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
}

/// Bit k set for every source k (sources are < 64 in any valid genotype; larger ones are
/// folded in by value so they still change the hash).
fn source_bits(sources: &[usize], h: &mut Fnv1a) -> u64 {
    let mut bits = 0u64;
    for &s in sources {
        match u32::try_from(s).ok().and_then(|s| 1u64.checked_shl(s)) {
            Some(bit) => bits |= bit,
            None => h.u64(s as u64),
        }
    }
    bits
}

/// Index of `value` in `list`, or `u64::MAX - value` for a width outside the space.
fn width_token(list: &[usize], value: usize) -> u64 {
    list.iter()
        .position(|&w| w == value)
        .map_or(u64::MAX - value as u64, |i| i as u64)
}

impl Genotype {
    /// The 64-bit architecture hash (see the module doc for what it covers).
    pub fn arch_hash(&self) -> u64 {
        let mut h = Fnv1a(FNV_OFFSET);
        let space = self
            .search_space()
            .map_or(self.config.as_str(), |s| s.reference_name());
        h.bytes(space.as_bytes());
        h.u64(self.num_blocks as u64);
        for (micro, macro_choice) in self.micro.iter().zip(&self.macro_) {
            for sources in [
                &macro_choice.dense_idx,
                &macro_choice.sparse_idx,
                &macro_choice.dense_left_idx,
                &macro_choice.dense_right_idx,
            ] {
                let bits = source_bits(sources, &mut h);
                h.u64(bits);
            }
            let nodes = source_bits(&micro.active_nodes, &mut h);
            h.u64(nodes);
            h.u64(width_token(&DENSE_DIMS, micro.dense_in_dims));
            h.u64(width_token(&SPARSE_DIMS, micro.sparse_in_dims));
            h.bytes(&[micro.dense_sparse_interact, micro.deep_fm]);
        }
        // Unequal micro/macro lengths (an invalid genotype) still hash distinctly.
        h.u64(self.micro.len() as u64);
        h.u64(self.macro_.len() as u64);
        h.0
    }

    /// [`Genotype::arch_hash`] as 16 lower-case hex digits.
    pub fn arch_hash_hex(&self) -> String {
        format!("{:016x}", self.arch_hash())
    }
}
