//! The workload JSON a plugin returns: `{"ops": [...]}` in the simulator's vocabulary.
//!
//! The host parses it as `recpim_sim::Workload` and checks every value (non-empty list; dims
//! 1..=2^24, bits 1..=16, counts 1..=2^32, ...), so a plugin cannot hand the simulator an op out
//! of range. Field names and kinds are those of `simulator/src/workload.rs`.

use serde::Serialize;

/// What a digital op computes (`function` of a `digital` op).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DigitalKind {
    /// Pairwise dot products (DLRM interaction).
    DotProduct,
    /// Factorization-machine interaction.
    Fm,
    /// Attention Q·K^T.
    AttentionScores,
    /// Attention scores·V.
    AttentionValues,
    /// Softmax.
    Softmax,
    /// A dynamic matrix product.
    Matmul,
}

/// What an elementwise op computes (`function` of an `elementwise` op).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ElementwiseKind {
    /// Addition.
    Add,
    /// Multiplication.
    Multiply,
    /// ReLU.
    Relu,
    /// Sigmoid.
    Sigmoid,
    /// Tanh.
    Tanh,
    /// Layer normalisation.
    LayerNorm,
    /// Requantisation.
    Quantize,
}

/// One simulator op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Op {
    /// `count` input vectors of `rows` elements times a `rows x cols` weight matrix (crossbars).
    Mvm {
        /// Label.
        name: String,
        /// Inputs (word lines).
        rows: u64,
        /// Outputs.
        cols: u64,
        /// Signed weight precision.
        weight_bits: u32,
        /// Input precision.
        input_bits: u32,
        /// Input vectors.
        count: u64,
    },
    /// `lookups` rows read from each of `tables` tables of `rows x dim` elements.
    Gather {
        /// Label.
        name: String,
        /// Tables.
        tables: u64,
        /// Rows per table.
        rows: u64,
        /// Elements per row.
        dim: u64,
        /// Rows read per table over the batch.
        lookups: u64,
        /// Bits per element.
        element_bits: u32,
    },
    /// Multiply-accumulates on the digital units.
    Digital {
        /// Label.
        name: String,
        /// What is computed.
        function: DigitalKind,
        /// Multiply-accumulates.
        macs: u64,
    },
    /// Elementwise work on the digital units.
    Elementwise {
        /// Label.
        name: String,
        /// What is computed.
        function: ElementwiseKind,
        /// Elements.
        elements: u64,
    },
}

impl Op {
    /// An `mvm` op.
    pub fn mvm(
        name: impl Into<String>,
        rows: u64,
        cols: u64,
        weight_bits: u32,
        input_bits: u32,
        count: u64,
    ) -> Op {
        Op::Mvm {
            name: name.into(),
            rows,
            cols,
            weight_bits,
            input_bits,
            count,
        }
    }

    /// A `digital` op.
    pub fn digital(name: impl Into<String>, function: DigitalKind, macs: u64) -> Op {
        Op::Digital {
            name: name.into(),
            function,
            macs,
        }
    }

    /// An `elementwise` op.
    pub fn elementwise(name: impl Into<String>, function: ElementwiseKind, elements: u64) -> Op {
        Op::Elementwise {
            name: name.into(),
            function,
            elements,
        }
    }
}

/// A workload: ops in execution order (each consumes its predecessor's output).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Workload {
    /// The ops.
    pub ops: Vec<Op>,
}

impl Workload {
    /// The JSON text the host expects from `workload_json`.
    pub fn to_json(&self) -> String {
        // Serialising plain structs of strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_uses_the_simulator_field_names() {
        let workload = Workload {
            ops: vec![
                Op::mvm("fc", 13, 64, 8, 4, 2),
                Op::Gather {
                    name: "emb".into(),
                    tables: 2,
                    rows: 100,
                    dim: 16,
                    lookups: 2,
                    element_bits: 32,
                },
                Op::digital("dot", DigitalKind::DotProduct, 96),
                Op::elementwise("relu", ElementwiseKind::Relu, 128),
            ],
        };
        assert_eq!(
            workload.to_json(),
            concat!(
                r#"{"ops":[{"kind":"mvm","name":"fc","rows":13,"cols":64,"weight_bits":8,"input_bits":4,"count":2},"#,
                r#"{"kind":"gather","name":"emb","tables":2,"rows":100,"dim":16,"lookups":2,"element_bits":32},"#,
                r#"{"kind":"digital","name":"dot","function":"dot-product","macs":96},"#,
                r#"{"kind":"elementwise","name":"relu","function":"relu","elements":128}]}"#
            )
        );
    }
}
