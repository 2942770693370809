//! Keyed bijection on `0..n`, used to scatter Zipf ranks over a table's ids.
//!
//! FBGEMM PR #708 advises shuffling Zipf-generated indices: without it the hot ids cluster at
//! the low end of the table and create false spatial locality (inflated row-buffer and
//! RankCache hits). A Feistel network over the next even power-of-two domain with cycle walking
//! gives a bijection without materialising a permutation of 40M entries.

/// SplitMix64 finaliser: a cheap, well-mixed 64-bit hash.
pub fn splitmix64(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A keyed permutation of `0..n`.
#[derive(Debug, Clone)]
pub struct IdPermutation {
    n: u64,
    half_bits: u32,
    key: u64,
}

const FEISTEL_ROUNDS: u64 = 4;

impl IdPermutation {
    /// Permutation of `0..n` selected by `key`. `n = 0` is treated as an empty domain.
    pub fn new(n: u64, key: u64) -> Self {
        let bits = if n <= 1 {
            2
        } else {
            64 - (n - 1).leading_zeros()
        };
        let half_bits = bits.div_ceil(2).max(1);
        Self { n, half_bits, key }
    }

    fn feistel(&self, value: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let mut left = value >> self.half_bits;
        let mut right = value & mask;
        for round in 0..FEISTEL_ROUNDS {
            let mixed = splitmix64(self.key ^ (round << 56) ^ right) & mask;
            let next_right = left ^ mixed;
            left = right;
            right = next_right;
        }
        (left << self.half_bits) | right
    }

    /// The image of `index` (which must be below `n`); cycle-walks until it lands inside `0..n`.
    pub fn apply(&self, index: u64) -> u64 {
        if self.n <= 1 {
            return 0;
        }
        let mut value = self.feistel(index);
        while value >= self.n {
            value = self.feistel(value);
        }
        value
    }
}
