//! Seeded synthetic CTR data with a known click probability, so the Bayes-optimal log loss is
//! known and a model's accuracy can be judged against that limit.
//!
//! Generating model (per shape: Criteo 13 dense + 26 categorical, Avazu 22 categorical + the
//! all-zero pseudo dense feature, KDD 3 dense + 8 categorical):
//! - categoricals: Zipf-skewed ranks (exponent per field), some fields with missing values;
//!   ranks are mapped to ids by a bijection (a 32-bit mixing permutation for hex ids, a modular
//!   permutation for decimal ids) so frequent values are not small numbers, as in real logs;
//! - dense: log-normal-ish non-negative integers, some missing;
//! - logit = bias + first-order value effects + dense effects on the standardised
//!   `log(x+1)` + planted low-rank pairwise field interactions `<u_f[a], u_g[b]>` + planted
//!   3-way sign interactions, where the bias is calibrated (bisection on a separate sample) so
//!   the positive rate is about 0.25. Every term depends only on what the file shows, so the
//!   written `true p` is the Bayes-optimal predictor of the label from the row.
//!
//! Streams: ChaCha8 with the given seed; stream 1 draws the model, 2 the rows, 3 the
//! calibration sample. The first `n` rows of a longer run equal a run of `n` rows.
//!
//! Files: `write_synthetic` writes the shape's own format (Criteo TSV, Avazu CSV with header,
//! KDD TSV) and a side file `<out>.true_p` with the true click probability of each data row,
//! one per line in row order (shortest round-trip f32 text).

use crate::data::format::{DataFormat, MISSING_KEY};
use crate::data::hash::mix64;
use crate::data::raw::{RawRow, RawRows};
use crate::data::source::{Compression, DataWriter};
use crate::error::{ModelError, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Target positive rate of every shape (Criteo's is about 0.256).
pub const TARGET_POSITIVE_RATE: f64 = 0.25;
const FACTOR_RANK: usize = 4;
/// Standard deviation of a value's first-order effect on the logit.
const FIRST_ORDER_SCALE: f64 = 0.18;
/// Standard deviation of a dense feature's weight (on its standardised log value).
const DENSE_SCALE: f64 = 0.2;
/// Strength of a planted pairwise interaction (its term has this standard deviation).
const PAIR_SCALE: f64 = 0.3;
/// Size of a planted 3-way sign interaction.
const TRIPLE_SCALE: f64 = 0.25;
const CALIBRATION_ROWS: usize = 20_000;

/// Which real data set the synthetic data imitates (fields, formats, cardinalities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyntheticShape {
    /// Criteo: 13 integer + 26 hex categorical columns, TSV.
    Criteo,
    /// Avazu: `id,click,hour,C1,...,C21` CSV with header.
    Avazu,
    /// KDD Cup 2012 track 2 `training.txt` TSV.
    Kdd,
}

impl SyntheticShape {
    /// The format the shape is written in (and read back with).
    pub fn format(self) -> DataFormat {
        match self {
            SyntheticShape::Criteo => DataFormat::Criteo,
            SyntheticShape::Avazu => DataFormat::Avazu,
            SyntheticShape::Kdd => DataFormat::Kdd,
        }
    }

    /// Name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SyntheticShape::Criteo => "criteo",
            SyntheticShape::Avazu => "avazu",
            SyntheticShape::Kdd => "kdd",
        }
    }
}

impl fmt::Display for SyntheticShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SyntheticShape {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "criteo" => Ok(SyntheticShape::Criteo),
            "avazu" => Ok(SyntheticShape::Avazu),
            "kdd" => Ok(SyntheticShape::Kdd),
            _ => Err(ModelError::InvalidOption {
                name: "shape".into(),
                value: s.into(),
                allowed: "one of criteo, avazu, kdd".into(),
            }),
        }
    }
}

/// How a categorical rank becomes the id written to the file.
#[derive(Debug, Clone, Copy)]
enum IdText {
    /// 8 hex digits of a 32-bit permutation of the rank.
    Hex,
    /// `offset + permuted rank` in decimal.
    Decimal { offset: u64 },
    /// Avazu's `YYMMDDHH` hour over 10 days from 14102100.
    AvazuHour,
}

#[derive(Debug, Clone, Copy)]
struct FieldSpec {
    name: &'static str,
    cardinality: u32,
    zipf_exponent: f64,
    missing_p: f64,
    text: IdText,
}

