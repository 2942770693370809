//! Per-operator bitwidths: which weight and activation precision each quantizable operator of a
//! model runs at, and the bits file (the plugin ABI's JSON form).
//!
//! # Quantizable operators and their canonical order
//! For a NASRec genotype ([`operator_names`]), block after block (`i = 0..num_blocks`):
//! 1. the block's active nodes in ascending node index, named `b{i}.{node}` with the
//!    reference's node names (`linear-2d`, `dot-product`, `sigmoid-gating`, `sum`,
//!    `transformer`, `linear-3d`). Dense nodes have lower indices than sparse nodes in both
//!    spaces, so this is "the dense op, then the sparse op";
//! 2. `b{i}.fm` when the block's `deep_fm` (sparse-to-dense merger) is on;
//! 3. `b{i}.dsi` when the block's `dense_sparse_interact` (dense-to-sparse merger) is on;
//!
//! and last `head`, the final logit layer. The list depends on the genotype's micro choices only
//! (not on widths, connections or the data set), so a search can mutate the bits of operator `k`
//! by index. An operator whose output the logit never reads (a dead block) or that has no weight
//! (a `sum` whose input already has width d) keeps its entry; its bits are accepted and unused.
//!
//! # Bits file
//! `{"weight_bits": [w_0, w_1, ...], "activation_bits": [a_0, a_1, ...]}`: one entry per
//! operator in the order above, each in `2..=16` (the search space uses 4 and 8). A length
//! that does not match is an error naming the expected count and every operator.

use crate::error::{ModelError, Result};
use crate::genotype::{Genotype, SearchSpace};
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use std::path::Path;

/// Bitwidths accepted for weights and activations.
pub const BITS_RANGE: RangeInclusive<u32> = 2..=16;
/// Bitwidths the co-design search space draws from (nasrec-spec / issue 5: 4 and 8).
pub const SEARCH_BITWIDTHS: [u32; 2] = [4, 8];
/// The uniform default precision (weights and activations).
pub const DEFAULT_BITS: u32 = 8;
/// Name of the final logit layer's operator.
pub const HEAD_OPERATOR: &str = "head";

/// The precisions of one operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OperatorBits {
    /// Signed weight precision (symmetric, sign included).
    pub weight_bits: u32,
    /// Activation precision at the operator's crossbar inputs.
    pub activation_bits: u32,
}

impl OperatorBits {
    /// 8-bit weights and activations.
    pub const DEFAULT: OperatorBits = OperatorBits {
        weight_bits: DEFAULT_BITS,
        activation_bits: DEFAULT_BITS,
    };
}

/// The JSON shape of a bits file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitsFile {
    /// One weight precision per operator, canonical order.
    pub weight_bits: Vec<u32>,
    /// One activation precision per operator, canonical order.
    pub activation_bits: Vec<u32>,
}

/// Bitwidths for every quantizable operator of one model, with the operators' names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BitAssignment {
    operators: Vec<String>,
    bits: Vec<OperatorBits>,
}

fn bits_error(origin: &str, message: String) -> ModelError {
    ModelError::InvalidBits {
        origin: origin.to_string(),
        message,
    }
}

fn check_bits(origin: &str, key: &str, index: usize, operator: &str, value: u32) -> Result<()> {
    if BITS_RANGE.contains(&value) {
        Ok(())
    } else {
        Err(bits_error(
            origin,
            format!(
                "{key}[{index}] = {value} (operator {operator}) is outside the allowed range {}..={}",
                BITS_RANGE.start(),
                BITS_RANGE.end()
            ),
        ))
    }
}

