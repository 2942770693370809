//! Compiles a NASRec genotype into a graph (nasrec-spec §1 "Block input assembly" and "Block
//! internals"), for a data set's own numbers of dense and categorical features.
//!
//! Raw inputs are output 0: `dense0 = [B, n_dense]` (zero-width when the data set has no dense
//! feature: every operator that reads only it then reduces to its bias) and `sparse0 = [B, n_sparse,
//! 16]`. Block k's outputs are output k+1. In the supernet's max layout a block's dense output is
//! 1024 wide and its sparse output 64 + 8 items, and a block reading sources `0..=i` has weight rows
//! for all of them at fixed offsets, so a subnet uses exactly the rows that the reference's
//! zero-masked inputs would multiply by non-zeros.

use super::composite::{DSI_ITEMS, MAX_DENSE, MAX_ITEMS};
use super::graph::{Graph, GraphBuilder, ValueId};
use crate::error::{ModelError, Result};
use crate::genotype::{Genotype, NodeOp, SearchSpace, EMBED_DIM};

/// How the genotype's network is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenotypeBuild {
    /// LayerNorm in every operator (the reference's `use_layernorm`).
    pub layernorm: bool,
    /// The dot product's operator-balancing item projection (nasrec-spec §7.6).
    pub operator_balancing: bool,
}

fn invalid(message: String) -> ModelError {
    ModelError::InvalidGenotype {
        origin: "network".to_string(),
        message,
    }
}

/// Checks everything the network builder relies on; the messages name the block and key.
pub fn check_genotype(g: &Genotype) -> Result<SearchSpace> {
    let space = SearchSpace::from_name(&g.config).ok_or_else(|| {
        invalid(format!(
            "config \"{}\" is not one of autoctr, xlarge, small, full",
            g.config
        ))
    })?;
    if g.micro.len() != g.num_blocks || g.macro_.len() != g.num_blocks || g.num_blocks == 0 {
        return Err(invalid(format!(
            "num_blocks = {} but micro has {} and macro {} entries (must be equal and >= 1)",
            g.num_blocks,
            g.micro.len(),
            g.macro_.len()
        )));
    }
    let nodes = space.nodes();
    for (i, (mi, ma)) in g.micro.iter().zip(&g.macro_).enumerate() {
        for (key, list) in [("dense_idx", &ma.dense_idx), ("sparse_idx", &ma.sparse_idx)] {
            if list.is_empty() {
                return Err(invalid(format!("block {i}: macro.{key} is empty")));
            }
            if let Some(&k) = list.iter().find(|&&k| k > i) {
                return Err(invalid(format!(
                    "block {i}: macro.{key} = {k} is not an earlier output (allowed 0..={i})"
                )));
            }
        }
        for (key, list) in [
            ("dense_left_idx", &ma.dense_left_idx),
            ("dense_right_idx", &ma.dense_right_idx),
        ] {
            if list.len() != 1 || list[0] > i {
                return Err(invalid(format!(
                    "block {i}: macro.{key} = {list:?} must be one index in 0..={i}"
                )));
            }
        }
        let mut n_dense_nodes = 0;
        let mut n_sparse_nodes = 0;
        for &n in &mi.active_nodes {
            match nodes.get(n) {
                None => {
                    return Err(invalid(format!(
                        "block {i}: micro.active_nodes = {n} is not a node of {} (allowed 0..{})",
                        g.config,
                        nodes.len()
                    )))
                }
                Some(op) if op.is_dense() => n_dense_nodes += 1,
                Some(_) => n_sparse_nodes += 1,
            }
        }
        if n_dense_nodes == 0 || n_sparse_nodes == 0 {
            return Err(invalid(format!(
                "block {i}: micro.active_nodes = {:?} needs at least one dense and one sparse node",
                mi.active_nodes
            )));
        }
        if mi.dense_in_dims == 0 || mi.sparse_in_dims == 0 {
            return Err(invalid(format!(
                "block {i}: micro.dense_in_dims and sparse_in_dims must be >= 1"
            )));
        }
        if mi.dense_sparse_interact > 1 || mi.deep_fm > 1 {
            return Err(invalid(format!(
                "block {i}: micro.dense_sparse_interact and deep_fm must be 0 or 1"
            )));
        }
    }
    Ok(space)
}

/// Max-layout width of output `k`'s dense value.
fn max_dense_width(k: usize, n_dense: usize) -> usize {
    if k == 0 {
        n_dense
    } else {
        MAX_DENSE
    }
}

/// Max-layout item count of output `k`'s sparse value.
fn max_sparse_items(k: usize, n_sparse: usize) -> usize {
    if k == 0 {
        n_sparse
    } else {
        MAX_ITEMS + DSI_ITEMS
    }
}

