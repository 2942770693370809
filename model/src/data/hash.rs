//! Small, fast, deterministic hashing for categorical keys.
//!
//! The std `HashMap` default (SipHash with a random seed) is slow for the tens of millions of
//! u64 keys a CTR vocabulary counts, and its random seed is not needed: counting order never
//! depends on hash order here (vocabularies are ordered by first appearance).

use std::hash::{BuildHasherDefault, Hasher};

/// splitmix64's finaliser: a bijective mix with good avalanche, so that hashbrown's use of the
/// top bits (control bytes) and low bits (bucket index) both see well-spread values.
#[inline]
pub fn mix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// FNV-1a over bytes, then `mix64`: the key of a categorical value that is not a number.
#[inline]
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h)
}

/// A `Hasher` for u64 keys built on `mix64`.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher {
    state: u64,
}

impl Hasher for KeyHasher {
    #[inline]
    fn finish(&self) -> u64 {
        mix64(self.state)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state =
                (self.state.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        self.state = self.state.wrapping_add(value);
    }
}

/// Hash map keyed by categorical keys.
pub type KeyMap<V> = std::collections::HashMap<u64, V, BuildHasherDefault<KeyHasher>>;
