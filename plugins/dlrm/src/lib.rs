//! recpim plugin backend `dlrm`: DLRM- and DeepFM-style recommenders from a JSON config.
//!
//! The genotype is the model config itself (every key but the sizes is optional):
//! ```json
//! {"dense_features": 13, "bottom_mlp": [512, 256, 64, 16], "embedding_dim": 16,
//!  "embedding_rows": [1460, 583, ...], "pooling": 1, "interaction": "dot",
//!  "top_mlp": [512, 256, 1], "batch": 1, "embedding_bits": 32}
//! ```
//! - `interaction = "dot"` (DLRM): the bottom MLP's output (width = `embedding_dim`) and the
//!   T embeddings are F = T+1 vectors; their F(F-1)/2 pairwise dot products are concatenated
//!   with the bottom output and fed to the top MLP.
//! - `"fm"` (DeepFM): a factorization machine over the T embeddings (sum-square form, 2·T·d
//!   MACs per example) beside a deep part whose input is the bottom output concatenated with
//!   all embeddings; the FM and deep logits are added.
//! - `"cat"`: concatenation only (bottom output + all embeddings into the top MLP).
//!
//! Workload, in this order (the simulator runs ops as a chain): one `gather` per run of
//! consecutive tables with equal row counts (lookups = batch x pooling), an `elementwise add`
//! pooling the multi-hot rows when `pooling > 1`, the bottom MLP (`mvm` + `relu` per layer),
//! the interaction (`digital`), the top MLP (`mvm`, `relu` between layers, `sigmoid` last).
//! Quantizable operators are the `mvm` ops in that order (`bottom.fc0..`, `top.fc0..`); bits
//! default to `default_weight_bits`/`default_activation_bits` (8/8).
//!
//! The default genotype (search space key `default_genotype`) is DLRM's Criteo Kaggle
//! configuration: bottom 13-512-256-64-16, top 512-256-1, 16-wide embeddings, and the 26 table
//! cardinalities of the Kaggle data as facebookresearch/dlrm's preprocessing counts them
//! (bench/dlrm_s_criteo_kaggle.sh).
//!
//! No accuracy model: the vtable's `evaluate_accuracy` is NULL.

use recpim_plugin_sdk::bits::{parse_bits, OperatorBits, BITS_RANGE};
use recpim_plugin_sdk::workload::{DigitalKind, ElementwiseKind, Op, Workload};
use recpim_plugin_sdk::{export_plugin, Backend, PluginError};
use serde::{Deserialize, Serialize};
use std::ffi::CStr;

/// Criteo Kaggle table cardinalities (facebookresearch/dlrm's Kaggle preprocessing).
pub const CRITEO_KAGGLE_ROWS: [u64; 26] = [
    1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194, 27, 14992,
    5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572,
];

/// Largest layer width or embedding dim accepted (the simulator's dimension limit).
const MAX_WIDTH: u64 = 1 << 24;
/// Largest batch or pooling factor accepted.
const MAX_BATCH: u64 = 1 << 20;

/// How the dense vector and the embeddings interact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interaction {
    /// DLRM pairwise dot products.
    Dot,
    /// DeepFM: factorization machine beside the deep part.
    Fm,
    /// Concatenation only.
    Cat,
}

fn default_pooling() -> u64 {
    1
}
fn default_batch() -> u64 {
    1
}
fn default_embedding_bits() -> u32 {
    32
}
fn default_bits() -> u32 {
    8
}

/// The model config (= the genotype of this backend).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DlrmConfig {
    /// Dense (numeric) input features.
    pub dense_features: u64,
    /// Output width of each bottom-MLP layer (may be empty: dense features go straight on).
    pub bottom_mlp: Vec<u64>,
    /// Embedding vector width.
    pub embedding_dim: u64,
    /// Rows of each embedding table.
    pub embedding_rows: Vec<u64>,
    /// Rows looked up per table per example (multi-hot pooling).
    #[serde(default = "default_pooling")]
    pub pooling: u64,
    /// Interaction kind.
    pub interaction: Interaction,
    /// Output width of each top-MLP layer (the last is the logit width, usually 1).
    pub top_mlp: Vec<u64>,
    /// Examples per inference.
    #[serde(default = "default_batch")]
    pub batch: u64,
    /// Bits per embedding element.
    #[serde(default = "default_embedding_bits")]
    pub embedding_bits: u32,
    /// Weight bits when no bits JSON is given.
    #[serde(default = "default_bits")]
    pub default_weight_bits: u32,
    /// Activation bits when no bits JSON is given.
    #[serde(default = "default_bits")]
    pub default_activation_bits: u32,
}