const fn field(
    name: &'static str,
    cardinality: u32,
    zipf_exponent: f64,
    missing_p: f64,
    text: IdText,
) -> FieldSpec {
    FieldSpec {
        name,
        cardinality,
        zipf_exponent,
        missing_p,
        text,
    }
}

#[derive(Debug, Clone, Copy)]
enum DenseSpec {
    /// `floor(exp(mu + sigma z)) - 1`, missing with probability `missing_p`.
    LogNormal { mu: f64, sigma: f64, missing_p: f64 },
    /// KDD depth: 1..=3 ads shown.
    KddDepth,
    /// KDD position: 1..=depth.
    KddPosition,
}

const H: IdText = IdText::Hex;

/// Criteo-like: cardinalities from the Kaggle data (C3, C4, C12, C16, C21 capped at 200,000),
/// missing rates roughly Criteo's.
const CRITEO_FIELDS: [FieldSpec; 26] = [
    field("C1", 1460, 1.1, 0.0, H),
    field("C2", 583, 1.1, 0.0, H),
    field("C3", 200_000, 1.05, 0.03, H),
    field("C4", 200_000, 1.05, 0.03, H),
    field("C5", 305, 1.1, 0.0, H),
    field("C6", 24, 0.8, 0.12, H),
    field("C7", 12_517, 1.1, 0.0, H),
    field("C8", 633, 1.1, 0.0, H),
    field("C9", 3, 0.5, 0.0, H),
    field("C10", 93_145, 1.05, 0.0, H),
    field("C11", 5683, 1.1, 0.0, H),
    field("C12", 200_000, 1.05, 0.03, H),
    field("C13", 3194, 1.1, 0.0, H),
    field("C14", 27, 0.8, 0.0, H),
    field("C15", 14_992, 1.1, 0.0, H),
    field("C16", 200_000, 1.05, 0.03, H),
    field("C17", 10, 0.6, 0.0, H),
    field("C18", 5461, 1.1, 0.0, H),
    field("C19", 2173, 1.1, 0.44, H),
    field("C20", 4, 0.5, 0.44, H),
    field("C21", 200_000, 1.05, 0.03, H),
    field("C22", 18, 0.8, 0.76, H),
    field("C23", 15, 0.8, 0.0, H),
    field("C24", 143_000, 1.05, 0.03, H),
    field("C25", 105, 1.1, 0.44, H),
    field("C26", 142_572, 1.05, 0.44, H),
];

const CRITEO_DENSE: [DenseSpec; 13] = [
    DenseSpec::LogNormal {
        mu: 0.8,
        sigma: 1.0,
        missing_p: 0.45,
    },
    DenseSpec::LogNormal {
        mu: 2.0,
        sigma: 1.6,
        missing_p: 0.0,
    },
    DenseSpec::LogNormal {
        mu: 1.8,
        sigma: 1.2,
        missing_p: 0.21,
    },
    DenseSpec::LogNormal {
        mu: 1.6,
        sigma: 1.0,
        missing_p: 0.22,
    },
    DenseSpec::LogNormal {
        mu: 7.5,
        sigma: 2.0,
        missing_p: 0.03,
    },
    DenseSpec::LogNormal {
        mu: 3.0,
        sigma: 1.6,
        missing_p: 0.22,
    },
    DenseSpec::LogNormal {
        mu: 1.5,
        sigma: 1.3,
        missing_p: 0.04,
    },
    DenseSpec::LogNormal {
        mu: 2.3,
        sigma: 1.1,
        missing_p: 0.0,
    },
    DenseSpec::LogNormal {
        mu: 3.5,
        sigma: 1.5,
        missing_p: 0.04,
    },
    DenseSpec::LogNormal {
        mu: 0.6,
        sigma: 0.6,
        missing_p: 0.45,
    },
    DenseSpec::LogNormal {
        mu: 1.0,
        sigma: 0.9,
        missing_p: 0.04,
    },
    DenseSpec::LogNormal {
        mu: 0.5,
        sigma: 1.0,
        missing_p: 0.77,
    },
    DenseSpec::LogNormal {
        mu: 1.8,
        sigma: 1.1,
        missing_p: 0.22,
    },
];

const fn dec(offset: u64) -> IdText {
    IdText::Decimal { offset }
}