fn numbered(operators: &[String]) -> String {
    operators
        .iter()
        .enumerate()
        .map(|(i, n)| format!("[{i}] {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The quantizable operators of a genotype in canonical order (see the module docs).
pub fn operator_names(genotype: &Genotype) -> Result<Vec<String>> {
    let space =
        SearchSpace::from_name(&genotype.config).ok_or_else(|| ModelError::InvalidGenotype {
            origin: "bits".to_string(),
            message: format!(
                "config \"{}\" is not one of autoctr, xlarge, small, full",
                genotype.config
            ),
        })?;
    let nodes = space.nodes();
    let mut names = Vec::new();
    for (i, micro) in genotype.micro.iter().enumerate() {
        let mut active = micro.active_nodes.clone();
        active.sort_unstable();
        active.dedup();
        for n in active {
            let node = nodes.get(n).ok_or_else(|| ModelError::InvalidGenotype {
                origin: "bits".to_string(),
                message: format!(
                    "block {i}: micro.active_nodes = {n} is not a node of {} (allowed 0..{})",
                    genotype.config,
                    nodes.len()
                ),
            })?;
            names.push(format!("b{i}.{}", node.reference_name()));
        }
        if micro.deep_fm == 1 {
            names.push(format!("b{i}.fm"));
        }
        if micro.dense_sparse_interact == 1 {
            names.push(format!("b{i}.dsi"));
        }
    }
    names.push(HEAD_OPERATOR.to_string());
    Ok(names)
}

impl BitAssignment {
    /// Every operator at the same precisions (each checked against [`BITS_RANGE`]).
    pub fn uniform(operators: Vec<String>, weight_bits: u32, activation_bits: u32) -> Result<Self> {
        let bits = vec![
            OperatorBits {
                weight_bits,
                activation_bits
            };
            operators.len()
        ];
        Self::new(operators, bits, "uniform")
    }

    /// Every operator of `genotype` at 8-bit weights and activations.
    pub fn uniform_8(genotype: &Genotype) -> Result<Self> {
        Self::uniform(operator_names(genotype)?, DEFAULT_BITS, DEFAULT_BITS)
    }

    /// Explicit per-operator bits; errors when the lengths differ or a value is out of range.
    pub fn new(operators: Vec<String>, bits: Vec<OperatorBits>, origin: &str) -> Result<Self> {
        if bits.len() != operators.len() {
            return Err(bits_error(
                origin,
                format!(
                    "{} entries given, expected {} (one per operator: {})",
                    bits.len(),
                    operators.len(),
                    numbered(&operators)
                ),
            ));
        }
        for (i, (b, name)) in bits.iter().zip(&operators).enumerate() {
            check_bits(origin, "weight_bits", i, name, b.weight_bits)?;
            check_bits(origin, "activation_bits", i, name, b.activation_bits)?;
        }
        Ok(BitAssignment { operators, bits })
    }

    /// Parses a bits file's JSON for a model whose operators are `operators`.
    pub fn from_json_str(text: &str, origin: &str, operators: &[String]) -> Result<Self> {
        let file: BitsFile = serde_json::from_str(text).map_err(|e| {
            bits_error(
                origin,
                format!(
                    "line {} column {}: {e} (expected {{\"weight_bits\": [..], \"activation_bits\": [..]}})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        for (key, list) in [
            ("weight_bits", &file.weight_bits),
            ("activation_bits", &file.activation_bits),
        ] {
            if list.len() != operators.len() {
                return Err(bits_error(
                    origin,
                    format!(
                        "{key} has {} entries, expected {} (one per operator: {})",
                        list.len(),
                        operators.len(),
                        numbered(operators)
                    ),
                ));
            }
        }
        let bits = file
            .weight_bits
            .iter()
            .zip(&file.activation_bits)
            .map(|(&w, &a)| OperatorBits {
                weight_bits: w,
                activation_bits: a,
            })
            .collect();
        Self::new(operators.to_vec(), bits, origin)
    }

    /// Parses a bits file's JSON for `genotype`.
    pub fn from_json_for_genotype(text: &str, origin: &str, genotype: &Genotype) -> Result<Self> {
        Self::from_json_str(text, origin, &operator_names(genotype)?)
    }

    /// Reads a bits file for a model whose operators are `operators`.
    pub fn read_file(path: &Path, operators: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json_str(&text, &path.display().to_string(), operators)
    }

    /// The bits file JSON (pretty, ending in a newline); it re-reads to an equal assignment.
    pub fn to_json_string(&self) -> String {
        let file = BitsFile {
            weight_bits: self.bits.iter().map(|b| b.weight_bits).collect(),
            activation_bits: self.bits.iter().map(|b| b.activation_bits).collect(),
        };
        let mut s = serde_json::to_string_pretty(&file).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Writes the bits file.
    pub fn write_file(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_json_string()).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The operators' names, canonical order.
    pub fn operators(&self) -> &[String] {
        &self.operators
    }

    /// The precisions, canonical order.
    pub fn bits(&self) -> &[OperatorBits] {
        &self.bits
    }

    /// Number of operators.
    pub fn len(&self) -> usize {
        self.bits.len()
    }

    /// True when there is no operator.
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// The precisions of operator `index`.
    pub fn get(&self, index: usize) -> Option<OperatorBits> {
        self.bits.get(index).copied()
    }

    /// The precisions of the operator called `name`.
    pub fn by_name(&self, name: &str) -> Option<OperatorBits> {
        self.operators
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.get(i))
    }

    /// Sets operator `index`'s precisions (a search's mutation); errors outside the range.
    pub fn set(&mut self, index: usize, bits: OperatorBits) -> Result<()> {
        let name = self.operators.get(index).cloned().ok_or_else(|| {
            bits_error(
                "set",
                format!(
                    "operator index {index} is outside 0..{}",
                    self.operators.len()
                ),
            )
        })?;
        check_bits("set", "weight_bits", index, &name, bits.weight_bits)?;
        check_bits("set", "activation_bits", index, &name, bits.activation_bits)?;
        self.bits[index] = bits;
        Ok(())
    }

    /// The precisions of each of `graph_operators` (a compiled graph's `operators`), matched by
    /// name; an operator of the graph that this assignment does not name is an error.
    pub fn resolve(&self, graph_operators: &[String]) -> Result<Vec<OperatorBits>> {
        graph_operators
            .iter()
            .map(|name| {
                self.by_name(name).ok_or_else(|| {
                    bits_error(
                        "assignment",
                        format!(
                            "the model's operator {name} has no bits (the assignment covers: {})",
                            numbered(&self.operators)
                        ),
                    )
                })
            })
            .collect()
    }
}
