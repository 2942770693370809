//! recpim plugin backend `trace`: a network as a table of layers, in the column order of
//! NeuroSim's network files (`NetWork_VGG8.csv`), so a model from any framework can be costed.
//!
//! # Network CSV
//! One layer per line, eight integer columns:
//! `IFM_H, IFM_W, IFM_C, K_H, K_W, K_N, pooling, stride` (input feature map height, width and
//! channels; kernel height and width; number of kernels = output channels; 1 if a pooling layer
//! follows, else 0; stride). A fully connected layer is `1,1,IN,1,1,OUT,0,1`. Blank lines and
//! lines starting with `#` are skipped, and so is a first line that is a header (its first
//! field is not a number). Errors name the file and the line.
//!
//! # Genotype
//! `{"network_csv": "PATH"}` (relative to the host's working directory) or
//! `{"network_csv_text": "..."}` (the table itself), plus optional `"batch"` (default 1),
//! `"padding"` (`"same"`, the default: output = ceil(IFM / stride); or `"valid"`: output =
//! (IFM - K) / stride + 1, refused when the kernel is larger than the map: NeuroSim's own
//! formula gives a zero-sized layer there, issue DNN_NeuroSim_V1.4#14), `"activation"`
//! (`"relu"` after every layer but the last, the default, or `"none"`), and
//! `"default_weight_bits"` / `"default_activation_bits"` (8 = NeuroSim's wrapper default).
//!
//! # Workload
//! Layer i is one `mvm` named `conv{i}` or `fc{i}` with rows = K_H·K_W·IFM_C (the unrolled
//! kernel), cols = K_N and count = batch·OH·OW (one input vector per output pixel), then a
//! `relu` over its outputs. Pooling is not costed: the simulator vocabulary has no pooling
//! op, and the next row's IFM already carries the pooled size. Quantizable operators are the
//! layers in file order.
//!
//! No accuracy model: the vtable's `evaluate_accuracy` is NULL.

use recpim_plugin_sdk::bits::{parse_bits, OperatorBits, BITS_RANGE};
use recpim_plugin_sdk::workload::{ElementwiseKind, Op, Workload};
use recpim_plugin_sdk::{export_plugin, Backend, PluginError};
use serde::{Deserialize, Serialize};
use std::ffi::CStr;

/// Largest feature-map side, channel count or kernel side accepted.
const MAX_DIM: u64 = 1 << 20;
/// Largest batch accepted.
const MAX_BATCH: u64 = 1 << 20;

/// How output feature maps are sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// Output = ceil(IFM / stride).
    Same,
    /// Output = (IFM - K) / stride + 1.
    Valid,
}

/// The activation after each layer but the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// ReLU, costed as an elementwise op.
    Relu,
    /// None.
    None,
}

fn default_batch() -> u64 {
    1
}
fn default_padding() -> Padding {
    Padding::Same
}
fn default_activation() -> Activation {
    Activation::Relu
}
fn default_bits() -> u32 {
    8
}

/// The genotype of this backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceGenotype {
    /// Path of the network CSV.
    #[serde(default)]
    pub network_csv: Option<String>,
    /// The network CSV text itself.
    #[serde(default)]
    pub network_csv_text: Option<String>,
    /// Examples per inference.
    #[serde(default = "default_batch")]
    pub batch: u64,
    /// Output sizing.
    #[serde(default = "default_padding")]
    pub padding: Padding,
    /// Activation between layers.
    #[serde(default = "default_activation")]
    pub activation: Activation,
    /// Weight bits when no bits JSON is given.
    #[serde(default = "default_bits")]
    pub default_weight_bits: u32,
    /// Activation bits when no bits JSON is given.
    #[serde(default = "default_bits")]
    pub default_activation_bits: u32,
}

/// One row of the network table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    /// Input feature map height.
    pub ifm_h: u64,
    /// Input feature map width.
    pub ifm_w: u64,
    /// Input channels.
    pub ifm_c: u64,
    /// Kernel height.
    pub k_h: u64,
    /// Kernel width.
    pub k_w: u64,
    /// Kernels (output channels).
    pub k_n: u64,
    /// A pooling layer follows.
    pub pooling: bool,
    /// Stride.
    pub stride: u64,
}

