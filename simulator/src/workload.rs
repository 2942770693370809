//! Workload vocabulary: the operators a model hands the simulator, and the workload file.
//!
//! A workload is a list of ops run in order as a dependency chain: op i+1 consumes op i's
//! output. (With `pipeline.across_layers`, consecutive MVM ops with the same `count` overlap
//! per input vector; everything else starts when its predecessor has finished.)
//!
//! File format (TOML; JSON has the same shape, `{"op": [{...}, ...]}`):
//! ```toml
//! [[op]]
//! kind = "mvm"          # mvm | gather | digital | elementwise
//! name = "fc1"
//! rows = 784            # inputs (word lines)
//! cols = 256            # outputs
//! weight_bits = 9
//! input_bits = 9
//! count = 1             # input vectors
//!
//! [[op]]
//! kind = "digital"
//! name = "fm"
//! function = "fm"       # dot-product | fm | attention-scores | attention-values | softmax | matmul
//! macs = 4096
//! ```

use crate::error::SimError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Largest weight or input precision accepted.
pub const MAX_OPERAND_BITS: u32 = 16;
/// Largest embedding element width accepted.
pub const MAX_ELEMENT_BITS: u32 = 64;

/// What a digital (non-MVM) op computes. All kinds are costed per MAC; the kind labels the op
/// in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DigitalKind {
    /// Pairwise dot products (DLRM-style interaction).
    DotProduct,
    /// Factorization-machine interaction.
    Fm,
    /// Q·K^T of attention (dynamic operands, so not weight-stationary).
    AttentionScores,
    /// Scores·V of attention.
    AttentionValues,
    /// Softmax (exp, sum, divide) counted as MAC-equivalents.
    Softmax,
    /// A dynamic matrix product.
    Matmul,
}

/// What an elementwise op computes; all are costed per element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ElementwiseKind {
    /// Addition (residuals, pooled embedding sums).
    Add,
    /// Multiplication (gating).
    Multiply,
    /// ReLU.
    Relu,
    /// Sigmoid.
    Sigmoid,
    /// Tanh.
    Tanh,
    /// Layer normalisation.
    LayerNorm,
    /// Requantisation between layers.
    Quantize,
}

/// One operator instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Op {
    /// A weight-stationary matrix-vector product mapped to crossbars: `count` input vectors of
    /// `rows` elements times a `rows x cols` weight matrix.
    Mvm {
        /// Label in reports.
        name: String,
        /// Inputs (word lines).
        rows: u64,
        /// Outputs.
        cols: u64,
        /// Signed weight precision.
        weight_bits: u32,
        /// Unsigned input precision (also the precision outputs are written back at).
        input_bits: u32,
        /// Input vectors.
        count: u64,
    },
    /// Embedding lookups: `lookups` rows read from each of `tables` tables of `rows` x `dim`.
    Gather {
        /// Label in reports.
        name: String,
        /// Embedding tables.
        tables: u64,
        /// Rows per table.
        rows: u64,
        /// Elements per row.
        dim: u64,
        /// Rows read per table (over the whole batch).
        lookups: u64,
        /// Bits per element.
        element_bits: u32,
    },
    /// Non-MVM arithmetic on the digital units.
    Digital {
        /// Label in reports.
        name: String,
        /// What is computed (file key `function`).
        #[serde(rename = "function")]
        kind: DigitalKind,
        /// Multiply-accumulates.
        macs: u64,
    },
    /// Elementwise work on the digital units.
    Elementwise {
        /// Label in reports.
        name: String,
        /// What is computed (file key `function`).
        #[serde(rename = "function")]
        kind: ElementwiseKind,
        /// Elements processed.
        elements: u64,
    },
}

impl Op {
    /// The op's name.
    pub fn name(&self) -> &str {
        match self {
            Op::Mvm { name, .. }
            | Op::Gather { name, .. }
            | Op::Digital { name, .. }
            | Op::Elementwise { name, .. } => name,
        }
    }

    /// The op's kind as written in files.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Op::Mvm { .. } => "mvm",
            Op::Gather { .. } => "gather",
            Op::Digital { .. } => "digital",
            Op::Elementwise { .. } => "elementwise",
        }
    }
}

