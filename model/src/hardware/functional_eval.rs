//! ADC-aware accuracy: the model's forward pass with every crossbar-mapped product computed by
//! the simulator's functional crossbar model (`recpim_sim::functional`: weight slices over cells,
//! bit-serial inputs through the DAC, active word lines, ADC resolution and clipping, shift-add).
//!
//! Every quantized `Linear` and item-axis `Linear` node (the `Mvm` ops of the mapping) takes its
//! integer activation codes and its integer weight codes (the fake quantizer's, see
//! `crate::quant::fake_quant`) through [`recpim_sim::functional::SlicedWeights::mvm_batch`], then
//! rescales by `s_x * s_w` and adds the bias. Signed inputs are driven as `code + 2^(a-1)` and the
//! offset's contribution `2^(a-1) * sum_i W[i, o]` is subtracted digitally. The attention's
//! projections (and everything that is not an MVM) run as in the quantized-ideal pass.
//!
//! With an ADC of at least `BitSlicing::lossless_adc_bits` bits the hardware product equals the
//! integer product, so the hardware log loss equals the quantized-ideal log loss up to float
//! rounding; with fewer bits the ADC's rounding or clipping shows up as extra log loss.

use crate::batch::Batch;
use crate::error::{ModelError, Result};
use crate::metrics::log_loss_from_logits;
use crate::net::graph::Op;
use crate::net::Network;
use crate::quant::fake_quant::{weight_codes, HardwareProduct, QuantConfig, QuantPlan};
use crate::quant::inference::{check_batch, logits_with_plan};
use ndarray::s;
use recpim_sim::functional::{BitSlicing, IntMatrix, SlicedWeights, UintMatrix};
use recpim_sim::HwConfig;
use std::sync::{Arc, Mutex};

/// The two log losses of a model on a validation sample, and what the ADCs did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HardwareEval {
    /// Log loss with fake quantization and exact integer products.
    pub ideal_log_loss: f64,
    /// Log loss with the crossbar-mapped products through the functional crossbar model.
    pub hardware_log_loss: f64,
    /// Examples evaluated.
    pub examples: usize,
    /// ADC conversions performed.
    pub adc_conversions: u64,
    /// Conversions whose result clipped (saturating ADC).
    pub adc_clipped: u64,
    /// Conversions whose result was rounded (full-range ADC with a step above 1).
    pub adc_rounded: u64,
}

/// Options of the hardware-functional evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HardwareEvalOptions {
    /// Examples of the validation batch evaluated (its first rows).
    pub max_examples: usize,
    /// Layers whose ADC is lossless at their precisions (`adc_bits >=
    /// BitSlicing::lossless_adc_bits`) take the exact integer product instead of the bit-level
    /// simulation: `recpim_sim::functional` guarantees the two are equal (and
    /// tests/hardware_functional.rs checks it with this switch off). ADC conversions are still
    /// counted. On by default; turn off to run every layer bit by bit.
    pub exact_when_lossless: bool,
}

impl HardwareEvalOptions {
    /// The first `max_examples` rows, lossless layers exact.
    pub fn new(max_examples: usize) -> Self {
        HardwareEvalOptions {
            max_examples,
            exact_when_lossless: true,
        }
    }
}

#[derive(Debug)]
struct NodeWeights {
    /// The ADC never rounds or clips at this layer's precisions: use the exact product.
    lossless: bool,
    /// Weight codes `[out, in]` row-major (exact path).
    codes: Vec<i32>,
    sliced: SlicedWeights,
    scale: f64,
    /// Per output neuron: the sum of its weight codes (for the signed-input offset).
    column_sums: Vec<i64>,
    in_features: usize,
}

#[derive(Debug, Default, Clone, Copy)]
struct AdcTotals {
    conversions: u64,
    clipped: u64,
    rounded: u64,
}

/// The crossbar-mapped weights of one network on one hardware configuration.
#[derive(Debug)]
pub struct CrossbarProducts {
    nodes: Vec<Option<NodeWeights>>,
    totals: Mutex<AdcTotals>,
    error: Mutex<Option<String>>,
}