/// Compiles `g` for `n_dense` dense and `n_sparse` categorical features.
pub fn compile_genotype(
    g: &Genotype,
    n_dense: usize,
    n_sparse: usize,
    opts: GenotypeBuild,
) -> Result<Graph> {
    let space = check_genotype(g)?;
    let nodes = space.nodes();
    let ln = opts.layernorm;
    let mut b = GraphBuilder::new(n_dense, n_sparse);
    // Provenance: every operator's nodes are attributed to its name (quant::bits order).
    b.set_operators(crate::quant::operator_names(g)?);
    let dense0 = b.dense_input();
    let sparse0 = b.embed(EMBED_DIM);
    let mut dense_outs: Vec<ValueId> = vec![dense0];
    let mut sparse_outs: Vec<ValueId> = vec![sparse0];
    // Left/right inputs of the binary operators are at most this wide.
    let max_lr = n_dense.max(MAX_DENSE);
    for (i, (mi, ma)) in g.micro.iter().zip(&g.macro_).enumerate() {
        let dense_off: Vec<usize> = (0..=i)
            .scan(0, |acc, k| {
                let o = *acc;
                *acc += max_dense_width(k, n_dense);
                Some(o)
            })
            .collect();
        let sparse_off: Vec<usize> = (0..=i)
            .scan(0, |acc, k| {
                let o = *acc;
                *acc += max_sparse_items(k, n_sparse);
                Some(o)
            })
            .collect();
        let max_dense_in: usize = (0..=i).map(|k| max_dense_width(k, n_dense)).sum();
        let max_items_in: usize = (0..=i).map(|k| max_sparse_items(k, n_sparse)).sum();
        let dense_in: Vec<(ValueId, usize)> = ma
            .dense_idx
            .iter()
            .map(|&k| (dense_outs[k], dense_off[k]))
            .collect();
        let sparse_in: Vec<(ValueId, usize)> = ma
            .sparse_idx
            .iter()
            .map(|&k| (sparse_outs[k], sparse_off[k]))
            .collect();
        let left = dense_outs[ma.dense_left_idx[0]];
        let right = dense_outs[ma.dense_right_idx[0]];
        let (d, s) = (mi.dense_in_dims, mi.sparse_in_dims);
        let mut dense_nodes = Vec::new();
        let mut sparse_nodes = Vec::new();
        for &n in &mi.active_nodes {
            let op = nodes[n];
            let key = format!("b{i}.{}", op.reference_name());
            b.begin_operator(&key);
            match op {
                NodeOp::Linear2d => {
                    dense_nodes.push(b.nasrec_linear_2d(&key, &dense_in, max_dense_in, d, ln))
                }
                NodeOp::DotProduct => dense_nodes.push(b.nasrec_dot_product(
                    &key,
                    &dense_in,
                    max_dense_in,
                    &sparse_in,
                    max_items_in,
                    d,
                    ln,
                    opts.operator_balancing,
                )),
                NodeOp::SigmoidGating => {
                    dense_nodes.push(b.nasrec_gating(&key, left, right, d, max_lr, ln))
                }
                NodeOp::Sum => dense_nodes.push(b.nasrec_sum(&key, left, right, d, max_lr, ln)),
                NodeOp::Transformer => {
                    sparse_nodes.push(b.nasrec_transformer(&key, &sparse_in, max_items_in, s, ln))
                }
                NodeOp::Linear3d => {
                    sparse_nodes.push(b.nasrec_linear_3d(&key, &sparse_in, max_items_in, s, ln))
                }
            }
            b.end_operator();
        }
        let dense_nodes_sum = b.add_padded(&dense_nodes);
        let sparse_nodes_sum = b.add_items(&sparse_nodes);
        // The mergers read the nodes' sums: FM before the dense-to-sparse items are appended, and
        // the dense-to-sparse projection before the FM term is added.
        let dense_out = if mi.deep_fm == 1 {
            b.begin_operator(&format!("b{i}.fm"));
            let f = b.nasrec_sparse_to_dense(&format!("b{i}.fm"), sparse_nodes_sum, d, ln);
            b.end_operator();
            b.add_padded(&[dense_nodes_sum, f])
        } else {
            dense_nodes_sum
        };
        let sparse_out = if mi.dense_sparse_interact == 1 {
            b.begin_operator(&format!("b{i}.dsi"));
            let merged = b.nasrec_dense_to_sparse(
                &format!("b{i}.dsi"),
                dense_nodes_sum,
                sparse_nodes_sum,
                ln,
            );
            b.end_operator();
            merged
        } else {
            sparse_nodes_sum
        };
        dense_outs.push(dense_out);
        sparse_outs.push(sparse_out);
    }
    let last = dense_outs.len() - 1;
    b.begin_operator(crate::quant::bits::HEAD_OPERATOR);
    let logit = b.logit_layer(
        "head",
        dense_outs[last],
        sparse_outs[last],
        MAX_DENSE,
        MAX_ITEMS + DSI_ITEMS,
    );
    b.end_operator();
    Ok(b.finish(logit))
}