impl Layer {
    fn is_fc(&self) -> bool {
        self.ifm_h == 1 && self.ifm_w == 1 && self.k_h == 1 && self.k_w == 1
    }
}

/// Parses a network table; `origin` names it in errors (with the 1-based line).
pub fn parse_network(text: &str, origin: &str) -> Result<Vec<Layer>, PluginError> {
    const COLUMNS: [&str; 8] = [
        "IFM_H", "IFM_W", "IFM_C", "K_H", "K_W", "K_N", "pooling", "stride",
    ];
    let mut layers = Vec::new();
    let mut first_content_line = true;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let is_first = std::mem::replace(&mut first_content_line, false);
        if is_first && fields.first().is_some_and(|f| f.parse::<u64>().is_err()) {
            continue; // a header row
        }
        if fields.len() != COLUMNS.len() {
            return Err(PluginError::invalid_json(format!(
                "{origin}:{line_no}: {} columns, expected {} ({})",
                fields.len(),
                COLUMNS.len(),
                COLUMNS.join(",")
            )));
        }
        let mut values = [0u64; 8];
        for (slot, (field, column)) in values.iter_mut().zip(fields.iter().zip(COLUMNS)) {
            *slot = field.parse().map_err(|_| {
                PluginError::invalid_json(format!(
                    "{origin}:{line_no}: {column} = {field:?} is not a non-negative integer"
                ))
            })?;
        }
        let [ifm_h, ifm_w, ifm_c, k_h, k_w, k_n, pooling, stride] = values;
        for (value, column) in values.iter().zip(COLUMNS) {
            let (low, high) = if column == "pooling" {
                (0, 1)
            } else {
                (1, MAX_DIM)
            };
            if !(low..=high).contains(value) {
                return Err(PluginError::invalid_json(format!(
                    "{origin}:{line_no}: {column} = {value} is outside {low}..={high}"
                )));
            }
        }
        layers.push(Layer {
            ifm_h,
            ifm_w,
            ifm_c,
            k_h,
            k_w,
            k_n,
            pooling: pooling == 1,
            stride,
        });
    }
    if layers.is_empty() {
        return Err(PluginError::invalid_json(format!(
            "{origin}: no layers (one line per layer: {})",
            COLUMNS.join(",")
        )));
    }
    Ok(layers)
}

impl TraceGenotype {
    /// Parses and checks the genotype JSON.
    pub fn from_json(text: &str) -> Result<Self, PluginError> {
        let genotype: TraceGenotype = serde_json::from_str(text)
            .map_err(|e| PluginError::invalid_json(format!("trace genotype: {e}")))?;
        if !(1..=MAX_BATCH).contains(&genotype.batch) {
            return Err(PluginError::invalid_json(format!(
                "trace genotype: batch = {} is outside 1..={MAX_BATCH}",
                genotype.batch
            )));
        }
        for (key, value) in [
            ("default_weight_bits", genotype.default_weight_bits),
            ("default_activation_bits", genotype.default_activation_bits),
        ] {
            if !BITS_RANGE.contains(&value) {
                return Err(PluginError::invalid_json(format!(
                    "trace genotype: {key} = {value} is outside {}..={}",
                    BITS_RANGE.start(),
                    BITS_RANGE.end()
                )));
            }
        }
        Ok(genotype)
    }

