//! Path sampling of the weight-sharing supernet (nasrec-spec §3 "Path sampling"): which sub-network
//! a training step runs, and the random sub-networks that seed a search or a ranking study.
//!
//! Three strategies (the paper's ablation, nasrec-spec §7.5):
//! - `single-op-any-conn` (the reference's `default`): one dense and one sparse node per block,
//!   1..=4 sources per input kind;
//! - `single-op-single-conn`: one node of each kind and one source of each kind;
//! - `any-op-any-conn`: a non-empty subset of the dense nodes and of the sparse nodes, 1..=4 sources.
//!
//! The number of sources of block i (which may read outputs `0..=i`) is `1 + Binomial(min(i, 3), 0.5)`
//! (`binomial`, the reference's `binomial-0.5`) or uniform in `1..=min(i + 1, 4)` (`uniform`).
//! Sources are drawn without replacement and stored in ascending order (a set: the network and the
//! architecture hash do not depend on the order). Left and right are one source each, drawn with
//! replacement. Widths and both merger flags are uniform.

use crate::error::{Result, SearchError};
use rand::seq::index::sample;
use rand::Rng;
use recpim_model::genotype::{
    Genotype, MacroChoice, MicroChoice, SearchSpace, DENSE_DIMS, MAX_SOURCES, SPARSE_DIMS,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which sub-networks a supernet training step samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathStrategy {
    /// One dense + one sparse node per block, any number of sources (the reference's default).
    SingleOpAnyConn,
    /// One dense + one sparse node, one dense and one sparse source per block.
    SingleOpSingleConn,
    /// Any non-empty set of dense nodes and of sparse nodes, any number of sources.
    AnyOpAnyConn,
}

/// Every strategy, in the order the ranking study reports them.
pub const ALL_STRATEGIES: [PathStrategy; 3] = [
    PathStrategy::SingleOpAnyConn,
    PathStrategy::SingleOpSingleConn,
    PathStrategy::AnyOpAnyConn,
];

impl PathStrategy {
    /// Name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            PathStrategy::SingleOpAnyConn => "single-op-any-conn",
            PathStrategy::SingleOpSingleConn => "single-op-single-conn",
            PathStrategy::AnyOpAnyConn => "any-op-any-conn",
        }
    }
}

impl fmt::Display for PathStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PathStrategy {
    type Err = SearchError;

    fn from_str(s: &str) -> Result<Self> {
        ALL_STRATEGIES
            .iter()
            .copied()
            .find(|p| p.name() == s)
            .ok_or_else(|| SearchError::Nas {
                what: format!("path sampling strategy \"{s}\""),
                reason: "allowed: single-op-any-conn, single-op-single-conn, any-op-any-conn"
                    .to_string(),
            })
    }
}

/// How many sources a block reads under an any-connection strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionCount {
    /// `1 + Binomial(min(i, 3), 0.5)` for block i (the reference's `binomial-0.5`).
    Binomial,
    /// Uniform in `1..=min(i + 1, 4)`.
    Uniform,
}

impl ConnectionCount {
    /// Name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionCount::Binomial => "binomial",
            ConnectionCount::Uniform => "uniform",
        }
    }
}

impl fmt::Display for ConnectionCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ConnectionCount {
    type Err = SearchError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "binomial" | "binomial-0.5" => Ok(ConnectionCount::Binomial),
            "uniform" => Ok(ConnectionCount::Uniform),
            _ => Err(SearchError::Nas {
                what: format!("connection count \"{s}\""),
                reason: "allowed: binomial (binomial-0.5), uniform".to_string(),
            }),
        }
    }
}

/// A path sampler: strategy, connection counts, search space and number of blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathSampler {
    /// The search space.
    pub space: SearchSpace,
    /// Blocks of every sampled genotype.
    pub num_blocks: usize,
    /// Which paths.
    pub strategy: PathStrategy,
    /// How many sources (any-connection strategies).
    pub connections: ConnectionCount,
}

impl PathSampler {
    /// The reference's default sampler (single-op any-conn, binomial) of `space` with 7 blocks.
    pub fn default_for(space: SearchSpace) -> Self {
        PathSampler {
            space,
            num_blocks: recpim_model::genotype::NUM_BLOCKS,
            strategy: PathStrategy::SingleOpAnyConn,
            connections: ConnectionCount::Binomial,
        }
    }