/// A list of ops run in order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Workload {
    /// The ops, in execution order.
    pub ops: Vec<Op>,
}

/// File shape: `[[op]]` tables.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkloadFile {
    #[serde(default)]
    op: Vec<Op>,
}

impl Workload {
    /// Reads a workload file: JSON if the name ends in `.json`, TOML otherwise.
    pub fn load(path: &Path) -> Result<Workload, SimError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SimError::Io {
            path: origin.clone(),
            reason: e.to_string(),
        })?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json {
            Workload::from_json_str(&text, &origin)
        } else {
            Workload::from_toml_str(&text, &origin)
        }
    }

    /// Parses and checks TOML text.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Workload, SimError> {
        let file: WorkloadFile = toml::from_str(text)
            .map_err(|e| crate::hwconfig::toml_parse_error(&e, text, origin))?;
        let workload = Workload { ops: file.op };
        workload.check(origin)?;
        Ok(workload)
    }

    /// Parses and checks JSON text.
    pub fn from_json_str(text: &str, origin: &str) -> Result<Workload, SimError> {
        let file: WorkloadFile = serde_json::from_str(text).map_err(|e| SimError::Parse {
            origin: origin.to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let workload = Workload { ops: file.op };
        workload.check(origin)?;
        Ok(workload)
    }

    /// The workload as TOML (`[[op]]` tables); it re-reads to an equal workload.
    pub fn to_toml_string(&self) -> String {
        toml::to_string(&WorkloadFile {
            op: self.ops.clone(),
        })
        .unwrap_or_default()
    }

    /// The workload as JSON (`{"op": [...]}`).
    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(&WorkloadFile {
            op: self.ops.clone(),
        })
        .unwrap_or_default()
    }

    /// Checks every op's values; errors name `origin`, the op index and the key.
    pub fn check(&self, origin: &str) -> Result<(), SimError> {
        if self.ops.is_empty() {
            return Err(SimError::EmptyWorkload {
                origin: origin.to_string(),
            });
        }
        for (index, op) in self.ops.iter().enumerate() {
            check_op(op, index, origin)?;
        }
        Ok(())
    }
}

fn check_op(op: &Op, index: usize, origin: &str) -> Result<(), SimError> {
    let range = |key: &str, value: u64, low: u64, high: u64| -> Result<(), SimError> {
        if value < low || value > high {
            return Err(SimError::OutOfRange {
                origin: origin.to_string(),
                key: format!("op[{index}].{key}"),
                value: value.to_string(),
                allowed: format!("{low}..={high}"),
            });
        }
        Ok(())
    };
    // Bounds keep every product the engines form (counts x rows x cols x slices) inside u64.
    const MAX_DIM: u64 = 1 << 24;
    const MAX_COUNT: u64 = 1 << 32;
    match op {
        Op::Mvm {
            rows,
            cols,
            weight_bits,
            input_bits,
            count,
            ..
        } => {
            range("rows", *rows, 1, MAX_DIM)?;
            range("cols", *cols, 1, MAX_DIM)?;
            range(
                "weight_bits",
                u64::from(*weight_bits),
                1,
                u64::from(MAX_OPERAND_BITS),
            )?;
            range(
                "input_bits",
                u64::from(*input_bits),
                1,
                u64::from(MAX_OPERAND_BITS),
            )?;
            range("count", *count, 1, MAX_COUNT)?;
        }
        Op::Gather {
            tables,
            rows,
            dim,
            lookups,
            element_bits,
            ..
        } => {
            range("tables", *tables, 1, MAX_DIM)?;
            range("rows", *rows, 1, MAX_COUNT)?;
            range("dim", *dim, 1, MAX_DIM)?;
            range("lookups", *lookups, 1, MAX_COUNT)?;
            range(
                "element_bits",
                u64::from(*element_bits),
                1,
                u64::from(MAX_ELEMENT_BITS),
            )?;
        }
        Op::Digital { macs, .. } => range("macs", *macs, 1, MAX_COUNT * MAX_DIM)?,
        Op::Elementwise { elements, .. } => range("elements", *elements, 1, MAX_COUNT * MAX_DIM)?,
    }
    Ok(())
}