impl CrossbarProducts {
    /// Slices every quantized `Linear` / item-axis `Linear` weight of `net` (per `plan`) onto
    /// the crossbars of `slicing`.
    pub fn new(
        net: &Network<f32>,
        plan: &QuantPlan,
        slicing: &BitSlicing,
        exact_when_lossless: bool,
    ) -> Result<Self> {
        let graph = &net.graph;
        let mut nodes = Vec::with_capacity(graph.nodes.len());
        for (idx, node) in graph.nodes.iter().enumerate() {
            let w = match (&node.op, plan.node(idx)) {
                (Op::Linear { w, .. } | Op::LinearItems { w, .. }, Some(q)) => Some((*w, q)),
                _ => None,
            };
            let Some((w, q)) = w else {
                nodes.push(None);
                continue;
            };
            let tensor = net.dense.get(w).ok_or_else(|| {
                ModelError::Hardware(format!("node {idx}: weight {w} missing from the network"))
            })?;
            let (in_features, out_features) = tensor.dim();
            if in_features == 0 || out_features == 0 {
                nodes.push(None);
                continue;
            }
            let (codes, scale) = weight_codes(tensor.view(), q.weight_bits);
            // The crossbar takes [out, in]: one output neuron per row.
            let mut transposed = vec![0_i32; in_features * out_features];
            let mut column_sums = vec![0_i64; out_features];
            for i in 0..in_features {
                for o in 0..out_features {
                    let c = codes[i * out_features + o];
                    transposed[o * in_features + i] = c;
                    column_sums[o] += i64::from(c);
                }
            }
            let key = &graph.params[w].key;
            let matrix = IntMatrix::new(out_features, in_features, transposed.clone())
                .map_err(|e| ModelError::Hardware(format!("{key}: {e}")))?;
            let lossless = exact_when_lossless
                && slicing.lossless_adc_bits(q.weight_bits, q.activation_bits) <= slicing.adc_bits;
            let sliced = SlicedWeights::new(slicing, &matrix, q.weight_bits)
                .map_err(|e| ModelError::Hardware(format!("{key}: {e}")))?;
            // Probe the accumulator and input-precision checks once, here, where errors can be
            // returned (the forward pass cannot return them).
            let probe = UintMatrix::new(1, in_features, vec![0; in_features])
                .map_err(|e| ModelError::Hardware(format!("{key}: {e}")))?;
            sliced
                .mvm_batch(&probe, q.activation_bits)
                .map_err(|e| ModelError::Hardware(format!("{key}: {e}")))?;
            nodes.push(Some(NodeWeights {
                lossless,
                codes: if lossless { transposed } else { Vec::new() },
                sliced,
                scale,
                column_sums,
                in_features,
            }));
        }
        Ok(CrossbarProducts {
            nodes,
            totals: Mutex::new(AdcTotals::default()),
            error: Mutex::new(None),
        })
    }

    fn fail(&self, message: String) {
        if let Ok(mut e) = self.error.lock() {
            e.get_or_insert(message);
        }
    }
}

impl HardwareProduct for CrossbarProducts {
    fn product(
        &self,
        node: usize,
        codes: &[i32],
        vectors: usize,
        signed: bool,
        activation_bits: u32,
    ) -> Option<Vec<i64>> {
        let nw = self.nodes.get(node)?.as_ref()?;
        let offset: i64 = if signed {
            1_i64 << (activation_bits - 1)
        } else {
            0
        };
        let inputs: Vec<u32> = codes
            .iter()
            .map(|&c| (i64::from(c) + offset).clamp(0, i64::from(u32::MAX)) as u32)
            .collect();
        if nw.lossless {
            return Some(exact_product(
                nw,
                &inputs,
                vectors,
                offset,
                activation_bits,
                self,
            ));
        }
        let matrix = match UintMatrix::new(vectors, nw.in_features, inputs) {
            Ok(m) => m,
            Err(e) => {
                self.fail(format!("node {node}: {e}"));
                return None;
            }
        };
        match nw.sliced.mvm_batch(&matrix, activation_bits) {
            Ok(out) => {
                let mut values = out.values;
                if offset != 0 {
                    for row in values.chunks_exact_mut(nw.column_sums.len().max(1)) {
                        for (v, &sum) in row.iter_mut().zip(&nw.column_sums) {
                            *v -= offset * sum;
                        }
                    }
                }
                if let Ok(mut t) = self.totals.lock() {
                    t.conversions += out.adc.conversions;
                    t.clipped += out.adc.clipped;
                    t.rounded += out.adc.rounded;
                }
                Some(values)
            }
            Err(e) => {
                self.fail(format!("node {node}: {e}"));
                None
            }
        }
    }

    fn weight_scale(&self, node: usize) -> Option<f64> {
        self.nodes.get(node)?.as_ref().map(|n| n.scale)
    }
}

/// The exact integer product of a lossless layer (what the bit-level path returns for it), with
/// its ADC conversions counted as the bit-level path would count them.
fn exact_product(
    nw: &NodeWeights,
    inputs: &[u32],
    vectors: usize,
    offset: i64,
    activation_bits: u32,
    products: &CrossbarProducts,
) -> Vec<i64> {
    let n_in = nw.in_features;
    let n_out = nw.column_sums.len();
    let mut values = vec![0_i64; vectors * n_out];
    for (x, y) in inputs
        .chunks_exact(n_in)
        .zip(values.chunks_exact_mut(n_out.max(1)))
    {
        for (o, out) in y.iter_mut().enumerate() {
            let w = &nw.codes[o * n_in..(o + 1) * n_in];
            let dot: i64 = w
                .iter()
                .zip(x)
                .map(|(&w, &x)| i64::from(w) * i64::from(x))
                .sum();
            *out = dot - offset * nw.column_sums[o];
        }
    }
    let slicing = nw.sliced.slicing();
    let conversions = vectors as u64
        * nw.sliced.row_groups().len() as u64
        * u64::from(slicing.input_slices(activation_bits))
        * u64::from(slicing.polarity_halves())
        * nw.sliced.weight_slices() as u64
        * n_out as u64;
    if let Ok(mut t) = products.totals.lock() {
        t.conversions += conversions;
    }
    values
}