impl DlrmConfig {
    /// DLRM's Criteo Kaggle configuration (see the crate docs).
    pub fn criteo_kaggle() -> Self {
        DlrmConfig {
            dense_features: 13,
            bottom_mlp: vec![512, 256, 64, 16],
            embedding_dim: 16,
            embedding_rows: CRITEO_KAGGLE_ROWS.to_vec(),
            pooling: 1,
            interaction: Interaction::Dot,
            top_mlp: vec![512, 256, 1],
            batch: 1,
            embedding_bits: default_embedding_bits(),
            default_weight_bits: default_bits(),
            default_activation_bits: default_bits(),
        }
    }

    /// Parses and checks a config; errors name the key and the allowed range.
    pub fn from_json(text: &str) -> Result<Self, PluginError> {
        let config: DlrmConfig = serde_json::from_str(text)
            .map_err(|e| PluginError::invalid_json(format!("dlrm genotype: {e}")))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), PluginError> {
        let range = |key: String, value: u64, low: u64, high: u64| {
            if (low..=high).contains(&value) {
                Ok(())
            } else {
                Err(PluginError::invalid_json(format!(
                    "dlrm genotype: {key} = {value} is outside {low}..={high}"
                )))
            }
        };
        range("dense_features".into(), self.dense_features, 1, MAX_WIDTH)?;
        range("embedding_dim".into(), self.embedding_dim, 1, MAX_WIDTH)?;
        range("pooling".into(), self.pooling, 1, MAX_BATCH)?;
        range("batch".into(), self.batch, 1, MAX_BATCH)?;
        range("embedding_bits".into(), self.embedding_bits.into(), 1, 64)?;
        for (key, value) in [
            ("default_weight_bits", self.default_weight_bits),
            ("default_activation_bits", self.default_activation_bits),
        ] {
            range(
                key.into(),
                value.into(),
                (*BITS_RANGE.start()).into(),
                (*BITS_RANGE.end()).into(),
            )?;
        }
        if self.embedding_rows.is_empty() {
            return Err(PluginError::invalid_json(
                "dlrm genotype: embedding_rows is empty; give one row count per table",
            ));
        }
        for (i, &rows) in self.embedding_rows.iter().enumerate() {
            range(format!("embedding_rows[{i}]"), rows, 1, 1 << 32)?;
        }
        for (i, &width) in self.bottom_mlp.iter().enumerate() {
            range(format!("bottom_mlp[{i}]"), width, 1, MAX_WIDTH)?;
        }
        if self.top_mlp.is_empty() {
            return Err(PluginError::invalid_json(
                "dlrm genotype: top_mlp is empty; it needs at least the logit layer",
            ));
        }
        for (i, &width) in self.top_mlp.iter().enumerate() {
            range(format!("top_mlp[{i}]"), width, 1, MAX_WIDTH)?;
        }
        if self.interaction == Interaction::Dot && self.bottom_width() != self.embedding_dim {
            return Err(PluginError::invalid_json(format!(
                "dlrm genotype: interaction \"dot\" needs the bottom MLP's output width ({}) to equal embedding_dim ({})",
                self.bottom_width(),
                self.embedding_dim
            )));
        }
        Ok(())
    }

    /// Width of the dense vector after the bottom MLP.
    fn bottom_width(&self) -> u64 {
        self.bottom_mlp
            .last()
            .copied()
            .unwrap_or(self.dense_features)
    }

    fn tables(&self) -> u64 {
        self.embedding_rows.len() as u64
    }

    /// Input width of the top MLP.
    pub fn top_input_width(&self) -> u64 {
        let d = self.embedding_dim;
        let t = self.tables();
        match self.interaction {
            Interaction::Dot => {
                let features = t + 1;
                d + features * (features - 1) / 2
            }
            Interaction::Fm | Interaction::Cat => self.bottom_width() + t * d,
        }
    }

    /// Names of the quantizable operators (the `mvm` ops), in workload order.
    pub fn operators(&self) -> Vec<String> {
        (0..self.bottom_mlp.len())
            .map(|i| format!("bottom.fc{i}"))
            .chain((0..self.top_mlp.len()).map(|i| format!("top.fc{i}")))
            .collect()
    }

