//! The NASRec architecture mutations (the paper's six kinds: dense width, sparse width, dense
//! operator, sparse operator, connections, merger) and the reference's one-mutation rule
//! (nasrec-spec §3 "Regularized evolution": a random block, then 50/50 one macro key of four or one
//! micro key of five, re-sampled).
//!
//! Every mutation returns a valid genotype of the same space that differs from its input whenever
//! the drawn kind can change anything (unlike the reference, which may re-draw the same value and
//! so waste a mutation). A kind that cannot change a genotype at all (the sparse operator of
//! NASRec-Small, which has one sparse node; connections of a one-block genotype) leaves it as is;
//! [`mutate_once`] only draws kinds that apply.

use super::sampling::{draw_sources, source_count, ConnectionCount};
use crate::error::{Result, SearchError};
use rand::seq::IndexedRandom;
use rand::Rng;
use recpim_model::genotype::{Genotype, SearchSpace, DENSE_DIMS, SPARSE_DIMS};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One of the six kinds of architecture mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MutationKind {
    /// A block's dense output width d (`dense_in_dims`).
    DenseWidth,
    /// A block's sparse output items s (`sparse_in_dims`).
    SparseWidth,
    /// A block's dense operator (its dense node).
    DenseOperator,
    /// A block's sparse operator (its sparse node).
    SparseOperator,
    /// One of a block's four connection keys (dense, sparse, left or right sources).
    Connections,
    /// One of a block's two merger flags (dense->sparse `dense_sparse_interact`, sparse->dense `deep_fm`).
    Merger,
}

/// The six kinds in the paper's order.
pub const ALL_MUTATION_KINDS: [MutationKind; 6] = [
    MutationKind::DenseWidth,
    MutationKind::SparseWidth,
    MutationKind::DenseOperator,
    MutationKind::SparseOperator,
    MutationKind::Connections,
    MutationKind::Merger,
];

impl MutationKind {
    /// Name in logs and reports.
    pub fn name(self) -> &'static str {
        match self {
            MutationKind::DenseWidth => "dense-width",
            MutationKind::SparseWidth => "sparse-width",
            MutationKind::DenseOperator => "dense-operator",
            MutationKind::SparseOperator => "sparse-operator",
            MutationKind::Connections => "connections",
            MutationKind::Merger => "merger",
        }
    }

    /// True when this kind can change some genotype of `space` with `num_blocks` blocks.
    pub fn applies(self, space: SearchSpace, num_blocks: usize) -> bool {
        match self {
            MutationKind::DenseOperator => space.dense_node_indices().len() > 1,
            MutationKind::SparseOperator => space.sparse_node_indices().len() > 1,
            MutationKind::Connections => num_blocks > 1,
            _ => num_blocks > 0,
        }
    }
}

impl fmt::Display for MutationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Checks that `g` is a valid genotype of `space` (mutations keep validity, so they need it).
fn check_input(g: &Genotype, space: SearchSpace) -> Result<()> {
    let found = g
        .validate("mutation input")
        .map_err(|source| SearchError::Model {
            context: "mutating a genotype".to_string(),
            source: Box::new(source),
        })?;
    if found != space {
        return Err(SearchError::Nas {
            what: "mutation input".to_string(),
            reason: format!(
                "genotype of space {} given to a mutation of space {}",
                found.reference_name(),
                space.reference_name()
            ),
        });
    }
    Ok(())
}

/// A value of `choices` other than `current` (or `current` when there is no other).
fn other_value<R: Rng + ?Sized>(choices: &[usize], current: usize, rng: &mut R) -> usize {
    let others: Vec<usize> = choices.iter().copied().filter(|&c| c != current).collect();
    others.choose(rng).copied().unwrap_or(current)
}

