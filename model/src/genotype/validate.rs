//! Validation of a genotype against its search space (nasrec-spec.md §2).
//!
//! Every error names the block (0-based, as in the reference's lists) and the key, and says
//! what is allowed, so a hand-edited genotype can be fixed from the message alone.

use super::space::{SearchSpace, DENSE_DIMS, SPARSE_DIMS};
use super::types::{Genotype, MacroChoice, MicroChoice};
use crate::error::{ModelError, Result};

/// Most sources a block's `dense_idx` or `sparse_idx` may list (the reference draws
/// 1..=min(i+1, 4) distinct sources for block i).
pub const MAX_SOURCES: usize = 4;

impl Genotype {
    /// The search space named by `config`, if it is one we know.
    pub fn search_space(&self) -> Option<SearchSpace> {
        SearchSpace::from_name(&self.config)
    }

    /// Checks the genotype against its search space and returns that space.
    ///
    /// Rules: `config` names a space; `num_blocks` >= 1 and equals the lengths of `micro` and
    /// `macro`; block i reads only outputs 0..=i (0 is the raw input, k >= 1 is block k-1), with
    /// 1..=4 distinct dense and sparse sources and exactly one left and one right source;
    /// `active_nodes` lists distinct nodes of the space, dense nodes first, then sparse nodes,
    /// at least one of each; widths come from the space's lists; `use_layernorm`,
    /// `dense_sparse_interact` and `deep_fm` are 0 or 1.
    pub fn validate(&self, origin: &str) -> Result<SearchSpace> {
        let fail = |message: String| ModelError::InvalidGenotype {
            origin: origin.to_string(),
            message,
        };
        let space = self.search_space().ok_or_else(|| {
            fail(format!(
                "key \"config\" = \"{}\" is not a search space (allowed: autoctr, xlarge, small, full)",
                self.config
            ))
        })?;
        if self.num_blocks == 0
            || self.micro.len() != self.num_blocks
            || self.macro_.len() != self.num_blocks
        {
            return Err(fail(format!(
                "key \"num_blocks\" = {} but \"micro\" has {} and \"macro\" has {} blocks \
                 (all three must be equal and at least 1)",
                self.num_blocks,
                self.micro.len(),
                self.macro_.len()
            )));
        }
        if self.use_layernorm > 1 {
            return Err(fail(format!(
                "key \"use_layernorm\" = {} (allowed: 0 or 1)",
                self.use_layernorm
            )));
        }
        for (block, (micro, macro_choice)) in self.micro.iter().zip(&self.macro_).enumerate() {
            check_macro(block, macro_choice).map_err(&fail)?;
            check_micro(block, micro, space).map_err(&fail)?;
        }
        Ok(space)
    }
}

fn check_macro(block: usize, m: &MacroChoice) -> std::result::Result<(), String> {
    for (key, sources) in [("dense_idx", &m.dense_idx), ("sparse_idx", &m.sparse_idx)] {
        if sources.is_empty() {
            return Err(format!(
                "block {block}: macro key \"{key}\" is empty (a block needs 1 to {MAX_SOURCES} sources)"
            ));
        }
        if sources.len() > MAX_SOURCES {
            return Err(format!(
                "block {block}: macro key \"{key}\" lists {} sources (allowed 1 to {MAX_SOURCES})",
                sources.len()
            ));
        }
        for (pos, &source) in sources.iter().enumerate() {
            check_source(block, key, source)?;
            if sources[..pos].contains(&source) {
                return Err(format!(
                    "block {block}: macro key \"{key}\" lists source {source} twice (sources must be distinct)"
                ));
            }
        }
    }
    for (key, sources) in [
        ("dense_left_idx", &m.dense_left_idx),
        ("dense_right_idx", &m.dense_right_idx),
    ] {
        match sources.as_slice() {
            [source] => check_source(block, key, *source)?,
            _ => {
                return Err(format!(
                    "block {block}: macro key \"{key}\" = {sources:?} must hold exactly one source in 0..={block}"
                ))
            }
        }
    }
    Ok(())
}

/// Output k >= 1 is block k-1's, so block i may read 0..=i; i+1 would be itself.
fn check_source(block: usize, key: &str, source: usize) -> std::result::Result<(), String> {
    if source > block {
        let what = if source == block + 1 {
            "its own output".to_string()
        } else {
            format!("the output of later block {}", source - 1)
        };
        return Err(format!(
            "block {block}: macro key \"{key}\" has index {source}, which is {what} \
             (allowed 0..={block}: 0 is the input, k is block k-1)"
        ));
    }
    Ok(())
}

fn check_micro(
    block: usize,
    m: &MicroChoice,
    space: SearchSpace,
) -> std::result::Result<(), String> {
    let nodes = space.nodes();
    let name = space.reference_name();
    if m.active_nodes.is_empty() {
        return Err(format!(
            "block {block}: micro key \"active_nodes\" is empty (needs a dense node, then a sparse node)"
        ));
    }
    let mut seen_sparse = false;
    let (mut n_dense, mut n_sparse) = (0usize, 0usize);
    for (slot, &node) in m.active_nodes.iter().enumerate() {
        let op = nodes.get(node).ok_or_else(|| {
            format!(
                "block {block}: micro key \"active_nodes\" has node {node}, not a node of {name} \
                 (allowed 0..={})",
                nodes.len() - 1
            )
        })?;
        if m.active_nodes[..slot].contains(&node) {
            return Err(format!(
                "block {block}: micro key \"active_nodes\" lists node {node} twice"
            ));
        }
        if op.is_dense() {
            if seen_sparse {
                return Err(format!(
                    "block {block}: micro key \"active_nodes\" has dense node {node} ({}) in a sparse slot \
                     (dense nodes of {name}: {:?} come first, then sparse nodes: {:?})",
                    op.reference_name(),
                    space.dense_node_indices(),
                    space.sparse_node_indices()
                ));
            }
            n_dense += 1;
        } else {
            seen_sparse = true;
            n_sparse += 1;
        }
    }
    if n_dense == 0 || n_sparse == 0 {
        let missing = if n_dense == 0 { "dense" } else { "sparse" };
        return Err(format!(
            "block {block}: micro key \"active_nodes\" = {:?} has no {missing} node \
             (dense nodes of {name}: {:?}, sparse nodes: {:?})",
            m.active_nodes,
            space.dense_node_indices(),
            space.sparse_node_indices()
        ));
    }
    if !DENSE_DIMS.contains(&m.dense_in_dims) {
        return Err(format!(
            "block {block}: micro key \"dense_in_dims\" = {} is not a width of the space (allowed {DENSE_DIMS:?})",
            m.dense_in_dims
        ));
    }
    if !SPARSE_DIMS.contains(&m.sparse_in_dims) {
        return Err(format!(
            "block {block}: micro key \"sparse_in_dims\" = {} is not a width of the space (allowed {SPARSE_DIMS:?})",
            m.sparse_in_dims
        ));
    }
    for (key, flag) in [
        ("dense_sparse_interact", m.dense_sparse_interact),
        ("deep_fm", m.deep_fm),
    ] {
        if flag > 1 {
            return Err(format!(
                "block {block}: micro key \"{key}\" = {flag} (allowed: 0 or 1)"
            ));
        }
    }
    Ok(())
}
