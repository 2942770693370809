//! Seeded synthetic lookup traces: per-table Zipf popularity with shuffled ids.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Zipf};

use super::error::TraceError;
use super::permute::{splitmix64, IdPermutation};
use super::shape::TraceShape;
use super::{Lookup, LookupTrace};

/// Zipf exponent used by default for tables of at least `uniform_below_rows` rows
/// (baselines.md §4.2 recommendation [A]: 1.05, within the 0.9-1.2 range seen in torchrec/HugeCTR).
pub const DEFAULT_ZIPF_ALPHA: f64 = 1.05;

/// Tables smaller than this are sampled uniformly by default (baselines.md §4.2 [A]).
pub const DEFAULT_UNIFORM_BELOW_ROWS: u64 = 10_000;

/// Everything that determines a generated trace. Same spec => byte-identical trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSpec {
    /// Tables and default pooling.
    pub shape: TraceShape,
    /// Number of batches.
    pub batches: u32,
    /// Samples per batch.
    pub batch_size: u32,
    /// Seed of the ChaCha8 stream and of the id permutations.
    pub seed: u64,
    /// When set, every table uses this pooling factor instead of the shape's.
    pub pooling_override: Option<u32>,
    /// Zipf exponent for tables with at least `uniform_below_rows` rows.
    pub zipf_alpha: f64,
    /// Tables with fewer rows than this are sampled uniformly.
    pub uniform_below_rows: u64,
}

impl TraceSpec {
    /// A spec with the default skew (alpha 1.05, uniform below 10k rows) and the shape's pooling.
    pub fn new(shape: TraceShape, batches: u32, batch_size: u32, seed: u64) -> Self {
        Self {
            shape,
            batches,
            batch_size,
            seed,
            pooling_override: None,
            zipf_alpha: DEFAULT_ZIPF_ALPHA,
            uniform_below_rows: DEFAULT_UNIFORM_BELOW_ROWS,
        }
    }

    fn check(&self) -> Result<(), TraceError> {
        if self.batches == 0 {
            return Err(TraceError::InvalidParameter {
                name: "batches",
                value: self.batches.to_string(),
                allowed: ">= 1",
            });
        }
        if self.batch_size == 0 {
            return Err(TraceError::InvalidParameter {
                name: "batch_size",
                value: self.batch_size.to_string(),
                allowed: ">= 1",
            });
        }
        if let Some(pooling) = self.pooling_override {
            if pooling == 0 || pooling > 10_000 {
                return Err(TraceError::InvalidParameter {
                    name: "pooling",
                    value: pooling.to_string(),
                    allowed: "1..=10000",
                });
            }
        }
        // Zipf needs s > 0 to skew and stays numerically sane up to a few.
        if !(self.zipf_alpha.is_finite() && self.zipf_alpha > 0.0 && self.zipf_alpha <= 5.0) {
            return Err(TraceError::InvalidParameter {
                name: "zipf_alpha",
                value: self.zipf_alpha.to_string(),
                allowed: "0 < alpha <= 5",
            });
        }
        let lookups = u64::from(self.batches)
            * u64::from(self.batch_size)
            * self.pooling().iter().map(|&p| u64::from(p)).sum::<u64>();
        if lookups > MAX_LOOKUPS {
            return Err(TraceError::InvalidParameter {
                name: "batches x batch_size x pooling",
                value: lookups.to_string(),
                allowed: "at most 200000000 lookups",
            });
        }
        Ok(())
    }

    fn pooling(&self) -> Vec<u32> {
        match self.pooling_override {
            Some(pooling) => vec![pooling; self.shape.table_rows().len()],
            None => self.shape.pooling(),
        }
    }
}

/// Upper bound on generated lookups, so a typo in a flag cannot exhaust memory.
const MAX_LOOKUPS: u64 = 200_000_000;

/// How one table's rows are drawn.
enum RowSampler {
    Uniform(u64),
    Zipf(Zipf<f64>, IdPermutation),
}

impl RowSampler {
    fn sample(&self, rng: &mut ChaCha8Rng) -> u64 {
        match self {
            Self::Uniform(rows) => rng.random_range(0..*rows),
            Self::Zipf(zipf, permutation) => {
                // Zipf samples ranks in 1..=n as floats; rank 1 is the most popular.
                let rank = zipf.sample(rng) as u64;
                permutation.apply(rank.saturating_sub(1))
            }
        }
    }
}

/// Generates the trace: for every batch, sample and table, `pooling[table]` rows, in that order.
pub fn generate(spec: &TraceSpec) -> Result<LookupTrace, TraceError> {
    spec.check()?;
    let table_rows = spec.shape.table_rows();
    let pooling = spec.pooling();
    let samplers = table_rows
        .iter()
        .enumerate()
        .map(|(table, &rows)| {
            if rows < spec.uniform_below_rows || rows < 2 {
                Ok(RowSampler::Uniform(rows))
            } else {
                let zipf = Zipf::new(rows as f64, spec.zipf_alpha).map_err(|_| {
                    TraceError::InvalidParameter {
                        name: "zipf_alpha",
                        value: spec.zipf_alpha.to_string(),
                        allowed: "0 < alpha <= 5",
                    }
                })?;
                let key = splitmix64(spec.seed ^ splitmix64(table as u64 + 1));
                Ok(RowSampler::Zipf(zipf, IdPermutation::new(rows, key)))
            }
        })
        .collect::<Result<Vec<_>, TraceError>>()?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let per_sample: usize = pooling.iter().map(|&p| p as usize).sum();
    let mut lookups =
        Vec::with_capacity(spec.batches as usize * spec.batch_size as usize * per_sample);
    for batch in 0..spec.batches {
        for sample in 0..spec.batch_size {
            for (table, sampler) in samplers.iter().enumerate() {
                for _ in 0..pooling[table] {
                    lookups.push(Lookup {
                        batch,
                        sample,
                        table: table as u32,
                        row: sampler.sample(&mut rng),
                    });
                }
            }
        }
    }
    Ok(LookupTrace {
        table_rows,
        lookups,
    })
}