/// Avazu-like: the 22 columns after `id,click`, with decimal columns decimal and hashed
/// columns hex, cardinalities of the order of the Kaggle data's (large ones capped).
const AVAZU_FIELDS: [FieldSpec; 22] = [
    field("hour", 240, 0.0, 0.0, IdText::AvazuHour),
    field("C1", 7, 1.5, 0.0, dec(1000)),
    field("banner_pos", 7, 1.5, 0.0, dec(0)),
    field("site_id", 4737, 1.1, 0.0, H),
    field("site_domain", 7745, 1.1, 0.0, H),
    field("site_category", 26, 1.2, 0.0, H),
    field("app_id", 8552, 1.2, 0.0, H),
    field("app_domain", 559, 1.2, 0.0, H),
    field("app_category", 36, 1.2, 0.0, H),
    field("device_id", 200_000, 1.2, 0.0, H),
    field("device_ip", 200_000, 1.0, 0.0, H),
    field("device_model", 8251, 1.1, 0.0, H),
    field("device_type", 5, 1.5, 0.0, dec(0)),
    field("device_conn_type", 4, 1.5, 0.0, dec(0)),
    field("C14", 2626, 1.0, 0.0, dec(375)),
    field("C15", 8, 1.5, 0.0, dec(120)),
    field("C16", 9, 1.5, 0.0, dec(20)),
    field("C17", 435, 1.0, 0.0, dec(112)),
    field("C18", 4, 1.0, 0.0, dec(0)),
    field("C19", 68, 1.0, 0.0, dec(33)),
    field("C20", 172, 1.0, 0.0, dec(100_000)),
    field("C21", 60, 1.0, 0.0, dec(1)),
];

/// KDD-like: the 8 id columns of `training.txt` (decimal ids, large ones capped at 200,000).
const KDD_FIELDS: [FieldSpec; 8] = [
    field("DisplayURL", 30_000, 1.1, 0.0, dec(1)),
    field("AdID", 100_000, 1.05, 0.0, dec(1)),
    field("AdvertiserID", 15_000, 1.1, 0.0, dec(1)),
    field("QueryID", 200_000, 1.0, 0.0, dec(1)),
    field("KeywordID", 100_000, 1.05, 0.0, dec(1)),
    field("TitleID", 100_000, 1.05, 0.0, dec(1)),
    field("DescriptionID", 100_000, 1.05, 0.0, dec(1)),
    field("UserID", 200_000, 1.0, 0.0, dec(1)),
];

const KDD_DENSE: [DenseSpec; 3] = [
    DenseSpec::LogNormal {
        mu: 0.4,
        sigma: 0.7,
        missing_p: 0.0,
    },
    DenseSpec::KddDepth,
    DenseSpec::KddPosition,
];

/// A bijection on u32 (Chris Wellons' "lowbias32" mixer: xor-shifts and odd multiplies).
#[inline]
fn permute32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// A seeded permutation of `0..n`: a bijective xor-shift/odd-multiply mixer on the smallest
/// power-of-two domain holding `n`, cycle-walked until the value falls below `n`.
fn permute_below(rank: u32, n: u32, salt: u32) -> u32 {
    let bits = (32 - n.saturating_sub(1).leading_zeros()).max(2);
    let mask = if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    };
    let mut x = rank;
    loop {
        x = (x ^ salt) & mask;
        x = x.wrapping_mul(0x9e37_79b1) & mask;
        x ^= x >> (bits / 2 + 1);
        x = x.wrapping_mul(0x85eb_ca77) & mask;
        x ^= x >> (bits / 2);
        if x < n {
            return x;
        }
    }
}

#[inline]
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Walker's alias method (Vose's construction): O(1) sampling of a discrete distribution
/// from one uniform draw, so a Zipf rank costs one table lookup instead of a binary search.
#[derive(Debug, Clone)]
struct AliasTable {
    /// Per slot: probability of keeping the slot, and the alias taken otherwise.
    slots: Vec<(f64, u32)>,
}

impl AliasTable {
    fn new(weights: &[f64]) -> Self {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut slots = vec![(1.0, 0u32); n];
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            slots[s] = (scaled[s], l as u32);
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Leftovers (rounding) keep their own slot with probability 1.
        for i in large.into_iter().chain(small) {
            slots[i] = (1.0, i as u32);
        }
        Self { slots }
    }