/// Replaces the nodes of one kind (dense or sparse) in `active_nodes` by one other node of that
/// kind; dense nodes stay first, as the format requires.
fn swap_operator<R: Rng + ?Sized>(
    active: &[usize],
    kind_nodes: &[usize],
    dense_kind: bool,
    rng: &mut R,
) -> Vec<usize> {
    let current: Vec<usize> = active
        .iter()
        .copied()
        .filter(|n| kind_nodes.contains(n))
        .collect();
    // A single node different from the current set (for an any-op block, any single node whose
    // set differs from the current one).
    let candidates: Vec<usize> = kind_nodes
        .iter()
        .copied()
        .filter(|&n| current != [n])
        .collect();
    let Some(&new_node) = candidates.choose(rng) else {
        return active.to_vec();
    };
    let others = active.iter().copied().filter(|n| !kind_nodes.contains(n));
    if dense_kind {
        std::iter::once(new_node).chain(others).collect()
    } else {
        others.chain(std::iter::once(new_node)).collect()
    }
}

/// Re-draws one connection key of `block` (0 dense, 1 sparse, 2 left, 3 right) until it differs.
fn redraw_connection<R: Rng + ?Sized>(g: &mut Genotype, block: usize, key: usize, rng: &mut R) {
    let m = &mut g.macro_[block];
    match key {
        0 | 1 => {
            let list = if key == 0 {
                &mut m.dense_idx
            } else {
                &mut m.sparse_idx
            };
            let mut current = list.clone();
            current.sort_unstable();
            // Block >= 1 always has another source set; a few redraws find it (expected < 2).
            for _ in 0..64 {
                let n = source_count(block, ConnectionCount::Binomial, rng);
                let drawn = draw_sources(block, n, rng);
                if drawn != current {
                    *list = drawn;
                    return;
                }
            }
        }
        _ => {
            let list = if key == 2 {
                &mut m.dense_left_idx
            } else {
                &mut m.dense_right_idx
            };
            let current = list.first().copied().unwrap_or(0);
            let sources: Vec<usize> = (0..=block).collect();
            *list = vec![other_value(&sources, current, rng)];
        }
    }
}

/// Applies one mutation of `kind` to a random block where it can change something.
/// Errors when `g` is not a valid genotype of `space`.
pub fn mutate_kind<R: Rng + ?Sized>(
    g: &Genotype,
    space: SearchSpace,
    kind: MutationKind,
    rng: &mut R,
) -> Result<Genotype> {
    check_input(g, space)?;
    let mut child = g.clone();
    child.test_loss = None;
    if !kind.applies(space, g.num_blocks) {
        return Ok(child);
    }
    match kind {
        MutationKind::DenseWidth => {
            let b = rng.random_range(0..g.num_blocks);
            let m = &mut child.micro[b];
            m.dense_in_dims = other_value(&DENSE_DIMS, m.dense_in_dims, rng);
        }
        MutationKind::SparseWidth => {
            let b = rng.random_range(0..g.num_blocks);
            let m = &mut child.micro[b];
            m.sparse_in_dims = other_value(&SPARSE_DIMS, m.sparse_in_dims, rng);
        }
        MutationKind::DenseOperator | MutationKind::SparseOperator => {
            let dense_kind = kind == MutationKind::DenseOperator;
            let nodes = if dense_kind {
                space.dense_node_indices()
            } else {
                space.sparse_node_indices()
            };
            let b = rng.random_range(0..g.num_blocks);
            let m = &mut child.micro[b];
            m.active_nodes = swap_operator(&m.active_nodes, &nodes, dense_kind, rng);
        }
        MutationKind::Connections => {
            // Block 0 reads only the input: nothing to change there.
            let b = rng.random_range(1..g.num_blocks);
            let key = rng.random_range(0..4);
            redraw_connection(&mut child, b, key, rng);
        }
        MutationKind::Merger => {
            let b = rng.random_range(0..g.num_blocks);
            let m = &mut child.micro[b];
            if rng.random_bool(0.5) {
                m.dense_sparse_interact = 1 - m.dense_sparse_interact.min(1);
            } else {
                m.deep_fm = 1 - m.deep_fm.min(1);
            }
        }
    }
    Ok(child)
}

