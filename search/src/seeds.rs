//! Per-candidate random streams: every stochastic step of a run draws from a ChaCha8 stream
//! keyed by (run seed, candidate id, purpose), so a candidate's randomness does not depend on
//! which thread evaluates it, in which order, or how many other candidates exist.
//!
//! The 256-bit ChaCha key is the concatenation of the three 64-bit inputs and a 64-bit domain
//! tag, so distinct triples always give distinct keys (no hashing, no collisions), and ChaCha's
//! outputs under distinct keys are independent for all practical purposes.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Fills the last 8 bytes of every key, so recpim's streams differ from a plain
/// `ChaCha8Rng::from_seed` on the same numbers elsewhere. Changing it changes every result.
const DOMAIN_TAG: [u8; 8] = *b"recpim01";

/// The candidate id reserved for run-level streams (population initialisation, selection).
pub const RUN_LEVEL_CANDIDATE: u64 = u64::MAX;

/// What a stream is used for; two purposes of one candidate never share a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamPurpose(u64);

impl StreamPurpose {
    /// Sampling initial candidates (genomes) of a population.
    pub const INITIAL_SAMPLE: Self = Self::from_label("initial-sample");
    /// Choosing and applying mutations to produce a child.
    pub const MUTATION: Self = Self::from_label("mutation");
    /// Tournament / parent selection.
    pub const SELECTION: Self = Self::from_label("selection");
    /// Supernet path sampling.
    pub const PATH_SAMPLING: Self = Self::from_label("path-sampling");
    /// Weight initialisation of a model.
    pub const WEIGHT_INIT: Self = Self::from_label("weight-init");
    /// Minibatch order during training.
    pub const TRAINING: Self = Self::from_label("training");
    /// Fine-tuning after weight sharing.
    pub const FINE_TUNING: Self = Self::from_label("fine-tuning");
    /// Choosing validation batches for evaluation.
    pub const EVALUATION: Self = Self::from_label("evaluation");
    /// Random sampling of a sweep space.
    pub const SWEEP_SAMPLE: Self = Self::from_label("sweep-sample");

    /// A purpose named by a label (64-bit FNV-1a of its bytes). Use a new label for a new
    /// kind of randomness rather than reusing a purpose.
    pub const fn from_label(label: &str) -> Self {
        let bytes = label.as_bytes();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut i = 0;
        while i < bytes.len() {
            hash ^= bytes[i] as u64;
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            i += 1;
        }
        Self(hash)
    }

    /// The purpose's 64-bit code (part of the stream key).
    pub const fn code(self) -> u64 {
        self.0
    }
}

/// The ChaCha8 key of (run seed, candidate id, purpose).
fn stream_key(run_seed: u64, candidate_id: u64, purpose: StreamPurpose) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[0..8].copy_from_slice(&run_seed.to_le_bytes());
    key[8..16].copy_from_slice(&candidate_id.to_le_bytes());
    key[16..24].copy_from_slice(&purpose.code().to_le_bytes());
    key[24..32].copy_from_slice(&DOMAIN_TAG);
    key
}

/// The random stream of one candidate for one purpose.
pub fn candidate_rng(run_seed: u64, candidate_id: u64, purpose: StreamPurpose) -> ChaCha8Rng {
    ChaCha8Rng::from_seed(stream_key(run_seed, candidate_id, purpose))
}

/// A 64-bit seed derived from the stream, for APIs that take `seed: u64`.
pub fn derive_seed(run_seed: u64, candidate_id: u64, purpose: StreamPurpose) -> u64 {
    use rand::RngCore;
    candidate_rng(run_seed, candidate_id, purpose).next_u64()
}

/// The streams of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedStreams {
    run_seed: u64,
}

impl SeedStreams {
    /// Streams of the run with this seed.
    pub fn new(run_seed: u64) -> Self {
        Self { run_seed }
    }

    /// The run seed.
    pub fn run_seed(&self) -> u64 {
        self.run_seed
    }

    /// The stream of `candidate_id` for `purpose`.
    pub fn rng(&self, candidate_id: u64, purpose: StreamPurpose) -> ChaCha8Rng {
        candidate_rng(self.run_seed, candidate_id, purpose)
    }

    /// A 64-bit seed for `candidate_id` and `purpose`.
    pub fn seed(&self, candidate_id: u64, purpose: StreamPurpose) -> u64 {
        derive_seed(self.run_seed, candidate_id, purpose)
    }

    /// A run-level stream (not tied to a candidate), e.g. for selection.
    pub fn run_rng(&self, purpose: StreamPurpose) -> ChaCha8Rng {
        candidate_rng(self.run_seed, RUN_LEVEL_CANDIDATE, purpose)
    }
}