/// The first `max_examples` examples of `batch` (all when it has fewer).
fn head_of(batch: &Batch, max_examples: usize) -> Batch {
    let n = batch.len().min(max_examples);
    Batch {
        dense: batch.dense.slice(s![..n, ..]).to_owned(),
        sparse: batch.sparse.slice(s![..n, ..]).to_owned(),
        labels: batch.labels.slice(s![..n]).to_owned(),
    }
}

fn log_loss_of(net: &Network<f32>, plan: QuantPlan, batch: &Batch) -> Result<f64> {
    let logits = logits_with_plan(net, plan, batch);
    let labels: Vec<f32> = batch.labels.to_vec();
    let logits: Vec<f32> = logits.to_vec();
    log_loss_from_logits(&labels, &logits)
        .ok_or_else(|| ModelError::Data("the validation sample is empty".to_string()))
}

/// Quantized-ideal and hardware-functional log loss of `net` at `cfg`'s bits on the first
/// `max_examples` examples of `batch`, with the crossbars of `hw`.
pub fn evaluate_hardware(
    net: &Network<f32>,
    cfg: &QuantConfig,
    hw: &HwConfig,
    batch: &Batch,
    max_examples: usize,
) -> Result<HardwareEval> {
    evaluate_with_slicing(
        net,
        cfg,
        &hw.bit_slicing(),
        batch,
        &HardwareEvalOptions::new(max_examples),
    )
}

/// As [`evaluate_hardware`] with the crossbar settings and options given directly.
pub fn evaluate_with_slicing(
    net: &Network<f32>,
    cfg: &QuantConfig,
    slicing: &BitSlicing,
    batch: &Batch,
    opts: &HardwareEvalOptions,
) -> Result<HardwareEval> {
    evaluate_slicing(net, cfg, slicing, batch, opts, None)
}

/// The quantized-ideal log loss alone (the first figure of [`evaluate_hardware`], which does
/// not depend on the crossbars): one model at many crossbar settings needs it once.
pub fn ideal_log_loss(
    net: &Network<f32>,
    cfg: &QuantConfig,
    batch: &Batch,
    max_examples: usize,
) -> Result<f64> {
    let sample = checked_sample(net, batch, max_examples)?;
    log_loss_of(net, QuantPlan::new(&net.graph, cfg)?, &sample)
}

/// As [`evaluate_hardware`] with the quantized-ideal log loss already known (from
/// [`ideal_log_loss`] on the same model, bits and sample): only the crossbar pass runs.
pub fn evaluate_hardware_given_ideal(
    net: &Network<f32>,
    cfg: &QuantConfig,
    hw: &HwConfig,
    batch: &Batch,
    max_examples: usize,
    ideal_log_loss: f64,
) -> Result<HardwareEval> {
    let opts = HardwareEvalOptions::new(max_examples);
    evaluate_slicing(
        net,
        cfg,
        &hw.bit_slicing(),
        batch,
        &opts,
        Some(ideal_log_loss),
    )
}

/// The validation head after checking the batch's feature counts; an empty one is an error.
fn checked_sample(net: &Network<f32>, batch: &Batch, max_examples: usize) -> Result<Batch> {
    check_batch(net, batch)?;
    let sample = head_of(batch, max_examples);
    if sample.is_empty() {
        return Err(ModelError::Data(
            "the validation sample is empty (max_examples = 0 or no rows)".to_string(),
        ));
    }
    Ok(sample)
}

fn evaluate_slicing(
    net: &Network<f32>,
    cfg: &QuantConfig,
    slicing: &BitSlicing,
    batch: &Batch,
    opts: &HardwareEvalOptions,
    known_ideal: Option<f64>,
) -> Result<HardwareEval> {
    let sample = checked_sample(net, batch, opts.max_examples)?;
    let plan = QuantPlan::new(&net.graph, cfg)?;
    let ideal_log_loss = match known_ideal {
        Some(loss) => loss,
        None => log_loss_of(net, plan.clone(), &sample)?,
    };
    let products = Arc::new(CrossbarProducts::new(
        net,
        &plan,
        slicing,
        opts.exact_when_lossless,
    )?);
    let hardware_log_loss = log_loss_of(net, plan.with_hardware(products.clone()), &sample)?;
    if let Some(message) = products.error.lock().ok().and_then(|e| e.clone()) {
        return Err(ModelError::Hardware(message));
    }
    let totals = products.totals.lock().map(|t| *t).unwrap_or_default();
    Ok(HardwareEval {
        ideal_log_loss,
        hardware_log_loss,
        examples: sample.len(),
        adc_conversions: totals.conversions,
        adc_clipped: totals.clipped,
        adc_rounded: totals.rounded,
    })
}