    /// The workload at the given per-operator bits (one entry per [`DlrmConfig::operators`]).
    pub fn workload(&self, bits: &[OperatorBits]) -> Workload {
        let b = self.batch;
        let d = self.embedding_dim;
        let mut ops = Vec::new();
        // Consecutive tables of equal size share one gather op.
        let mut start = 0;
        while start < self.embedding_rows.len() {
            let rows = self.embedding_rows[start];
            let run = self.embedding_rows[start..]
                .iter()
                .take_while(|&&r| r == rows)
                .count();
            let end = start + run;
            ops.push(Op::Gather {
                name: if run == 1 {
                    format!("emb{start}")
                } else {
                    format!("emb{start}-{}", end - 1)
                },
                tables: run as u64,
                rows,
                dim: d,
                lookups: b * self.pooling,
                element_bits: self.embedding_bits,
            });
            start = end;
        }
        if self.pooling > 1 {
            ops.push(Op::elementwise(
                "emb.pool",
                ElementwiseKind::Add,
                b * self.tables() * (self.pooling - 1) * d,
            ));
        }
        let mut bits = bits.iter();
        let mut next_bits = || {
            bits.next().copied().unwrap_or(OperatorBits {
                weight_bits: self.default_weight_bits,
                activation_bits: self.default_activation_bits,
            })
        };
        let mut width = self.dense_features;
        for (i, &out) in self.bottom_mlp.iter().enumerate() {
            let q = next_bits();
            ops.push(Op::mvm(
                format!("bottom.fc{i}"),
                width,
                out,
                q.weight_bits,
                q.activation_bits,
                b,
            ));
            ops.push(Op::elementwise(
                format!("bottom.relu{i}"),
                ElementwiseKind::Relu,
                b * out,
            ));
            width = out;
        }
        let t = self.tables();
        match self.interaction {
            Interaction::Dot => {
                let features = t + 1;
                ops.push(Op::digital(
                    "interaction.dot",
                    DigitalKind::DotProduct,
                    b * features * (features - 1) / 2 * d,
                ));
            }
            Interaction::Fm => {
                ops.push(Op::digital(
                    "interaction.fm",
                    DigitalKind::Fm,
                    b * 2 * t * d,
                ));
            }
            Interaction::Cat => {}
        }
        let mut width = self.top_input_width();
        let last = self.top_mlp.len() - 1;
        for (i, &out) in self.top_mlp.iter().enumerate() {
            let q = next_bits();
            ops.push(Op::mvm(
                format!("top.fc{i}"),
                width,
                out,
                q.weight_bits,
                q.activation_bits,
                b,
            ));
            if i < last {
                ops.push(Op::elementwise(
                    format!("top.relu{i}"),
                    ElementwiseKind::Relu,
                    b * out,
                ));
            }
            width = out;
        }
        if self.interaction == Interaction::Fm {
            ops.push(Op::elementwise("fm+deep", ElementwiseKind::Add, b * width));
        }
        ops.push(Op::elementwise(
            "sigmoid",
            ElementwiseKind::Sigmoid,
            b * width,
        ));
        Workload { ops }
    }
}

/// The `dlrm` backend.
pub struct Dlrm;

impl Backend for Dlrm {
    const NAME: &'static CStr = c"dlrm";
    const VERSION: &'static CStr = c"0.1.0";
    const THREAD_SAFE: bool = true;

    fn search_space_json() -> Result<String, PluginError> {
        let space = serde_json::json!({
            "backend": "dlrm",
            "description": "DLRM/DeepFM-style recommenders; the genotype is the model config",
            "genotype_keys": {
                "dense_features": "integer >= 1",
                "bottom_mlp": "list of layer widths (may be empty)",
                "embedding_dim": "integer >= 1",
                "embedding_rows": "list of table row counts (one per table)",
                "pooling": "rows per table per example (default 1)",
                "interaction": ["dot", "fm", "cat"],
                "top_mlp": "list of layer widths, last = logits",
                "batch": "examples per inference (default 1)",
                "embedding_bits": "bits per embedding element (default 32)",
                "default_weight_bits": "default 8",
                "default_activation_bits": "default 8"
            },
            "bitwidths": [4, 8],
            "bits_range": [BITS_RANGE.start(), BITS_RANGE.end()],
            "bits_order": "one entry per mvm op in workload order: bottom.fc0.., top.fc0..",
            "accuracy": false,
            "default_genotype": DlrmConfig::criteo_kaggle(),
        });
        Ok(space.to_string())
    }

    fn workload_json(genotype_json: &str, bits_json: Option<&str>) -> Result<String, PluginError> {
        let config = DlrmConfig::from_json(genotype_json)?;
        let bits = parse_bits(
            bits_json,
            &config.operators(),
            OperatorBits {
                weight_bits: config.default_weight_bits,
                activation_bits: config.default_activation_bits,
            },
        )?;
        Ok(config.workload(&bits).to_json())
    }
}

