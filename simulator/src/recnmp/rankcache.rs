//! RankCache: a per-rank LRU cache of embedding vectors in the rank-NMP unit.

use std::collections::HashMap;

const NONE: usize = usize::MAX;

/// Fully associative LRU cache of whole embedding vectors, keyed by their global vector id.
#[derive(Debug, Clone)]
pub struct RankCache {
    capacity_vectors: usize,
    slots: HashMap<u64, usize>,
    keys: Vec<u64>,
    previous: Vec<usize>,
    next: Vec<usize>,
    most_recent: usize,
    least_recent: usize,
}

impl RankCache {
    /// A cache holding at most `capacity_vectors` vectors (0 = always miss, never insert).
    pub fn new(capacity_vectors: usize) -> Self {
        Self {
            capacity_vectors,
            slots: HashMap::with_capacity(capacity_vectors.min(1 << 20)),
            keys: Vec::new(),
            previous: Vec::new(),
            next: Vec::new(),
            most_recent: NONE,
            least_recent: NONE,
        }
    }

    /// Vectors currently held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn unlink(&mut self, slot: usize) {
        let (before, after) = (self.previous[slot], self.next[slot]);
        if before == NONE {
            self.most_recent = after;
        } else {
            self.next[before] = after;
        }
        if after == NONE {
            self.least_recent = before;
        } else {
            self.previous[after] = before;
        }
    }

    fn push_front(&mut self, slot: usize) {
        self.previous[slot] = NONE;
        self.next[slot] = self.most_recent;
        if self.most_recent != NONE {
            self.previous[self.most_recent] = slot;
        }
        self.most_recent = slot;
        if self.least_recent == NONE {
            self.least_recent = slot;
        }
    }

    /// Looks `key` up; a hit makes it the most recently used entry.
    pub fn access(&mut self, key: u64) -> bool {
        match self.slots.get(&key) {
            Some(&slot) => {
                self.unlink(slot);
                self.push_front(slot);
                true
            }
            None => false,
        }
    }

    /// Inserts `key` as the most recently used entry, evicting the least recently used one
    /// when full. Returns whether a write happened (false when disabled or already present).
    pub fn insert(&mut self, key: u64) -> bool {
        if self.capacity_vectors == 0 || self.slots.contains_key(&key) {
            return false;
        }
        let slot = if self.keys.len() < self.capacity_vectors {
            self.keys.push(key);
            self.previous.push(NONE);
            self.next.push(NONE);
            self.keys.len() - 1
        } else {
            let victim = self.least_recent;
            self.unlink(victim);
            self.slots.remove(&self.keys[victim]);
            self.keys[victim] = key;
            victim
        };
        self.slots.insert(key, slot);
        self.push_front(slot);
        true
    }
}