    /// A random sub-network (always a valid genotype of the space, `use_layernorm` 1).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Genotype {
        let single_conn = self.strategy == PathStrategy::SingleOpSingleConn;
        let any_op = self.strategy == PathStrategy::AnyOpAnyConn;
        let mut micro = Vec::with_capacity(self.num_blocks);
        let mut macro_ = Vec::with_capacity(self.num_blocks);
        for block in 0..self.num_blocks {
            macro_.push(sample_macro(block, single_conn, self.connections, rng));
            micro.push(sample_micro(self.space, any_op, rng));
        }
        Genotype {
            micro,
            macro_,
            num_blocks: self.num_blocks,
            use_layernorm: 1,
            config: self.space.reference_name().to_string(),
            test_loss: None,
        }
    }
}

/// Number of sources of block `block` (which may read `block + 1` outputs).
pub fn source_count<R: Rng + ?Sized>(
    block: usize,
    connections: ConnectionCount,
    rng: &mut R,
) -> usize {
    let available = block + 1;
    match connections {
        ConnectionCount::Binomial => {
            let trials = (available - 1).min(MAX_SOURCES - 1);
            1 + (0..trials).filter(|_| rng.random_bool(0.5)).count()
        }
        ConnectionCount::Uniform => rng.random_range(1..=available.min(MAX_SOURCES)),
    }
}

/// `count` distinct sources of `0..=block`, ascending.
pub fn draw_sources<R: Rng + ?Sized>(block: usize, count: usize, rng: &mut R) -> Vec<usize> {
    let available = block + 1;
    let mut sources = sample(rng, available, count.clamp(1, available)).into_vec();
    sources.sort_unstable();
    sources
}

/// A macro (connection) choice of `block`.
pub fn sample_macro<R: Rng + ?Sized>(
    block: usize,
    single_conn: bool,
    connections: ConnectionCount,
    rng: &mut R,
) -> MacroChoice {
    let sources = |rng: &mut R| {
        let n = if single_conn {
            1
        } else {
            source_count(block, connections, rng)
        };
        draw_sources(block, n, rng)
    };
    let dense_idx = sources(rng);
    let sparse_idx = sources(rng);
    MacroChoice {
        dense_idx,
        sparse_idx,
        dense_left_idx: vec![rng.random_range(0..=block)],
        dense_right_idx: vec![rng.random_range(0..=block)],
    }
}

/// A non-empty random subset of `nodes` (ascending), or one node when `single`.
fn pick_nodes<R: Rng + ?Sized>(nodes: &[usize], single: bool, rng: &mut R) -> Vec<usize> {
    let k = if single {
        1
    } else {
        rng.random_range(1..=nodes.len())
    };
    let mut picked: Vec<usize> = sample(rng, nodes.len(), k)
        .into_iter()
        .map(|i| nodes[i])
        .collect();
    picked.sort_unstable();
    picked
}

/// A micro choice of `space`: nodes (one of each kind, or any non-empty sets), widths, mergers.
pub fn sample_micro<R: Rng + ?Sized>(space: SearchSpace, any_op: bool, rng: &mut R) -> MicroChoice {
    let mut active_nodes = pick_nodes(&space.dense_node_indices(), !any_op, rng);
    active_nodes.extend(pick_nodes(&space.sparse_node_indices(), !any_op, rng));
    MicroChoice {
        active_nodes,
        dense_in_dims: DENSE_DIMS[rng.random_range(0..DENSE_DIMS.len())],
        sparse_in_dims: SPARSE_DIMS[rng.random_range(0..SPARSE_DIMS.len())],
        dense_sparse_interact: u8::from(rng.random_bool(0.5)),
        deep_fm: u8::from(rng.random_bool(0.5)),
    }
}

/// A random standalone sub-network of `space` (single-op any-conn, binomial, 7 blocks): the
/// population of a search and the subnets of a ranking study are drawn with it.
pub fn random_genotype<R: Rng + ?Sized>(space: SearchSpace, rng: &mut R) -> Genotype {
    PathSampler::default_for(space).sample(rng)
}

/// Probability that supernet training step `step` runs the whole supernet (full path): it falls
/// linearly from 1 at step 0 to 0 at `warmup_steps` (nasrec-spec §3 "Warm-up").
pub fn full_path_probability(step: u64, warmup_steps: u64) -> f64 {
    if step >= warmup_steps {
        0.0
    } else {
        1.0 - step as f64 / warmup_steps as f64
    }
}