    /// The network's layers (read from the file or the inline text).
    pub fn layers(&self) -> Result<Vec<Layer>, PluginError> {
        match (&self.network_csv, &self.network_csv_text) {
            (Some(path), None) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    PluginError::invalid_json(format!(
                        "trace genotype: network_csv {path}: cannot read: {e}"
                    ))
                })?;
                parse_network(&text, path)
            }
            (None, Some(text)) => parse_network(text, "network_csv_text"),
            _ => Err(PluginError::invalid_json(
                "trace genotype: give exactly one of network_csv (a path) and network_csv_text",
            )),
        }
    }

    fn output_side(
        &self,
        side: u64,
        kernel: u64,
        stride: u64,
        key: &str,
    ) -> Result<u64, PluginError> {
        match self.padding {
            Padding::Same => Ok(side.div_ceil(stride)),
            Padding::Valid if kernel <= side => Ok((side - kernel) / stride + 1),
            Padding::Valid => Err(PluginError::invalid_json(format!(
                "padding \"valid\": kernel {key} {kernel} is larger than the input map ({side}); the layer would have no outputs"
            ))),
        }
    }

    /// Operator names, one per layer.
    pub fn operators(layers: &[Layer]) -> Vec<String> {
        layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if l.is_fc() {
                    format!("fc{i}")
                } else {
                    format!("conv{i}")
                }
            })
            .collect()
    }

    /// The workload of `layers` at per-layer `bits`.
    pub fn workload(
        &self,
        layers: &[Layer],
        bits: &[OperatorBits],
    ) -> Result<Workload, PluginError> {
        let names = Self::operators(layers);
        let mut ops = Vec::new();
        let last = layers.len().saturating_sub(1);
        for (i, ((layer, name), q)) in layers.iter().zip(&names).zip(bits).enumerate() {
            let context = |e: PluginError| {
                PluginError::invalid_json(format!("layer {i} ({name}): {}", e.message()))
            };
            let oh = self
                .output_side(layer.ifm_h, layer.k_h, layer.stride, "height")
                .map_err(context)?;
            let ow = self
                .output_side(layer.ifm_w, layer.k_w, layer.stride, "width")
                .map_err(context)?;
            ops.push(Op::mvm(
                name.clone(),
                layer.k_h * layer.k_w * layer.ifm_c,
                layer.k_n,
                q.weight_bits,
                q.activation_bits,
                self.batch * oh * ow,
            ));
            if i < last && self.activation == Activation::Relu {
                ops.push(Op::elementwise(
                    format!("{name}.relu"),
                    ElementwiseKind::Relu,
                    self.batch * oh * ow * layer.k_n,
                ));
            }
        }
        Ok(Workload { ops })
    }
}

/// The `trace` backend.
pub struct Trace;

impl Backend for Trace {
    const NAME: &'static CStr = c"trace";
    const VERSION: &'static CStr = c"0.1.0";
    const THREAD_SAFE: bool = true;

    fn search_space_json() -> Result<String, PluginError> {
        let space = serde_json::json!({
            "backend": "trace",
            "description": "layers from a NeuroSim-style network CSV (IFM_H,IFM_W,IFM_C,K_H,K_W,K_N,pooling,stride)",
            "genotype_keys": {
                "network_csv": "path of the network CSV (or network_csv_text)",
                "network_csv_text": "the network CSV itself",
                "batch": "examples per inference (default 1)",
                "padding": ["same", "valid"],
                "activation": ["relu", "none"],
                "default_weight_bits": "default 8",
                "default_activation_bits": "default 8"
            },
            "bitwidths": [4, 8],
            "bits_range": [BITS_RANGE.start(), BITS_RANGE.end()],
            "bits_order": "one entry per CSV layer, in file order",
            "accuracy": false,
        });
        Ok(space.to_string())
    }

    fn workload_json(genotype_json: &str, bits_json: Option<&str>) -> Result<String, PluginError> {
        let genotype = TraceGenotype::from_json(genotype_json)?;
        let layers = genotype.layers()?;
        let bits = parse_bits(
            bits_json,
            &TraceGenotype::operators(&layers),
            OperatorBits {
                weight_bits: genotype.default_weight_bits,
                activation_bits: genotype.default_activation_bits,
            },
        )?;
        Ok(genotype.workload(&layers, &bits)?.to_json())
    }
}

export_plugin!(Trace);

#[cfg(test)]
mod tests {
    use super::*;