    /// The outcome for a uniform `u` in [0, 1).
    #[inline]
    fn sample(&self, u: f64) -> u32 {
        let n = self.slots.len();
        let x = u * n as f64;
        let i = (x as usize).min(n - 1);
        let (keep, alias) = self.slots[i];
        if x - (i as f64) < keep {
            i as u32
        } else {
            alias
        }
    }
}

/// The planted parameters of one shape and seed.
struct SyntheticModel {
    shape: SyntheticShape,
    fields: &'static [FieldSpec],
    dense: &'static [DenseSpec],
    /// Per field: Walker/Vose alias table of the Zipf distribution over ranks.
    zipf: Vec<AliasTable>,
    /// Per field: salt of the id permutation.
    salt: Vec<u32>,
    /// Per decimal field: the permuted id (before the offset) of each rank.
    decimal_ids: Vec<Vec<u32>>,
    /// Per field, per rank: first-order effect.
    first_order: Vec<Vec<f32>>,
    /// Per field, per rank: `FACTOR_RANK` factor entries (only for fields in a planted pair).
    factors: Vec<Vec<f32>>,
    dense_weight: Vec<f64>,
    pairs: Vec<(usize, usize, f64)>,
    triples: Vec<([usize; 3], f64, u64)>,
    bias: f64,
}

/// One generated row before it becomes text or keys.
#[derive(Debug, Clone, Default)]
struct SynthRow {
    label: bool,
    true_p: f64,
    /// Raw dense values; `None` = missing.
    dense: Vec<Option<i64>>,
    /// Ranks per field; `None` = missing.
    ranks: Vec<Option<u32>>,
}