/// Dense width of a random block (see [`MutationKind::DenseWidth`]).
pub fn mutate_dense_width<R: Rng + ?Sized>(
    g: &Genotype,
    space: SearchSpace,
    rng: &mut R,
) -> Result<Genotype> {
    mutate_kind(g, space, MutationKind::DenseWidth, rng)
}

/// Sparse width of a random block (see [`MutationKind::SparseWidth`]).
pub fn mutate_sparse_width<R: Rng + ?Sized>(
    g: &Genotype,
    space: SearchSpace,
    rng: &mut R,
) -> Result<Genotype> {
    mutate_kind(g, space, MutationKind::SparseWidth, rng)
}

/// Dense operator of a random block (see [`MutationKind::DenseOperator`]).
pub fn mutate_dense_operator<R: Rng + ?Sized>(
    g: &Genotype,
    space: SearchSpace,
    rng: &mut R,
) -> Result<Genotype> {
    mutate_kind(g, space, MutationKind::DenseOperator, rng)
}

/// Sparse operator of a random block (see [`MutationKind::SparseOperator`]).
pub fn mutate_sparse_operator<R: Rng + ?Sized>(
    g: &Genotype,
    space: SearchSpace,
    rng: &mut R,
) -> Result<Genotype> {
    mutate_kind(g, space, MutationKind::SparseOperator, rng)
}

/// One connection key of a random block (see [`MutationKind::Connections`]).
pub fn mutate_connections<R: Rng + ?Sized>(
    g: &Genotype,
    space: SearchSpace,
    rng: &mut R,
) -> Result<Genotype> {
    mutate_kind(g, space, MutationKind::Connections, rng)
}

/// One merger flag of a random block (see [`MutationKind::Merger`]).
pub fn mutate_merger<R: Rng + ?Sized>(
    g: &Genotype,
    space: SearchSpace,
    rng: &mut R,
) -> Result<Genotype> {
    mutate_kind(g, space, MutationKind::Merger, rng)
}

/// The kind the reference's rule draws: with probability 1/2 a macro key (connections), else one
/// of the five micro keys (active nodes -> dense or sparse operator, d, s, dsi or fm -> merger).
/// Only kinds that apply are drawn.
pub fn draw_kind<R: Rng + ?Sized>(
    space: SearchSpace,
    num_blocks: usize,
    rng: &mut R,
) -> MutationKind {
    let connections_apply = MutationKind::Connections.applies(space, num_blocks);
    if connections_apply && rng.random_bool(0.5) {
        return MutationKind::Connections;
    }
    match rng.random_range(0..5) {
        0 => {
            let ops: Vec<MutationKind> =
                [MutationKind::DenseOperator, MutationKind::SparseOperator]
                    .into_iter()
                    .filter(|k| k.applies(space, num_blocks))
                    .collect();
            ops.choose(rng).copied().unwrap_or(MutationKind::DenseWidth)
        }
        1 => MutationKind::DenseWidth,
        2 => MutationKind::SparseWidth,
        _ => MutationKind::Merger,
    }
}

/// One mutation by the reference's rule ([`draw_kind`] then [`mutate_kind`]); returns the child
/// and the kind applied.
pub fn mutate_once<R: Rng + ?Sized>(
    g: &Genotype,
    space: SearchSpace,
    rng: &mut R,
) -> Result<(Genotype, MutationKind)> {
    let kind = draw_kind(space, g.num_blocks, rng);
    Ok((mutate_kind(g, space, kind, rng)?, kind))
}

/// `count` successive mutations (at least one) by the reference's rule.
pub fn mutate_n<R: Rng + ?Sized>(
    g: &Genotype,
    space: SearchSpace,
    count: usize,
    rng: &mut R,
) -> Result<Genotype> {
    let mut child = mutate_once(g, space, rng)?.0;
    for _ in 1..count {
        child = mutate_once(&child, space, rng)?.0;
    }
    Ok(child)
}