    /// VGG-8 for CIFAR-10 as a NeuroSim-style table (the network of NeuroSim's NetWork_VGG8.csv).
    const VGG8: &str = "32,32,3,3,3,128,0,1\n32,32,128,3,3,128,1,1\n16,16,128,3,3,256,0,1\n\
16,16,256,3,3,256,1,1\n8,8,256,3,3,512,0,1\n8,8,512,3,3,512,1,1\n1,1,8192,1,1,1024,0,1\n\
1,1,1024,1,1,10,0,1\n";

    fn genotype(padding: Padding) -> TraceGenotype {
        TraceGenotype {
            network_csv: None,
            network_csv_text: Some(VGG8.to_string()),
            batch: 1,
            padding,
            activation: Activation::Relu,
            default_weight_bits: 8,
            default_activation_bits: 8,
        }
    }

    #[test]
    fn vgg8_maps_to_the_hand_computed_mvms() {
        let g = genotype(Padding::Same);
        let layers = g.layers().unwrap();
        assert_eq!(layers.len(), 8);
        let bits = vec![
            OperatorBits {
                weight_bits: 8,
                activation_bits: 8
            };
            8
        ];
        let ops = g.workload(&layers, &bits).unwrap().ops;
        let mvms: Vec<(String, u64, u64, u64)> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Mvm {
                    name,
                    rows,
                    cols,
                    count,
                    ..
                } => Some((name.clone(), *rows, *cols, *count)),
                _ => None,
            })
            .collect();
        assert_eq!(mvms[0], ("conv0".into(), 27, 128, 1024));
        assert_eq!(mvms[1], ("conv1".into(), 1152, 128, 1024));
        assert_eq!(mvms[5], ("conv5".into(), 4608, 512, 64));
        assert_eq!(mvms[6], ("fc6".into(), 8192, 1024, 1));
        assert_eq!(mvms[7], ("fc7".into(), 1024, 10, 1));
        // 8 mvm + 7 relu (none after the last layer).
        assert_eq!(ops.len(), 15);
        // Valid padding: 30x30 outputs for the first layer.
        let valid = genotype(Padding::Valid).workload(&layers, &bits).unwrap();
        assert!(matches!(valid.ops[0], Op::Mvm { count: 900, .. }));
    }

    #[test]
    fn bad_tables_name_the_line_and_column() {
        let err = parse_network(
            "IFM_H,IFM_W,IFM_C,K_H,K_W,K_N,pool,stride\n# c\n4,4,3,3,3\n",
            "n.csv",
        )
        .unwrap_err();
        assert_eq!(
            err.message(),
            "n.csv:3: 5 columns, expected 8 (IFM_H,IFM_W,IFM_C,K_H,K_W,K_N,pooling,stride)"
        );
        let err = parse_network("4,4,3,3,3,8,2,1\n", "n.csv").unwrap_err();
        assert_eq!(err.message(), "n.csv:1: pooling = 2 is outside 0..=1");
        let err = parse_network("4,4,x,3,3,8,0,1\n", "n.csv").unwrap_err();
        assert!(err.message().contains("n.csv:1: IFM_C = \"x\""));
        assert!(parse_network("\n# only comments\n", "n.csv")
            .unwrap_err()
            .message()
            .contains("no layers"));
        // A kernel larger than the map with valid padding is refused, not a 0-sized layer.
        let mut g = genotype(Padding::Valid);
        g.network_csv_text = Some("2,2,8,3,3,8,0,1\n".into());
        let layers = g.layers().unwrap();
        let bits = [OperatorBits {
            weight_bits: 8,
            activation_bits: 8,
        }];
        let err = g.workload(&layers, &bits).unwrap_err();
        assert!(err.message().contains("layer 0 (conv0)"), "{err}");
    }

    #[test]
    fn genotype_needs_exactly_one_network() {
        let err = TraceGenotype::from_json("{}")
            .unwrap()
            .layers()
            .unwrap_err();
        assert!(err.message().contains("exactly one of network_csv"));
        let err = TraceGenotype::from_json(r#"{"network_csv": "/nonexistent/net.csv"}"#)
            .unwrap()
            .layers()
            .unwrap_err();
        assert!(err.message().contains("/nonexistent/net.csv: cannot read"));
    }
}