impl SyntheticModel {
    fn new(shape: SyntheticShape, seed: u64) -> Self {
        let (fields, dense): (&'static [FieldSpec], &'static [DenseSpec]) = match shape {
            SyntheticShape::Criteo => (&CRITEO_FIELDS, &CRITEO_DENSE),
            SyntheticShape::Avazu => (&AVAZU_FIELDS, &[]),
            SyntheticShape::Kdd => (&KDD_FIELDS, &KDD_DENSE),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(1);
        let n_fields = fields.len();
        let zipf = fields
            .iter()
            .map(|f| {
                let weights: Vec<f64> = (0..f.cardinality)
                    .map(|r| (f64::from(r) + 1.0).powf(-f.zipf_exponent))
                    .collect();
                AliasTable::new(&weights)
            })
            .collect();
        let salt: Vec<u32> = (0..n_fields).map(|_| rng.random::<u32>()).collect();
        let decimal_ids = fields
            .iter()
            .zip(&salt)
            .map(|(f, &s)| match f.text {
                IdText::Decimal { .. } => (0..f.cardinality)
                    .map(|r| permute_below(r, f.cardinality, s))
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        // First-order scale: strong enough that the head values matter (Criteo-like AUC ~0.8).
        let first_scale = FIRST_ORDER_SCALE;
        let first_order = fields
            .iter()
            .map(|f| {
                (0..f.cardinality)
                    .map(|_| (first_scale * rng.sample::<f64, _>(StandardNormal)) as f32)
                    .collect()
            })
            .collect();
        let dense_weight = dense
            .iter()
            .map(|_| DENSE_SCALE * rng.sample::<f64, _>(StandardNormal))
            .collect();
        let n_pairs = (n_fields * 2 / 3).clamp(1, 16);
        let mut pairs = Vec::with_capacity(n_pairs);
        while pairs.len() < n_pairs && n_fields >= 2 {
            let a = rng.random_range(0..n_fields);
            let b = rng.random_range(0..n_fields);
            let (a, b) = (a.min(b), a.max(b));
            if a != b && !pairs.iter().any(|&(x, y, _)| (x, y) == (a, b)) {
                pairs.push((a, b, PAIR_SCALE));
            }
        }
        let mut in_pair = vec![false; n_fields];
        for &(a, b, _) in &pairs {
            in_pair[a] = true;
            in_pair[b] = true;
        }
        let factors = fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if in_pair[i] {
                    (0..f.cardinality as usize * FACTOR_RANK)
                        .map(|_| rng.sample::<f64, _>(StandardNormal) as f32)
                        .collect()
                } else {
                    Vec::new()
                }
            })
            .collect();
        let n_triples = (n_fields / 6).clamp(1, 4);
        let triples = (0..n_triples)
            .map(|_| {
                let mut t = [0usize; 3];
                for slot in &mut t {
                    *slot = rng.random_range(0..n_fields);
                }
                (t, TRIPLE_SCALE, rng.random::<u64>())
            })
            .collect();
        let mut model = Self {
            shape,
            fields,
            dense,
            zipf,
            salt,
            decimal_ids,
            first_order,
            factors,
            dense_weight,
            pairs,
            triples,
            bias: 0.0,
        };
        model.bias = model.calibrate_bias(seed);
        model
    }

    /// Bias giving `TARGET_POSITIVE_RATE` on a calibration sample (stream 3), by bisection.
    fn calibrate_bias(&self, seed: u64) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(3);
        let mut row = SynthRow::default();
        let logits: Vec<f64> = (0..CALIBRATION_ROWS)
            .map(|_| {
                self.draw_features(&mut rng, &mut row);
                self.logit_without_bias(&row)
            })
            .collect();
        let (mut lo, mut hi) = (-30.0, 30.0);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            let rate = logits.iter().map(|&l| sigmoid(mid + l)).sum::<f64>() / logits.len() as f64;
            if rate < TARGET_POSITIVE_RATE {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    fn draw_features(&self, rng: &mut ChaCha8Rng, row: &mut SynthRow) {
        row.dense.clear();
        let mut depth = 1i64;
        for spec in self.dense {
            let value = match *spec {
                DenseSpec::LogNormal {
                    mu,
                    sigma,
                    missing_p,
                } => {
                    let missing = missing_p > 0.0 && rng.random::<f64>() < missing_p;
                    let z: f64 = rng.sample(StandardNormal);
                    if missing {
                        None
                    } else {
                        Some(((mu + sigma * z).exp().floor() as i64 - 1).clamp(0, 1 << 40))
                    }
                }
                DenseSpec::KddDepth => {
                    depth = rng.random_range(1..=3);
                    Some(depth)
                }
                DenseSpec::KddPosition => Some(rng.random_range(1..=depth)),
            };
            row.dense.push(value);
        }
        // A KDD row is at least one impression.
        if self.shape == SyntheticShape::Kdd {
            if let Some(Some(impression)) = row.dense.first_mut() {
                *impression = (*impression).max(1);
            }
        }
        row.ranks.clear();
        for (f, spec) in self.fields.iter().enumerate() {
            let missing = spec.missing_p > 0.0 && rng.random::<f64>() < spec.missing_p;
            let u: f64 = rng.random();
            if missing {
                row.ranks.push(None);
            } else {
                row.ranks.push(Some(self.zipf[f].sample(u)));
            }
        }
    }

    /// Standardised `log(x+1)` of a dense value as the model sees it.
    fn dense_signal(spec: &DenseSpec, value: i64) -> f64 {
        let t = (value.max(0) as f64).ln_1p();
        match *spec {
            DenseSpec::LogNormal { mu, sigma, .. } => (t - mu) / sigma,
            DenseSpec::KddDepth | DenseSpec::KddPosition => (t - 0.9) / 0.3,
        }
    }

    fn logit_without_bias(&self, row: &SynthRow) -> f64 {
        let mut logit = 0.0;
        for (d, (spec, value)) in self.dense.iter().zip(&row.dense).enumerate() {
            if let Some(v) = value {
                logit += self.dense_weight[d] * Self::dense_signal(spec, *v);
            }
        }
        for (f, rank) in row.ranks.iter().enumerate() {
            if let Some(r) = rank {
                logit += f64::from(self.first_order[f][*r as usize]);
            }
        }
        let norm = 1.0 / (FACTOR_RANK as f64).sqrt();
        for &(a, b, strength) in &self.pairs {
            if let (Some(ra), Some(rb)) = (row.ranks[a], row.ranks[b]) {
                let ua =
                    &self.factors[a][ra as usize * FACTOR_RANK..(ra as usize + 1) * FACTOR_RANK];
                let ub =
                    &self.factors[b][rb as usize * FACTOR_RANK..(rb as usize + 1) * FACTOR_RANK];
                let dot: f64 = ua
                    .iter()
                    .zip(ub)
                    .map(|(x, y)| f64::from(*x) * f64::from(*y))
                    .sum();
                logit += strength * norm * dot;
            }
        }
        for &(fields, strength, salt) in &self.triples {
            let mut sign = 1.0;
            let mut present = true;
            for (k, &f) in fields.iter().enumerate() {
                match row.ranks[f] {
                    Some(r) => {
                        let bit =
                            mix64(salt ^ ((k as u64) << 40) ^ ((f as u64) << 32) ^ u64::from(r))
                                & 1;
                        if bit == 1 {
                            sign = -sign;
                        }
                    }
                    None => present = false,
                }
            }
            if present {
                logit += strength * sign;
            }
        }
        logit
    }

    fn draw_row(&self, rng: &mut ChaCha8Rng, row: &mut SynthRow) {
        self.draw_features(rng, row);
        row.true_p = sigmoid(self.bias + self.logit_without_bias(row));
        row.label = rng.random::<f64>() < row.true_p;
    }

    /// The id written for `rank` of field `f`.
    fn id(&self, f: usize, rank: u32) -> u64 {
        let spec = &self.fields[f];
        match spec.text {
            IdText::Hex => u64::from(permute32(rank ^ self.salt[f])),
            IdText::Decimal { offset } => offset + u64::from(self.decimal_ids[f][rank as usize]),
            IdText::AvazuHour => 14_102_100 + u64::from(rank / 24) * 100 + u64::from(rank % 24),
        }
    }

    /// The key `DataFormat::categorical_key` gives the written text of `id`.
    fn key(&self, f: usize, id: u64) -> u64 {
        match (self.shape, self.fields[f].text) {
            (SyntheticShape::Avazu, IdText::Hex) => {
                // "%08x" text that is all decimal digits parses as a decimal number first.
                let digits: Vec<u64> = (0..8).rev().map(|k| (id >> (4 * k)) & 0xf).collect();
                if digits.iter().all(|&d| d < 10) {
                    digits.iter().fold(0, |acc, &d| acc * 10 + d)
                } else {
                    id
                }
            }
            _ => id,
        }
    }

    fn to_raw(&self, row: &SynthRow, out: &mut RawRow) {
        out.clear();
        out.label = if row.label { 1.0 } else { 0.0 };
        match self.shape {
            SyntheticShape::Avazu => out.dense.push(0.0),
            _ => out
                .dense
                .extend(row.dense.iter().map(|v| v.map_or(f32::NAN, |x| x as f32))),
        }
        for (f, rank) in row.ranks.iter().enumerate() {
            out.sparse.push(match rank {
                Some(r) => {
                    let key = self.key(f, self.id(f, *r));
                    if key == MISSING_KEY {
                        MISSING_KEY - 1
                    } else {
                        key
                    }
                }
                None => MISSING_KEY,
            });
        }
    }

    fn write_header(&self, out: &mut Vec<u8>) {
        if self.shape == SyntheticShape::Avazu {
            out.extend_from_slice(b"id,click");
            for spec in self.fields {
                out.push(b',');
                out.extend_from_slice(spec.name.as_bytes());
            }
        }
    }

    fn write_id(&self, f: usize, rank: u32, out: &mut Vec<u8>) {
        let id = self.id(f, rank);
        // Writing into a Vec cannot fail.
        let _ = match self.fields[f].text {
            IdText::Hex => write!(out, "{id:08x}"),
            IdText::Decimal { .. } | IdText::AvazuHour => write!(out, "{id}"),
        };
    }

    fn write_row(&self, row: &SynthRow, row_id: u64, out: &mut Vec<u8>) {
        out.clear();
        let label = if row.label { b'1' } else { b'0' };
        match self.shape {
            SyntheticShape::Criteo => {
                out.push(label);
                for value in &row.dense {
                    out.push(b'\t');
                    if let Some(v) = value {
                        let _ = write!(out, "{v}");
                    }
                }
                for (f, rank) in row.ranks.iter().enumerate() {
                    out.push(b'\t');
                    if let Some(r) = rank {
                        self.write_id(f, *r, out);
                    }
                }
            }
            SyntheticShape::Avazu => {
                let _ = write!(out, "{row_id},");
                out.push(label);
                for (f, rank) in row.ranks.iter().enumerate() {
                    out.push(b',');
                    if let Some(r) = rank {
                        self.write_id(f, *r, out);
                    }
                }
            }
            SyntheticShape::Kdd => {
                // Click Impression DisplayURL AdID AdvertiserID Depth Position QueryID KeywordID
                // TitleID DescriptionID UserID.
                out.push(label);
                let dense_text = |v: Option<i64>| v.map_or(String::new(), |x| x.to_string());
                let cells: [String; 11] = [
                    dense_text(row.dense[0]),
                    self.id_text(row, 0),
                    self.id_text(row, 1),
                    self.id_text(row, 2),
                    dense_text(row.dense[1]),
                    dense_text(row.dense[2]),
                    self.id_text(row, 3),
                    self.id_text(row, 4),
                    self.id_text(row, 5),
                    self.id_text(row, 6),
                    self.id_text(row, 7),
                ];
                for cell in cells {
                    out.push(b'\t');
                    out.extend_from_slice(cell.as_bytes());
                }
            }
        }
    }

    fn id_text(&self, row: &SynthRow, f: usize) -> String {
        let mut text = Vec::new();
        if let Some(r) = row.ranks[f] {
            self.write_id(f, r, &mut text);
        }
        String::from_utf8(text).unwrap_or_default()
    }
}

/// `rows` synthetic rows of `shape` (as the shape's reader would parse the written file, with
/// Avazu's id dropped) and each row's true click probability. Deterministic per seed.
pub fn generate(shape: SyntheticShape, rows: usize, seed: u64) -> (RawRows, Vec<f32>) {
    let model = SyntheticModel::new(shape, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(2);
    let n_dense = if shape == SyntheticShape::Avazu {
        1
    } else {
        model.dense.len()
    };
    let mut out = RawRows::new(n_dense, model.fields.len());
    out.reserve(rows);
    let mut true_p = Vec::with_capacity(rows);
    let mut row = SynthRow::default();
    let mut raw = RawRow::default();
    for _ in 0..rows {
        model.draw_row(&mut rng, &mut row);
        model.to_raw(&row, &mut raw);
        out.push(&raw);
        true_p.push(row.true_p as f32);
    }
    (out, true_p)
}

/// What `write_synthetic` wrote.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SyntheticSummary {
    /// Shape generated.
    pub shape: SyntheticShape,
    /// Seed.
    pub seed: u64,
    /// Data rows written.
    pub rows: u64,
    /// The data file.
    pub data_path: PathBuf,
    /// The side file of true click probabilities.
    pub true_p_path: PathBuf,
    /// Fraction of label-1 rows.
    pub positive_rate: f64,
    /// Log loss of the true probabilities (the Bayes-optimal log loss on these rows).
    pub bayes_logloss: f64,
    /// Log loss of predicting the positive rate everywhere.
    pub constant_logloss: f64,
}

/// The side file of true probabilities for a data file.
pub fn true_p_path(data_path: &Path) -> PathBuf {
    let mut name = data_path.as_os_str().to_owned();
    name.push(".true_p");
    PathBuf::from(name)
}

/// Writes `rows` rows of `shape` to `out` in the shape's format (gzip/zstd when `out` ends in
/// `.gz`/`.zst`) and the true probabilities to `<out>.true_p`. Same seed, same bytes.
pub fn write_synthetic(
    shape: SyntheticShape,
    rows: u64,
    seed: u64,
    out: &Path,
) -> Result<SyntheticSummary> {
    let model = SyntheticModel::new(shape, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(2);
    let name = out.to_string_lossy();
    let compression = if name.ends_with(".gz") {
        Compression::Gzip
    } else if name.ends_with(".zst") {
        Compression::Zstd
    } else {
        Compression::None
    };
    let mut data = DataWriter::create(out, compression)?;
    let p_path = true_p_path(out);
    let mut probabilities = DataWriter::create(&p_path, Compression::None)?;
    let mut line = Vec::with_capacity(512);
    model.write_header(&mut line);
    if !line.is_empty() {
        data.write_line(&line)?;
    }
    // Avazu's id column: unique per row, like the Kaggle data's 64-bit ids.
    let mut id_rng = ChaCha8Rng::seed_from_u64(seed);
    id_rng.set_stream(4);
    let mut row = SynthRow::default();
    let (mut positives, mut bayes, mut p_text) = (0u64, 0.0f64, String::new());
    for _ in 0..rows {
        model.draw_row(&mut rng, &mut row);
        let row_id = id_rng.random::<u64>();
        model.write_row(&row, row_id, &mut line);
        data.write_line(&line)?;
        let p = row.true_p as f32;
        p_text.clear();
        let _ = std::fmt::Write::write_fmt(&mut p_text, format_args!("{p}"));
        probabilities.write_line(p_text.as_bytes())?;
        positives += u64::from(row.label);
        bayes += row_logloss(row.label, p);
    }
    data.finish()?;
    probabilities.finish()?;
    let n = rows.max(1) as f64;
    let positive_rate = positives as f64 / n;
    let constant = if positives == 0 || positives == rows {
        0.0
    } else {
        -(positive_rate * positive_rate.ln() + (1.0 - positive_rate) * (1.0 - positive_rate).ln())
    };
    Ok(SyntheticSummary {
        shape,
        seed,
        rows,
        data_path: out.to_path_buf(),
        true_p_path: p_path,
        positive_rate,
        bayes_logloss: bayes / n,
        constant_logloss: constant,
    })
}

/// Probabilities are clipped to `[P_CLIP, 1 - P_CLIP]` in log losses.
pub const P_CLIP: f64 = 1e-7;

#[inline]
fn row_logloss(label: bool, p: f32) -> f64 {
    let p = f64::from(p).clamp(P_CLIP, 1.0 - P_CLIP);
    if label {
        -p.ln()
    } else {
        -(1.0 - p).ln()
    }
}

/// Mean binary log loss of predictions `p` for `labels` (p clipped to [1e-7, 1-1e-7]).
pub fn logloss(labels: &[f32], p: &[f32]) -> Result<f64> {
    if labels.len() != p.len() || labels.is_empty() {
        return Err(ModelError::Data(format!(
            "log loss needs as many predictions as labels (and at least one): {} labels, {} predictions",
            labels.len(),
            p.len()
        )));
    }
    let total: f64 = labels
        .iter()
        .zip(p)
        .map(|(&y, &q)| row_logloss(y > 0.5, q))
        .sum();
    Ok(total / labels.len() as f64)
}

/// The Bayes-optimal log loss: the log loss of the true click probabilities.
pub fn bayes_logloss(labels: &[f32], true_p: &[f32]) -> Result<f64> {
    logloss(labels, true_p)
}

/// Log loss of the best constant predictor (the positive rate of `labels`).
pub fn constant_logloss(labels: &[f32]) -> Result<f64> {
    let rate = crate::data::raw::positive_rate(labels) as f32;
    logloss(labels, &vec![rate; labels.len()])
}

/// Reads a `.true_p` side file (one probability per line).
pub fn read_true_p(path: &Path) -> Result<Vec<f32>> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            line.trim()
                .parse::<f32>()
                .ok()
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| ModelError::MalformedRow {
                    path: path.to_path_buf(),
                    line: i as u64 + 1,
                    message: format!("{line:?} is not a probability in [0, 1]"),
                })
        })
        .collect()
}