export_plugin!(Dlrm);

#[cfg(test)]
mod tests {
    use super::*;

    fn eight(n: usize) -> Vec<OperatorBits> {
        vec![
            OperatorBits {
                weight_bits: 8,
                activation_bits: 8
            };
            n
        ]
    }

    #[test]
    fn criteo_kaggle_dlrm_has_the_hand_computed_shapes() {
        let config = DlrmConfig::criteo_kaggle();
        // 26 tables + the dense vector = 27 features: 27*26/2 = 351 pairs, plus 16 dense.
        assert_eq!(config.top_input_width(), 367);
        let ops = config.workload(&eight(7)).ops;
        let mvms: Vec<(u64, u64)> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Mvm { rows, cols, .. } => Some((*rows, *cols)),
                _ => None,
            })
            .collect();
        assert_eq!(
            mvms,
            vec![
                (13, 512),
                (512, 256),
                (256, 64),
                (64, 16),
                (367, 512),
                (512, 256),
                (256, 1)
            ]
        );
        let dot = ops
            .iter()
            .find_map(|op| match op {
                Op::Digital { macs, .. } => Some(*macs),
                _ => None,
            })
            .unwrap();
        assert_eq!(dot, 351 * 16);
        // All 26 tables have different sizes: 26 gathers of one table each.
        let gathers = ops
            .iter()
            .filter(|op| matches!(op, Op::Gather { tables: 1, .. }))
            .count();
        assert_eq!(gathers, 26);
    }

    #[test]
    fn deepfm_pools_and_adds_the_fm_logit() {
        let config = DlrmConfig {
            dense_features: 4,
            bottom_mlp: vec![],
            embedding_dim: 8,
            embedding_rows: vec![100, 100, 50],
            pooling: 3,
            interaction: Interaction::Fm,
            top_mlp: vec![32, 1],
            batch: 2,
            ..DlrmConfig::criteo_kaggle()
        };
        let ops = config.workload(&eight(2)).ops;
        assert_eq!(
            ops[0],
            Op::Gather {
                name: "emb0-1".into(),
                tables: 2,
                rows: 100,
                dim: 8,
                lookups: 6,
                element_bits: 32
            }
        );
        assert!(matches!(
            ops[1],
            Op::Gather {
                tables: 1,
                rows: 50,
                ..
            }
        ));
        // 3 tables x 2 extra rows x 8 x batch 2.
        assert_eq!(
            ops[2],
            Op::elementwise("emb.pool", ElementwiseKind::Add, 96)
        );
        // FM: 2 x 3 tables x 8 x batch 2; top input = 4 dense + 3 x 8.
        assert_eq!(ops[3], Op::digital("interaction.fm", DigitalKind::Fm, 96));
        assert_eq!(ops[4], Op::mvm("top.fc0", 28, 32, 8, 8, 2));
        assert_eq!(
            ops.last(),
            Some(&Op::elementwise("sigmoid", ElementwiseKind::Sigmoid, 2))
        );
    }

    #[test]
    fn bad_configs_name_the_key() {
        let mut config = serde_json::to_value(DlrmConfig::criteo_kaggle()).unwrap();
        config["bottom_mlp"] = serde_json::json!([512, 32]);
        let err = DlrmConfig::from_json(&config.to_string()).unwrap_err();
        assert!(err
            .message()
            .contains("output width (32) to equal embedding_dim (16)"));
        config["bottom_mlp"] = serde_json::json!([512, 16]);
        config["batch"] = serde_json::json!(0);
        let err = DlrmConfig::from_json(&config.to_string()).unwrap_err();
        assert!(err.message().contains("batch = 0 is outside 1..="), "{err}");
        let err = DlrmConfig::from_json(r#"{"dense_features": 1, "colour": 3}"#).unwrap_err();
        assert!(err.message().contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn bits_follow_the_mvm_order() {
        let config = DlrmConfig::criteo_kaggle();
        let text = Dlrm::workload_json(
            &serde_json::to_string(&config).unwrap(),
            Some(r#"{"weight_bits": [4,4,4,4,8,8,2], "activation_bits": [8,8,8,8,4,4,4]}"#),
        )
        .unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let last_mvm = value["ops"]
            .as_array()
            .unwrap()
            .iter()
            .rfind(|op| op["kind"] == "mvm")
            .unwrap();
        assert_eq!(last_mvm["name"], "top.fc2");
        assert_eq!(last_mvm["weight_bits"], 2);
        assert_eq!(last_mvm["input_bits"], 4);
    }
}