impl SyntheticShape {
    /// The data schema of this shape as the encoder produces it from a large enough sample:
    /// every field's table holds its generator cardinality plus the missing and
    /// out-of-vocabulary rows (`MISSING_ROW`, `OOV_ROW`); Avazu has its one all-zero pseudo
    /// dense feature. Used to cost models for a shape without reading data (hardware mapping).
    pub fn schema(self) -> crate::batch::DataSchema {
        let (fields, n_dense): (&'static [FieldSpec], usize) = match self {
            SyntheticShape::Criteo => (&CRITEO_FIELDS, CRITEO_DENSE.len()),
            SyntheticShape::Avazu => (&AVAZU_FIELDS, 1),
            SyntheticShape::Kdd => (&KDD_FIELDS, KDD_DENSE.len()),
        };
        crate::batch::DataSchema {
            n_dense,
            table_rows: fields.iter().map(|f| f.cardinality as usize + 2).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_table_reproduces_its_distribution() {
        let weights = [1.0, 2.0, 3.0, 4.0, 0.0];
        let table = AliasTable::new(&weights);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0usize; 5];
        let draws = 200_000;
        for _ in 0..draws {
            counts[table.sample(rng.random()) as usize] += 1;
        }
        for (count, w) in counts.iter().zip(weights) {
            let expected = w / 10.0;
            assert!(
                (*count as f64 / draws as f64 - expected).abs() < 0.005,
                "{counts:?}"
            );
        }
        assert_eq!(counts[4], 0, "a zero weight is never drawn");
    }

    #[test]
    fn decimal_permutation_is_a_bijection() {
        for n in [1u32, 2, 7, 1000, 4097] {
            let mut seen: Vec<u32> = (0..n).map(|r| permute_below(r, n, 0xdead_beef)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>());
        }
    }
}
